//! Retention of personal data in the store: addresses in old delivery logs erased, and the
//! figures of `veille privacy report`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, WritePool, timestamp};

/// What personal data the store holds, for the GDPR register.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PersonalData {
    pub(crate) subscribers: i64,
    pub(crate) subscriptions: i64,
    pub(crate) deliveries_with_address: i64,
    pub(crate) oldest_delivery_with_address: Option<String>,
    pub(crate) suppressions: i64,
    pub(crate) decision_authors: i64,
}

impl Store {
    /// Replaces the address of every delivery log of this centre's editions last updated
    /// before `before` by
    /// `effacé:HASH:EDITION` (as `forget_subscriber` does), keeping the row for the counts.
    /// Rows still `sending`, `queued` or awaiting a retry are left alone: a send in progress
    /// needs them.
    pub(crate) async fn purge_delivery_logs(
        &self,
        before: DateTime<Utc>,
        hash: impl Fn(&str) -> String,
    ) -> anyhow::Result<u64> {
        let erased = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT edition_id, email FROM deliveries
                 WHERE updated_at < $1 AND email NOT LIKE 'effacé:%'
                   AND state IN ('sent', 'failed_perm', 'skipped')
                   AND edition_id IN (SELECT id FROM editions WHERE centre = $2)",
            )
            .bind(timestamp(before))
            .bind(self.centre())
            .fetch_all(&mut *tx)
            .await?;
            for (edition, email) in &rows {
                sqlx::query(
                    "UPDATE deliveries SET email = 'effacé:' || $3 || ':' || edition_id, subscriber_id = NULL
                     WHERE edition_id = $1 AND email = $2",
                )
                .bind(edition)
                .bind(email)
                .bind(hash(email))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            rows.len() as u64
        });
        Ok(erased)
    }

    /// Counts of the personal data this centre holds (each centre is its own controller:
    /// another centre's people are in its own register).
    pub(crate) async fn personal_data(&self) -> anyhow::Result<PersonalData> {
        let count = |sql: &'static str| async move {
            on_pool!(self, pool => {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(self.centre())
                    .fetch_one(pool)
                    .await
            })
        };
        let oldest: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MIN(updated_at) FROM deliveries WHERE email NOT LIKE 'effacé:%'
                   AND edition_id IN (SELECT id FROM editions WHERE centre = $1)",
            )
            .bind(self.centre())
            .fetch_one(pool)
            .await?
        });
        Ok(PersonalData {
            subscribers: count("SELECT COUNT(*) FROM subscribers WHERE centre = $1").await?,
            subscriptions: count(
                "SELECT COUNT(*) FROM subscriptions
                 WHERE subscriber_id IN (SELECT id FROM subscribers WHERE centre = $1)",
            )
            .await?,
            deliveries_with_address: count(
                "SELECT COUNT(*) FROM deliveries WHERE email NOT LIKE 'effacé:%'
                   AND edition_id IN (SELECT id FROM editions WHERE centre = $1)",
            )
            .await?,
            oldest_delivery_with_address: oldest,
            suppressions: count("SELECT COUNT(*) FROM suppressions WHERE centre = $1").await?,
            decision_authors: count(
                "SELECT COUNT(DISTINCT curator) FROM decision_log WHERE centre = $1",
            )
            .await?,
        })
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn old_finished_delivery_logs_lose_their_address_recent_and_pending_ones_keep_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        store
            .exec(
                "INSERT INTO editions (id, kind, number, period_start, period_end, created_at, updated_at)
                 VALUES (1, 'flash-info', 1, '2026-01-01', '2026-01-07', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            )
            .await;
        for (email, state, at) in [
            ("vieux@example.org", "sent", "2026-01-02T00:00:00Z"),
            ("rate@example.org", "failed_perm", "2026-01-02T00:00:00Z"),
            ("attente@example.org", "failed_temp", "2026-01-02T00:00:00Z"),
            ("recent@example.org", "sent", "2026-06-01T00:00:00Z"),
        ] {
            store
                .exec(&format!(
                    "INSERT INTO deliveries (edition_id, email, state, message_id, updated_at)
                     VALUES (1, '{email}', '{state}', '<m>', '{at}')"
                ))
                .await;
        }
        store
            .exec(
                "INSERT INTO subscribers (email, created_at) VALUES ('a@example.org', '2026-01-01T00:00:00Z')",
            )
            .await;
        store
            .exec(
                "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how, consent_source, updated_at)
                 SELECT id, 'flash-info', 'active', 'x', 'import', 'f.csv', 'x' FROM subscribers",
            )
            .await;
        store
            .exec("INSERT INTO suppressions (hash, reason, at) VALUES ('h', 'unsubscribed', 'x')")
            .await;
        let before = "2026-03-01T00:00:00Z".parse().unwrap();
        let erased = store
            .purge_delivery_logs(before, |e| format!("h{}", e.len()))
            .await
            .unwrap();
        assert_eq!(erased, 2);
        let emails = store
            .column_texts("SELECT email FROM deliveries ORDER BY email")
            .await;
        assert_eq!(
            emails,
            [
                "attente@example.org",
                "effacé:h16:1",
                "effacé:h17:1",
                "recent@example.org"
            ]
        );
        let data = store.personal_data().await.unwrap();
        assert_eq!(data.deliveries_with_address, 2);
        assert_eq!(
            data.oldest_delivery_with_address.as_deref(),
            Some("2026-01-02T00:00:00Z")
        );
        assert_eq!(
            (data.subscribers, data.subscriptions, data.suppressions),
            (1, 1, 1)
        );
        assert_eq!(data.decision_authors, 0);
        // A second purge finds nothing more.
        assert_eq!(
            store
                .purge_delivery_logs(before, |e| e.into())
                .await
                .unwrap(),
            0
        );
    }
}
