//! The job table: what `feeds.toml` asks the daemon to do, and when.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::schedule::{Job, Schedule, Task};

/// The jobs of a configuration, in a stable order: polling, panoramas, the network's
/// panoramas, drafts. Schedules
/// are checked when the configuration is read; one that does not parse here is left out.
pub(crate) fn jobs(config: &Config) -> Vec<Job> {
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
    for id in &config.network.shared_dossiers {
        push(
            format!("reseau:{id}"),
            format!("panorama du réseau {id}"),
            &config.network.schedule,
            Task::NetworkPanorama {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_table_follows_the_configuration() {
        let config = crate::config::parse(
            r#"
[schedule]
poll = "*/10 * * * *"

[dossiers.pauvrete]
title = "P"
panorama = true
poll_schedule = ["0 * * * *", "*/30 6-21 * * 1-5"]

[dossiers.securite]
title = "S"
panorama = true
panorama_schedule = "0 12 * * 1"

[publications.lettre-reseau]
title = "Lettre du réseau"
list = "reseau"
months = 3

[lists.reseau]
title = "Réseau"

[[sources]]
name = "A"
feed = "https://a.example.org/rss"

[[sources]]
name = "B"
feed = "https://b.example.org/rss"
dossiers = ["pauvrete"]

[[sources]]
name = "C"
feed = "https://c.example.org/rss"
dossiers = ["pauvrete"]
schedule = "0 9 * * *"

[[sources]]
name = "D"
feed = "https://d.example.org/rss"
enabled = false
"#,
            "feeds.toml",
        )
        .unwrap();
        let table: Vec<(String, String, Task)> = jobs(&config)
            .into_iter()
            .map(|j| (j.name, j.schedule.text(), j.task))
            .collect();
        let poll = |names: &[&str]| Task::Poll {
            sources: names.iter().map(|s| s.to_string()).collect(),
        };
        let expected = [
            ("poll:*/10 * * * *", "*/10 * * * *", poll(&["A"])),
            (
                "poll:*/30 6-21 * * 1-5 | 0 * * * *",
                "*/30 6-21 * * 1-5 | 0 * * * *",
                poll(&["B"]),
            ),
            ("poll:0 9 * * *", "0 9 * * *", poll(&["C"])),
            (
                "panorama:pauvrete",
                "0 7 * * *",
                Task::Panorama {
                    dossier: "pauvrete".into(),
                },
            ),
            (
                "panorama:securite",
                "0 12 * * 1",
                Task::Panorama {
                    dossier: "securite".into(),
                },
            ),
            (
                "draft:flash-info",
                "0 8 1 * *",
                Task::Draft {
                    kind: "flash-info".into(),
                },
            ),
            (
                "draft:lettre-pauvrete",
                "0 8 1 */2 *",
                Task::Draft {
                    kind: "lettre-pauvrete".into(),
                },
            ),
            (
                "draft:lettre-reseau",
                "0 8 1 */3 *",
                Task::Draft {
                    kind: "lettre-reseau".into(),
                },
            ),
        ];
        let expected: Vec<(String, String, Task)> = expected
            .into_iter()
            .map(|(n, s, t)| (n.to_string(), s.to_string(), t))
            .collect();
        assert_eq!(table, expected);
    }

    #[test]
    fn each_shared_dossier_gets_a_network_job_on_the_network_schedule() {
        let table = |text: &str| -> Vec<(String, String, Task)> {
            jobs(&crate::config::parse(text, "feeds.toml").unwrap())
                .into_iter()
                .filter(|j| matches!(j.task, Task::NetworkPanorama { .. }))
                .map(|j| (j.name, j.schedule.text(), j.task))
                .collect()
        };
        let dossiers = "[dossiers.politique-de-la-ville]\ntitle = \"PdV\"\n\
                        [dossiers.pauvrete]\ntitle = \"P\"\n";
        assert!(table(dossiers).is_empty());
        let network = |dossier: &str, schedule: &str| {
            (
                format!("reseau:{dossier}"),
                schedule.to_string(),
                Task::NetworkPanorama {
                    dossier: dossier.into(),
                },
            )
        };
        // Every morning with the panoramas, unless [network] says otherwise.
        let shared = "[network]\nshared_dossiers = [\"politique-de-la-ville\", \"pauvrete\"]\n";
        assert_eq!(
            table(&format!("{dossiers}{shared}")),
            [
                network("politique-de-la-ville", "0 7 * * *"),
                network("pauvrete", "0 7 * * *")
            ]
        );
        assert_eq!(
            table(&format!("{dossiers}{shared}schedule = \"15 6 * * 1-5\"\n")),
            [
                network("politique-de-la-ville", "15 6 * * 1-5"),
                network("pauvrete", "15 6 * * 1-5")
            ]
        );
    }
}
