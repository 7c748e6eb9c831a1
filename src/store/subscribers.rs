//! Subscribers and their lists (with consent) and the suppression list of keyed hashes; the
//! per-recipient delivery ledger is in `ledger`.

use chrono::{DateTime, Utc};

use super::{Store, WritePool, timestamp};
use crate::model::{SubscriberDetails, SubscriberRow, SubscriptionStatus};

/// What is known of a subscriber besides the address, as stored.
#[derive(sqlx::FromRow)]
struct DetailsDbRow {
    first_name: Option<String>,
    last_name: Option<String>,
    organisation: Option<String>,
    commune: Option<String>,
}

impl From<DetailsDbRow> for SubscriberDetails {
    fn from(r: DetailsDbRow) -> Self {
        SubscriberDetails {
            first_name: r.first_name,
            last_name: r.last_name,
            organisation: r.organisation,
            commune: r.commune,
        }
    }
}

/// One subscription of a subscriber, with the subscriber.
#[derive(sqlx::FromRow)]
struct SubscriberDbRow {
    email: String,
    name: Option<String>,
    #[sqlx(flatten)]
    details: DetailsDbRow,
    list: String,
    status: String,
}

/// A subscriber's id and details.
#[derive(sqlx::FromRow)]
struct IdDetailsDbRow {
    id: i64,
    #[sqlx(flatten)]
    details: DetailsDbRow,
}

/// A valid, lowercased address to import, with the keyed hash the suppression list uses.
#[derive(Debug, Clone)]
pub(crate) struct ImportEntry {
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    pub(crate) details: SubscriberDetails,
    pub(crate) hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImportOutcome {
    Imported,
    /// Already active or pending in the list (or twice in the file).
    Duplicate,
    /// Unsubscribed, bounced, complained or erased: never subscribed again by an import.
    Suppressed,
}

impl Store {
    /// Subscribes valid addresses to `list` (active: the file is the consent record); an
    /// address refused before or erased is left out. One transaction for the whole file.
    pub(crate) async fn import_subscribers(
        &self,
        list: &str,
        entries: &[ImportEntry],
        source: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ImportOutcome>> {
        let at = timestamp(now);
        let mut outcomes = Vec::with_capacity(entries.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for entry in entries {
                let suppressed: Option<String> =
                    sqlx::query_scalar("SELECT reason FROM suppressions WHERE hash = $1")
                        .bind(&entry.hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                if suppressed.is_some() {
                    outcomes.push(ImportOutcome::Suppressed);
                    continue;
                }
                let existing: Option<(i64, Option<String>, bool)> = sqlx::query_as(
                    "SELECT s.id, (SELECT status FROM subscriptions WHERE subscriber_id = s.id AND list = $2) AS in_list,
                            EXISTS (SELECT 1 FROM subscriptions WHERE subscriber_id = s.id
                                    AND status IN ('bounced', 'complained')) AS refused
                     FROM subscribers s WHERE s.email = $1",
                )
                .bind(&entry.email)
                .bind(list)
                .fetch_optional(&mut *tx)
                .await?;
                let id: i64 = match existing {
                    Some((id, in_list, refused)) => {
                        match in_list.as_deref().and_then(SubscriptionStatus::parse) {
                            Some(s) if s.is_suppressed() => {
                                outcomes.push(ImportOutcome::Suppressed);
                                continue;
                            }
                            Some(_) => {
                                outcomes.push(ImportOutcome::Duplicate);
                                continue;
                            }
                            None if refused => {
                                outcomes.push(ImportOutcome::Suppressed);
                                continue;
                            }
                            None => {
                                // Known from another list: what this file says fills the gaps.
                                sqlx::query(
                                    "UPDATE subscribers SET first_name = COALESCE(first_name, $2),
                                       last_name = COALESCE(last_name, $3),
                                       organisation = COALESCE(organisation, $4),
                                       commune = COALESCE(commune, $5), name = COALESCE(name, $6)
                                     WHERE id = $1",
                                )
                                .bind(id)
                                .bind(&entry.details.first_name)
                                .bind(&entry.details.last_name)
                                .bind(&entry.details.organisation)
                                .bind(&entry.details.commune)
                                .bind(&entry.name)
                                .execute(&mut *tx)
                                .await?;
                                id
                            }
                        }
                    }
                    None => {
                        sqlx::query_scalar(
                            "INSERT INTO subscribers (email, name, created_at, first_name, last_name, organisation, commune)
                             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                        )
                        .bind(&entry.email)
                        .bind(&entry.name)
                        .bind(&at)
                        .bind(&entry.details.first_name)
                        .bind(&entry.details.last_name)
                        .bind(&entry.details.organisation)
                        .bind(&entry.details.commune)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                sqlx::query(
                    "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how, consent_source, updated_at)
                     VALUES ($1, $2, 'active', $3, 'import', $4, $3)",
                )
                .bind(id)
                .bind(list)
                .bind(&at)
                .bind(source)
                .execute(&mut *tx)
                .await?;
                outcomes.push(ImportOutcome::Imported);
            }
            tx.commit().await?;
        });
        Ok(outcomes)
    }

    /// Subscribers (of one list, or all), by address.
    pub(crate) async fn subscriber_rows(
        &self,
        list: Option<&str>,
    ) -> anyhow::Result<Vec<SubscriberRow>> {
        let rows: Vec<SubscriberDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.email, s.name, s.first_name, s.last_name, s.organisation, s.commune,
                        c.list, c.status FROM subscribers s
                 JOIN subscriptions c ON c.subscriber_id = s.id
                 WHERE $1 IS NULL OR s.id IN (SELECT subscriber_id FROM subscriptions WHERE list = $1)
                 ORDER BY s.email, c.list",
            )
            .bind(list)
            .fetch_all(pool)
            .await?
        });
        let mut out: Vec<SubscriberRow> = Vec::new();
        for r in rows {
            let status =
                SubscriptionStatus::parse(&r.status).unwrap_or(SubscriptionStatus::Pending);
            let list = r.list;
            if out.last().is_none_or(|s| s.email != r.email) {
                out.push(SubscriberRow {
                    email: r.email,
                    name: r.name,
                    details: r.details.into(),
                    lists: Vec::new(),
                    status,
                    subscriptions: Vec::new(),
                });
            }
            let row = out.last_mut().expect("pushed above");
            if status == SubscriptionStatus::Active {
                row.lists.push(list.clone());
            }
            row.subscriptions.push((list, status));
        }
        for row in &mut out {
            let rank = |s: SubscriptionStatus| match s {
                SubscriptionStatus::Active => 5,
                SubscriptionStatus::Pending => 4,
                SubscriptionStatus::Complained => 3,
                SubscriptionStatus::Bounced => 2,
                SubscriptionStatus::Unsubscribed => 1,
            };
            row.status = row
                .subscriptions
                .iter()
                .map(|(_, s)| *s)
                .max_by_key(|s| rank(*s))
                .unwrap_or(SubscriptionStatus::Pending);
        }
        Ok(out)
    }

    /// A subscription asked for on the web form: `pending` until confirmed. Returns the
    /// subscriber to send the confirmation to, or None when the address must not be
    /// written to (refused before, erased, or already active).
    pub(crate) async fn request_subscription(
        &self,
        email: &str,
        hash: &str,
        list: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let at = timestamp(now);
        let id: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let suppressed: Option<String> =
                sqlx::query_scalar("SELECT reason FROM suppressions WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            if suppressed.is_some() {
                return Ok(None);
            }
            let id: i64 =
                match sqlx::query_scalar::<_, i64>("SELECT id FROM subscribers WHERE email = $1")
                    .bind(email)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(id) => id,
                    None => {
                        sqlx::query_scalar(
                            "INSERT INTO subscribers (email, created_at) VALUES ($1, $2) RETURNING id",
                        )
                        .bind(email)
                        .bind(&at)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
            let status: Option<String> = sqlx::query_scalar(
                "SELECT status FROM subscriptions WHERE subscriber_id = $1 AND list = $2",
            )
            .bind(id)
            .bind(list)
            .fetch_optional(&mut *tx)
            .await?;
            match status.as_deref() {
                Some("active") | Some("bounced") | Some("complained") => return Ok(None),
                // A person who unsubscribed may come back by asking again: the double opt-in
                // is their fresh consent.
                Some(_) => {
                    sqlx::query(
                        "UPDATE subscriptions SET status = 'pending', consent_at = $3, consent_how = 'formulaire',
                           consent_source = $4, updated_at = $3 WHERE subscriber_id = $1 AND list = $2",
                    )
                    .bind(id)
                    .bind(list)
                    .bind(&at)
                    .bind(source)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how, consent_source, updated_at)
                         VALUES ($1, $2, 'pending', $3, 'formulaire', $4, $3)",
                    )
                    .bind(id)
                    .bind(list)
                    .bind(&at)
                    .bind(source)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            id
        });
        Ok(Some(id))
    }

    /// Confirms a pending subscription (double opt-in). True when it is now active.
    pub(crate) async fn confirm_subscription(
        &self,
        subscriber: i64,
        list: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscriptions SET status = 'active', consent_at = $3, updated_at = $3
                 WHERE subscriber_id = $1 AND list = $2 AND status IN ('pending', 'active')",
            )
            .bind(subscriber)
            .bind(list)
            .bind(timestamp(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// Unsubscribes from one list (the one-click link). Idempotent.
    pub(crate) async fn unsubscribe(
        &self,
        subscriber: i64,
        list: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscriptions SET status = 'unsubscribed', updated_at = $3
                 WHERE subscriber_id = $1 AND list = $2 AND status IN ('pending', 'active')",
            )
            .bind(subscriber)
            .bind(list)
            .bind(timestamp(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// What is known of each subscriber of `list` (by id), to personalise messages.
    pub(crate) async fn subscriber_details(
        &self,
        list: &str,
    ) -> anyhow::Result<std::collections::HashMap<i64, SubscriberDetails>> {
        let rows: Vec<IdDetailsDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.id, s.first_name, s.last_name, s.organisation, s.commune
                 FROM subscribers s JOIN subscriptions c ON c.subscriber_id = s.id WHERE c.list = $1",
            )
            .bind(list)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|r| (r.id, r.details.into())).collect())
    }

    /// The address of a subscriber (for the preferences page).
    pub(super) async fn subscriber_email(&self, subscriber: i64) -> anyhow::Result<Option<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT email FROM subscribers WHERE id = $1")
                .bind(subscriber)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Erasure: the personal data goes (subscriber, subscriptions, addresses in the
    /// ledger); the keyed hash stays in the suppression list. True when the address was known.
    pub(crate) async fn forget_subscriber(
        &self,
        email: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let id: Option<i64> = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE deliveries SET email = 'effacé:' || $2 || ':' || edition_id, subscriber_id = NULL
                 WHERE email = $1",
            )
            .bind(email)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            if let Some(id) = id {
                sqlx::query("DELETE FROM subscribers WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO suppressions (hash, reason, at) VALUES ($1, 'forgotten', $2)
                 ON CONFLICT (centre, hash) DO NOTHING",
            )
            .bind(hash)
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            id
        });
        Ok(id.is_some())
    }

    /// The row id of the centre's edition (for its report).
    pub(super) async fn edition_row_id(
        &self,
        kind: &str,
        number: i64,
    ) -> anyhow::Result<Option<i64>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM editions WHERE kind = $1 AND number = $2 AND centre = $3",
            )
            .bind(kind)
            .bind(number)
            .bind(self.centre())
            .fetch_optional(pool)
                .await?
        }))
    }
}

/// Direct reads for the unit tests' checks, on either backend.
#[cfg(test)]
impl Store {
    /// The text column a query returns, row by row.
    pub(crate) async fn column_texts(&self, sql: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_all(pool).await.unwrap())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn entry(email: &str, first_name: Option<&str>, hash: &str) -> ImportEntry {
        ImportEntry {
            email: email.into(),
            name: None,
            details: SubscriberDetails {
                first_name: first_name.map(String::from),
                commune: Some("Albi".into()),
                ..SubscriberDetails::default()
            },
            hash: hash.into(),
        }
    }

    /// a@ on two lists (the second file filling gaps), b@ on one; parti@ refused before.
    async fn imported(store: &Store, now: DateTime<Utc>) {
        store
            .exec("INSERT INTO suppressions (hash, reason, at) VALUES ('h-parti', 'unsubscribed', 'x')")
            .await;
        let entries = [
            entry("b@example.org", Some("Bea"), "h-b"),
            entry("a@example.org", Some("Ali"), "h-a"),
            entry("b@example.org", Some("Bea"), "h-b"),
            entry("parti@example.org", None, "h-parti"),
        ];
        let outcomes = store
            .import_subscribers("flash-info", &entries, "liste.csv", now)
            .await
            .unwrap();
        use ImportOutcome::*;
        assert_eq!(outcomes, [Imported, Imported, Duplicate, Suppressed]);
        // Known from another list: the new file fills the gaps only.
        let again = [entry("a@example.org", Some("Autre"), "h-a")];
        let outcomes = store
            .import_subscribers("lettre", &again, "autre.csv", now)
            .await
            .unwrap();
        assert_eq!(outcomes, [Imported]);
    }

    #[tokio::test]
    async fn imports_fill_gaps_and_skip_the_refused_on_either_backend() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        imported(&store, now).await;
        let rows = store.subscriber_rows(None).await.unwrap();
        let seen: Vec<(&str, Vec<String>, SubscriptionStatus)> = rows
            .iter()
            .map(|r| (r.email.as_str(), r.lists.clone(), r.status))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "a@example.org",
                    vec!["flash-info".to_string(), "lettre".to_string()],
                    SubscriptionStatus::Active
                ),
                (
                    "b@example.org",
                    vec!["flash-info".to_string()],
                    SubscriptionStatus::Active
                ),
            ]
        );
        assert_eq!(rows[0].details.first_name.as_deref(), Some("Ali"));
        assert_eq!(
            store.subscriber_rows(Some("lettre")).await.unwrap().len(),
            1
        );
    }

    #[tokio::test]
    async fn the_web_form_asks_then_confirms_on_either_backend() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        imported(&store, now).await;
        // The web form: pending until confirmed; an active address is not written to.
        let c = store
            .request_subscription("c@example.org", "h-c", "flash-info", "127.0.0.1", now)
            .await
            .unwrap()
            .expect("a new address");
        assert_eq!(
            store
                .request_subscription("a@example.org", "h-a", "flash-info", "127.0.0.1", now)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .request_subscription("parti@example.org", "h-parti", "lettre", "127.0.0.1", now)
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .confirm_subscription(c, "flash-info", now)
                .await
                .unwrap()
        );
        assert!(!store.confirm_subscription(c, "lettre", now).await.unwrap());
        let details = store.subscriber_details("flash-info").await.unwrap();
        assert_eq!(details.len(), 3);
        assert_eq!(details[&c], SubscriberDetails::default());
        assert_eq!(
            store.subscriber_email(c).await.unwrap().as_deref(),
            Some("c@example.org")
        );
        store.unsubscribe(c, "flash-info", now).await.unwrap();
        store.unsubscribe(c, "flash-info", now).await.unwrap();
        let status = |rows: Vec<SubscriberRow>| {
            rows.into_iter()
                .find(|r| r.email == "c@example.org")
                .map(|r| r.subscriptions)
        };
        assert_eq!(
            status(store.subscriber_rows(None).await.unwrap()),
            Some(vec![(
                "flash-info".to_string(),
                SubscriptionStatus::Unsubscribed
            )])
        );
        // Coming back by asking again: pending anew.
        assert_eq!(
            store
                .request_subscription("c@example.org", "h-c", "flash-info", "127.0.0.1", now)
                .await
                .unwrap(),
            Some(c)
        );
        assert_eq!(
            status(store.subscriber_rows(None).await.unwrap()),
            Some(vec![(
                "flash-info".to_string(),
                SubscriptionStatus::Pending
            )])
        );
    }

    #[tokio::test]
    async fn an_erased_address_leaves_the_ledger_and_never_comes_back_on_either_backend() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        imported(&store, now).await;
        use ImportOutcome::*;
        // Erasure: the address leaves the ledger too, the hash stays.
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        store
            .create_edition("flash-info", day, day, now)
            .await
            .unwrap();
        let edition = store
            .edition_row_id("flash-info", 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.edition_row_id("flash-info", 2).await.unwrap(), None);
        store
            .exec(&format!(
                "INSERT INTO deliveries (edition_id, subscriber_id, email, state, message_id, updated_at)
                 SELECT {edition}, id, email, 'sent', '<m>', 'x' FROM subscribers WHERE email = 'a@example.org'"
            ))
            .await;
        assert!(
            store
                .forget_subscriber("a@example.org", "h-a", now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .forget_subscriber("a@example.org", "h-a", now)
                .await
                .unwrap()
        );
        assert_eq!(
            store.column_texts("SELECT email FROM deliveries").await,
            [format!("effacé:h-a:{edition}")]
        );
        assert_eq!(
            store
                .scalar("SELECT COUNT(*) FROM suppressions WHERE hash = 'h-a'")
                .await,
            1
        );
        let emails: Vec<String> = store
            .subscriber_rows(None)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.email)
            .collect();
        assert_eq!(emails, ["b@example.org"]);
        // Erased, never imported again.
        let outcomes = store
            .import_subscribers(
                "flash-info",
                &[entry("a@example.org", None, "h-a")],
                "f.csv",
                now,
            )
            .await
            .unwrap();
        assert_eq!(outcomes, [Suppressed]);
    }
}
