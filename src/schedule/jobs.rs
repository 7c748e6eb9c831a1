//! Jobs: what the daemon is asked to do, and when (the table itself is `daemon::jobs`).

use super::Schedule;

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Task {
    /// Fetch these sources (by name); their own backoff still applies.
    Poll { sources: Vec<String> },
    /// Render one dossier's panorama, then the archive index.
    Panorama { dossier: String },
    /// Render the network's collective panorama of one shared dossier, then the archive
    /// index.
    NetworkPanorama { dossier: String },
    /// Create the next draft of an edition kind and remind the curators.
    Draft { kind: String },
    /// Read the bounce mailbox (`[bounces]`) and apply the policy.
    Bounces,
}

impl Task {
    /// A polling job that never ran runs as soon as the daemon starts, and so does reading
    /// the bounce mailbox (what piled up before the daemon was installed is read at once);
    /// other jobs wait for their first slot (a draft is not created because the daemon was
    /// just installed).
    pub(crate) fn runs_at_first_start(&self) -> bool {
        matches!(self, Task::Poll { .. } | Task::Bounces)
    }
}

/// One scheduled job. Its `name` identifies it across restarts (its last run is stored
/// under it): polling jobs are named by their schedule, so a source that moves from one
/// schedule to another joins that schedule's job.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) name: String,
    /// For people, in French.
    pub(crate) label: String,
    pub(crate) schedule: Schedule,
    pub(crate) task: Task,
}
