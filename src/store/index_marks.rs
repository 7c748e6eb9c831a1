//! What each search index holds: one tantivy index per archive folder (per machine), all fed
//! from the shared store, so each records here, under its own id, the articles it has taken.
//! Asking for reindexing stays `articles.indexed_at = NULL`; migration 0015's trigger turns
//! that into "every index lacks this article" by dropping its marks.

use chrono::{DateTime, Utc};

use super::{Store, WritePool, placeholders, timestamp};

/// The id under which migration 0015 put the marks of the one index an archive had before:
/// the first existing index folder that gets an id claims them (`adopt_legacy_marks`).
pub(crate) const LEGACY_INDEX: &str = "avant-0015";

/// Ids per statement: well under SQLite's and PostgreSQL's bind limits.
const CHUNK: usize = 400;

impl Store {
    /// Records that index `index` holds these articles (after its commit). `articles.indexed_at`
    /// gets the time too: it says "some index took this version", so the trigger that drops
    /// marks fires again at the next change.
    pub(crate) async fn mark_indexed(
        &self,
        index: &str,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let now = timestamp(now);
        // One statement per chunk of ids, bound one by one: portable where array binds are not.
        for chunk in ids.chunks(CHUNK) {
            let rows = (0..chunk.len())
                .map(|i| format!("($1, $2, ${})", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let insert = format!(
                "INSERT INTO index_marks (index_id, indexed_at, article_id) VALUES {rows}
                 ON CONFLICT (index_id, article_id) DO UPDATE SET indexed_at = excluded.indexed_at"
            );
            let stamp = format!(
                "UPDATE articles SET indexed_at = $1 WHERE id IN ({})",
                placeholders(2, chunk.len())
            );
            on_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                let mut query = sqlx::query(sqlx::AssertSqlSafe(insert)).bind(index).bind(&now);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await?;
                let mut query = sqlx::query(sqlx::AssertSqlSafe(stamp)).bind(&now);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await?;
                tx.commit().await?;
            });
        }
        Ok(())
    }

    /// Forgets what index `index` holds (before its rebuild); other indexes keep theirs.
    pub(crate) async fn reset_index(&self, index: &str) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM index_marks WHERE index_id = $1")
                .bind(index)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets the marks of every index but `keep`: for a restored SQLite archive, whose
    /// base sits in the folder of its one index, the marks of the index it was saved with
    /// (dropped by the restore) would otherwise stay forever.
    pub(crate) async fn forget_other_indexes(&self, keep: &str) -> anyhow::Result<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM index_marks WHERE index_id <> $1")
                .bind(keep)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Gives the marks of the archive's index from before migration 0015 to `index`, an
    /// existing index folder that has just been given its id. Only the first one gets them
    /// (one statement, atomic); any other indexes everything once. Returns how many.
    pub(crate) async fn adopt_legacy_marks(&self, index: &str) -> anyhow::Result<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("UPDATE index_marks SET index_id = $1 WHERE index_id = $2")
                .bind(index)
                .bind(LEGACY_INDEX)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}

#[cfg(test)]
mod tests;
