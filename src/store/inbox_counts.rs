//! What keeps the triage counts exact without recounting: a story's inbox rows with their
//! decision rank, read before and after a curator's own write, give the change of each
//! dossier's count of undecided stories (the full count reads every row of the inbox).

use super::Store;

impl Store {
    /// The inbox rows of one story: (dossier, rank), `''` being the view over all dossiers.
    /// One range of the primary key.
    pub(crate) async fn story_inbox_ranks(&self, story: i64) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT dossier, rank FROM inbox WHERE story = $1 ORDER BY dossier")
                .bind(story)
                .fetch_all(pool)
                .await?
        }))
    }
}
