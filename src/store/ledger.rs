//! The per-recipient delivery ledger that makes a send resumable and never double: each
//! recipient of an edition is `queued`, then `sending` (committed before its SMTP transaction),
//! then `sent` or refused (committed after the server's answer). A crash leaves at most the
//! recipients in an SMTP transaction `sending`: reported as uncertain, never resent unasked.
//!
//! The connections of a send share their commits (`advance`): the `sent` of one recipient and
//! the `sending` of the next, for every connection waiting at that moment, go in one
//! transaction, synced to the disk (`synchronous = FULL`) before any of them goes on.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{Connection, SqliteConnection};

use super::{Store, timestamp};
use crate::model::{DeliveryState, EditionStatus};

/// A recipient taken from the ledger, marked `sending`.
#[derive(Debug, Clone)]
pub(crate) struct ClaimedDelivery {
    pub(crate) email: String,
    pub(crate) subscriber: i64,
    pub(crate) message_id: String,
    pub(crate) attempts: i64,
}

/// What the SMTP server said about one recipient.
#[derive(Debug, Clone)]
pub(crate) enum DeliveryOutcome {
    Sent {
        reply: String,
    },
    /// 4xx: tried again from `retry_at`, or given up when None.
    Temporary {
        reply: String,
        retry_at: Option<DateTime<Utc>>,
    },
    /// 5xx.
    Permanent {
        reply: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("édition inconnue : {0}")]
    UnknownEdition(String),
    #[error(
        "l'édition {0} est un brouillon : marquez-la prête (`veille edition ready {0}`) avant l'envoi"
    )]
    NotReady(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SendError {
    fn from(e: sqlx::Error) -> Self {
        SendError::Store(e.into())
    }
}

/// One connection's turn at the ledger: the answer for its last recipient, if any, and
/// whether it wants its next recipient.
#[derive(Debug, Clone)]
pub(crate) struct LedgerStep {
    pub(crate) finished: Option<(ClaimedDelivery, DeliveryOutcome)>,
    pub(crate) claim: bool,
}

#[derive(sqlx::FromRow)]
struct EditionState {
    id: i64,
    status: String,
}

#[derive(sqlx::FromRow)]
struct StateCount {
    state: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct FailureRow {
    email: String,
    state: String,
    last_reply: Option<String>,
}

/// The recipient a claim took: `sending` (its attempts counted), or `skipped` when no
/// longer active in the list.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    email: String,
    /// NULL once the subscriber is erased (then never `sending`).
    subscriber_id: Option<i64>,
    message_id: String,
    attempts: i64,
    state: String,
}

/// The synchronisation of the ledger's commits. FULL: a `sent` or `sending` must survive a
/// power cut, not only a crash, or a resumed send could mail someone twice. The send bench
/// alone sets `VEILLE_BENCH_LEDGER_SYNC=NORMAL` to print what FULL costs; nothing else should.
fn ledger_synchronous() -> &'static str {
    static MODE: LazyLock<&'static str> =
        LazyLock::new(|| match std::env::var("VEILLE_BENCH_LEDGER_SYNC") {
            Ok(v) if v.eq_ignore_ascii_case("normal") => "PRAGMA synchronous = NORMAL",
            _ => "PRAGMA synchronous = FULL",
        });
    *MODE
}

impl Store {
    /// Starts (or resumes) the send of an edition: a ready edition becomes `sent` (frozen)
    /// and every active subscriber of `list` at this moment is queued once. A resumed send
    /// queues nobody new. Returns the edition's row id and how many were queued now.
    pub(crate) async fn start_sending(
        &self,
        kind: &str,
        number: i64,
        list: &str,
        message_id_domain: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, u64), SendError> {
        let address = format!("{kind}/{number}");
        let at = timestamp(now);
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let EditionState { id, status } = sqlx::query_as::<_, EditionState>(
            "SELECT id, status FROM editions WHERE kind = $1 AND number = $2",
        )
        .bind(kind)
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| SendError::UnknownEdition(address.clone()))?;
        let status = EditionStatus::parse(&status);
        let queued = match status {
            Some(EditionStatus::Draft) | None => return Err(SendError::NotReady(address)),
            Some(EditionStatus::Sent) => 0,
            Some(EditionStatus::Ready) => {
                let queued = sqlx::query(
                    "INSERT INTO deliveries (edition_id, subscriber_id, email, state, message_id, updated_at)
                     SELECT $1, s.id, s.email, 'queued',
                            '<veille.' || $2 || '.' || $3 || '.' || s.id || '@' || $4 || '>', $5
                     FROM subscribers s JOIN subscriptions c ON c.subscriber_id = s.id
                     WHERE c.list = $6 AND c.status = 'active'
                     ON CONFLICT (edition_id, email) DO NOTHING",
                )
                .bind(id)
                .bind(kind)
                .bind(number)
                .bind(message_id_domain)
                .bind(&at)
                .bind(list)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(
                    "UPDATE editions SET status = 'sent', sent_at = $1, updated_at = $1 WHERE id = $2",
                )
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                queued
            }
        };
        tx.commit().await?;
        Ok((id, queued))
    }

    /// How many recipients of the edition are in each state.
    pub(crate) async fn delivery_counts(
        &self,
        edition: i64,
    ) -> anyhow::Result<BTreeMap<String, i64>> {
        Ok(sqlx::query_as::<_, StateCount>(
            "SELECT state, COUNT(*) AS n FROM deliveries WHERE edition_id = $1 GROUP BY state",
        )
        .bind(edition)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|c| (c.state, c.n))
        .collect())
    }

    /// Recipients left `sending` by an interrupted send: the server may or may not have
    /// accepted their message.
    pub(crate) async fn uncertain_deliveries(&self, edition: i64) -> anyhow::Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT email FROM deliveries WHERE edition_id = $1 AND state = 'sending' ORDER BY email",
        )
        .bind(edition)
        .fetch_all(self.pool())
        .await?)
    }

    /// Puts the uncertain recipients back in the queue (they may receive the edition twice).
    pub(crate) async fn requeue_uncertain(
        &self,
        edition: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 'queued', updated_at = $2 WHERE edition_id = $1 AND state = 'sending'",
        )
        .bind(edition)
        .bind(timestamp(now))
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Temporarily refused recipients that used up their tries go back in the queue.
    pub(crate) async fn requeue_exhausted(
        &self,
        edition: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        Ok(sqlx::query(
            "UPDATE deliveries SET state = 'queued', attempts = 0, updated_at = $2
             WHERE edition_id = $1 AND state = 'failed_temp' AND next_attempt IS NULL",
        )
        .bind(edition)
        .bind(timestamp(now))
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// A connection of its own for the ledger of one send, synced (FULL) for as long as it
    /// lives, so no pooled connection is switched to FULL and back at every commit (six round trips to SQLite's thread saved per commit). It is
    /// detached from the pool, so it never goes back to it in FULL: dropped, it is closed.
    pub(crate) async fn ledger_desk(&self) -> anyhow::Result<LedgerDesk> {
        let mut conn = self.pool().acquire().await?.detach();
        sqlx::query(sqlx::AssertSqlSafe(ledger_synchronous()))
            .execute(&mut conn)
            .await?;
        Ok(LedgerDesk { conn })
    }

    /// When the next temporarily refused recipient is due, if any.
    pub(crate) async fn next_retry(&self, edition: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT MIN(next_attempt) FROM deliveries WHERE edition_id = $1 AND state = 'failed_temp'",
        )
        .bind(edition)
        .fetch_one(self.pool())
        .await?;
        Ok(super::parse_timestamp(next))
    }

    /// Messages accepted by the server since `since`, all editions together (hourly cap).
    pub(crate) async fn sent_since(&self, since: DateTime<Utc>) -> anyhow::Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE sent_at >= $1")
                .bind(timestamp(since))
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// Failures of an edition, for the final report: (address, state, last reply).
    pub(crate) async fn failed_deliveries(
        &self,
        edition: i64,
    ) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
        Ok(sqlx::query_as::<_, FailureRow>(
            "SELECT email, state, last_reply FROM deliveries
             WHERE edition_id = $1 AND state IN ('failed_temp', 'failed_perm') ORDER BY email",
        )
        .bind(edition)
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| (r.email, r.state, r.last_reply))
        .collect())
    }
}

/// The ledger's own connection during a send (`Store::ledger_desk`).
pub(crate) struct LedgerDesk {
    conn: SqliteConnection,
}

impl LedgerDesk {
    /// Applies the steps of several connections in one transaction, synced to the disk before
    /// it returns: first every answer (a permanent refusal counts as a bounce; after
    /// `bounce_limit` of them the address is marked bounced in every list), then one claim per
    /// step that asks for it. Returns, step by step, the recipient now marked `sending`
    /// (None: nothing due now, or no claim asked).
    pub(crate) async fn advance(
        &mut self,
        edition: i64,
        list: &str,
        steps: &[LedgerStep],
        bounce_limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
        advance(&mut self.conn, edition, list, steps, bounce_limit, now).await
    }
}

/// The steps of several connections in one transaction: answers first, then claims.
async fn advance(
    conn: &mut SqliteConnection,
    edition: i64,
    list: &str,
    steps: &[LedgerStep],
    bounce_limit: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
    // A fixed number of statements whatever the number of steps: each statement is a round
    // trip to SQLite's thread, and the commit is on every connection's critical path.
    let at = timestamp(now);
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let finished: Vec<_> = steps.iter().filter_map(|s| s.finished.as_ref()).collect();
    record_all(&mut tx, edition, &finished, &at).await?;
    for (delivery, _) in finished
        .iter()
        .filter(|(_, outcome)| matches!(outcome, DeliveryOutcome::Permanent { .. }))
    {
        count_bounce(&mut tx, delivery.subscriber, bounce_limit, &at).await?;
    }
    let wanted = steps.iter().filter(|s| s.claim).count();
    let mut claims = claim_many(&mut tx, edition, list, &at, wanted)
        .await?
        .into_iter();
    let claimed = steps
        .iter()
        .map(|step| if step.claim { claims.next() } else { None })
        .collect();
    tx.commit().await?;
    Ok(claimed)
}

/// Takes up to `wanted` recipients due and marks them `sending` (before any SMTP command);
/// a recipient no longer active in the list is marked `skipped` instead and another taken.
/// Queued ones come before retries; each lookup is a range of `deliveries_state`, with no
/// sort. Fewer than `wanted` when fewer are due now.
async fn claim_many(
    conn: &mut SqliteConnection,
    edition: i64,
    list: &str,
    at: &str,
    wanted: usize,
) -> anyhow::Result<Vec<ClaimedDelivery>> {
    let mut claimed = Vec::with_capacity(wanted);
    for due in [
        "state = 'queued'",
        "state = 'failed_temp' AND next_attempt IS NOT NULL AND next_attempt <= $3",
    ] {
        while claimed.len() < wanted {
            let asked = wanted - claimed.len();
            let rows = sqlx::query_as::<_, ClaimedRow>(sqlx::AssertSqlSafe(format!(
                "UPDATE deliveries
                 SET state = CASE WHEN (SELECT c.status FROM subscriptions c
                                        WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                             THEN 'sending' ELSE 'skipped' END,
                     attempts = attempts + ((SELECT c.status FROM subscriptions c
                                             WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) IS 'active'),
                     updated_at = $3
                 WHERE rowid IN (SELECT rowid FROM deliveries WHERE edition_id = $1 AND {due} LIMIT $4)
                 RETURNING email, subscriber_id, message_id, attempts, state"
            )))
            .bind(edition)
            .bind(list)
            .bind(at)
            .bind(asked as i64)
            .fetch_all(&mut *conn)
            .await?;
            let found = rows.len();
            claimed.extend(rows.into_iter().filter_map(|row| {
                let subscriber = row.subscriber_id.filter(|_| row.state == "sending")?;
                Some(ClaimedDelivery {
                    email: row.email,
                    subscriber,
                    message_id: row.message_id,
                    attempts: row.attempts,
                })
            }));
            if found < asked {
                break;
            }
        }
    }
    Ok(claimed)
}

/// Records the server's answers for several recipients in one statement (the rows travel as
/// one JSON array: a bound parameter, so a hostile reply is only text).
async fn record_all(
    conn: &mut SqliteConnection,
    edition: i64,
    finished: &[&(ClaimedDelivery, DeliveryOutcome)],
    at: &str,
) -> anyhow::Result<()> {
    if finished.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = finished
        .iter()
        .map(|(delivery, outcome)| {
            let (state, reply, retry_at, sent_at) = match outcome {
                DeliveryOutcome::Sent { reply } => (DeliveryState::Sent, reply, None, Some(at)),
                DeliveryOutcome::Temporary { reply, retry_at } => (
                    DeliveryState::FailedTemp,
                    reply,
                    retry_at.map(timestamp),
                    None,
                ),
                DeliveryOutcome::Permanent { reply } => {
                    (DeliveryState::FailedPerm, reply, None, None)
                }
            };
            serde_json::json!({
                "email": delivery.email,
                "state": state.as_str(),
                "reply": reply,
                "next": retry_at,
                "sent": sent_at,
            })
        })
        .collect();
    let column = |name: &str| {
        format!(
            "(SELECT j.value ->> '{name}' FROM json_each($3) AS j
              WHERE j.value ->> 'email' = deliveries.email)"
        )
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries
         SET state = {}, last_reply = {}, next_attempt = {}, sent_at = {}, updated_at = $2
         WHERE edition_id = $1 AND email IN (SELECT value ->> 'email' FROM json_each($3))",
        column("state"),
        column("reply"),
        column("next"),
        column("sent"),
    )))
    .bind(edition)
    .bind(at)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A permanent refusal counts as a bounce; after `bounce_limit` of them the address is marked
/// bounced in every list.
async fn count_bounce(
    conn: &mut SqliteConnection,
    subscriber: i64,
    bounce_limit: u32,
    at: &str,
) -> anyhow::Result<()> {
    let bounces: i64 = sqlx::query_scalar(
        "UPDATE subscribers SET bounces = bounces + 1 WHERE id = $1 RETURNING bounces",
    )
    .bind(subscriber)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(0);
    if bounces >= i64::from(bounce_limit) {
        sqlx::query(
            "UPDATE subscriptions SET status = 'bounced', updated_at = $2
             WHERE subscriber_id = $1 AND status IN ('active', 'pending')",
        )
        .bind(subscriber)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ImportEntry;

    /// Four readers queued for a sent edition; the third unsubscribed after the queueing.
    async fn queued() -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let now = Utc::now();
        let entries: Vec<ImportEntry> = (0..4)
            .map(|i| ImportEntry {
                email: format!("lecteur{i}@exemple.fr"),
                name: None,
                details: Default::default(),
                hash: format!("h{i}"),
            })
            .collect();
        store
            .import_subscribers("flash-info", &entries, "test", now)
            .await
            .unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let edition = store
            .create_edition("flash-info", day, day, now)
            .await
            .unwrap();
        store
            .set_edition_status("flash-info", edition.number, EditionStatus::Ready, now)
            .await
            .unwrap();
        let (id, queued) = store
            .start_sending(
                "flash-info",
                edition.number,
                "flash-info",
                "exemple.fr",
                now,
            )
            .await
            .unwrap();
        assert_eq!(queued, 4);
        let gone = store
            .subscriber_id("lecteur2@exemple.fr")
            .await
            .unwrap()
            .unwrap();
        store.unsubscribe(gone, "flash-info", now).await.unwrap();
        (dir, store, id)
    }

    fn claims(n: usize) -> Vec<LedgerStep> {
        (0..n)
            .map(|_| LedgerStep {
                finished: None,
                claim: true,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_commit_claims_several_skips_the_departed_and_records_each_answer() {
        let (_dir, store, edition) = queued().await;
        let mut desk = store.ledger_desk().await.unwrap();
        let now = Utc::now();
        // Four asked, three active: the departed reader is skipped, one claim comes back empty.
        let claimed = desk
            .advance(edition, "flash-info", &claims(4), 3, now)
            .await
            .unwrap();
        let taken: Vec<ClaimedDelivery> = claimed.iter().flatten().cloned().collect();
        assert_eq!(taken.len(), 3, "{claimed:?}");
        assert!(taken.iter().all(|d| d.attempts == 1));
        assert!(taken.iter().all(|d| d.email != "lecteur2@exemple.fr"));
        let counts = store.delivery_counts(edition).await.unwrap();
        assert_eq!(counts.get("sending"), Some(&3), "{counts:?}");
        assert_eq!(counts.get("skipped"), Some(&1), "{counts:?}");

        // Three answers in one statement, a hostile reply kept as plain text.
        let hostile = "550 5.1.1 <x>'); DROP TABLE deliveries; -- \"}]";
        let retry = now + chrono::Duration::seconds(60);
        let outcomes = [
            DeliveryOutcome::Sent {
                reply: "250 2.0.0 Ok".into(),
            },
            DeliveryOutcome::Temporary {
                reply: "451 4.3.0 plus tard".into(),
                retry_at: Some(retry),
            },
            DeliveryOutcome::Permanent {
                reply: hostile.into(),
            },
        ];
        let steps: Vec<LedgerStep> = taken
            .iter()
            .cloned()
            .zip(outcomes)
            .map(|(d, o)| LedgerStep {
                finished: Some((d, o)),
                claim: true,
            })
            .collect();
        let next = desk
            .advance(edition, "flash-info", &steps, 3, now)
            .await
            .unwrap();
        assert!(
            next.iter().all(Option::is_none),
            "nothing due yet: {next:?}"
        );
        let counts = store.delivery_counts(edition).await.unwrap();
        assert_eq!(counts.get("sent"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("failed_temp"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("failed_perm"), Some(&1), "{counts:?}");
        let failed = store.failed_deliveries(edition).await.unwrap();
        let reply = |email: &str| {
            failed
                .iter()
                .find(|(e, _, _)| e == email)
                .and_then(|(_, _, r)| r.clone())
        };
        assert_eq!(reply(&taken[2].email).as_deref(), Some(hostile));
        assert_eq!(
            reply(&taken[1].email).as_deref(),
            Some("451 4.3.0 plus tard")
        );
        assert_eq!(
            store.next_retry(edition).await.unwrap(),
            Some(retry).map(|t| { super::super::parse_timestamp(Some(timestamp(t))).unwrap() })
        );
        assert_eq!(store.sent_since(now).await.unwrap(), 1);

        // Once due, the retry is claimed again, with its attempts counted.
        let later = retry + chrono::Duration::seconds(1);
        let again = desk
            .advance(edition, "flash-info", &claims(2), 3, later)
            .await
            .unwrap();
        let again: Vec<_> = again.into_iter().flatten().collect();
        assert_eq!(again.len(), 1, "{again:?}");
        assert_eq!(again[0].email, taken[1].email);
        assert_eq!(again[0].attempts, 2);
    }
}
