//! `veille sources [--failing]`: the health of every configured source, from the store, and
//! the sources the curators are alerted about.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::report::{CommandError, Report};
use super::{kind_label, local_time_in, truncate};
use crate::config::Config;
use crate::daemon::alerts::{self, AlertState, Assessment};
use crate::model::SourceKind;
use crate::publish::french::count as plural;
use crate::store::{SourceHealth, Store};

/// `veille sources`: the health of every source.
pub(crate) async fn sources(
    config: &Config,
    archive: &Path,
) -> Result<SourcesHealth, CommandError> {
    let store = Store::open(archive).await?;
    store.sync_sources(&config.sources).await?;
    let configured: std::collections::HashSet<&str> =
        config.sources.iter().map(|s| s.name.as_str()).collect();
    let health = store
        .source_health()
        .await?
        .into_iter()
        .filter(|h| configured.contains(h.name.as_str()))
        .collect();
    Ok(SourcesHealth {
        health,
        tz: config.tz(),
    })
}

/// The health of the configured sources: a JSON array, or a table and a count.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct SourcesHealth {
    health: Vec<SourceHealth>,
    /// The archive's timezone, for the times of the table.
    #[serde(skip)]
    tz: chrono_tz::Tz,
}

impl Report for SourcesHealth {
    const PRETTY: bool = true;
}

impl fmt::Display for SourcesHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let health = &self.health;
        writeln!(
            f,
            "{:<48} {:<9} {:>6} {:>7}  {:<20} Dernière erreur",
            "Source", "Type", "Articles", "Erreurs", "Dernier succès"
        )?;
        for h in health {
            let last = h
                .last_success
                .as_deref()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                .map(|t| local_time_in(self.tz, t))
                .unwrap_or_else(|| "jamais".into());
            let kind = SourceKind::parse(&h.kind).map_or("?", kind_label);
            let off = if h.enabled { "" } else { " (désactivée)" };
            writeln!(
                f,
                "{:<48} {:<9} {:>6} {:>7}  {:<20} {}{off}",
                truncate(&h.name, 48),
                kind,
                h.items,
                h.consecutive_errors,
                last,
                h.last_error.as_deref().unwrap_or("")
            )?;
        }
        let failing = health.iter().filter(|h| h.consecutive_errors > 0).count();
        let never = health.iter().filter(|h| h.last_success.is_none()).count();
        write!(
            f,
            "\n{}, {failing} en erreur, {never} jamais relevée{} avec succès",
            plural(health.len(), "source", "sources"),
            if never > 1 { "s" } else { "" }
        )
    }
}

/// `veille sources --failing`: the sources the curators are (or would be) alerted about.
pub(crate) async fn failing(config: &Config, archive: &Path) -> Result<Failing, CommandError> {
    let store = Store::open(archive).await?;
    store.sync_sources(&config.sources).await?;
    let settings = config
        .alerts
        .clone()
        .unwrap_or_else(alerts::default_settings);
    let all = alerts::assess_all(&store, &settings, Utc::now()).await?;
    Ok(Failing(
        all.into_iter()
            .map(|(_, a)| a)
            .filter(|a| a.state.is_alert())
            .collect(),
    ))
}

/// The sources in trouble: a JSON array, or each with its state and the command to look
/// closer.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Failing(Vec<Assessment>);

impl Report for Failing {
    const PRETTY: bool = true;
}

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("Aucune source en difficulté.");
        }
        let mut lines = Vec::new();
        for a in &self.0 {
            let since = a.since.format("%d/%m/%Y %H:%M");
            let state = match a.state {
                AlertState::Failing => format!("en erreur depuis le {since}"),
                AlertState::Empty => format!("sélecteurs sans résultat depuis le {since}"),
                _ => format!("rien de nouveau depuis le {since}"),
            };
            lines.push(format!("{} — {state}", a.name));
            if let Some(d) = &a.detail {
                lines.push(format!("    ↳ {d}"));
            }
            lines.push(format!(
                "    veille check --fetch \"{}\"",
                a.name.replace('"', "\\\"")
            ));
        }
        f.write_str(&lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, enabled: bool, errors: u32, success: Option<&str>) -> SourceHealth {
        SourceHealth {
            name: name.into(),
            url: "https://exemple.fr/flux.xml".into(),
            kind: "feed".into(),
            dossiers: vec!["logement".into()],
            enabled,
            last_fetch: success.map(str::to_string),
            last_success: success.map(str::to_string),
            last_status: Some(200),
            consecutive_errors: errors,
            last_error: (errors > 0).then(|| "HTTP 503 Service Unavailable".into()),
            next_fetch: None,
            items: 12,
        }
    }

    #[test]
    fn the_health_reads_as_a_table_and_as_the_json_array() {
        let report = SourcesHealth {
            health: vec![
                source("Le Monde", true, 0, Some("2026-12-06T08:00:00Z")),
                source("Occupé", false, 2, None),
            ],
            tz: chrono_tz::Europe::Paris,
        };
        let header = format!(
            "{:<48} {:<9} {:>6} {:>7}  {:<20} Dernière erreur",
            "Source", "Type", "Articles", "Erreurs", "Dernier succès"
        );
        assert_eq!(
            report.to_string(),
            format!(
                "{header}\n{:<48} flux      {:>6} {:>7}  06/12/2026 09:00     \n\
                 {:<48} flux      {:>6} {:>7}  jamais               HTTP 503 Service \
                 Unavailable (désactivée)\n\n2 sources, 1 en erreur, 1 jamais relevée avec succès",
                "Le Monde", 12, 0, "Occupé", 12, 2
            )
        );
        let json = serde_json::to_string_pretty(&report).unwrap();
        assert_eq!(json, serde_json::to_string_pretty(&report.health).unwrap());
        assert!(
            json.starts_with("[\n  {\n    \"name\": \"Le Monde\",\n    \"url\""),
            "{json}"
        );
    }

    #[test]
    fn the_sources_in_trouble_read_as_lines_and_as_the_json_array() {
        assert_eq!(
            Failing(Vec::new()).to_string(),
            "Aucune source en difficulté."
        );
        assert_eq!(
            serde_json::to_string_pretty(&Failing(Vec::new())).unwrap(),
            "[]"
        );
        let since = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 6, 7, 30, 0).unwrap();
        let assessment = |name: &str, state, detail: Option<&str>| Assessment {
            name: name.into(),
            url: "https://exemple.fr/flux.xml".into(),
            state,
            since,
            detail: detail.map(str::to_string),
        };
        let report = Failing(vec![
            assessment("Journal \"local\"", AlertState::Failing, Some("HTTP 500")),
            assessment("Mairie", AlertState::Silent, None),
        ]);
        assert_eq!(
            report.to_string(),
            "Journal \"local\" — en erreur depuis le 06/12/2026 07:30\n    ↳ HTTP 500\n    \
             veille check --fetch \"Journal \\\"local\\\"\"\n\
             Mairie — rien de nouveau depuis le 06/12/2026 07:30\n    \
             veille check --fetch \"Mairie\""
        );
        assert_eq!(
            serde_json::to_string_pretty(&report).unwrap(),
            serde_json::to_string_pretty(&report.0).unwrap()
        );
    }
}
