//! `veille check`: the configuration is valid; its dossiers and sources, as a report.

use super::kind_label;
use super::{daemon, report};
use crate::config::Config;
use crate::model::SourceKind;
use crate::publish::french::count as plural;

/// `veille check`: the configuration is valid; list dossiers and sources.
pub(crate) fn check(config: &Config) -> Checked<'_> {
    let count = |id: &str| {
        config
            .sources
            .iter()
            .filter(|s| s.dossiers.iter().any(|d| d == id))
            .count()
    };
    Checked {
        file: config.path.display().to_string(),
        timezone: config.settings.timezone.name(),
        dossiers: config
            .dossiers
            .iter()
            .map(|(id, d)| CheckedDossier {
                id,
                title: &d.title,
                panorama: d.panorama,
                sources: count(id),
                keywords: d.keywords.len(),
            })
            .collect(),
        sources: config
            .sources
            .iter()
            .map(|s| CheckedSource {
                name: &s.name,
                kind: s.kind,
                url: &s.url,
                dossiers: &s.dossiers,
                enabled: s.enabled,
            })
            .collect(),
        schedules: daemon::schedules(config),
        config,
    }
}

/// What `veille check` found valid: the dossiers, the sources and the daemon's jobs.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Checked<'a> {
    file: String,
    timezone: &'static str,
    dossiers: Vec<CheckedDossier<'a>>,
    sources: Vec<CheckedSource<'a>>,
    schedules: Vec<daemon::ScheduledJob>,
    /// The settings the text also shows.
    #[serde(skip)]
    config: &'a Config,
}

/// A dossier as `veille check` lists it.
#[derive(Debug, serde::Serialize)]
struct CheckedDossier<'a> {
    id: &'a str,
    title: &'a str,
    panorama: bool,
    /// Sources that feed it.
    sources: usize,
    keywords: usize,
}

/// A source as `veille check` lists it.
#[derive(Debug, serde::Serialize)]
struct CheckedSource<'a> {
    name: &'a str,
    kind: SourceKind,
    url: &'a str,
    dossiers: &'a [String],
    enabled: bool,
}

impl report::Report for Checked<'_> {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Checked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let config = self.config;
        report::lines(f, |out| {
            writeln!(out, "{} : configuration valide", config.path.display())?;
            writeln!(out, "Fuseau horaire : {}", config.settings.timezone)?;
            writeln!(
                out,
                "Relève : {} en parallèle, {} par site, délai {} s, corps ≤ {} Mio",
                config.settings.concurrency,
                config.settings.per_host,
                config.settings.timeout_secs,
                config.settings.max_body_mib
            )?;
            daemon::write_schedules(out, config, &self.schedules)?;
            writeln!(out)?;
            writeln!(out, "{} dossiers :", self.dossiers.len())?;
            for d in &self.dossiers {
                let panorama = if d.panorama {
                    "panorama"
                } else {
                    "sans panorama"
                };
                writeln!(
                    out,
                    "  {:<24} {:<46} {panorama:<14} {:>3} sources",
                    d.id, d.title, d.sources
                )?;
            }
            let by_kind = |k| self.sources.iter().filter(|s| s.kind == k).count();
            let disabled = self.sources.iter().filter(|s| !s.enabled).count();
            writeln!(out)?;
            writeln!(
                out,
                "{} ({} flux, {}, {} ; {} désactivée{}) :",
                plural(self.sources.len(), "source", "sources"),
                by_kind(SourceKind::Feed),
                plural(by_kind(SourceKind::Page), "page", "pages"),
                plural(by_kind(SourceKind::Search), "recherche", "recherches"),
                disabled,
                if disabled > 1 { "s" } else { "" }
            )?;
            for s in &self.sources {
                let off = if s.enabled { "" } else { " (désactivée)" };
                let dossiers = if s.dossiers.is_empty() {
                    String::new()
                } else {
                    format!(" → {}", s.dossiers.join(", "))
                };
                writeln!(
                    out,
                    "  [{:<9}] {}{off}{dossiers}\n              {}",
                    kind_label(s.kind),
                    s.name,
                    s.url
                )?;
            }
            Ok(())
        })
    }
}
