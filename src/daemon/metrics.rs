//! Health in figures: one snapshot of the store and the job table, rendered as Prometheus
//! text (`/metrics`) or for a person (`veille status`).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::store::{EditionReminder, JobRow, SourceStat, Store, Totals};

/// One scheduled job as reported: as configured, with what the store keeps of it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JobReport {
    pub(crate) label: String,
    pub(crate) schedule: String,
    pub(crate) next_run: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub(crate) stored: JobRow,
}

/// What the daemon process itself knows (only when it answers).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProcessReport {
    pub(crate) pid: u32,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) reloads_ok: u64,
    pub(crate) reloads_failed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    pub(crate) at: DateTime<Utc>,
    pub(crate) timezone: String,
    pub(crate) jobs: Vec<JobReport>,
    pub(crate) reminders: Vec<EditionReminder>,
    /// The configured sources (enabled or not) with their counters.
    pub(crate) sources: Vec<SourceStat>,
    pub(crate) totals: Totals,
    /// Articles seen for the first time, over every source (sum of the counters).
    pub(crate) articles_ingested: i64,
    pub(crate) process: Option<ProcessReport>,
}

/// Reads the store; `now` dates the ages and places jobs that never ran.
pub(crate) async fn snapshot(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> anyhow::Result<Snapshot> {
    let mut rows: HashMap<String, JobRow> = store
        .job_rows()
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let jobs = super::jobs(config)
        .into_iter()
        .map(|job| {
            let stored = rows.remove(&job.name).unwrap_or_else(|| JobRow {
                name: job.name.clone(),
                ..Default::default()
            });
            JobReport {
                next_run: job.schedule.next_after(stored.last_slot.unwrap_or(now)),
                schedule: job.schedule.text(),
                label: job.label,
                stored,
            }
        })
        .collect();
    let configured: std::collections::HashSet<&str> =
        config.sources.iter().map(|s| s.name.as_str()).collect();
    let sources: Vec<SourceStat> = store
        .source_stats()
        .await?
        .into_iter()
        .filter(|s| configured.contains(s.name.as_str()))
        .collect();
    Ok(Snapshot {
        at: now,
        timezone: config.settings.timezone.name().to_string(),
        articles_ingested: sources.iter().map(|s| s.new_articles).sum(),
        jobs,
        reminders: store.edition_reminders().await?,
        sources,
        totals: store.totals().await?,
        process: None,
    })
}

/// A label value in the text exposition format: `\`, `"` and line feeds escaped.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: `\` and line feeds escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Writes metric families in the Prometheus text format (version 0.0.4).
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape_label(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    /// One family with a single unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// One family with one sample per item.
    fn each<T>(
        &mut self,
        (name, kind, help): (&str, &str, &str),
        label: &str,
        items: &[T],
        value: impl Fn(&T) -> Option<(String, f64)>,
    ) {
        self.family(name, kind, help);
        for item in items {
            if let Some((key, v)) = value(item) {
                self.sample(name, &[(label, &key)], v);
            }
        }
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

fn seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// `/metrics`: the snapshot in the Prometheus text format.
pub(crate) fn prometheus(s: &Snapshot) -> String {
    let mut out = Exposition(String::new());
    source_families(&mut out, s);
    store_families(&mut out, s);
    job_families(&mut out, s);
    if let Some(p) = &s.process {
        process_families(&mut out, p);
    }
    out.0
}

/// Per-source fetch counters and ages.
fn source_families(out: &mut Exposition, s: &Snapshot) {
    let src = |s: &SourceStat| s.name.clone();
    out.each(
        (
            "veille_source_fetches_total",
            "counter",
            "Relèves tentées, par source (réponses et échecs ; les sources ralenties ne comptent pas).",
        ),
        "source",
        &s.sources,
        |x| Some((src(x), x.fetches as f64)),
    );
    out.each(
        (
            "veille_source_fetch_errors_total",
            "counter",
            "Relèves en échec, par source.",
        ),
        "source",
        &s.sources,
        |x| Some((src(x), x.errors as f64)),
    );
    out.each(
        (
            "veille_source_consecutive_errors",
            "gauge",
            "Échecs consécutifs depuis le dernier succès, par source.",
        ),
        "source",
        &s.sources,
        |x| Some((src(x), x.consecutive_errors as f64)),
    );
    out.each(
        (
            "veille_source_last_success_age_seconds",
            "gauge",
            "Secondes depuis la dernière relève réussie, par source (absente si jamais).",
        ),
        "source",
        &s.sources,
        |x| {
            x.last_success
                .map(|t| (src(x), (s.at - t).num_milliseconds().max(0) as f64 / 1000.0))
        },
    );
    out.each(
        (
            "veille_source_articles_ingested_total",
            "counter",
            "Articles nouveaux enregistrés, par source.",
        ),
        "source",
        &s.sources,
        |x| Some((src(x), x.new_articles as f64)),
    );
}

/// What the store holds: articles, stories, deliveries by state, editions to prepare.
fn store_families(out: &mut Exposition, s: &Snapshot) {
    out.single(
        "veille_articles_ingested_total",
        "counter",
        "Articles nouveaux enregistrés, toutes sources.",
        s.articles_ingested as f64,
    );
    out.single(
        "veille_articles",
        "gauge",
        "Articles dans la base.",
        s.totals.articles as f64,
    );
    out.single(
        "veille_stories",
        "gauge",
        "Histoires (articles regroupés) dans la base.",
        s.totals.stories as f64,
    );
    let deliveries: Vec<(&String, &i64)> = s.totals.deliveries.iter().collect();
    out.each(
        (
            "veille_deliveries",
            "gauge",
            "Envois de lettres par état (sent, failed_perm…), toutes éditions.",
        ),
        "state",
        &deliveries,
        |(state, n)| Some(((*state).clone(), **n as f64)),
    );
    out.single(
        "veille_editions_to_prepare",
        "gauge",
        "Éditions en brouillon (planifiées ou créées à la main), pas encore prêtes.",
        s.reminders.len() as f64,
    );
}

/// Runs, failures and times of each scheduled job.
fn job_families(out: &mut Exposition, s: &Snapshot) {
    let job = |j: &JobReport| j.stored.name.clone();
    out.each(
        (
            "veille_job_runs_total",
            "counter",
            "Exécutions de chaque tâche planifiée.",
        ),
        "job",
        &s.jobs,
        |j| Some((job(j), j.stored.runs as f64)),
    );
    out.each(
        (
            "veille_job_failures_total",
            "counter",
            "Exécutions en échec de chaque tâche planifiée.",
        ),
        "job",
        &s.jobs,
        |j| Some((job(j), j.stored.failures as f64)),
    );
    out.each(
        (
            "veille_job_last_run_timestamp_seconds",
            "gauge",
            "Heure (Unix) de la dernière exécution de chaque tâche.",
        ),
        "job",
        &s.jobs,
        |j| j.stored.last_run.map(|t| (job(j), seconds(t))),
    );
    out.each(
        (
            "veille_job_last_duration_seconds",
            "gauge",
            "Durée de la dernière exécution de chaque tâche.",
        ),
        "job",
        &s.jobs,
        |j| {
            j.stored
                .last_duration_ms
                .map(|d| (job(j), d as f64 / 1000.0))
        },
    );
    out.each(
        (
            "veille_job_next_run_timestamp_seconds",
            "gauge",
            "Heure (Unix) de la prochaine exécution prévue de chaque tâche.",
        ),
        "job",
        &s.jobs,
        |j| j.next_run.map(|t| (job(j), seconds(t))),
    );
}

/// The daemon process itself: start time and configuration reloads.
fn process_families(out: &mut Exposition, p: &ProcessReport) {
    out.single(
        "veille_daemon_start_time_seconds",
        "gauge",
        "Heure (Unix) de démarrage du démon.",
        seconds(p.started_at),
    );
    out.family(
        "veille_config_reloads_total",
        "counter",
        "Rechargements de feeds.toml (SIGHUP), réussis ou refusés.",
    );
    out.sample(
        "veille_config_reloads_total",
        &[("result", "ok")],
        p.reloads_ok as f64,
    );
    out.sample(
        "veille_config_reloads_total",
        &[("result", "error")],
        p.reloads_failed as f64,
    );
}

/// A duration in French words: « 3 min », « 2 h 05 », « 4 j ».
pub(crate) fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {:02}", s / 3600, (s % 3600) / 60),
        s => format!("{} j", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_help_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        let mut out = Exposition(String::new());
        out.family("x_total", "counter", "deux\nlignes \\ ici");
        out.sample("x_total", &[("source", "Le \"Monde\"")], 3.0);
        out.sample("x_total", &[("source", "b")], 0.5);
        assert_eq!(
            out.0,
            "# HELP x_total deux\\nlignes \\\\ ici\n# TYPE x_total counter\nx_total{source=\"Le \\\"Monde\\\"\"} 3\nx_total{source=\"b\"} 0.5\n"
        );
        assert_eq!(age(42), "42 s");
        assert_eq!(age(3 * 3600 + 5 * 60), "3 h 05");
    }
}
