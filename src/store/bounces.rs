//! What the bounce mailbox told: each message processed once per centre (`bounce_messages`),
//! the events it carried per subscriber (`bounce_events`) and the policy's effect on their
//! subscriptions, all in one transaction; the figures of an edition's report.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Conn, Store, WritePool, timestamp};
use crate::model::EditionRef;

/// The thresholds of the soft-bounce policy (`[bounces]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BouncePolicy {
    /// Soft bounces, with no delivery in between, after which an address is `bounced`.
    pub(crate) soft_limit: u32,
    /// … spread over at least this many different editions.
    pub(crate) soft_editions: u32,
}

/// One subscriber a message is about.
#[derive(Debug, Clone)]
pub(crate) struct BounceTarget {
    pub(crate) subscriber: i64,
    /// The edition the VERP token named, when there was one.
    pub(crate) edition: Option<i64>,
    /// The keyed hash of the address, for the suppression list after a complaint.
    pub(crate) suppression_hash: String,
}

/// One message of the mailbox, classified, ready to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct BounceRecord {
    pub(crate) message_key: String,
    /// hard, soft, complaint, auto-reply, delivered, none.
    pub(crate) kind: String,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) targets: Vec<BounceTarget>,
    /// applied (targets known), forged (altered VERP token), unknown (no subscriber found),
    /// ignored (nothing to do).
    pub(crate) outcome: String,
    pub(crate) detail: Option<String>,
}

/// What recording a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BounceApplied {
    /// Processed before (a crash after the commit, or the same message twice): nothing done.
    AlreadyProcessed,
    /// Recorded; the effect on each subscriber (bounced, complained, counted, ignored).
    Recorded(Vec<(i64, String)>),
}

/// One event, as `veille subscribers show` lists it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BounceEventRow {
    pub(crate) at: String,
    pub(crate) edition: Option<String>,
    pub(crate) kind: String,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) effect: String,
}

/// An event as the query returns it, with its edition's kind and number when known.
#[derive(sqlx::FromRow)]
struct BounceEventDbRow {
    at: String,
    kind: String,
    status: Option<String>,
    reason: Option<String>,
    effect: String,
    ekind: Option<String>,
    number: Option<i64>,
}

/// Rows counted by a text key (a state, a kind).
type Counts = Vec<(String, i64)>;

/// The figures of one edition after the fact.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct EditionReport {
    pub(crate) edition: String,
    pub(crate) list: Option<String>,
    pub(crate) recipients: i64,
    pub(crate) sent: i64,
    /// Refused by the relay during the send (5xx, or 4xx on every try).
    pub(crate) refused_during_sending: i64,
    pub(crate) bounced_hard: i64,
    pub(crate) bounced_soft: i64,
    pub(crate) complaints: i64,
    pub(crate) auto_replies: i64,
    /// Unsubscriptions from the edition's list between its send and the next edition's.
    pub(crate) unsubscribes: i64,
    /// Sent without a known answer (`sending` in the ledger after a timeout or a crash).
    pub(crate) uncertain: i64,
    pub(crate) sent_at: Option<String>,
}

impl Store {
    /// Whether this centre already processed a mailbox message (another centre reading the
    /// same mailbox processes it for its own subscribers).
    pub(crate) async fn bounce_processed(&self, message_key: &str) -> anyhow::Result<bool> {
        let found: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT message_key FROM bounce_messages WHERE centre = $1 AND message_key = $2",
            )
            .bind(self.centre())
            .bind(message_key)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// This centre's subscriber of an address.
    pub(crate) async fn subscriber_id(&self, email: &str) -> anyhow::Result<Option<i64>> {
        let email = email.trim().to_lowercase();
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM subscribers WHERE email = $1 AND centre = $2")
                .bind(&email)
                .bind(self.centre())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The address one of this centre's editions was sent to for a subscriber, when the
    /// ledger has it.
    pub(crate) async fn delivery_email(
        &self,
        edition: i64,
        subscriber: i64,
    ) -> anyhow::Result<Option<String>> {
        // One address per subscriber and edition, unless the address changed between two
        // tries: the latest row then.
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT email FROM deliveries WHERE edition_id = $1 AND subscriber_id = $2
                   AND edition_id IN (SELECT id FROM editions WHERE centre = $3)
                 ORDER BY updated_at DESC, email LIMIT 1",
            )
            .bind(edition)
            .bind(subscriber)
            .bind(self.centre())
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records one message and applies the policy to each of its subscribers, in one
    /// transaction: hard → every subscription `bounced`; soft → `bounced` once `soft_limit`
    /// soft bounces over `soft_editions` editions came with no delivery notice in between;
    /// complaint → every subscription `complained` and the address suppressed; auto-reply
    /// and delivery notices are recorded only. A message this centre already recorded changes
    /// nothing (each centre reading a shared mailbox records it once, for itself); a target that is not this centre's subscriber is left alone (another centre's
    /// people are that centre's to manage).
    pub(crate) async fn record_bounce(
        &self,
        record: &BounceRecord,
        policy: BouncePolicy,
        now: DateTime<Utc>,
    ) -> anyhow::Result<BounceApplied> {
        let at = timestamp(now);
        let eventful = matches!(
            record.kind.as_str(),
            "hard" | "soft" | "complaint" | "auto-reply" | "delivered"
        );
        let mut effects = Vec::new();
        on_pool!(self, pool => {
            // The write lock: two processes reading the same mailbox record a message once,
            // and the soft count reads the events it then adds to.
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO bounce_messages (message_key, at, kind, outcome, detail, centre)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (centre, message_key) DO NOTHING",
            )
            .bind(&record.message_key)
            .bind(&at)
            .bind(&record.kind)
            .bind(&record.outcome)
            .bind(&record.detail)
            .bind(self.centre())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                return Ok(BounceApplied::AlreadyProcessed);
            }
            if record.outcome == "applied" && eventful {
                for target in &record.targets {
                    let ours: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM subscribers WHERE id = $1 AND centre = $2",
                    )
                    .bind(target.subscriber)
                    .bind(self.centre())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if ours.is_none() {
                        continue;
                    }
                    let mut conn = Conn::from(&mut *tx);
                    let centre = self.centre();
                    if let Some(effect) = apply(&mut conn, record, target, (policy, centre), &at).await? {
                        effects.push((target.subscriber, effect.to_string()));
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(BounceApplied::Recorded(effects))
    }

    /// The events recorded for this centre's subscriber of an address, oldest first.
    pub(crate) async fn bounce_events(&self, email: &str) -> anyhow::Result<Vec<BounceEventRow>> {
        let email = email.trim().to_lowercase();
        let rows: Vec<BounceEventDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT b.at, b.kind, b.status, b.reason, b.effect, e.kind AS ekind, e.number
                 FROM bounce_events b
                 JOIN subscribers s ON s.id = b.subscriber_id
                 LEFT JOIN editions e ON e.id = b.edition_id
                 WHERE s.email = $1 AND s.centre = $2 ORDER BY b.id",
            )
            .bind(&email)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| BounceEventRow {
                at: r.at,
                edition: r
                    .ekind
                    .zip(r.number)
                    .map(|(kind, number)| EditionRef::new(kind, number).to_string()),
                kind: r.kind,
                status: r.status,
                reason: r.reason,
                effect: r.effect,
            })
            .collect())
    }

    /// Messages of this centre's mailbox by outcome (applied, forged, unknown, ignored).
    pub(crate) async fn bounce_message_counts(&self) -> anyhow::Result<Vec<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT outcome, COUNT(*) AS n FROM bounce_messages WHERE centre = $1
                 GROUP BY outcome ORDER BY outcome",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        }))
    }

    /// This centre's edition whose send started last: (kind, number).
    pub(crate) async fn last_sent_edition(&self) -> anyhow::Result<Option<(String, i64)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.kind, e.number FROM deliveries d JOIN editions e ON e.id = d.edition_id
                 WHERE d.sent_at IS NOT NULL AND e.centre = $1
                 ORDER BY d.sent_at DESC, e.id DESC LIMIT 1",
            )
            .bind(self.centre())
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The figures of one edition: the ledger of its send and what came back since.
    pub(crate) async fn edition_report(
        &self,
        kind: &str,
        number: i64,
        list: Option<&str>,
    ) -> anyhow::Result<Option<EditionReport>> {
        let Some(edition) = self.edition_row_id(kind, number).await? else {
            return Ok(None);
        };
        let mut report = EditionReport {
            edition: EditionRef::new(kind, number).to_string(),
            list: list.map(str::to_string),
            ..EditionReport::default()
        };
        let (states, kinds): (Counts, Counts) = on_pool!(self, pool => {
            let states = sqlx::query_as(
                "SELECT state, COUNT(*) AS n FROM deliveries WHERE edition_id = $1 GROUP BY state",
            )
            .bind(edition)
            .fetch_all(pool)
            .await?;
            let kinds = sqlx::query_as(
                "SELECT kind, COUNT(DISTINCT subscriber_id) AS n FROM bounce_events
                 WHERE edition_id = $1 GROUP BY kind",
            )
            .bind(edition)
            .fetch_all(pool)
            .await?;
            report.sent_at = sqlx::query_scalar(
                "SELECT MIN(sent_at) FROM deliveries WHERE edition_id = $1 AND sent_at IS NOT NULL",
            )
            .bind(edition)
            .fetch_one(pool)
            .await?;
            (states, kinds)
        });
        for (state, n) in states {
            report.recipients += n;
            match state.as_str() {
                "sent" => report.sent += n,
                "failed_perm" | "failed_temp" => report.refused_during_sending += n,
                "sending" => report.uncertain += n,
                _ => {}
            }
        }
        for (kind, n) in kinds {
            match kind.as_str() {
                "hard" => report.bounced_hard = n,
                "soft" => report.bounced_soft = n,
                "complaint" => report.complaints = n,
                "auto-reply" => report.auto_replies = n,
                _ => {}
            }
        }
        if let (Some(list), Some(since)) = (list, &report.sent_at) {
            report.unsubscribes = on_pool!(self, pool => {
                // Until the next edition of the same kind went out, the unsubscriptions from
                // its list follow this one: the link carries no edition, and no reader is
                // tracked.
                let until: Option<String> = sqlx::query_scalar(
                    "SELECT MIN(d.sent_at) FROM deliveries d JOIN editions e ON e.id = d.edition_id
                     WHERE e.kind = $1 AND e.number > $2 AND d.sent_at IS NOT NULL
                       AND e.centre = $3",
                )
                .bind(kind)
                .bind(number)
                .bind(self.centre())
                .fetch_one(pool)
                .await?;
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM subscriptions
                     WHERE list = $1 AND status = 'unsubscribed' AND updated_at >= $2
                       AND ($3 IS NULL OR updated_at < $3)
                       AND subscriber_id IN (SELECT subscriber_id FROM deliveries
                                             WHERE edition_id = $4 AND state = 'sent')",
                )
                .bind(list)
                .bind(since)
                .bind(until)
                .bind(edition)
                .fetch_one(pool)
                .await?
            });
        }
        Ok(Some(report))
    }
}

/// Records one message's event for one subscriber and applies the policy; the effect, or
/// `None` when the message had already been recorded for that subscriber.
async fn apply(
    conn: &mut Conn<'_>,
    record: &BounceRecord,
    target: &BounceTarget,
    (policy, centre): (BouncePolicy, &str),
    at: &str,
) -> anyhow::Result<Option<&'static str>> {
    let event: Option<i64> = on_conn!(conn, c => {
        sqlx::query_scalar(
            "INSERT INTO bounce_events
                (message_key, at, subscriber_id, edition_id, kind, status, reason, effect)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'counted')
             ON CONFLICT (message_key, subscriber_id) DO NOTHING RETURNING id",
        )
        .bind(&record.message_key)
        .bind(at)
        .bind(target.subscriber)
        .bind(target.edition)
        .bind(&record.kind)
        .bind(&record.status)
        .bind(&record.reason)
        .fetch_optional(&mut **c)
        .await?
    });
    let Some(event) = event else { return Ok(None) };
    let effect = match record.kind.as_str() {
        "hard" => {
            let n = set_status(conn, target.subscriber, "bounced", at).await?;
            if n > 0 { "bounced" } else { "counted" }
        }
        "soft" => {
            let (n, editions): (i64, i64) = on_conn!(conn, c => {
                sqlx::query_as(
                    "SELECT COUNT(*) AS n, COUNT(DISTINCT edition_id) AS editions
                     FROM bounce_events
                     WHERE subscriber_id = $1 AND kind = 'soft' AND id > COALESCE(
                         (SELECT MAX(id) FROM bounce_events
                          WHERE subscriber_id = $1 AND kind = 'delivered'), 0)",
                )
                .bind(target.subscriber)
                .fetch_one(&mut **c)
                .await?
            });
            if n >= i64::from(policy.soft_limit)
                && editions >= i64::from(policy.soft_editions)
                && set_status(conn, target.subscriber, "bounced", at).await? > 0
            {
                "bounced"
            } else {
                "counted"
            }
        }
        "complaint" => {
            set_status(conn, target.subscriber, "complained", at).await?;
            on_conn!(conn, c => {
                sqlx::query(
                    "INSERT INTO suppressions (hash, reason, at, centre) VALUES ($1, 'complaint', $2, $3)
                     ON CONFLICT (centre, hash) DO NOTHING",
                )
                .bind(&target.suppression_hash)
                .bind(at)
                .bind(centre)
                .execute(&mut **c)
                .await?;
            });
            "complained"
        }
        "delivered" => "counted",
        _ => "ignored",
    };
    on_conn!(conn, c => {
        sqlx::query("UPDATE bounce_events SET effect = $2 WHERE id = $1")
            .bind(event)
            .bind(effect)
            .execute(&mut **c)
            .await?;
    });
    Ok(Some(effect))
}

/// Sets every live subscription of a subscriber to `status`; the number changed.
async fn set_status(
    conn: &mut Conn<'_>,
    subscriber: i64,
    status: &str,
    at: &str,
) -> anyhow::Result<u64> {
    Ok(on_conn!(conn, c => {
        sqlx::query(
            "UPDATE subscriptions SET status = $2, updated_at = $3
             WHERE subscriber_id = $1 AND status IN ('active', 'pending')",
        )
        .bind(subscriber)
        .bind(status)
        .bind(at)
        .execute(&mut **c)
        .await?
        .rows_affected()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subscriber of flash-info and three draft editions, written directly so that the
    /// test depends on this file's queries only.
    async fn setup() -> (tempfile::TempDir, Store, i64, Vec<i64>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let at = "2026-12-01T00:00:00Z";
        store
            .exec(&format!(
                "INSERT INTO subscribers (email, created_at) VALUES ('lectrice@exemple.fr', '{at}')"
            ))
            .await;
        let subscriber = store
            .subscriber_id(" Lectrice@Exemple.fr")
            .await
            .unwrap()
            .unwrap();
        store
            .exec(&format!(
                "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how,
                   consent_source, updated_at)
                 VALUES ({subscriber}, 'flash-info', 'active', '{at}', 'import', 'test', '{at}')"
            ))
            .await;
        let mut editions = Vec::new();
        for number in 1..=3 {
            store
                .exec(&format!(
                    "INSERT INTO editions (kind, number, period_start, period_end, created_at,
                       updated_at)
                     VALUES ('flash-info', {number}, '2026-12-01', '2026-12-01', '{at}', '{at}')"
                ))
                .await;
            editions.push(
                store
                    .scalar(&format!(
                        "SELECT id FROM editions WHERE kind = 'flash-info' AND number = {number}"
                    ))
                    .await,
            );
        }
        (dir, store, subscriber, editions)
    }

    fn record(key: &str, kind: &str, subscriber: i64, edition: i64) -> BounceRecord {
        BounceRecord {
            message_key: key.into(),
            kind: kind.into(),
            status: None,
            reason: None,
            targets: vec![BounceTarget {
                subscriber,
                edition: Some(edition),
                suppression_hash: "h".into(),
            }],
            outcome: "applied".into(),
            detail: None,
        }
    }

    async fn status(store: &Store, subscriber: i64) -> String {
        on_pool!(store, pool => {
            sqlx::query_scalar("SELECT status FROM subscriptions WHERE subscriber_id = $1")
                .bind(subscriber)
                .fetch_one(pool)
                .await
                .unwrap()
        })
    }

    const POLICY: BouncePolicy = BouncePolicy {
        soft_limit: 3,
        soft_editions: 2,
    };

    #[tokio::test]
    async fn soft_bounces_count_across_editions_and_a_delivery_resets_them() {
        let (_dir, store, s, e) = setup().await;
        let now = Utc::now();
        // Three soft bounces of one edition: not enough editions.
        for key in ["a", "b", "c"] {
            store
                .record_bounce(&record(key, "soft", s, e[0]), POLICY, now)
                .await
                .unwrap();
        }
        assert_eq!(status(&store, s).await, "active");
        // A delivery notice: the count starts again.
        store
            .record_bounce(&record("d", "delivered", s, e[1]), POLICY, now)
            .await
            .unwrap();
        store
            .record_bounce(&record("e", "soft", s, e[1]), POLICY, now)
            .await
            .unwrap();
        store
            .record_bounce(&record("f", "soft", s, e[2]), POLICY, now)
            .await
            .unwrap();
        assert_eq!(status(&store, s).await, "active", "two since the delivery");
        // The same message again changes nothing.
        let again = store
            .record_bounce(&record("f", "soft", s, e[2]), POLICY, now)
            .await
            .unwrap();
        assert_eq!(again, BounceApplied::AlreadyProcessed);
        assert_eq!(status(&store, s).await, "active");
        // A third, over two editions: bounced.
        let applied = store
            .record_bounce(&record("g", "soft", s, e[2]), POLICY, now)
            .await
            .unwrap();
        assert_eq!(
            applied,
            BounceApplied::Recorded(vec![(s, "bounced".into())])
        );
        assert_eq!(status(&store, s).await, "bounced");
    }

    #[tokio::test]
    async fn a_complaint_unsubscribes_everywhere_and_suppresses() {
        let (_dir, store, s, e) = setup().await;
        store
            .record_bounce(&record("x", "complaint", s, e[0]), POLICY, Utc::now())
            .await
            .unwrap();
        assert_eq!(status(&store, s).await, "complained");
        let suppressed = store
            .scalar("SELECT COUNT(*) FROM suppressions WHERE hash = 'h' AND reason = 'complaint'")
            .await;
        assert_eq!(suppressed, 1);
        // An auto-reply is recorded, with no effect.
        let applied = store
            .record_bounce(&record("y", "auto-reply", s, e[0]), POLICY, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            applied,
            BounceApplied::Recorded(vec![(s, "ignored".into())])
        );
        assert_eq!(
            store
                .bounce_events("lectrice@exemple.fr")
                .await
                .unwrap()
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn an_edition_report_counts_the_ledger_and_what_came_back() {
        let (_dir, store, s, e) = setup().await;
        let now = Utc::now();
        // flash-info/1: one sent, one refused, one without answer; flash-info/2 a week later.
        for (edition, email, subscriber, state, sent_at) in [
            (
                e[0],
                "lectrice@exemple.fr",
                s.to_string(),
                "sent",
                "'2026-12-01T10:00:00Z'",
            ),
            (
                e[0],
                "refus@exemple.fr",
                "NULL".into(),
                "failed_perm",
                "NULL",
            ),
            (
                e[0],
                "muet@exemple.fr",
                "NULL".into(),
                "sending",
                "'2026-12-01T10:00:05Z'",
            ),
            (
                e[1],
                "lectrice@exemple.fr",
                s.to_string(),
                "sent",
                "'2026-12-08T10:00:00Z'",
            ),
        ] {
            store
                .exec(&format!(
                    "INSERT INTO deliveries
                       (edition_id, subscriber_id, email, state, message_id, updated_at, sent_at)
                     VALUES ({edition}, {subscriber}, '{email}', '{state}', '<{email}>',
                             '2026-12-01T10:00:00Z', {sent_at})"
                ))
                .await;
        }
        assert_eq!(
            store.delivery_email(e[0], s).await.unwrap().as_deref(),
            Some("lectrice@exemple.fr")
        );
        assert_eq!(store.delivery_email(e[2], s).await.unwrap(), None);
        assert_eq!(
            store.last_sent_edition().await.unwrap(),
            Some(("flash-info".to_string(), 2))
        );
        store
            .record_bounce(&record("h1", "hard", s, e[0]), POLICY, now)
            .await
            .unwrap();
        store
            .record_bounce(&record("a1", "auto-reply", s, e[0]), POLICY, now)
            .await
            .unwrap();
        let unknown = BounceRecord {
            targets: vec![],
            outcome: "unknown".into(),
            ..record("u1", "hard", s, e[0])
        };
        store.record_bounce(&unknown, POLICY, now).await.unwrap();
        assert!(store.bounce_processed("h1").await.unwrap());
        assert!(store.bounce_processed("u1").await.unwrap());
        assert!(!store.bounce_processed("autre").await.unwrap());
        assert_eq!(
            store.bounce_message_counts().await.unwrap(),
            [("applied".to_string(), 2), ("unknown".to_string(), 1)]
        );
        // She left the list between the two editions.
        store
            .exec(
                "UPDATE subscriptions SET status = 'unsubscribed',
                        updated_at = '2026-12-03T00:00:00Z'",
            )
            .await;
        let report = store
            .edition_report("flash-info", 1, Some("flash-info"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(report.edition, "flash-info/1");
        assert_eq!(
            (
                report.recipients,
                report.sent,
                report.refused_during_sending,
                report.uncertain
            ),
            (3, 1, 1, 1)
        );
        assert_eq!(
            (
                report.bounced_hard,
                report.bounced_soft,
                report.complaints,
                report.auto_replies
            ),
            (1, 0, 0, 1)
        );
        assert_eq!(report.unsubscribes, 1);
        assert_eq!(report.sent_at.as_deref(), Some("2026-12-01T10:00:00Z"));
        // After the next edition went out, a departure is that edition's.
        let second = store
            .edition_report("flash-info", 2, Some("flash-info"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((second.recipients, second.unsubscribes), (1, 0));
        assert!(
            store
                .edition_report("flash-info", 9, None)
                .await
                .unwrap()
                .is_none()
        );
    }
}
