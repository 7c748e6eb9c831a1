//! Reading articles back: listings with tags and decisions, the inputs of retagging, story
//! merging and search indexing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Conn, Store, WritePool, parse_timestamp, placeholders, timestamp};
use crate::model::{DecisionState, SearchDoc, Tagging};

/// One stored article with its source, tags and its story's decision state.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ArticleRow {
    pub(crate) id: i64,
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) url: String,
    pub(crate) source: String,
    pub(crate) published: Option<String>,
    pub(crate) summary: String,
    pub(crate) language: Option<String>,
    pub(crate) first_seen: String,
    pub(crate) dossiers: Vec<String>,
    pub(crate) territories: Vec<String>,
    /// The story's strongest decision over all dossiers.
    pub(crate) state: DecisionState,
    /// The article's text fetched from its page (`full_text`), if any.
    pub(crate) body: Option<String>,
    /// The earlier story this one continues ("suite de"), if any.
    pub(crate) follows: Option<i64>,
}

/// Which articles to list.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArticleFilter {
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) source: Option<String>,
    pub(crate) dossier: Option<String>,
    pub(crate) state: Option<DecisionState>,
    pub(crate) limit: Option<u32>,
}

/// What tagging needs to re-read an article.
#[derive(Debug, Clone)]
pub(crate) struct TaggingInput {
    pub(crate) id: i64,
    pub(crate) title: String,
    pub(crate) summary: String,
    /// The article's full text, empty when none was fetched.
    pub(crate) body: String,
    pub(crate) source_dossiers: Vec<String>,
}

/// Ids per statement: far below every backend's limit on bound parameters.
const CHUNK: usize = 400;

pub(crate) fn json_list(text: Option<String>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// An article of `veille articles` as the query returns it.
#[derive(sqlx::FromRow)]
struct ArticleDbRow {
    id: i64,
    story: i64,
    title: String,
    canonical_url: String,
    source: String,
    published: Option<String>,
    summary_text: String,
    language: Option<String>,
    first_seen: String,
    territories: Option<String>,
    content: Option<String>,
    follows: Option<i64>,
}

/// What tagging needs of an article, as the query returns it.
#[derive(sqlx::FromRow)]
struct TaggingDbRow {
    id: i64,
    title: String,
    summary_text: String,
    dossiers: Option<String>,
    body: Option<String>,
}

/// An article as the search index needs it.
#[derive(sqlx::FromRow)]
struct IndexDbRow {
    id: i64,
    story: i64,
    title: String,
    summary_text: String,
    body: Option<String>,
    canonical_url: String,
    source: String,
    territories: Option<String>,
    published: Option<String>,
    dossiers: Option<String>,
}

impl Store {
    /// Stored articles, newest first (by publication date, else first seen).
    pub(crate) async fn articles(&self, filter: &ArticleFilter) -> anyhow::Result<Vec<ArticleRow>> {
        let rows: Vec<ArticleDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, COALESCE(a.story, a.id) AS story, a.title, a.canonical_url, s.name AS source,
                        a.published, a.summary_text, a.language, a.first_seen, a.territories, a.content,
                        (SELECT l.previous FROM story_links l WHERE l.story = COALESCE(a.story, a.id)) AS follows
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE ($1 IS NULL OR COALESCE(a.published, a.first_seen) >= $1)
                   AND ($2 IS NULL OR s.name = $2)
                   AND ($3 IS NULL OR EXISTS (SELECT 1 FROM tags t WHERE t.article_id = a.id
                                              AND t.dossier = $3 AND t.centre = $4))
                 ORDER BY COALESCE(a.published, a.first_seen) DESC, a.id DESC",
            )
            .bind(filter.since.map(timestamp))
            .bind(&filter.source)
            .bind(&filter.dossier)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        let tags = self.tag_dossiers().await?;
        let states = self.story_states().await?;
        let mut out = Vec::new();
        for r in rows {
            let (id, story) = (r.id, r.story);
            let state = states.get(&story).copied().unwrap_or(DecisionState::New);
            if filter.state.is_some_and(|s| s != state) {
                continue;
            }
            out.push(ArticleRow {
                id,
                story,
                title: r.title,
                url: r.canonical_url,
                source: r.source,
                published: r.published,
                summary: r.summary_text,
                language: r.language,
                first_seen: r.first_seen,
                dossiers: tags.get(&id).cloned().unwrap_or_default(),
                territories: json_list(r.territories),
                state,
                body: r.content,
                follows: r.follows,
            });
            if filter.limit.is_some_and(|l| out.len() >= l as usize) {
                break;
            }
        }
        Ok(out)
    }

    async fn tag_dossiers(&self) -> anyhow::Result<HashMap<i64, Vec<String>>> {
        let mut map: HashMap<i64, Vec<String>> = HashMap::new();
        let rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT article_id, dossier FROM tags WHERE centre = $1
                 ORDER BY article_id, score DESC, dossier",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        for (article, dossier) in rows {
            map.entry(article).or_default().push(dossier);
        }
        Ok(map)
    }

    /// Each story decided by this centre: its strongest state over all dossiers.
    pub(crate) async fn story_states(&self) -> anyhow::Result<HashMap<i64, DecisionState>> {
        let mut map: HashMap<i64, DecisionState> = HashMap::new();
        let rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT story, state FROM decisions WHERE centre = $1")
                .bind(self.centre())
                .fetch_all(pool)
                .await?
        });
        for (story, state) in rows {
            let Some(state) = DecisionState::parse(&state) else {
                continue;
            };
            let entry = map.entry(story).or_insert(state);
            if state.rank() > entry.rank() {
                *entry = state;
            }
        }
        Ok(map)
    }

    /// Fingerprints of the articles first seen or published since `since`, for story merging.
    pub(crate) async fn recent_fingerprints(
        &self,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<(i64, DateTime<Utc>, String)>> {
        // Stored times are fixed-width RFC 3339 text: year 9999 sorts after any real date.
        let end_of_time = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .expect("a valid date")
            .with_timezone(&Utc);
        self.fingerprints_between(since, end_of_time).await
    }

    /// Like [`Store::recent_fingerprints`], for the articles dated in `[since, until)`: the
    /// older window a pass needs when a source brings old items.
    pub(crate) async fn fingerprints_between(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<(i64, DateTime<Utc>, String)>> {
        let rows: Vec<(i64, Option<String>, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(story, id) AS story, COALESCE(published, first_seen) AS at, fingerprint
                 FROM articles WHERE fingerprint IS NOT NULL
                   AND COALESCE(published, first_seen) >= $1 AND COALESCE(published, first_seen) < $2
                 ORDER BY at, id",
            )
            .bind(timestamp(since))
            .bind(timestamp(until))
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(story, at, fingerprint)| Some((story, parse_timestamp(at)?, fingerprint)))
            .collect())
    }

    /// Every article with its source's dossier hints, for `veille retag`.
    pub(crate) async fn tagging_inputs(&self) -> anyhow::Result<Vec<TaggingInput>> {
        self.tagging_inputs_of(None).await
    }

    /// What tagging needs of these articles only (those whose body just arrived).
    pub(crate) async fn tagging_inputs_for(
        &self,
        ids: &[i64],
    ) -> anyhow::Result<Vec<TaggingInput>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            rows.extend(self.tagging_inputs_of(Some(chunk)).await?);
        }
        Ok(rows)
    }

    /// These articles (all with `None`), in id order.
    async fn tagging_inputs_of(&self, ids: Option<&[i64]>) -> anyhow::Result<Vec<TaggingInput>> {
        let only = match ids {
            Some(ids) => format!("WHERE a.id IN ({})", placeholders(1, ids.len())),
            None => String::new(),
        };
        // Only placeholders are spliced into constant text; every value is bound.
        let sql = format!(
            "SELECT a.id, a.title, a.summary_text, s.dossiers,
                    CASE WHEN a.body_status = 'ok' THEN a.content END AS body
             FROM articles a JOIN sources s ON s.id = a.source_id
             {only} ORDER BY a.id"
        );
        let rows: Vec<TaggingDbRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in ids.unwrap_or_default() {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| TaggingInput {
                id: r.id,
                title: r.title,
                summary: r.summary_text,
                body: r.body.unwrap_or_default(),
                source_dossiers: json_list(r.dossiers),
            })
            .collect())
    }

    /// Replaces the centre's tags and the territories of many articles in one transaction,
    /// and marks them tagged by the centre; decisions, which belong to stories, are
    /// untouched. Returns how many articles changed.
    pub(crate) async fn replace_tagging(&self, batch: &[(i64, Tagging)]) -> anyhow::Result<usize> {
        let mut changed = 0;
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut conn = Conn::from(&mut *tx);
            let mut retagged = Vec::new();
            for (id, tagging) in batch {
                if retag_one(&mut conn, self.centre(), *id, tagging).await? {
                    changed += 1;
                    retagged.push(*id);
                }
            }
            let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
            super::centre_tags::mark(&mut conn, self.centre(), &ids).await?;
            super::inbox::refresh_articles(&mut conn, &retagged).await?;
            tx.commit().await?;
        });
        Ok(changed)
    }

    /// Articles not yet in search index `index` (new, changed, or after `reset_index`).
    pub(crate) async fn unindexed(
        &self,
        index: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchDoc>> {
        self.index_rows(Some(index), 0, limit).await
    }

    /// Every article with an id above `after`, in id order, for a rebuild.
    pub(crate) async fn all_for_index(
        &self,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchDoc>> {
        self.index_rows(None, after, limit).await
    }

    /// Articles after `after`; with `Some(index)`, only those that index lacks.
    async fn index_rows(
        &self,
        unindexed_by: Option<&str>,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<SearchDoc>> {
        let rows: Vec<IndexDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, COALESCE(a.story, a.id) AS story, a.title, a.summary_text,
                        CASE WHEN a.body_status = 'ok' THEN a.content END AS body, a.canonical_url,
                        s.name AS source, a.territories, COALESCE(a.published, a.first_seen) AS published,
                        (SELECT string_agg(t.dossier, ' ') FROM tags t
                         WHERE t.article_id = a.id AND t.centre = $4) AS dossiers
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE ($3 IS NULL OR NOT EXISTS (SELECT 1 FROM index_marks m
                                                  WHERE m.index_id = $3 AND m.article_id = a.id))
                   AND a.id > $1 ORDER BY a.id LIMIT $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .bind(unindexed_by)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            // Dossier ids contain no spaces (config checks them against the fixed list).
            let dossiers = r
                .dossiers
                .map(|d| d.split(' ').map(str::to_string).collect())
                .unwrap_or_default();
            out.push(SearchDoc {
                id: r.id,
                story: r.story,
                title: r.title,
                summary: r.summary_text,
                body: r.body.unwrap_or_default(),
                url: r.canonical_url,
                source: r.source,
                dossiers,
                territories: json_list(r.territories),
                published: parse_timestamp(r.published),
            });
        }
        Ok(out)
    }
}

/// Replaces one article's tags (the centre's) and territories when they changed (inside the
/// caller's transaction); says whether they did.
async fn retag_one(
    conn: &mut Conn<'_>,
    centre: &str,
    id: i64,
    tagging: &Tagging,
) -> anyhow::Result<bool> {
    let territories = serde_json::to_string(&tagging.territories)?;
    let old_territories: String = on_conn!(conn, c => {
        sqlx::query_scalar("SELECT territories FROM articles WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **c)
            .await?
    });
    let tags_changed = super::centre_tags::replace(conn, centre, id, tagging).await?;
    if !tags_changed && old_territories == territories {
        return Ok(false);
    }
    on_conn!(conn, c => {
        sqlx::query("UPDATE articles SET territories = $1, indexed_at = NULL WHERE id = $2")
            .bind(&territories)
            .bind(id)
            .execute(&mut **c)
            .await?;
    });
    Ok(true)
}

#[cfg(test)]
mod tests;
