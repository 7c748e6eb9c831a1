//! The per-recipient delivery ledger that makes a send resumable and never double: each
//! recipient of an edition is `queued`, then `sending` (committed before its SMTP transaction),
//! then `sent` or refused (committed after the server's answer). A crash leaves at most the
//! recipients in an SMTP transaction `sending`: reported as uncertain, never resent unasked.
//!
//! The connections of a send share their commits (`advance`): the `sent` of one recipient and
//! the `sending` of the next, for every connection waiting at that moment, go in one
//! transaction, synced to the disk (SQLite: `synchronous = FULL`; PostgreSQL:
//! `synchronous_commit = on`) before any of them goes on.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, SqliteConnection};

use super::{Conn, Store, WritePool, by_dialect, timestamp};
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
    #[error("édition introuvable : {0}")]
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

/// Whether the ledger's commits are synced to the disk. They are: a `sent` or `sending` must
/// survive a power cut, not only a crash, or a resumed send could mail someone twice. The
/// send bench alone sets `VEILLE_BENCH_LEDGER_SYNC=NORMAL` to print what it costs; nothing
/// else should.
fn ledger_synced() -> bool {
    static SYNCED: LazyLock<bool> = LazyLock::new(|| {
        !std::env::var("VEILLE_BENCH_LEDGER_SYNC").is_ok_and(|v| v.eq_ignore_ascii_case("normal"))
    });
    *SYNCED
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
        // The write lock: the edition's status is read, then written.
        let found: Option<(i64, u64)> = on_pool!(self, pool => {
        let mut tx = pool.begin_write().await?;
        // The centre's edition only: another centre's of the same name is unknown here.
        let edition = sqlx::query_as::<_, EditionState>(
            "SELECT id, status FROM editions WHERE kind = $1 AND number = $2 AND centre = $3",
        )
        .bind(kind)
        .bind(number)
        .bind(self.centre())
        .fetch_optional(&mut *tx)
        .await?;
        match edition {
            None => None,
            Some(EditionState { id, status }) => {
                let queued = match EditionStatus::parse(&status) {
                    Some(EditionStatus::Draft) | None => return Err(SendError::NotReady(address)),
                    Some(EditionStatus::Sent) => 0,
                    Some(EditionStatus::Ready) => {
                        let queued = sqlx::query(
                            "INSERT INTO deliveries (edition_id, subscriber_id, email, state, message_id, updated_at)
                             SELECT $1, s.id, s.email, 'queued',
                                    '<veille.' || $2 || '.' || $3 || '.' || s.id || '@' || $4 || '>', $5
                             FROM subscribers s JOIN subscriptions c ON c.subscriber_id = s.id
                             WHERE c.list = $6 AND c.status = 'active' AND s.centre = $7
                             ON CONFLICT (edition_id, email) DO NOTHING",
                        )
                        .bind(id)
                        .bind(kind)
                        .bind(number)
                        .bind(message_id_domain)
                        .bind(&at)
                        .bind(list)
                        // The audience is this centre's subscribers only.
                        .bind(self.centre())
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
                Some((id, queued))
            }
        }
        });
        found.ok_or(SendError::UnknownEdition(address))
    }

    /// How many recipients of the edition are in each state.
    pub(crate) async fn delivery_counts(
        &self,
        edition: i64,
    ) -> anyhow::Result<BTreeMap<String, i64>> {
        let counts: Vec<StateCount> = on_pool!(self, pool => sqlx::query_as(
            "SELECT state, COUNT(*) AS n FROM deliveries WHERE edition_id = $1 GROUP BY state",
        )
        .bind(edition)
        .fetch_all(pool)
        .await?);
        Ok(counts.into_iter().map(|c| (c.state, c.n)).collect())
    }

    /// Recipients left `sending` by an interrupted send: the server may or may not have
    /// accepted their message.
    pub(crate) async fn uncertain_deliveries(&self, edition: i64) -> anyhow::Result<Vec<String>> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT email FROM deliveries WHERE edition_id = $1 AND state = 'sending' ORDER BY email",
        )
        .bind(edition)
        .fetch_all(pool)
        .await?))
    }

    /// Puts the uncertain recipients back in the queue (they may receive the edition twice).
    pub(crate) async fn requeue_uncertain(
        &self,
        edition: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET state = 'queued', updated_at = $2 WHERE edition_id = $1 AND state = 'sending'",
        )
        .bind(edition)
        .bind(timestamp(now))
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// Temporarily refused recipients that used up their tries go back in the queue.
    pub(crate) async fn requeue_exhausted(
        &self,
        edition: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE deliveries SET state = 'queued', attempts = 0, updated_at = $2
             WHERE edition_id = $1 AND state = 'failed_temp' AND next_attempt IS NULL",
        )
        .bind(edition)
        .bind(timestamp(now))
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// A connection of its own for the ledger of one send, synced for as long as it lives,
    /// so no pooled connection is switched to a synced mode and back at every commit (six
    /// round trips to SQLite's thread saved per commit). It is detached from the pool, so it
    /// never goes back to it in that mode: dropped, it is closed.
    ///
    /// SQLite: `synchronous = FULL` (the pool's NORMAL survives a crash, not a power cut).
    /// PostgreSQL: `synchronous_commit = on`, PostgreSQL's default, set explicitly because a
    /// server may be configured with `off` (which can lose the last commits on a server
    /// crash): a COMMIT then returns once the WAL is flushed, the same durability as FULL.
    pub(crate) async fn ledger_desk(&self) -> anyhow::Result<LedgerDesk> {
        let synced = ledger_synced();
        let conn = match &self.backend {
            super::Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let pragma = if synced {
                    "PRAGMA synchronous = FULL"
                } else {
                    "PRAGMA synchronous = NORMAL"
                };
                sqlx::query(pragma).execute(&mut conn).await?;
                DeskConn::Sqlite(conn)
            }
            super::Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let set = if synced {
                    "SET synchronous_commit = on"
                } else {
                    "SET synchronous_commit = off"
                };
                sqlx::query(set).execute(&mut conn).await?;
                DeskConn::Postgres(conn)
            }
        };
        Ok(LedgerDesk { conn })
    }

    /// When the next temporarily refused recipient is due, if any.
    pub(crate) async fn next_retry(&self, edition: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        let next: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
            "SELECT MIN(next_attempt) FROM deliveries WHERE edition_id = $1 AND state = 'failed_temp'",
        )
        .bind(edition)
        .fetch_one(pool)
        .await?);
        Ok(super::parse_timestamp(next))
    }

    /// Messages accepted by the server since `since`, all the centre's editions together
    /// (its hourly cap: each centre sends through its own `[mail]`).
    pub(crate) async fn sent_since(&self, since: DateTime<Utc>) -> anyhow::Result<i64> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries d JOIN editions e ON e.id = d.edition_id
             WHERE d.sent_at >= $1 AND e.centre = $2",
        )
        .bind(timestamp(since))
        .bind(self.centre())
        .fetch_one(pool)
        .await?))
    }

    /// Failures of an edition, for the final report: (address, state, last reply).
    pub(crate) async fn failed_deliveries(
        &self,
        edition: i64,
    ) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
        let rows: Vec<FailureRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT email, state, last_reply FROM deliveries
             WHERE edition_id = $1 AND state IN ('failed_temp', 'failed_perm') ORDER BY email",
        )
        .bind(edition)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|r| (r.email, r.state, r.last_reply))
            .collect())
    }
}

/// The ledger's own connection during a send (`Store::ledger_desk`).
pub(crate) struct LedgerDesk {
    pub(super) conn: DeskConn,
}

/// The desk's detached connection, on the store's backend.
pub(super) enum DeskConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs `$body` with `$conn` a `&mut Conn` inside one transaction of the desk's connection,
/// committed (synced, as the desk is set up) once `$body` has given its value; a `?` in
/// `$body` returns early and the dropped transaction rolls back. SQLite begins with
/// `BEGIN IMMEDIATE`: the write lock is taken before the first read of the ledger.
macro_rules! in_desk_transaction {
    ($desk:expr, $conn:ident => $body:expr) => {
        match &mut $desk.conn {
            $crate::store::ledger::DeskConn::Sqlite(c) => {
                let mut tx = sqlx::Connection::begin_with(c, "BEGIN IMMEDIATE").await?;
                let value = {
                    let $conn = &mut $crate::store::Conn::from(&mut *tx);
                    $body
                };
                tx.commit().await?;
                value
            }
            $crate::store::ledger::DeskConn::Postgres(c) => {
                let mut tx = sqlx::Connection::begin(c).await?;
                let value = {
                    let $conn = &mut $crate::store::Conn::from(&mut *tx);
                    $body
                };
                tx.commit().await?;
                value
            }
        }
    };
}
pub(super) use in_desk_transaction;

impl LedgerDesk {
    /// Applies the steps of several connections in one transaction, synced to the disk before
    /// it returns: first every answer (a permanent refusal counts as a bounce; after
    /// `bounce_limit` of them the address is marked bounced in every list), then one claim per
    /// step that asks for it. Returns, step by step, the recipient now marked `sending`
    /// (None: nothing due now, or no claim asked).
    ///
    /// A claim is exclusive across processes on both backends. SQLite: the transaction holds
    /// the write lock (`BEGIN IMMEDIATE`), so commits of all processes are serialised. On
    /// PostgreSQL the claim itself locks the rows it takes (`FOR UPDATE SKIP LOCKED`): a
    /// second sender of the same edition skips them, and once it sees them committed they
    /// are no longer due. The store-wide write lock (`begin_write`) would give the same
    /// exclusivity, but on a database shared by several centres it would also make every
    /// commit of a send wait for other daemons' harvests, and every harvest for the send.
    /// (A send commits with reservations, `advance_reserved`, built on the same steps.)
    #[cfg(test)]
    pub(crate) async fn advance(
        &mut self,
        edition: i64,
        list: &str,
        steps: &[LedgerStep],
        bounce_limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
        let at = timestamp(now);
        Ok(in_desk_transaction!(self, conn => {
            advance(conn, edition, list, steps, bounce_limit, &at).await?
        }))
    }
}

/// The steps of several connections in one transaction: answers first, then claims.
pub(super) async fn advance(
    conn: &mut Conn<'_>,
    edition: i64,
    list: &str,
    steps: &[LedgerStep],
    bounce_limit: u32,
    at: &str,
) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
    // A fixed number of statements whatever the number of steps: each statement is a round
    // trip to the database, and the commit is on every connection's critical path.
    let finished: Vec<_> = steps.iter().filter_map(|s| s.finished.as_ref()).collect();
    record_all(conn, edition, &finished, at).await?;
    // In subscriber order: two sends bouncing the same people then lock their rows in the
    // same order and cannot deadlock (PostgreSQL locks rows, not the database).
    let mut bounced: Vec<i64> = finished
        .iter()
        .filter(|(_, outcome)| matches!(outcome, DeliveryOutcome::Permanent { .. }))
        .map(|(delivery, _)| delivery.subscriber)
        .collect();
    bounced.sort_unstable();
    for subscriber in bounced {
        count_bounce(conn, subscriber, bounce_limit, at).await?;
    }
    let wanted = steps.iter().filter(|s| s.claim).count();
    let mut claims = claim_many(conn, edition, list, at, wanted)
        .await?
        .into_iter();
    Ok(steps
        .iter()
        .map(|step| if step.claim { claims.next() } else { None })
        .collect())
}

/// The rows a claim takes, `{due}` standing for the due condition. SQLite: by rowid, the
/// transaction already holds the write lock. PostgreSQL: by primary key, locking them and
/// skipping those another sender holds; `ANY(ARRAY(…))` runs the locking subquery once
/// (as `IN (…)` it may become a join that takes more rows than the limit).
const CLAIM_TARGET_SQLITE: &str =
    "rowid IN (SELECT rowid FROM deliveries WHERE edition_id = $1 AND {due} LIMIT $4)";
const CLAIM_TARGET_POSTGRES: &str =
    "edition_id = $1 AND email = ANY(ARRAY(SELECT email FROM deliveries
     WHERE edition_id = $1 AND {due} LIMIT $4 FOR UPDATE SKIP LOCKED))";

/// Takes up to `wanted` recipients due and marks them `sending` (before any SMTP command);
/// a recipient no longer active in the list is marked `skipped` instead and another taken.
/// Queued ones come before retries; each lookup is a range of `deliveries_state`, with no
/// sort. Fewer than `wanted` when fewer are due now.
pub(super) async fn claim_many(
    conn: &mut Conn<'_>,
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
            let rows: Vec<ClaimedRow> = on_conn!(conn, c => {
                let target = by_dialect(&**c, CLAIM_TARGET_SQLITE, CLAIM_TARGET_POSTGRES)
                    .replace("{due}", due);
                // Only constant text is spliced; every value is bound.
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE deliveries
                     SET state = CASE WHEN (SELECT c.status FROM subscriptions c
                                            WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                                 THEN 'sending' ELSE 'skipped' END,
                         attempts = attempts + CASE WHEN (SELECT c.status FROM subscriptions c
                                                          WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                                                    THEN 1 ELSE 0 END,
                         updated_at = $3
                     WHERE {target}
                     RETURNING email, subscriber_id, message_id, attempts, state"
                )))
                .bind(edition)
                .bind(list)
                .bind(at)
                .bind(asked as i64)
                .fetch_all(&mut **c)
                .await?
            });
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

/// Records the answers, SQLite: each column read from the JSON array by email.
const RECORD_SQLITE: &str = "UPDATE deliveries
     SET state = (SELECT j.value ->> 'state' FROM json_each($3) AS j WHERE j.value ->> 'email' = deliveries.email),
         last_reply = (SELECT j.value ->> 'reply' FROM json_each($3) AS j WHERE j.value ->> 'email' = deliveries.email),
         next_attempt = (SELECT j.value ->> 'next' FROM json_each($3) AS j WHERE j.value ->> 'email' = deliveries.email),
         sent_at = (SELECT j.value ->> 'sent' FROM json_each($3) AS j WHERE j.value ->> 'email' = deliveries.email),
         updated_at = $2
     WHERE edition_id = $1 AND email IN (SELECT value ->> 'email' FROM json_each($3))";

/// Records the answers, PostgreSQL: the JSON array read once as a table.
const RECORD_POSTGRES: &str = "UPDATE deliveries
     SET state = j.state, last_reply = j.reply, next_attempt = j.next, sent_at = j.sent, updated_at = $2
     FROM jsonb_to_recordset($3::jsonb) AS j(email TEXT, state TEXT, reply TEXT, next TEXT, sent TEXT)
     WHERE deliveries.edition_id = $1 AND deliveries.email = j.email";

/// Records the server's answers for several recipients in one statement (the rows travel as
/// one JSON array: a bound parameter, so a hostile reply is only text).
async fn record_all(
    conn: &mut Conn<'_>,
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
    let rows = serde_json::Value::Array(rows).to_string();
    on_conn!(conn, c => {
        sqlx::query(by_dialect(&**c, RECORD_SQLITE, RECORD_POSTGRES))
            .bind(edition)
            .bind(at)
            .bind(&rows)
            .execute(&mut **c)
            .await?;
    });
    Ok(())
}

/// A permanent refusal counts as a bounce; after `bounce_limit` of them the address is marked
/// bounced in every list.
async fn count_bounce(
    conn: &mut Conn<'_>,
    subscriber: i64,
    bounce_limit: u32,
    at: &str,
) -> anyhow::Result<()> {
    on_conn!(conn, c => {
        let bounces: i64 = sqlx::query_scalar(
            "UPDATE subscribers SET bounces = bounces + 1 WHERE id = $1 RETURNING bounces",
        )
        .bind(subscriber)
        .fetch_optional(&mut **c)
        .await?
        .unwrap_or(0);
        if bounces >= i64::from(bounce_limit) {
            sqlx::query(
                "UPDATE subscriptions SET status = 'bounced', updated_at = $2
                 WHERE subscriber_id = $1 AND status IN ('active', 'pending')",
            )
            .bind(subscriber)
            .bind(at)
            .execute(&mut **c)
            .await?;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SubscriberDetails;
    use crate::store::{ImportEntry, ImportOutcome};

    const AT: &str = "2026-12-01T08:00:00Z";

    /// Subscribes `emails` to `flash-info` through the store's own import, so the rows follow
    /// the schema (the store's centre, consent) as a real import writes them.
    async fn subscribe(store: &Store, emails: &[String]) {
        let entries: Vec<ImportEntry> = emails
            .iter()
            .map(|email| ImportEntry {
                email: email.clone(),
                name: None,
                details: SubscriberDetails::default(),
                hash: format!("h-{email}"),
            })
            .collect();
        let outcomes = store
            .import_subscribers("flash-info", &entries, "test.csv", Utc::now())
            .await
            .unwrap();
        assert!(
            outcomes.iter().all(|o| *o == ImportOutcome::Imported),
            "{outcomes:?}"
        );
    }

    /// `n` readers of `flash-info` (imported) and a ready edition 1, both made through the
    /// store's API (so they are the store's centre's), on the backend the tests run on.
    async fn ready(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let readers: Vec<String> = (0..n).map(|i| format!("lecteur{i}@exemple.fr")).collect();
        subscribe(&store, &readers).await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let at = DateTime::parse_from_rfc3339(AT).unwrap().to_utc();
        let edition = store
            .create_edition("flash-info", day, day, at)
            .await
            .unwrap();
        assert_eq!(edition.number, 1);
        store
            .set_edition_status("flash-info", 1, EditionStatus::Ready, at)
            .await
            .unwrap();
        (dir, store)
    }

    /// Four readers queued for a sent edition; the third unsubscribed after the queueing.
    async fn queued() -> (tempfile::TempDir, Store, i64) {
        let (dir, store) = ready(4).await;
        let (id, queued) = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", Utc::now())
            .await
            .unwrap();
        assert_eq!(queued, 4);
        store
            .exec(
                "UPDATE subscriptions SET status = 'unsubscribed' WHERE subscriber_id =
                 (SELECT id FROM subscribers WHERE email = 'lecteur2@exemple.fr')",
            )
            .await;
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

    fn sent(taken: &[ClaimedDelivery]) -> Vec<LedgerStep> {
        taken
            .iter()
            .map(|d| LedgerStep {
                finished: Some((
                    d.clone(),
                    DeliveryOutcome::Sent {
                        reply: "250 2.0.0 Ok".into(),
                    },
                )),
                claim: false,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_send_starts_once_from_a_ready_edition_only() {
        let (_dir, store) = ready(2).await;
        let now = Utc::now();
        let unknown = store
            .start_sending("flash-info", 9, "flash-info", "exemple.fr", now)
            .await;
        assert!(
            matches!(&unknown, Err(SendError::UnknownEdition(e)) if e == "flash-info/9"),
            "{unknown:?}"
        );
        store
            .exec("UPDATE editions SET status = 'draft' WHERE number = 1")
            .await;
        let draft = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", now)
            .await;
        assert!(matches!(&draft, Err(SendError::NotReady(_))), "{draft:?}");
        assert_eq!(store.scalar("SELECT COUNT(*) FROM deliveries").await, 0);

        store
            .exec("UPDATE editions SET status = 'ready' WHERE number = 1")
            .await;
        let (id, queued) = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", now)
            .await
            .unwrap();
        assert_eq!(queued, 2);
        assert_eq!(
            store
                .scalar(
                    "SELECT COUNT(*) FROM editions WHERE status = 'sent' AND sent_at IS NOT NULL"
                )
                .await,
            1
        );
        let first = store
            .scalar("SELECT id FROM subscribers WHERE email = 'lecteur0@exemple.fr'")
            .await;
        assert_eq!(
            store
                .scalar(&format!(
                    "SELECT COUNT(*) FROM deliveries WHERE email = 'lecteur0@exemple.fr'
                     AND message_id = '<veille.flash-info.1.{first}@exemple.fr>'"
                ))
                .await,
            1
        );
        // A reader who joins the list afterwards is not queued by a resumed send.
        subscribe(&store, &["tard@exemple.fr".to_string()]).await;
        let again = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", now)
            .await
            .unwrap();
        assert_eq!(again, (id, 0));
        let counts = store.delivery_counts(id).await.unwrap();
        assert_eq!(counts, BTreeMap::from([("queued".to_string(), 2)]));
    }

    #[tokio::test]
    async fn uncertain_and_exhausted_recipients_go_back_in_the_queue() {
        let (_dir, store) = ready(3).await;
        let (edition, _) = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", Utc::now())
            .await
            .unwrap();
        let mut desk = store.ledger_desk().await.unwrap();
        let now = Utc::now();
        let taken: Vec<ClaimedDelivery> = desk
            .advance(edition, "flash-info", &claims(2), 3, now)
            .await
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(taken.len(), 2);
        let mut emails: Vec<String> = taken.iter().map(|d| d.email.clone()).collect();
        emails.sort();
        // A crash here: the two are uncertain, in address order.
        assert_eq!(store.uncertain_deliveries(edition).await.unwrap(), emails);
        assert_eq!(store.requeue_uncertain(edition, now).await.unwrap(), 2);
        assert!(
            store
                .uncertain_deliveries(edition)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.delivery_counts(edition).await.unwrap().get("queued"),
            Some(&3)
        );

        // A temporary refusal with no retry left is exhausted, then requeued with its
        // attempts reset.
        let taken: Vec<ClaimedDelivery> = desk
            .advance(edition, "flash-info", &claims(1), 3, now)
            .await
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        let step = LedgerStep {
            finished: Some((
                taken[0].clone(),
                DeliveryOutcome::Temporary {
                    reply: "452 boîte pleine".into(),
                    retry_at: None,
                },
            )),
            claim: false,
        };
        desk.advance(edition, "flash-info", &[step], 3, now)
            .await
            .unwrap();
        assert_eq!(store.next_retry(edition).await.unwrap(), None);
        assert_eq!(store.requeue_exhausted(edition, now).await.unwrap(), 1);
        assert_eq!(
            store
                .scalar(&format!(
                    "SELECT attempts FROM deliveries WHERE email = '{}'",
                    taken[0].email
                ))
                .await,
            0
        );
        assert_eq!(store.requeue_exhausted(edition, now).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn permanent_refusals_up_to_the_limit_mark_the_address_bounced() {
        let (_dir, store, edition) = queued().await;
        let mut desk = store.ledger_desk().await.unwrap();
        let now = Utc::now();
        let taken: Vec<ClaimedDelivery> = desk
            .advance(edition, "flash-info", &claims(2), 2, now)
            .await
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        // Two bounces for the first reader (the second one an earlier send's), one for the
        // other: only the first reaches the limit of 2.
        store
            .exec(&format!(
                "UPDATE subscribers SET bounces = 1 WHERE email = '{}'",
                taken[0].email
            ))
            .await;
        let steps: Vec<LedgerStep> = taken
            .iter()
            .map(|d| LedgerStep {
                finished: Some((
                    d.clone(),
                    DeliveryOutcome::Permanent {
                        reply: "550 5.1.1 inconnu".into(),
                    },
                )),
                claim: false,
            })
            .collect();
        desk.advance(edition, "flash-info", &steps, 2, now)
            .await
            .unwrap();
        let status = |email: &str| {
            format!(
                "SELECT COUNT(*) FROM subscriptions c JOIN subscribers s ON s.id = c.subscriber_id
                 WHERE s.email = '{email}' AND c.status = 'bounced'"
            )
        };
        assert_eq!(store.scalar(&status(&taken[0].email)).await, 1);
        assert_eq!(store.scalar(&status(&taken[1].email)).await, 0);
        assert_eq!(
            store
                .scalar(&format!(
                    "SELECT bounces FROM subscribers WHERE email = '{}'",
                    taken[1].email
                ))
                .await,
            1
        );
        assert_eq!(store.failed_deliveries(edition).await.unwrap().len(), 2);
    }

    /// Two senders of one edition at once (two processes, each with its desk): every reader
    /// is claimed by exactly one of them, on either backend.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_desks_never_claim_the_same_reader() {
        let (_dir, store) = ready(60).await;
        let (edition, queued) = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", Utc::now())
            .await
            .unwrap();
        assert_eq!(queued, 60);
        let sender = move |store: Store| async move {
            let mut desk = store.ledger_desk().await.unwrap();
            let mut mine = Vec::new();
            let mut last: Vec<ClaimedDelivery> = Vec::new();
            loop {
                let mut steps = sent(&last);
                steps.extend(claims(3));
                let taken: Vec<ClaimedDelivery> = desk
                    .advance(edition, "flash-info", &steps, 3, Utc::now())
                    .await
                    .unwrap()
                    .into_iter()
                    .flatten()
                    .collect();
                if taken.is_empty() {
                    return mine;
                }
                mine.extend(taken.iter().map(|d| d.email.clone()));
                last = taken;
                // The SMTP exchanges, during which the other sender commits.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        };
        let (a, b) = tokio::join!(
            tokio::spawn(sender(store.clone())),
            tokio::spawn(sender(store.clone()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut all: Vec<String> = a.iter().chain(&b).cloned().collect();
        all.sort();
        let claimed = all.len();
        all.dedup();
        assert_eq!(all.len(), claimed, "a reader claimed twice");
        assert_eq!(claimed, 60);
        assert!(!a.is_empty() && !b.is_empty(), "{} / {}", a.len(), b.len());
        let counts = store.delivery_counts(edition).await.unwrap();
        assert_eq!(counts, BTreeMap::from([("sent".to_string(), 60)]));
    }
}
