//! Centres of the network (issue 16): which centre the store's own rows belong to, the
//! register of the centres that share the store (so that one can name another), and the
//! one-time adoption of a single-centre archive's rows when it first configures `[centre]`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::{Conn, Store, WritePool};
use crate::config::centre::Centre;
use crate::model::DecisionState;

/// The centre of the configuration, set once by the command line before any store opens.
static CONFIGURED: OnceLock<Centre> = OnceLock::new();

/// Records `[centre]` of the configuration; the first call wins.
pub fn configure(centre: Centre) {
    let _ = CONFIGURED.set(centre);
}

/// The tables whose rows belong to a centre, by the column that says which. The rows of
/// other tables follow theirs: items, blocks, reminders and deliveries their edition,
/// subscriptions and bounce events their subscriber.
const CENTRED: [&str; 9] = [
    "decisions",
    "decision_log",
    "inbox",
    "editions",
    "subscribers",
    "suppressions",
    "edition_links",
    "jobs",
    "bounce_messages",
];

impl Store {
    /// The id of the centre this store reads and writes for (`""`: the single centre).
    pub fn centre(&self) -> &str {
        &self.centre
    }

    /// Sets the store to the configured centre (the single-centre default when none is)
    /// and registers it (see `for_centre`).
    pub(super) async fn with_configured_centre(self) -> anyhow::Result<Store> {
        let centre = CONFIGURED.get().cloned().unwrap_or_default();
        self.for_centre(&centre).await
    }

    /// The same store, reading and writing for `centre`, which is registered (or renamed)
    /// on the way. The first named centre of an archive adopts the rows of the single-centre
    /// default `''` once: an archive that starts configuring `[centre]` keeps its decisions.
    pub(crate) async fn for_centre(&self, centre: &Centre) -> anyhow::Result<Store> {
        let store = Store {
            backend: self.backend.clone(),
            centre: Arc::from(centre.id.as_str()),
        };
        store.register(centre).await.map_err(|e| {
            anyhow::anyhow!(
                "impossible d'enregistrer le centre « {} » dans la base : {e}",
                centre.id
            )
        })?;
        Ok(store)
    }

    /// The same store for a centre left out of `centres` (written by an older veille, or
    /// by hand): the tests check that it is still named, by its id.
    #[cfg(test)]
    pub(crate) fn unregistered_centre(&self, id: &str) -> Store {
        Store {
            backend: self.backend.clone(),
            centre: Arc::from(id),
        }
    }

    async fn register(&self, centre: &Centre) -> sqlx::Result<()> {
        let known = self.centre_row(&centre.id).await?;
        if known.as_ref() == Some(&(centre.name.clone(), centre.region.clone())) {
            // Already registered as configured: nothing to write at each opening.
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let known: Option<(String, String)> =
                sqlx::query_as("SELECT name, region FROM centres WHERE id = $1")
                    .bind(&centre.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_some() {
                sqlx::query("UPDATE centres SET name = $2, region = $3 WHERE id = $1")
                    .bind(&centre.id)
                    .bind(&centre.name)
                    .bind(&centre.region)
                    .execute(&mut *tx)
                    .await?;
            } else {
                let named: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM centres WHERE id <> ''")
                        .fetch_one(&mut *tx)
                        .await?;
                // The first named centre takes over what the archive decided before it had
                // one; later centres start with their own rows.
                let adopt = !centre.id.is_empty() && named == 0;
                if adopt {
                    for table in CENTRED.iter().chain(&super::centre_tags::CENTRED) {
                        // Constant table names only; the centre is bound.
                        let sql = format!("UPDATE {table} SET centre = $1 WHERE centre = ''");
                        sqlx::query(sqlx::AssertSqlSafe(sql))
                            .bind(&centre.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("DELETE FROM centres WHERE id = ''")
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("INSERT INTO centres (id, name, region) VALUES ($1, $2, $3)")
                    .bind(&centre.id)
                    .bind(&centre.name)
                    .bind(&centre.region)
                    .execute(&mut *tx)
                    .await?;
                if !adopt {
                    super::inbox::fill_centre(&mut Conn::from(&mut *tx), &centre.id).await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn centre_row(&self, id: &str) -> sqlx::Result<Option<(String, String)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT name, region FROM centres WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The registered centres: id → name.
    pub(crate) async fn centre_names(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, name FROM centres ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// What the other centres kept or starred of a story: (centre's name, dossier, state),
    /// by name then dossier.
    pub(crate) async fn kept_elsewhere(
        &self,
        story: i64,
    ) -> anyhow::Result<Vec<(String, String, DecisionState)>> {
        let rows: Vec<(String, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(c.name, d.centre), d.dossier, d.state FROM decisions d
                 LEFT JOIN centres c ON c.id = d.centre
                 WHERE d.story = $1 AND d.centre <> $2 AND d.state IN ('kept', 'starred')
                 ORDER BY COALESCE(c.name, d.centre), d.centre, d.dossier",
            )
            .bind(story)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(name, dossier, state)| {
                let state = DecisionState::parse(&state).unwrap_or(DecisionState::Kept);
                (name, dossier, state)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade;
