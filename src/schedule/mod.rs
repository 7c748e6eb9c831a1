//! Schedules: the jobs (`Job`, `Task`), a pure scheduler that says what is due and when to
//! wake (`Scheduler`), and the clocks that drive it (`clock`). Expressions and their unions
//! are `crate::cron`'s; the job table built from the configuration is the daemon's
//! (`daemon::jobs`), so this module does not know `config`.

pub(crate) mod clock;
mod jobs;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

pub use crate::cron::{Expr, ExprError, SYNTAX_HINT, Schedule};
pub(crate) use jobs::{Job, Task};

/// A job's place in the scheduler: its last run stands for the slot `last_slot`.
#[derive(Debug, Clone)]
pub(crate) struct JobState {
    pub(crate) job: Job,
    /// The scheduled time the last run stood for; None when the job never ran.
    pub(crate) last_slot: Option<DateTime<Utc>>,
}

/// A job to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) index: usize,
    /// The scheduled time this run stands for (the latest one that has passed).
    pub(crate) slot: DateTime<Utc>,
    /// Slots that passed without a run before `slot` (counted up to `MISSED_COUNT_LIMIT`):
    /// they are caught up by this one run, not replayed.
    pub(crate) missed: u32,
    /// The job never ran before.
    pub(crate) first_run: bool,
}

/// Counting missed slots stops here (a minute schedule down for a year).
pub(crate) const MISSED_COUNT_LIMIT: u32 = 10_000;

/// What runs when. Pure: the caller supplies the time, runs the jobs and reports back.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scheduler {
    pub(crate) jobs: Vec<JobState>,
}

impl Scheduler {
    /// `last_slot` gives each job's persisted last slot by name.
    pub(crate) fn new(
        jobs: Vec<Job>,
        last_slot: impl Fn(&str) -> Option<DateTime<Utc>>,
    ) -> Scheduler {
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
    pub(crate) fn set_baselines(&mut self, now: DateTime<Utc>) -> Vec<usize> {
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
    pub(crate) fn due(&self, now: DateTime<Utc>) -> Vec<Due> {
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
    pub(crate) fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.jobs
            .iter()
            .filter_map(|s| s.last_slot.and_then(|l| s.job.schedule.next_after(l)))
            .min()
    }

    /// The next run of one job.
    pub(crate) fn next_run(&self, index: usize) -> Option<DateTime<Utc>> {
        let state = &self.jobs[index];
        state
            .last_slot
            .and_then(|l| state.job.schedule.next_after(l))
    }

    pub(crate) fn mark_run(&mut self, index: usize, slot: DateTime<Utc>) {
        self.jobs[index].last_slot = Some(slot);
    }
}
