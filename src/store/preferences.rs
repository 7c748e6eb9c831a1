//! What a subscriber changes from their preferences page: which lists they receive, their
//! address (after confirming the new one), or leaving everything.

use chrono::{DateTime, Utc};

use super::{Store, WritePool, timestamp};

/// A subscriber as their preferences page shows them.
#[derive(Debug, Clone)]
pub(crate) struct Preferences {
    pub(crate) email: String,
    /// (list, status) for every list they were ever on.
    pub(crate) lists: Vec<(String, String)>,
}

/// Why an address could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddressChange {
    Done,
    /// Another subscriber already has the new address.
    Taken,
    /// The subscriber no longer exists (erased meanwhile).
    Gone,
}

impl Store {
    pub(crate) async fn preferences(&self, subscriber: i64) -> anyhow::Result<Option<Preferences>> {
        let Some(email) = self.subscriber_email(subscriber).await? else {
            return Ok(None);
        };
        let lists = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT list, status FROM subscriptions WHERE subscriber_id = $1 ORDER BY list",
            )
            .bind(subscriber)
            .fetch_all(pool)
            .await?
        });
        Ok(Some(Preferences { email, lists }))
    }

    /// The lists in `wanted` become active (the signed link is the consent, recorded as
    /// such); the other lists of `known` the subscriber was on become unsubscribed. One
    /// transaction; nothing for a subscriber of another centre.
    pub(crate) async fn set_lists(
        &self,
        subscriber: i64,
        wanted: &[String],
        known: &[String],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let at = timestamp(now);
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let ours: Option<i64> =
                sqlx::query_scalar("SELECT id FROM subscribers WHERE id = $1 AND centre = $2")
                    .bind(subscriber)
                    .bind(self.centre())
                    .fetch_optional(&mut *tx)
                    .await?;
            if ours.is_none() {
                return Ok(());
            }
            for list in known {
                if wanted.contains(list) {
                    sqlx::query(
                        "INSERT INTO subscriptions
                            (subscriber_id, list, status, consent_at, consent_how, consent_source, updated_at)
                         VALUES ($1, $2, 'active', $3, 'preferences', 'lien personnel signé', $3)
                         ON CONFLICT (subscriber_id, list) DO UPDATE SET
                            status = 'active', consent_at = $3, consent_how = 'preferences',
                            consent_source = 'lien personnel signé', updated_at = $3
                         WHERE subscriptions.status <> 'active'",
                    )
                    .bind(subscriber)
                    .bind(list)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(
                        "UPDATE subscriptions SET status = 'unsubscribed', updated_at = $3
                         WHERE subscriber_id = $1 AND list = $2 AND status IN ('active', 'pending')",
                    )
                    .bind(subscriber)
                    .bind(list)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Leaves every list (of this centre's subscriber only).
    pub(crate) async fn leave_all(
        &self,
        subscriber: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscriptions SET status = 'unsubscribed', updated_at = $2
                 WHERE subscriber_id = $1 AND status IN ('active', 'pending')
                   AND subscriber_id IN (SELECT id FROM subscribers WHERE centre = $3)",
            )
            .bind(subscriber)
            .bind(timestamp(now))
            .bind(self.centre())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Gives a subscriber their new, confirmed address: taken only by another subscriber of
    /// the same centre (the same person may be on another centre's list).
    pub(crate) async fn change_address(
        &self,
        subscriber: i64,
        new_email: &str,
    ) -> anyhow::Result<AddressChange> {
        let done = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let other: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM subscribers WHERE email = $1 AND id <> $2 AND centre = $3",
            )
            .bind(new_email)
            .bind(subscriber)
            .bind(self.centre())
            .fetch_optional(&mut *tx)
            .await?;
            if other.is_some() {
                return Ok(AddressChange::Taken);
            }
            let done = sqlx::query(
                "UPDATE subscribers SET email = $2, bounces = 0 WHERE id = $1 AND centre = $3",
            )
            .bind(subscriber)
            .bind(new_email)
            .bind(self.centre())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done > 0 {
                // The old address failed, not the person: their lists resume at the new one.
                sqlx::query(
                    "UPDATE subscriptions SET status = 'active' WHERE subscriber_id = $1 AND status = 'bounced'",
                )
                .bind(subscriber)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            done
        });
        Ok(if done > 0 {
            AddressChange::Done
        } else {
            AddressChange::Gone
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[tokio::test]
    async fn a_subscriber_changes_lists_and_address_on_either_backend() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let id = store
            .request_subscription("a@example.org", "h-a", "flash-info", "127.0.0.1", now)
            .await
            .unwrap()
            .unwrap();
        let other = store
            .request_subscription("b@example.org", "h-b", "flash-info", "127.0.0.1", now)
            .await
            .unwrap()
            .unwrap();
        assert!(store.preferences(404).await.unwrap().is_none());
        let known = ["flash-info".to_string(), "lettre".to_string()];
        store
            .set_lists(id, &["lettre".to_string()], &known, now)
            .await
            .unwrap();
        let prefs = store.preferences(id).await.unwrap().unwrap();
        assert_eq!(prefs.email, "a@example.org");
        let pair = |l: &str, s: &str| (l.to_string(), s.to_string());
        assert_eq!(
            prefs.lists,
            [pair("flash-info", "unsubscribed"), pair("lettre", "active")]
        );
        store.set_lists(id, &known, &known, now).await.unwrap();
        assert_eq!(
            store.preferences(id).await.unwrap().unwrap().lists,
            [pair("flash-info", "active"), pair("lettre", "active")]
        );
        store.leave_all(id, now).await.unwrap();
        assert_eq!(
            store.preferences(id).await.unwrap().unwrap().lists,
            [
                pair("flash-info", "unsubscribed"),
                pair("lettre", "unsubscribed")
            ]
        );

        store
            .exec("UPDATE subscriptions SET status = 'bounced' WHERE list = 'lettre'")
            .await;
        assert_eq!(
            store.change_address(id, "b@example.org").await.unwrap(),
            AddressChange::Taken
        );
        assert_eq!(
            store.change_address(id, "a2@example.org").await.unwrap(),
            AddressChange::Done
        );
        let prefs = store.preferences(id).await.unwrap().unwrap();
        assert_eq!(prefs.email, "a2@example.org");
        // The old address failed, not the person: the bounced list resumes.
        assert_eq!(
            prefs.lists,
            [pair("flash-info", "unsubscribed"), pair("lettre", "active")]
        );
        assert_eq!(
            store.preferences(other).await.unwrap().unwrap().email,
            "b@example.org"
        );
        assert_eq!(
            store.change_address(404, "z@example.org").await.unwrap(),
            AddressChange::Gone
        );
    }
}
