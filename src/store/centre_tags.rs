//! Each centre's own tags of the shared articles (issue 16, migration 0017): which articles a
//! centre has tagged as they now read (`tag_marks`), and the catch-up that tags, by the
//! centre's rules, the articles another centre's process stored or changed.
//!
//! A mark says "this centre's tags of this article are those of its current text": every
//! change of the text (feed update, full text) drops the marks of all centres, and the
//! writer marks its own centre again in the same transaction. Rules changing is `veille
//! retag`'s business, which rewrites the centre's tags of every article.

use super::{Conn, Store, WritePool, placeholders};
use crate::model::Tagging;
use crate::store::TaggingInput;

/// Ids per statement: far below every backend's limit on bound parameters.
const CHUNK: usize = 400;

/// The tables of a centre's tagging, adopted with the other centre-owned rows
/// (`centres::CENTRED`) by the first named centre.
pub(super) const CENTRED: [&str; 3] = ["tags", "to_check", "tag_marks"];

/// What tagging reads of an article: id, title, summary, its source's dossiers, full text.
type InputRow = (i64, String, String, Option<String>, Option<String>);

/// Marks these articles as tagged by `centre` as they now read.
pub(super) async fn mark(conn: &mut Conn<'_>, centre: &str, ids: &[i64]) -> sqlx::Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let rows = (0..chunk.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        // Only placeholders are spliced into constant text; every value is bound.
        let sql = format!(
            "INSERT INTO tag_marks (centre, article_id) VALUES {rows}
             ON CONFLICT (centre, article_id) DO NOTHING"
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(centre);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
        });
    }
    Ok(())
}

/// The text of these articles changed: no centre's tags of them hold any more.
pub(super) async fn forget(conn: &mut Conn<'_>, ids: &[i64]) -> sqlx::Result<()> {
    for_each_chunk(
        conn,
        "DELETE FROM tag_marks WHERE article_id IN ({ids})",
        ids,
    )
    .await
}

/// Runs `sql` once per chunk of `ids`, `{ids}` standing for the chunk's placeholders.
async fn for_each_chunk(conn: &mut Conn<'_>, sql: &str, ids: &[i64]) -> sqlx::Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let sql = sql.replace("{ids}", &placeholders(1, chunk.len()));
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
        });
    }
    Ok(())
}

/// Replaces `centre`'s tags of one article when they differ (inside the caller's
/// transaction); says whether they did. Territories, which do not depend on a centre's
/// rules, stay as the storer wrote them.
pub(super) async fn replace(
    conn: &mut Conn<'_>,
    centre: &str,
    id: i64,
    tagging: &Tagging,
) -> anyhow::Result<bool> {
    let mut after: Vec<(String, f64)> = tagging
        .dossiers
        .iter()
        .map(|t| (t.dossier.clone(), t.score))
        .collect();
    after.sort_by(|a, b| a.0.cmp(&b.0));
    let before: Vec<(String, f64)> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT dossier, score FROM tags WHERE centre = $1 AND article_id = $2 ORDER BY dossier",
        )
        .bind(centre)
        .bind(id)
        .fetch_all(&mut **c)
        .await?
    });
    if before == after {
        return Ok(false);
    }
    on_conn!(conn, c => {
        sqlx::query("DELETE FROM tags WHERE centre = $1 AND article_id = $2")
            .bind(centre)
            .bind(id)
            .execute(&mut **c)
            .await?;
    });
    super::insert_tags(conn, centre, id, tagging).await?;
    Ok(true)
}

impl Store {
    /// How many articles this store's centre has not tagged as they now read: what its
    /// catch-up has left to do (the triage screen shows how far it is).
    pub(crate) async fn untagged_count(&self) -> anyhow::Result<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM articles a
                 WHERE NOT EXISTS (SELECT 1 FROM tag_marks m
                                   WHERE m.centre = $1 AND m.article_id = a.id)",
            )
            .bind(self.centre())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Tags, by `tag` (the centre's rules), up to `limit` articles this store's centre has
    /// not tagged as they now read, oldest first; refreshes the inbox of the stories whose
    /// tags changed and asks the search index for them again. Returns (articles read,
    /// articles whose tags changed); fewer than `limit` read means none is left.
    ///
    /// The articles are read, tagged and written in one write transaction: a text that
    /// changes meanwhile cannot be marked as tagged by its older version.
    pub(crate) async fn catch_up_tags(
        &self,
        limit: u32,
        tag: &(dyn Fn(&TaggingInput) -> Tagging + Sync),
    ) -> anyhow::Result<(usize, usize)> {
        let centre = self.centre();
        let (read, changed) = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let rows: Vec<InputRow> = sqlx::query_as(
                "SELECT a.id, a.title, a.summary_text, s.dossiers,
                        CASE WHEN a.body_status = 'ok' THEN a.content END AS body
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE NOT EXISTS (SELECT 1 FROM tag_marks m
                                   WHERE m.centre = $1 AND m.article_id = a.id)
                 ORDER BY a.id LIMIT $2",
            )
            .bind(centre)
            .bind(i64::from(limit.max(1)))
            .fetch_all(&mut *tx)
            .await?;
            let mut conn = Conn::from(&mut *tx);
            let mut ids = Vec::with_capacity(rows.len());
            let mut changed = Vec::new();
            for (id, title, summary, dossiers, body) in rows {
                let input = TaggingInput {
                    id,
                    title,
                    summary,
                    body: body.unwrap_or_default(),
                    source_dossiers: dossiers
                        .and_then(|d| serde_json::from_str(&d).ok())
                        .unwrap_or_default(),
                };
                if replace(&mut conn, centre, id, &tag(&input)).await? {
                    changed.push(id);
                }
                ids.push(id);
            }
            mark(&mut conn, centre, &ids).await?;
            reindex(&mut conn, &changed).await?;
            super::inbox::refresh_articles(&mut conn, &changed).await?;
            tx.commit().await?;
            (ids.len(), changed.len())
        });
        Ok((read, changed))
    }
}

/// The search index's documents carry the dossiers: those articles go into it again.
async fn reindex(conn: &mut Conn<'_>, ids: &[i64]) -> sqlx::Result<()> {
    for_each_chunk(
        conn,
        "UPDATE articles SET indexed_at = NULL WHERE id IN ({ids})",
        ids,
    )
    .await
}

#[cfg(test)]
mod tests;
