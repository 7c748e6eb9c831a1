//! `[network]`: the dossiers whose collective panorama this centre publishes (issue 16):
//! the stories kept or starred there by any centre of the shared store.

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;
use super::{ScheduleSpec, Schedules, suggest};

/// `[network]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    #[serde(default)]
    shared_dossiers: Vec<Spanned<String>>,
    /// When the daemon refreshes the collective panoramas (instead of `[schedule] panoramas`).
    schedule: Option<Spanned<ScheduleSpec>>,
}

/// The collective panoramas this centre publishes. Empty: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Network {
    /// Dossier ids, each defined in `[dossiers]` (its title names the panorama), in the
    /// order written.
    pub(crate) shared_dossiers: Vec<String>,
    /// The daemon's refresh schedule: `[network] schedule`, else `[schedule] panoramas`
    /// (every morning at 7 by default), so that the collective panorama is fresh when the
    /// centre's own ones are.
    pub(crate) schedule: Vec<String>,
}

/// Checks `[network]`. A shared dossier must be defined in `[dossiers]`: it is an error, not
/// a warning, because the panorama would have no title and the centre could not decide on it
/// either — a typo would otherwise publish nothing, silently, every morning.
pub(super) fn validate(
    raw: Option<RawNetwork>,
    known: &[&str],
    schedules: &Schedules,
    c: &mut Collector,
) -> Network {
    let Some(raw) = raw else {
        return Network::default();
    };
    let mut shared_dossiers: Vec<String> = Vec::new();
    for d in &raw.shared_dossiers {
        let id = d.get_ref();
        if !known.contains(&id.as_str()) {
            let hint = suggest(id, known).map_or_else(
                || {
                    format!(
                        "un dossier partagé doit être déclaré dans [dossiers] ; dossiers déclarés : {}",
                        known.join(", ")
                    )
                },
                |s| format!("vouliez-vous dire `{s}` ?"),
            );
            c.push(
                d.span(),
                format!("dossier partagé inconnu `{id}`"),
                Some(hint),
            );
        } else if shared_dossiers.contains(id) {
            c.push(
                d.span(),
                format!("dossier partagé `{id}` cité deux fois"),
                Some("retirez le doublon de `shared_dossiers`".into()),
            );
        } else {
            shared_dossiers.push(id.clone());
        }
    }
    let schedule = match &raw.schedule {
        Some(spec) => c.schedule(spec),
        None => schedules.panoramas.clone(),
    };
    Network {
        shared_dossiers,
        schedule,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const BASE: &str = "[dossiers.politique-de-la-ville]\ntitle = \"PdV\"\n\
                        [dossiers.pauvrete]\ntitle = \"P\"\n";

    #[test]
    fn network_is_read_with_its_schedule_and_defaults_to_none() {
        let config = parse(BASE, "feeds.toml").unwrap();
        assert!(config.network.shared_dossiers.is_empty());
        let text = format!("{BASE}[network]\nshared_dossiers = [\"politique-de-la-ville\"]\n");
        let config = parse(&text, "feeds.toml").unwrap();
        assert_eq!(
            config.network.shared_dossiers,
            ["politique-de-la-ville".to_string()]
        );
        // Without its own schedule: the panoramas' one.
        assert_eq!(config.network.schedule, ["0 7 * * *".to_string()]);
        let text = format!(
            "[schedule]\npanoramas = \"30 6 * * *\"\n{BASE}[network]\nshared_dossiers = [\"pauvrete\"]\n"
        );
        assert_eq!(
            parse(&text, "f").unwrap().network.schedule,
            ["30 6 * * *".to_string()]
        );
        let text = format!(
            "{BASE}[network]\nshared_dossiers = [\"pauvrete\"]\nschedule = \"0 8 * * 1-5\"\n"
        );
        assert_eq!(
            parse(&text, "f").unwrap().network.schedule,
            ["0 8 * * 1-5".to_string()]
        );
        let empty = parse(&format!("{BASE}[network]\nshared_dossiers = []\n"), "f").unwrap();
        assert!(empty.network.shared_dossiers.is_empty());
    }

    #[test]
    fn a_bad_network_table_is_refused_in_french_at_its_place() {
        let text = format!("{BASE}[network]\nshared_dossiers = [\"politique-de-la-vile\"]\n");
        let errors = parse(&text, "feeds.toml").unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("dossier partagé inconnu"),
            "{}",
            errors[0]
        );
        assert_eq!((errors[0].line, errors[0].column), (6, 20), "{}", errors[0]);
        assert_eq!(
            errors[0].hint.as_deref(),
            Some("vouliez-vous dire `politique-de-la-ville` ?")
        );
        // A dossier of the network's list that this centre does not declare.
        let text = format!("{BASE}[network]\nshared_dossiers = [\"laicite\"]\n");
        let e = &parse(&text, "f").unwrap_err().0[0];
        assert!(
            e.hint
                .as_deref()
                .unwrap_or("")
                .contains("déclaré dans [dossiers]"),
            "{e}"
        );
        let text = format!("{BASE}[network]\nshared_dossiers = [\"pauvrete\", \"pauvrete\"]\n");
        let e = &parse(&text, "f").unwrap_err().0[0];
        assert!(e.message.contains("cité deux fois"), "{e}");
        let text = format!("{BASE}[network]\nshared_dossier = [\"pauvrete\"]\n");
        let e = &parse(&text, "f").unwrap_err().0[0];
        assert_eq!(e.line, 6, "{e}");
        assert!(e.message.contains("shared_dossier"), "{e}");
        let text = format!(
            "{BASE}[network]\nshared_dossiers = [\"pauvrete\"]\nschedule = \"0 25 * * *\"\n"
        );
        let e = &parse(&text, "f").unwrap_err().0[0];
        assert_eq!(e.line, 7, "{e}");
    }
}
