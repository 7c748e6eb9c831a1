//! What the daemon keeps: the last run of each scheduled job, fetch counters per source,
//! the drafts it created for curators ("édition à préparer"), and the totals that
//! `/metrics` and `veille status` show.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Store, WritePool, parse_timestamp, timestamp};
use crate::model::{EditionRef, SourceReport};

/// One job as stored.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct JobRow {
    pub(crate) name: String,
    pub(crate) last_slot: Option<DateTime<Utc>>,
    /// None while the job never ran (only its baseline is stored).
    pub(crate) last_run: Option<DateTime<Utc>>,
    pub(crate) last_status: Option<String>,
    pub(crate) last_error: Option<String>,
    pub(crate) last_duration_ms: Option<i64>,
    pub(crate) runs: i64,
    pub(crate) failures: i64,
}

/// One source's counters and health.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceStat {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    /// Fetches tried (every answer or failure; sources put off by their backoff do not count).
    pub(crate) fetches: i64,
    pub(crate) errors: i64,
    /// Articles seen for the first time.
    pub(crate) new_articles: i64,
    pub(crate) consecutive_errors: i64,
    pub(crate) last_success: Option<DateTime<Utc>>,
}

/// Counts over the whole archive.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Totals {
    pub(crate) articles: i64,
    pub(crate) stories: i64,
    /// Deliveries by state (`sent`, `failed_perm`…), over every edition of the centre.
    pub(crate) deliveries: BTreeMap<String, i64>,
}

/// A draft the daemon created and curators still have to prepare.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct EditionReminder {
    pub(crate) kind: String,
    pub(crate) number: i64,
    pub(crate) period_start: String,
    pub(crate) period_end: String,
    pub(crate) created_at: String,
}

impl EditionReminder {
    /// `KIND/NUMBER`.
    pub(crate) fn address(&self) -> String {
        EditionRef::new(self.kind.as_str(), self.number).to_string()
    }

    /// The line curators see (TUI header, log).
    pub(crate) fn message(&self) -> String {
        format!("édition à préparer : {}", self.address())
    }
}

/// What a draft job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduledDraft {
    pub(crate) kind: String,
    pub(crate) number: i64,
    /// False when an edition of that kind already covered the period (made by hand).
    pub(crate) created: bool,
}

/// A job as stored (times as text).
#[derive(sqlx::FromRow)]
struct JobDbRow {
    name: String,
    last_slot: Option<String>,
    last_run: Option<String>,
    last_status: Option<String>,
    last_error: Option<String>,
    last_duration_ms: Option<i64>,
    runs: i64,
    failures: i64,
}

/// A source's counters as the query returns them.
#[derive(sqlx::FromRow)]
struct SourceStatDbRow {
    name: String,
    enabled: bool,
    fetches: i64,
    errors: i64,
    new_articles: i64,
    consecutive_errors: i64,
    last_success: Option<String>,
}

impl Store {
    /// The last slot of every stored job, by name.
    pub(crate) async fn job_slots(&self) -> anyhow::Result<HashMap<String, DateTime<Utc>>> {
        let rows: Vec<(String, Option<String>)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT name, last_slot FROM jobs WHERE centre = $1 AND last_slot IS NOT NULL",
            )
            .bind(self.centre())
            .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(name, slot)| parse_timestamp(slot).map(|t| (name, t)))
            .collect())
    }

    pub(crate) async fn job_rows(&self) -> anyhow::Result<Vec<JobRow>> {
        let rows: Vec<JobDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT name, last_slot, last_run, last_status, last_error, last_duration_ms, runs,
                        failures
                 FROM jobs WHERE centre = $1 ORDER BY name",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| JobRow {
                name: r.name,
                last_slot: parse_timestamp(r.last_slot),
                last_run: parse_timestamp(r.last_run),
                last_status: r.last_status,
                last_error: r.last_error,
                last_duration_ms: r.last_duration_ms,
                runs: r.runs,
                failures: r.failures,
            })
            .collect())
    }

    /// Records the time from which a job that never ran counts its slots.
    pub(crate) async fn set_job_baseline(
        &self,
        name: &str,
        slot: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO jobs (name, last_slot, centre) VALUES ($1, $2, $3)
                 ON CONFLICT (centre, name) DO UPDATE SET last_slot = COALESCE(jobs.last_slot, excluded.last_slot)",
            )
            .bind(name)
            .bind(timestamp(slot))
            .bind(self.centre())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a run of a job, standing for `slot`.
    pub(crate) async fn record_job_run(
        &self,
        name: &str,
        slot: DateTime<Utc>,
        ran_at: DateTime<Utc>,
        outcome: Result<(), &str>,
        duration_ms: i64,
    ) -> anyhow::Result<()> {
        let failed = i64::from(outcome.is_err());
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO jobs (name, last_slot, last_run, last_status, last_error, last_duration_ms, runs, failures, centre)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)
                 ON CONFLICT (centre, name) DO UPDATE SET last_slot = excluded.last_slot,
                   last_run = excluded.last_run, last_status = excluded.last_status,
                   last_error = excluded.last_error, last_duration_ms = excluded.last_duration_ms,
                   runs = jobs.runs + 1, failures = jobs.failures + excluded.failures",
            )
            .bind(name)
            .bind(timestamp(slot))
            .bind(timestamp(ran_at))
            .bind(if failed == 1 { "error" } else { "ok" })
            .bind(outcome.err())
            .bind(duration_ms)
            .bind(failed)
            .bind(self.centre())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Adds the outcome of a pass to the counters of its sources.
    pub(crate) async fn record_fetch_stats(&self, reports: &[SourceReport]) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for r in reports {
                let (fetches, errors): (i64, i64) = match r.status.as_str() {
                    "ok" | "not_modified" => (1, 0),
                    "error" => (1, 1),
                    _ => continue,
                };
                sqlx::query(
                    "INSERT INTO source_stats (source_id, fetches, errors, new_articles)
                     SELECT id, $2, $3, $4 FROM sources WHERE name = $1
                     ON CONFLICT (source_id) DO UPDATE SET fetches = source_stats.fetches + excluded.fetches,
                       errors = source_stats.errors + excluded.errors,
                       new_articles = source_stats.new_articles + excluded.new_articles",
                )
                .bind(&r.name)
                .bind(fetches)
                .bind(errors)
                .bind(i64::from(r.new))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Counters and health of every known source, in name order.
    pub(crate) async fn source_stats(&self) -> anyhow::Result<Vec<SourceStat>> {
        let rows: Vec<SourceStatDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT s.name, s.enabled, s.consecutive_errors, s.last_success,
                        COALESCE(t.fetches, 0) AS fetches, COALESCE(t.errors, 0) AS errors,
                        COALESCE(t.new_articles, 0) AS new_articles
                 FROM sources s LEFT JOIN source_stats t ON t.source_id = s.id ORDER BY s.name",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| SourceStat {
                name: r.name,
                enabled: r.enabled,
                fetches: r.fetches,
                errors: r.errors,
                new_articles: r.new_articles,
                consecutive_errors: r.consecutive_errors,
                last_success: parse_timestamp(r.last_success),
            })
            .collect())
    }

    pub(crate) async fn totals(&self) -> anyhow::Result<Totals> {
        let ((articles, stories), deliveries): ((i64, i64), Vec<(String, i64)>) = on_pool!(self, pool => {
            let counts = sqlx::query_as(
                "SELECT COUNT(*) AS articles, COUNT(DISTINCT COALESCE(story, id)) AS stories
                 FROM articles",
            )
            .fetch_one(pool)
            .await?;
            // Deliveries follow their edition, which is the centre's.
            let deliveries = sqlx::query_as(
                "SELECT d.state, COUNT(*) AS n FROM deliveries d
                 JOIN editions e ON e.id = d.edition_id
                 WHERE e.centre = $1 GROUP BY d.state ORDER BY d.state",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?;
            (counts, deliveries)
        });
        Ok(Totals {
            articles,
            stories,
            deliveries: deliveries.into_iter().collect(),
        })
    }

    /// The draft of `kind` for the period starting `start`: created unless an edition of
    /// that kind already covers it; either way curators are reminded while it is a draft.
    pub(crate) async fn create_scheduled_draft(
        &self,
        kind: &str,
        start: NaiveDate,
        end: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<ScheduledDraft> {
        let (start, end, at) = (start.to_string(), end.to_string(), timestamp(now));
        // One transaction under the write lock: two daemons on one database that run the
        // same draft job at once make one edition, not two numbers for one period. The
        // numbering is `create_edition`'s (next number of the kind), inside this transaction.
        let (number, created) = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT number FROM editions WHERE kind = $1 AND period_start = $2 AND centre = $3
                 ORDER BY number LIMIT 1",
            )
            .bind(kind)
            .bind(&start)
            .bind(self.centre())
            .fetch_optional(&mut *tx)
            .await?;
            let made = match existing {
                Some(n) => (n, false),
                None => {
                    let n: i64 = sqlx::query_scalar(
                        "INSERT INTO editions
                           (kind, number, period_start, period_end, status, created_at, updated_at,
                            centre)
                         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, 'draft', $4, $4, $5
                         FROM editions WHERE kind = $1 AND centre = $5
                         RETURNING number",
                    )
                    .bind(kind)
                    .bind(&start)
                    .bind(&end)
                    .bind(&at)
                    .bind(self.centre())
                    .fetch_one(&mut *tx)
                    .await?;
                    (n, true)
                }
            };
            sqlx::query(
                "INSERT INTO edition_reminders (edition_id, created_at)
                 SELECT id, $3 FROM editions
                 WHERE kind = $1 AND number = $2 AND centre = $4 AND status = 'draft'
                 ON CONFLICT (edition_id) DO NOTHING",
            )
            .bind(kind)
            .bind(made.0)
            .bind(&at)
            .bind(self.centre())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            made
        });
        Ok(ScheduledDraft {
            kind: kind.to_string(),
            number,
            created,
        })
    }

    /// Every edition still to prepare (status `draft`, scheduled or made by hand), oldest
    /// period first: `veille status` and the daemon's log list them ("édition à préparer :
    /// flash-info/13").
    pub(crate) async fn edition_reminders(&self) -> anyhow::Result<Vec<EditionReminder>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                // Every draft, the daemon's and those made by hand (`edition new`, the TUI):
                // curators must see each edition still to prepare.
                "SELECT e.kind, e.number, e.period_start, e.period_end,
                        COALESCE(r.created_at, e.created_at) AS created_at
                 FROM editions e LEFT JOIN edition_reminders r ON r.edition_id = e.id
                 WHERE e.status = 'draft' AND e.centre = $1
                 ORDER BY e.period_start, e.kind, e.number",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn source(name: &str) -> crate::model::Source {
        crate::model::Source {
            name: name.into(),
            kind: crate::model::SourceKind::Feed,
            url: format!("https://{name}.example.org/"),
            dossiers: vec![],
            select: None,
            enabled: true,
        }
    }

    #[tokio::test]
    async fn job_runs_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        store
            .set_job_baseline("draft:flash-info", t("2025-06-01T00:00:00Z"))
            .await
            .unwrap();
        // A baseline never moves a stored slot back.
        store
            .set_job_baseline("draft:flash-info", t("2025-07-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .record_job_run(
                "poll:x",
                t("2025-06-01T10:00:00Z"),
                t("2025-06-01T10:00:01Z"),
                Ok(()),
                12,
            )
            .await
            .unwrap();
        store
            .record_job_run(
                "poll:x",
                t("2025-06-01T11:00:00Z"),
                t("2025-06-01T11:00:01Z"),
                Err("boum"),
                3,
            )
            .await
            .unwrap();
        let slots = store.job_slots().await.unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots["draft:flash-info"], t("2025-06-01T00:00:00Z"));
        assert_eq!(slots["poll:x"], t("2025-06-01T11:00:00Z"));
        let rows = store.job_rows().await.unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["draft:flash-info", "poll:x"]);
        let poll = &rows[1];
        assert_eq!((poll.runs, poll.failures), (2, 1));
        assert_eq!(poll.last_error.as_deref(), Some("boum"));
        assert_eq!(poll.last_status.as_deref(), Some("error"));
        assert_eq!(poll.last_duration_ms, Some(3));
        assert_eq!(poll.last_run, Some(t("2025-06-01T11:00:01Z")));
        assert!(rows[0].last_run.is_none());
        assert_eq!(rows[0].runs, 0);
    }

    #[tokio::test]
    async fn fetch_counters_and_totals_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let totals = store.totals().await.unwrap();
        assert_eq!((totals.articles, totals.stories), (0, 0));
        assert!(totals.deliveries.is_empty());

        let states = store
            .sync_sources(&[source("a"), source("b")])
            .await
            .unwrap();
        let report = |name: &str, status: &str, new| SourceReport {
            name: name.into(),
            status: status.parse().expect("a known status"),
            new,
            ..Default::default()
        };
        for _ in 0..2 {
            store
                .record_fetch_stats(&[
                    report("a", "ok", 3),
                    report("b", "error", 0),
                    report("b", "deferred", 0),
                ])
                .await
                .unwrap();
        }
        let stats = store.source_stats().await.unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!(stats[0].name, "a");
        assert!(stats[0].enabled);
        assert_eq!(
            (stats[0].fetches, stats[0].errors, stats[0].new_articles),
            (2, 0, 6)
        );
        assert_eq!((stats[1].fetches, stats[1].errors), (2, 2));

        // Three articles of two stories, and a ledger of three deliveries.
        let now = t("2025-06-01T06:00:00Z");
        let ok = crate::store::Validators {
            status: 200,
            ..Default::default()
        };
        let item = |n: u32| {
            let url = format!("https://a.example.org/{n}");
            crate::testing::article(&format!("Titre {n}"), "", &url, now, &[], &[])
        };
        // The second article joins the first one's story.
        let mut ids = Vec::new();
        store
            .record_success(
                states["a"].id,
                &ok,
                &[item(1), item(2), item(3)],
                now,
                |_, id| {
                    ids.push(id);
                    if ids.len() == 2 { ids[0] } else { id }
                },
            )
            .await
            .unwrap();
        let stats = store.source_stats().await.unwrap();
        assert_eq!(stats[0].last_success, Some(now));
        store
            .exec(
                "INSERT INTO editions (kind, number, period_start, period_end, created_at, updated_at)
                 VALUES ('flash-info', 1, '2025-06-01', '2025-06-30', 't', 't')",
            )
            .await;
        for (email, state) in [
            ("x@a.fr", "sent"),
            ("y@a.fr", "sent"),
            ("z@a.fr", "failed_perm"),
        ] {
            store
                .exec(&format!(
                    "INSERT INTO deliveries (edition_id, email, state, message_id, updated_at)
                     SELECT id, '{email}', '{state}', '<{email}>', 't' FROM editions
                     WHERE kind = 'flash-info' AND number = 1"
                ))
                .await;
        }
        let totals = store.totals().await.unwrap();
        assert_eq!((totals.articles, totals.stories), (3, 2));
        assert_eq!(
            totals.deliveries.into_iter().collect::<Vec<_>>(),
            [("failed_perm".to_string(), 1), ("sent".to_string(), 2)]
        );
    }

    #[tokio::test]
    async fn drafts_are_made_once_and_every_draft_is_reminded() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let now = t("2025-06-01T06:00:00Z");
        let first = store
            .create_scheduled_draft("flash-info", day("2025-06-01"), day("2025-06-30"), now)
            .await
            .unwrap();
        assert_eq!((first.number, first.created), (1, true));
        // Run again for the same period (a catch-up, or made by hand): no second edition.
        let again = store
            .create_scheduled_draft("flash-info", day("2025-06-01"), day("2025-06-30"), now)
            .await
            .unwrap();
        assert_eq!((again.number, again.created), (1, false));
        assert_eq!(store.scalar("SELECT COUNT(*) FROM editions").await, 1);
        let reminders = store.edition_reminders().await.unwrap();
        assert_eq!(reminders.len(), 1);
        assert_eq!(reminders[0].message(), "édition à préparer : flash-info/1");
        store
            .exec("UPDATE editions SET status = 'ready' WHERE kind = 'flash-info' AND number = 1")
            .await;
        assert!(store.edition_reminders().await.unwrap().is_empty());
        // A draft made by hand is listed too, with its own creation time.
        store
            .exec(
                "INSERT INTO editions (kind, number, period_start, period_end, created_at, updated_at)
                 VALUES ('lettre-pauvrete', 1, '2025-05-01', '2025-06-30',
                         '2025-05-02T08:00:00Z', '2025-05-02T08:00:00Z')",
            )
            .await;
        let reminders = store.edition_reminders().await.unwrap();
        assert_eq!(
            reminders.iter().map(|r| r.address()).collect::<Vec<_>>(),
            ["lettre-pauvrete/1"]
        );
        assert_eq!(reminders[0].created_at, "2025-05-02T08:00:00Z");
        assert_eq!(reminders[0].period_end, "2025-06-30");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_daemons_drafting_at_once_make_one_edition() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let now = t("2025-06-01T06:00:00Z");
        let draft = |store: Store| async move {
            store
                .create_scheduled_draft("flash-info", day("2025-06-01"), day("2025-06-30"), now)
                .await
                .unwrap()
        };
        let (a, b) = tokio::join!(
            tokio::spawn(draft(store.clone())),
            tokio::spawn(draft(store.clone()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.number, b.number), (1, 1));
        assert!(a.created != b.created, "one made it, the other found it");
        assert_eq!(store.scalar("SELECT COUNT(*) FROM editions").await, 1);
        assert_eq!(
            store.scalar("SELECT COUNT(*) FROM edition_reminders").await,
            1
        );
    }
}
