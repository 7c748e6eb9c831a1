//! Schedules: 5-field cron expressions evaluated by croner in the configured timezone, the
//! job table built from the configuration (`jobs`), a pure scheduler that says what is due
//! and when to wake (`Scheduler`), and the clocks that drive it (`clock`).
//!
//! Daylight saving time follows croner (Vixie cron's rules): a fixed-time job (one minute and
//! one hour, such as `30 2 * * *`) whose local time falls in the spring-forward gap runs at
//! the first instant after the gap, and once only when its local time occurs twice in the
//! autumn; an interval job (`*/15 * * * *`, `0 * * * *`) keeps its pace in real time: it
//! skips the hour that does not exist and runs in both copies of the repeated hour.

pub mod clock;
mod jobs;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

pub use jobs::{Job, Task, jobs};

/// The names of the five fields, for messages.
const FIELDS: [&str; 5] = [
    "minute",
    "heure",
    "jour du mois",
    "mois",
    "jour de la semaine",
];

/// How to write a schedule, for hints.
pub const SYNTAX_HINT: &str = "5 champs : minute heure jour-du-mois mois jour-de-la-semaine (0 ou 7 = dimanche), par exemple \"*/30 6-21 * * 1-5\" (toutes les 30 min de 6 h à 21 h en semaine) ou \"0 7 * * *\" (chaque jour à 7 h)";

/// A schedule expression that does not parse: a French message and, when known, the byte
/// offset of the faulty field in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
    pub offset: Option<usize>,
}

/// One parsed 5-field expression (POSIX/Vixie cron, with croner's `L`, `W` and `#`).
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    cron: Cron,
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let trimmed = text.trim();
        let fields: Vec<(usize, &str)> = field_offsets(text);
        if trimmed.is_empty() {
            return Err(ExprError {
                message: "expression de planification vide".into(),
                offset: None,
            });
        }
        if !trimmed.starts_with('@') && fields.len() != 5 {
            return Err(ExprError {
                message: format!(
                    "expression de planification « {trimmed} » : {} champ{} au lieu de 5",
                    fields.len(),
                    if fields.len() > 1 { "s" } else { "" }
                ),
                offset: None,
            });
        }
        // croner reads an empty list item (`,5`, `1,,5`) as a list that matches nothing, and
        // then searches years for an instant that never comes (seconds of CPU, found by
        // `make fuzz`): refused here, pointing at the field.
        if !trimmed.starts_with('@')
            && let Some(i) = (0..5).find(|&i| fields[i].1.split(',').any(str::is_empty))
        {
            return Err(ExprError {
                message: format!(
                    "expression de planification « {trimmed} » : champ « {} » invalide (`{}` : \
                     élément vide entre deux virgules)",
                    FIELDS[i], fields[i].1
                ),
                offset: Some(fields[i].0),
            });
        }
        match parser().parse(trimmed) {
            Ok(cron) => {
                let expr = Expr {
                    text: trimmed.to_string(),
                    cron,
                };
                // A pattern such as `0 0 31 2 *` parses but never happens.
                let probe = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
                    .expect("static date")
                    .with_timezone(&Utc);
                if expr.next_after(probe, chrono_tz::UTC).is_none() {
                    return Err(ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » : cette date n'existe jamais"
                        ),
                        offset: None,
                    });
                }
                Ok(expr)
            }
            Err(e) => {
                // Find the first field that is wrong on its own, to point at it.
                let faulty = if trimmed.starts_with('@') {
                    None
                } else {
                    (0..5).find(|&i| {
                        let mut probe = ["*"; 5];
                        probe[i] = fields[i].1;
                        parser().parse(&probe.join(" ")).is_err()
                    })
                };
                Err(match faulty {
                    Some(i) => ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » : champ « {} » invalide (`{}`)",
                            FIELDS[i], fields[i].1
                        ),
                        offset: Some(fields[i].0),
                    },
                    None => ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » invalide ({})",
                            french_error(&e)
                        ),
                        offset: None,
                    },
                })
            }
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `t`, in `tz`; None when the pattern never happens again.
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&tz), false)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }

    /// The last run at or before `t`, in `tz`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&tz), true)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }
}

/// Each whitespace-separated field with its byte offset in `text`.
fn field_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                fields.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        fields.push((s, &text[s..]));
    }
    fields
}

fn french_error(e: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    match e {
        E::EmptyPattern => "expression vide".into(),
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => {
            format!("détail : {m}")
        }
        other => format!("détail : {other}"),
    }
}

/// A schedule: the union of one or more expressions, in one timezone. An empty schedule
/// never runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    exprs: Vec<Expr>,
    tz: Tz,
}

impl Schedule {
    /// Parses every expression (the configuration has checked them already).
    pub fn new<S: AsRef<str>>(texts: &[S], tz: Tz) -> Result<Schedule, ExprError> {
        let exprs = texts
            .iter()
            .map(|t| Expr::parse(t.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Schedule { exprs, tz })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }

    /// The expressions, joined with ` | `.
    pub fn text(&self) -> String {
        self.exprs
            .iter()
            .map(Expr::text)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.exprs
            .iter()
            .filter_map(|e| e.next_after(t, self.tz))
            .min()
    }

    /// The last run at or before `t`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.exprs
            .iter()
            .filter_map(|e| e.latest_at_or_before(t, self.tz))
            .max()
    }

    /// The next `count` runs after `from`, in local time.
    pub fn upcoming(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut t = from;
        while out.len() < count {
            let Some(next) = self.next_after(t) else {
                break;
            };
            out.push(next.with_timezone(&self.tz));
            t = next;
        }
        out
    }
}

/// A job's place in the scheduler: its last run stands for the slot `last_slot`.
#[derive(Debug, Clone)]
pub struct JobState {
    pub job: Job,
    /// The scheduled time the last run stood for; None when the job never ran.
    pub last_slot: Option<DateTime<Utc>>,
}

/// A job to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub index: usize,
    /// The scheduled time this run stands for (the latest one that has passed).
    pub slot: DateTime<Utc>,
    /// Slots that passed without a run before `slot` (counted up to `MISSED_COUNT_LIMIT`):
    /// they are caught up by this one run, not replayed.
    pub missed: u32,
    /// The job never ran before.
    pub first_run: bool,
}

/// Counting missed slots stops here (a minute schedule down for a year).
pub const MISSED_COUNT_LIMIT: u32 = 10_000;

/// What runs when. Pure: the caller supplies the time, runs the jobs and reports back.
#[derive(Debug, Clone, Default)]
pub struct Scheduler {
    pub jobs: Vec<JobState>,
}

impl Scheduler {
    /// `last_slot` gives each job's persisted last slot by name.
    pub fn new(jobs: Vec<Job>, last_slot: impl Fn(&str) -> Option<DateTime<Utc>>) -> Scheduler {
        Scheduler {
            jobs: jobs
                .into_iter()
                .map(|job| JobState {
                    last_slot: last_slot(&job.name),
                    job,
                })
                .collect(),
        }
    }

    /// Jobs that never ran and do not run at their first start get `now` as their
    /// baseline, so that a later downtime is caught up; returns their indexes (to persist).
    pub fn set_baselines(&mut self, now: DateTime<Utc>) -> Vec<usize> {
        let mut set = Vec::new();
        for (i, state) in self.jobs.iter_mut().enumerate() {
            if state.last_slot.is_none() && !state.job.task.runs_at_first_start() {
                state.last_slot = Some(now);
                set.push(i);
            }
        }
        set
    }

    /// The jobs due at `now`: each at most once, whatever the number of slots missed.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<Due> {
        let mut due = Vec::new();
        for (index, state) in self.jobs.iter().enumerate() {
            let schedule = &state.job.schedule;
            let Some(last) = state.last_slot else {
                if state.job.task.runs_at_first_start() {
                    due.push(Due {
                        index,
                        slot: now,
                        missed: 0,
                        first_run: true,
                    });
                }
                continue;
            };
            let Some(first) = schedule.next_after(last).filter(|t| *t <= now) else {
                continue;
            };
            let slot = schedule
                .latest_at_or_before(now)
                .filter(|s| *s >= first)
                .unwrap_or(first);
            let mut missed = 0;
            let mut t = first;
            while t < slot && missed < MISSED_COUNT_LIMIT {
                missed += 1;
                match schedule.next_after(t) {
                    Some(next) => t = next,
                    None => break,
                }
            }
            due.push(Due {
                index,
                slot,
                missed,
                first_run: false,
            });
        }
        due
    }

    /// When the next job falls due; None when no job has a future run.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.jobs
            .iter()
            .filter_map(|s| s.last_slot.and_then(|l| s.job.schedule.next_after(l)))
            .min()
    }

    /// The next run of one job.
    pub fn next_run(&self, index: usize) -> Option<DateTime<Utc>> {
        let state = &self.jobs[index];
        state
            .last_slot
            .and_then(|l| state.job.schedule.next_after(l))
    }

    pub fn mark_run(&mut self, index: usize, slot: DateTime<Utc>) {
        self.jobs[index].last_slot = Some(slot);
    }
}
