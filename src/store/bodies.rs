//! Article bodies fetched after the feed pass: which articles still wait for theirs, and
//! recording the text or why there is none (migration 0010).

use sqlx::Row;

use super::Store;

/// An article whose page has not been tried yet.
#[derive(Debug, Clone)]
pub struct PendingBody {
    pub id: i64,
    pub url: String,
    pub summary: String,
}

impl Store {
    /// The newest articles of a source whose body has not been tried, at most `limit`.
    pub async fn pending_bodies(
        &self,
        source: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<PendingBody>> {
        let rows = sqlx::query(
            "SELECT a.id, a.url, a.summary_text FROM articles a JOIN sources s ON s.id = a.source_id
             WHERE s.name = $1 AND a.body_status IS NULL
             ORDER BY a.id DESC LIMIT $2",
        )
        .bind(source)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PendingBody {
                id: r.get("id"),
                url: r.get("url"),
                summary: r.get("summary_text"),
            })
            .collect())
    }

    /// Records an article's body (`Some` text, status `ok`) or why it has none; the feed's
    /// own text is left as it was either way.
    pub async fn set_body(&self, id: i64, body: Option<&str>, status: &str) -> anyhow::Result<()> {
        sqlx::query(
            // A new body must reach the search index (and tagging), which read `indexed_at`.
            "UPDATE articles SET content = COALESCE($2, content), body_status = $3,
                 indexed_at = CASE WHEN $2 IS NULL THEN indexed_at ELSE NULL END
             WHERE id = $1",
        )
        .bind(id)
        .bind(body)
        .bind(status)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
