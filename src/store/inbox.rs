//! The denormalised inbox (migration 0012): one row per story × dossier, refreshed in the
//! transaction of every write that changes what the inbox shows, so that reading a dossier's
//! inbox is one range of the `inbox_view` index instead of aggregating tags and decisions
//! over every story (566 ms at 100,000 stories before).

use super::{Conn, Store, WritePool, placeholders};

/// Ids per statement: far below every backend's limit on bound parameters.
const CHUNK: usize = 400;

/// The rows of the stories whose lead article matches `{LEADS}`, for every registered centre
/// or the one of `{CENTRE}`: each centre's dossiers and scores come from its own tags, its
/// rank and title from its own decisions. Must compute what migration 0012's fill computes
/// (the tests compare both with the inbox query of before).
///
/// The best scores are aggregated once from the story's articles to their tags (`m`), never
/// looked up per row: a correlated `MAX` over `tags JOIN articles` let both planners start
/// from the index led by the centre (`tags_dossier`) when they have no statistics, reading
/// every tag of the centre for each inbox row — quadratic, a rebuild at 100,000 stories did
/// not end in 7 minutes (issue 17). `CROSS JOIN` keeps SQLite on the articles first, then
/// the tags by article (`store::plans` checks every such statement's plan).
const FILL: &str = "WITH m AS (
  SELECT COALESCE(b.story, b.id) AS story, t.centre, t.dossier, MAX(t.score) AS score
  FROM articles b CROSS JOIN tags t
  WHERE t.article_id = b.id AND {MEMBERS_B} AND {CENTRE_T}
  GROUP BY COALESCE(b.story, b.id), t.centre, t.dossier
),
v AS (
  SELECT x.story, x.centre, x.dossier, MAX(x.score) AS score FROM (
    SELECT story, centre, dossier, score FROM m
    UNION ALL
    SELECT story, centre, '', score FROM m
    UNION ALL
    SELECT s.id, c.id, '', CAST(NULL AS DOUBLE PRECISION) FROM articles s CROSS JOIN centres c
    WHERE {LEADS_S} AND {CENTRE_C}
  ) x
  GROUP BY x.story, x.centre, x.dossier
)
INSERT INTO inbox (centre, story, dossier, rank, score, at, title, sources, territories)
SELECT v.centre, a.id, v.dossier,
       COALESCE((SELECT MAX(CASE d.state WHEN 'starred' THEN 3 WHEN 'kept' THEN 2
                                         WHEN 'rejected' THEN 1 ELSE 0 END)
                 FROM decisions d WHERE d.centre = v.centre AND d.story = a.id
                   AND (v.dossier = '' OR d.dossier = v.dossier)), 0),
       COALESCE(v.score, 0.0),
       COALESCE(a.published, a.first_seen),
       COALESCE((SELECT d.title FROM decisions d WHERE d.centre = v.centre AND d.story = a.id
                   AND d.title IS NOT NULL
                 ORDER BY d.decided_at DESC LIMIT 1), a.title),
       (SELECT COUNT(DISTINCT b.source_id) FROM articles b WHERE b.id = a.id OR b.story = a.id),
       a.territories
FROM v
JOIN articles a ON a.id = v.story
JOIN centres c ON c.id = v.centre
WHERE (a.story IS NULL OR a.story = a.id) AND {LEADS_A}";

/// The fill statement restricted to `n` story ids bound as `$1…$n` (or unrestricted), for
/// every registered centre (each has its own rows: the rank and title come from its own
/// decisions), or for the one centre bound as `$1` (with no story ids).
pub(super) fn fill_sql(n: Option<usize>, one_centre: bool) -> String {
    let (leads_s, members_b, leads_a) = match n {
        None => (
            "1 = 1".to_string(),
            "1 = 1".to_string(),
            "1 = 1".to_string(),
        ),
        Some(n) => {
            let list = placeholders(1, n);
            (
                format!("s.id IN ({list})"),
                // Two indexed lookups (primary key, `articles_story`) rather than a scan.
                format!("(b.id IN ({list}) OR b.story IN ({list}))"),
                format!("a.id IN ({list})"),
            )
        }
    };
    let (centre_t, centre_c) = if one_centre {
        ("t.centre = $1", "c.id = $1")
    } else {
        ("1 = 1", "1 = 1")
    };
    FILL.replace("{LEADS_S}", &leads_s)
        .replace("{MEMBERS_B}", &members_b)
        .replace("{LEADS_A}", &leads_a)
        .replace("{CENTRE_T}", centre_t)
        .replace("{CENTRE_C}", centre_c)
}

/// Recomputes the inbox rows of these stories (ids of their lead articles): a story that is
/// no longer one (its lead moved into another story) loses its rows.
pub(super) async fn refresh(conn: &mut Conn<'_>, stories: &[i64]) -> sqlx::Result<()> {
    let mut stories = stories.to_vec();
    stories.sort_unstable();
    stories.dedup();
    for chunk in stories.chunks(CHUNK) {
        let list = placeholders(1, chunk.len());
        // Only placeholders are spliced into constant text; every value is bound.
        let delete = format!("DELETE FROM inbox WHERE story IN ({list})");
        let fill = fill_sql(Some(chunk.len()), false);
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(delete));
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
            let mut query = sqlx::query(sqlx::AssertSqlSafe(fill));
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
        });
    }
    Ok(())
}

/// Recomputes the rows of the stories these articles belong to.
pub(super) async fn refresh_articles(conn: &mut Conn<'_>, articles: &[i64]) -> sqlx::Result<()> {
    let mut stories = Vec::with_capacity(articles.len());
    for chunk in articles.chunks(CHUNK) {
        let sql = format!(
            "SELECT DISTINCT COALESCE(story, id) FROM articles WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            stories.extend(query.fetch_all(&mut **c).await?);
        });
    }
    refresh(conn, &stories).await
}

/// Computes the rows of a centre that has just registered (an archive migrated to 0014 had
/// the single centre's rows before it was registered: they are recomputed).
pub(super) async fn fill_centre(conn: &mut Conn<'_>, centre: &str) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query("DELETE FROM inbox WHERE centre = $1")
            .bind(centre)
            .execute(&mut **c)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(fill_sql(None, true)))
            .bind(centre)
            .execute(&mut **c)
            .await?;
    });
    Ok(())
}

impl Store {
    /// Recomputes the whole inbox from articles, tags and decisions, as migration 0012 does
    /// on upgrade: for data written behind the store's back (a benchmark's bulk fill).
    pub async fn rebuild_inbox(&self) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM inbox").execute(&mut *tx).await?;
            sqlx::query(sqlx::AssertSqlSafe(fill_sql(None, false)))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
