//! The job table: what `feeds.toml` asks the daemon to do, and when.

use std::collections::BTreeMap;

use super::Schedule;
use crate::config::Config;

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Fetch these sources (by name); their own backoff still applies.
    Poll { sources: Vec<String> },
    /// Render one dossier's panorama, then the archive index.
    Panorama { dossier: String },
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
    pub fn runs_at_first_start(&self) -> bool {
        matches!(self, Task::Poll { .. } | Task::Bounces)
    }
}

/// One scheduled job. Its `name` identifies it across restarts (its last run is stored
/// under it): polling jobs are named by their schedule, so a source that moves from one
/// schedule to another joins that schedule's job.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// For people, in French.
    pub label: String,
    pub schedule: Schedule,
    pub task: Task,
}

/// The jobs of a configuration, in a stable order: polling, panoramas, drafts. Schedules
/// are checked when the configuration is read; one that does not parse here is left out.
pub fn jobs(config: &Config) -> Vec<Job> {
    let tz = config.tz();
    let schedules = &config.schedule;
    let mut out = Vec::new();
    let mut push = |name: String, label: String, texts: &[String], task: Task| {
        if texts.is_empty() {
            return;
        }
        match Schedule::new(texts, tz) {
            Ok(schedule) => out.push(Job {
                name,
                label,
                schedule,
                task,
            }),
            Err(e) => tracing::error!("tâche « {label} » ignorée : {}", e.message),
        }
    };

    // Polling: sources grouped by their effective schedule.
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for source in config.sources.iter().filter(|s| s.enabled) {
        groups
            .entry(schedules.poll_for(source))
            .or_default()
            .push(source.name.clone());
    }
    for (texts, sources) in groups {
        let joined = texts.join(" | ");
        let n = sources.len();
        let label = format!("relève de {n} source{}", if n > 1 { "s" } else { "" });
        push(
            format!("poll:{joined}"),
            label,
            &texts,
            Task::Poll { sources },
        );
    }
    for id in config
        .dossiers
        .iter()
        .filter(|(_, d)| d.panorama)
        .map(|(id, _)| id)
    {
        let texts = schedules
            .dossier_panorama
            .get(id)
            .unwrap_or(&schedules.panoramas);
        push(
            format!("panorama:{id}"),
            format!("panorama {id}"),
            texts,
            Task::Panorama {
                dossier: id.clone(),
            },
        );
    }
    for kind in config.publications.keys() {
        let texts = schedules.draft_for(config, kind);
        push(
            format!("draft:{kind}"),
            format!("brouillon {kind}"),
            &texts,
            Task::Draft { kind: kind.clone() },
        );
    }
    if config.bounces.is_some() {
        push(
            "bounces".into(),
            "lecture des retours".into(),
            &schedules.bounces,
            Task::Bounces,
        );
    }
    out
}
