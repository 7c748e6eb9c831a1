//! Leases of the daemon's polling: at each slot, one process among those sharing the store
//! fetches a source (by URL) for all; a lease whose holder died expires, and another process
//! takes it over so the slot still ends with every source fetched once.

use chrono::{DateTime, Utc};

use super::{Store, WritePool, timestamp};

/// One slot's lease of a source, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Lease {
    pub(crate) url: String,
    pub(crate) holder: String,
    pub(crate) expires: String,
    pub(crate) done: bool,
}

impl Store {
    /// Takes the lease of `url` for `slot` until `expires`, unless another holder has it
    /// (unexpired at `now`) or the slot's fetch is done. True when `holder` now holds it.
    pub(crate) async fn take_lease(
        &self,
        url: &str,
        slot: DateTime<Utc>,
        holder: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let taken: Option<String> = on_pool!(self, pool => {
            // The upsert's WHERE makes the take atomic on both backends: the row is written
            // (and returned) only when nobody else may hold it.
            sqlx::query_scalar(
                "INSERT INTO source_leases (url, slot, holder, expires, done)
                 VALUES ($1, $2, $3, $4, FALSE)
                 ON CONFLICT (url, slot) DO UPDATE SET holder = excluded.holder,
                   expires = excluded.expires
                 WHERE source_leases.done = FALSE AND source_leases.expires < $5
                 RETURNING holder",
            )
            .bind(url)
            .bind(timestamp(slot))
            .bind(holder)
            .bind(timestamp(expires))
            .bind(timestamp(now))
            .fetch_optional(pool)
            .await?
        });
        Ok(taken.is_some())
    }

    /// The slot's fetch of `url` is over (stored, unchanged or failed): nobody takes it again.
    pub(crate) async fn finish_lease(
        &self,
        url: &str,
        slot: DateTime<Utc>,
        holder: &str,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE source_leases SET done = TRUE WHERE url = $1 AND slot = $2 AND holder = $3",
            )
            .bind(url)
            .bind(timestamp(slot))
            .bind(holder)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Every lease of `slot`, in URL order.
    pub(crate) async fn slot_leases(&self, slot: DateTime<Utc>) -> anyhow::Result<Vec<Lease>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT url, holder, expires, done FROM source_leases WHERE slot = $1 ORDER BY url",
            )
            .bind(timestamp(slot))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Forgets the leases of slots before `before` (they only matter while their slot runs).
    pub(crate) async fn prune_leases(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        Ok(on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM source_leases WHERE slot < $1")
                .bind(timestamp(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    #[tokio::test]
    async fn one_holder_per_slot_until_it_expires_and_never_after_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let slot = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
        let later = |s: i64| slot + Duration::seconds(s);
        let url = "https://exemple.fr/flux.xml";
        assert!(
            store
                .take_lease(url, slot, "a", later(0), later(30))
                .await
                .unwrap()
        );
        // Held by a: b is refused until the lease expires.
        assert!(
            !store
                .take_lease(url, slot, "b", later(10), later(40))
                .await
                .unwrap()
        );
        // Another slot, another URL: free.
        assert!(
            store
                .take_lease(url, later(3600), "b", later(10), later(40))
                .await
                .unwrap()
        );
        assert!(
            store
                .take_lease("https://autre.fr/", slot, "b", later(10), later(40))
                .await
                .unwrap()
        );
        // a died: after expiry, b takes the slot over, and finishes it.
        assert!(
            store
                .take_lease(url, slot, "b", later(31), later(61))
                .await
                .unwrap()
        );
        assert!(
            !store
                .take_lease(url, slot, "a", later(32), later(62))
                .await
                .unwrap()
        );
        store.finish_lease(url, slot, "b").await.unwrap();
        // Done: nobody takes it again, not even long after.
        assert!(
            !store
                .take_lease(url, slot, "c", later(999), later(1029))
                .await
                .unwrap()
        );
        // A finish from a holder that lost the lease changes nothing.
        store
            .finish_lease("https://autre.fr/", slot, "a")
            .await
            .unwrap();
        let leases = store.slot_leases(slot).await.unwrap();
        let states: Vec<(&str, &str, bool)> = leases
            .iter()
            .map(|l| (l.url.as_str(), l.holder.as_str(), l.done))
            .collect();
        assert_eq!(
            states,
            vec![("https://autre.fr/", "b", false), (url, "b", true)]
        );
        assert_eq!(store.prune_leases(later(1)).await.unwrap(), 2);
        assert_eq!(store.slot_leases(slot).await.unwrap(), vec![]);
        assert_eq!(store.slot_leases(later(3600)).await.unwrap().len(), 1);
    }
}
