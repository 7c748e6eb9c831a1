//! `[dossiers.*]`: the ten dossiers, their panoramas, rules and schedules.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;
use super::{DOSSIER_IDS, ScheduleSpec, Schedules, suggest};

#[derive(Debug, Clone)]
pub(crate) struct Dossier {
    pub(crate) title: String,
    /// A sentence for readers, shown under the panorama's title.
    pub(crate) description: Option<String>,
    pub(crate) panorama: bool,
    /// Research keywords, kept as a reference for the tagging rules.
    pub(crate) keywords: Vec<String>,
    /// The tagging rule (syntax in README, parsed by `tag`).
    pub(crate) rules: Option<String>,
    /// Score an article needs to be tagged.
    pub(crate) threshold: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDossier {
    title: String,
    description: Option<String>,
    #[serde(default)]
    panorama: bool,
    #[serde(default)]
    keywords: Vec<String>,
    rules: Option<Spanned<String>>,
    threshold: Option<f64>,
    /// Polling of this dossier's sources (instead of `[schedule] poll`).
    poll_schedule: Option<Spanned<ScheduleSpec>>,
    /// Panorama refresh (instead of `[schedule] panoramas`).
    panorama_schedule: Option<Spanned<ScheduleSpec>>,
}

/// The dossiers once checked, and where each one's `rules` string sits in the file.
pub(super) type Checked = (BTreeMap<String, Dossier>, BTreeMap<String, Range<usize>>);

/// Checks `[dossiers.*]`: known ids, schedules (added to `schedules`), a panorama schedule
/// only with a panorama.
pub(super) fn validate(
    raw: BTreeMap<Spanned<String>, RawDossier>,
    c: &mut Collector,
    schedules: &mut Schedules,
) -> Checked {
    let mut dossiers = BTreeMap::new();
    let mut rule_spans = BTreeMap::new();
    for (id, dossier) in raw {
        if let Some(spec) = &dossier.poll_schedule {
            let texts = c.schedule(spec);
            schedules.dossier_poll.insert(id.get_ref().clone(), texts);
        }
        if let Some(spec) = &dossier.panorama_schedule {
            let texts = c.schedule(spec);
            if !dossier.panorama {
                c.push(
                    spec.span(),
                    format!(
                        "`panorama_schedule` dans le dossier `{}`, qui n'a pas de panorama",
                        id.get_ref()
                    ),
                    Some("ajoutez panorama = true, ou retirez panorama_schedule".into()),
                );
            }
            schedules
                .dossier_panorama
                .insert(id.get_ref().clone(), texts);
        }
        if !DOSSIER_IDS.contains(&id.get_ref().as_str()) {
            c.push(
                id.span(),
                format!("dossier inconnu `{}`", id.get_ref()),
                Some(suggest(id.get_ref(), &DOSSIER_IDS).map_or_else(
                    || format!("les dossiers sont : {}", DOSSIER_IDS.join(", ")),
                    |s| format!("vouliez-vous dire `{s}` ?"),
                )),
            );
        }
        if let Some(rules) = &dossier.rules {
            rule_spans.insert(id.get_ref().clone(), rules.span());
        }
        dossiers.insert(
            id.into_inner(),
            Dossier {
                title: dossier.title,
                description: dossier
                    .description
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty()),
                panorama: dossier.panorama,
                keywords: dossier.keywords,
                rules: dossier.rules.map(Spanned::into_inner),
                threshold: dossier.threshold,
            },
        );
    }
    (dossiers, rule_spans)
}
