//! Reservations ahead of the ledger's commits: a send reads the next queued recipients in one
//! query (`Store::reserve_queued`, nothing written), so that a connection builds and signs its
//! next message while the commit marking that recipient `sending` is being synced; the commit
//! then claims exactly the reserved recipient (`LedgerDesk::advance_reserved`), or, when it is
//! no longer due (taken by another sender, or its reader left the list), any other due one, so
//! a reservation never makes a connection stop early. A recipient is still `sending` on the
//! disk before its SMTP transaction starts: a reservation is only memory.

use chrono::{DateTime, Utc};

use super::ledger::{LedgerDesk, advance, claim_many, in_desk_transaction};
use super::{Conn, Store, by_dialect, timestamp};
use crate::store::{ClaimedDelivery, DeliveryOutcome, LedgerStep};

/// What a connection asks of the ledger's next commit for its next recipient.
#[derive(Debug, Clone)]
pub(crate) enum Claim {
    /// Any recipient due.
    Any,
    /// This reserved recipient, else any due one.
    Reserved(ClaimedDelivery),
}

/// One connection's turn at the ledger, with a reservation (see `LedgerStep`).
#[derive(Debug, Clone)]
pub(crate) struct ReservedStep {
    pub(crate) finished: Option<(ClaimedDelivery, DeliveryOutcome)>,
    pub(crate) claim: Claim,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    email: String,
    subscriber_id: Option<i64>,
    message_id: String,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct TakenRow {
    email: String,
    subscriber_id: Option<i64>,
    message_id: String,
    attempts: i64,
    state: String,
}

/// Marks the reserved recipients still queued `sending` (or `skipped` when their reader left
/// the list), SQLite: the transaction holds the write lock already. `+state` keeps SQLite on
/// the primary key (a few addresses): on `deliveries_state` every commit would walk every
/// recipient still queued, thousands at the start of a send.
const CLAIM_RESERVED_SQLITE: &str = "UPDATE deliveries
     SET state = CASE WHEN (SELECT c.status FROM subscriptions c
                            WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                 THEN 'sending' ELSE 'skipped' END,
         attempts = attempts + CASE WHEN (SELECT c.status FROM subscriptions c
                                          WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                                    THEN 1 ELSE 0 END,
         updated_at = $3
     WHERE edition_id = $1 AND email IN (SELECT value FROM json_each($4)) AND +state = 'queued'
     RETURNING email, subscriber_id, message_id, attempts, state";

/// The same on PostgreSQL, locking the rows and skipping those another sender holds (as
/// `claim_many` does).
const CLAIM_RESERVED_POSTGRES: &str = "UPDATE deliveries
     SET state = CASE WHEN (SELECT c.status FROM subscriptions c
                            WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                 THEN 'sending' ELSE 'skipped' END,
         attempts = attempts + CASE WHEN (SELECT c.status FROM subscriptions c
                                          WHERE c.subscriber_id = deliveries.subscriber_id AND c.list = $2) = 'active'
                                    THEN 1 ELSE 0 END,
         updated_at = $3
     WHERE edition_id = $1 AND email = ANY(ARRAY(SELECT email FROM deliveries
         WHERE edition_id = $1 AND state = 'queued'
           AND email IN (SELECT jsonb_array_elements_text($4::jsonb))
         FOR UPDATE SKIP LOCKED))
     RETURNING email, subscriber_id, message_id, attempts, state";

impl Store {
    /// Up to `limit` recipients of `edition` still queued, in address order after `after`:
    /// candidates for the next claims, read without taking them (their `attempts` as a claim
    /// would make them).
    pub(crate) async fn reserve_queued(
        &self,
        edition: i64,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<ClaimedDelivery>> {
        let rows: Vec<DueRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT email, subscriber_id, message_id, attempts FROM deliveries
             WHERE edition_id = $1 AND state = 'queued' AND email > $2
             ORDER BY email LIMIT $3",
        )
        .bind(edition)
        .bind(after.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(ClaimedDelivery {
                    email: row.email,
                    subscriber: row.subscriber_id?,
                    message_id: row.message_id,
                    attempts: row.attempts + 1,
                })
            })
            .collect())
    }
}

impl LedgerDesk {
    /// `advance` with reservations, in one synced transaction: every answer first, then the
    /// reserved recipients still due, then one claim of any due recipient per step that asked
    /// for any or whose reservation was lost. Returns, step by step, the recipient now
    /// `sending` (None: nothing due now, or nothing asked).
    pub(crate) async fn advance_reserved(
        &mut self,
        edition: i64,
        list: &str,
        steps: &[ReservedStep],
        bounce_limit: u32,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
        let at = timestamp(now);
        Ok(in_desk_transaction!(self, conn => {
            advance_reserved(conn, edition, list, steps, bounce_limit, &at).await?
        }))
    }
}

async fn advance_reserved(
    conn: &mut Conn<'_>,
    edition: i64,
    list: &str,
    steps: &[ReservedStep],
    bounce_limit: u32,
    at: &str,
) -> anyhow::Result<Vec<Option<ClaimedDelivery>>> {
    let answers: Vec<LedgerStep> = steps
        .iter()
        .filter(|s| s.finished.is_some())
        .map(|s| LedgerStep {
            finished: s.finished.clone(),
            claim: false,
        })
        .collect();
    advance(conn, edition, list, &answers, bounce_limit, at).await?;
    let reserved: Vec<&str> = steps
        .iter()
        .filter_map(|s| match &s.claim {
            Claim::Reserved(d) => Some(d.email.as_str()),
            _ => None,
        })
        .collect();
    let mut taken = claim_reserved(conn, edition, list, at, &reserved).await?;
    let mut claimed: Vec<Option<ClaimedDelivery>> = steps
        .iter()
        .map(|s| match &s.claim {
            Claim::Reserved(d) => taken.remove(&d.email),
            _ => None,
        })
        .collect();
    let wanted = steps
        .iter()
        .zip(&claimed)
        .filter(|(s, c)| match s.claim {
            Claim::Any => true,
            Claim::Reserved(_) => c.is_none(),
        })
        .count();
    let mut others = claim_many(conn, edition, list, at, wanted)
        .await?
        .into_iter();
    for slot in &mut claimed {
        if slot.is_none() {
            *slot = others.next();
        }
    }
    Ok(claimed)
}

/// Claims the reserved recipients still queued, in one statement (their addresses travel as
/// one bound JSON array); returns those now `sending`, by address.
async fn claim_reserved(
    conn: &mut Conn<'_>,
    edition: i64,
    list: &str,
    at: &str,
    emails: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, ClaimedDelivery>> {
    if emails.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let emails = serde_json::to_string(emails)?;
    let rows: Vec<TakenRow> = on_conn!(conn, c => {
        sqlx::query_as(by_dialect(&**c, CLAIM_RESERVED_SQLITE, CLAIM_RESERVED_POSTGRES))
            .bind(edition)
            .bind(list)
            .bind(at)
            .bind(&emails)
            .fetch_all(&mut **c)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let subscriber = row.subscriber_id.filter(|_| row.state == "sending")?;
            Some((
                row.email.clone(),
                ClaimedDelivery {
                    email: row.email,
                    subscriber,
                    message_id: row.message_id,
                    attempts: row.attempts,
                },
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-12-01T08:00:00Z";

    /// `n` readers of `flash-info`, all queued for edition 1 being sent; `lecteur1` left the
    /// list after the queueing.
    async fn queued(n: usize) -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        for i in 0..n {
            store
                .exec(&format!(
                    "INSERT INTO subscribers (email, created_at) VALUES ('lecteur{i}@exemple.fr', '{AT}')"
                ))
                .await;
            store
                .exec(&format!(
                    "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how,
                       consent_source, updated_at)
                     SELECT id, 'flash-info', 'active', '{AT}', 'import', 'test', '{AT}'
                     FROM subscribers WHERE email = 'lecteur{i}@exemple.fr'"
                ))
                .await;
        }
        store
            .exec(&format!(
                "INSERT INTO editions (kind, number, period_start, period_end, status, created_at, updated_at)
                 VALUES ('flash-info', 1, '2026-12-01', '2026-12-01', 'ready', '{AT}', '{AT}')"
            ))
            .await;
        let (edition, _) = store
            .start_sending("flash-info", 1, "flash-info", "exemple.fr", Utc::now())
            .await
            .unwrap();
        store
            .exec(
                "UPDATE subscriptions SET status = 'unsubscribed' WHERE subscriber_id =
                 (SELECT id FROM subscribers WHERE email = 'lecteur1@exemple.fr')",
            )
            .await;
        (dir, store, edition)
    }

    fn reserved(d: &ClaimedDelivery) -> ReservedStep {
        ReservedStep {
            finished: None,
            claim: Claim::Reserved(d.clone()),
        }
    }

    #[tokio::test]
    async fn reserved_recipients_are_claimed_and_a_lost_one_is_replaced() {
        let (_dir, store, edition) = queued(6).await;
        // Read ahead in address order, in pages, nothing written.
        let first = store.reserve_queued(edition, None, 4).await.unwrap();
        let emails: Vec<&str> = first.iter().map(|d| d.email.as_str()).collect();
        assert_eq!(
            emails,
            [
                "lecteur0@exemple.fr",
                "lecteur1@exemple.fr",
                "lecteur2@exemple.fr",
                "lecteur3@exemple.fr"
            ]
        );
        let rest = store
            .reserve_queued(edition, Some(&first[3].email), 4)
            .await
            .unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(
            store.delivery_counts(edition).await.unwrap().get("queued"),
            Some(&6)
        );

        // lecteur0 is taken by another desk first: its reservation is lost.
        let mut other = store.ledger_desk().await.unwrap();
        let taken = other
            .advance_reserved(edition, "flash-info", &[reserved(&first[0])], 3, Utc::now())
            .await
            .unwrap();
        assert_eq!(taken[0].as_ref().unwrap().email, first[0].email);

        let mut desk = store.ledger_desk().await.unwrap();
        let steps = [
            reserved(&first[0]), // lost: replaced by another due reader
            reserved(&first[1]), // left the list: skipped, replaced
            reserved(&first[2]),
            ReservedStep {
                finished: Some((
                    taken[0].clone().unwrap(),
                    DeliveryOutcome::Sent {
                        reply: "250 2.0.0 Ok".into(),
                    },
                )),
                claim: Claim::Any,
            },
        ];
        let claimed = desk
            .advance_reserved(edition, "flash-info", &steps, 3, Utc::now())
            .await
            .unwrap();
        let got: Vec<Option<&str>> = claimed
            .iter()
            .map(|c| c.as_ref().map(|d| d.email.as_str()))
            .collect();
        // The reservation kept is honoured; the others get the remaining due readers once.
        assert_eq!(got[2], Some("lecteur2@exemple.fr"));
        assert_eq!(claimed[2].as_ref().unwrap().attempts, 1);
        let mut others: Vec<&str> = [got[0], got[1], got[3]].into_iter().flatten().collect();
        others.sort_unstable();
        assert_eq!(
            others,
            [
                "lecteur3@exemple.fr",
                "lecteur4@exemple.fr",
                "lecteur5@exemple.fr"
            ]
        );
        let counts = store.delivery_counts(edition).await.unwrap();
        assert_eq!(counts.get("sent"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("skipped"), Some(&1), "{counts:?}");
        assert_eq!(counts.get("sending"), Some(&4), "{counts:?}");
        assert_eq!(counts.get("queued"), None, "{counts:?}");

        // Nothing due any more: a reservation of a row already sending claims nothing.
        let none = desk
            .advance_reserved(edition, "flash-info", &[reserved(&first[2])], 3, Utc::now())
            .await
            .unwrap();
        assert!(none[0].is_none(), "{none:?}");
    }
}
