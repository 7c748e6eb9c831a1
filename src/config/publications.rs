//! `[publications.*]`: edition kinds (the two built-in ones and the centre's own), their
//! lists, sections and draft schedules.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;
use super::mail::MailingList;
use super::{ScheduleSpec, Schedules, suggest};

/// An edition kind (`[publications.KIND]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Publication {
    pub(crate) title: String,
    /// Template name: `templates/<template>.html`, `.email.html` and `.txt`; the kind when
    /// absent.
    pub(crate) template: Option<String>,
    /// The mailing list it goes to (a `[lists.*]` entry); the kind when absent.
    pub(crate) list: Option<String>,
    /// Months covered by one edition (1 for monthly, 2 for every two months).
    #[serde(default = "default_months")]
    pub(crate) months: u32,
    /// Section titles, in order; items in other sections come after them.
    #[serde(default)]
    pub(crate) sections: Vec<String>,
    /// When the daemon creates the next draft (default from `months`: `0 8 1 * *` monthly,
    /// `0 8 1 */2 *` every two months); `[]` never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) draft_schedule: Option<Spanned<ScheduleSpec>>,
    /// Whether the email shows the articles' images (the web version always does): off by
    /// default, since many mail clients block remote images and show an empty frame.
    #[serde(default)]
    pub(crate) images: bool,
}

fn default_months() -> u32 {
    1
}

impl Publication {
    pub(crate) fn template_name(&self, kind: &str) -> String {
        self.template.clone().unwrap_or_else(|| kind.to_string())
    }

    pub(crate) fn list_name(&self, kind: &str) -> String {
        self.list.clone().unwrap_or_else(|| kind.to_string())
    }

    /// The sections an item may go in: those configured, else the one default heading.
    pub(crate) fn section_names(&self) -> Vec<String> {
        if self.sections.is_empty() {
            vec![DEFAULT_SECTION.to_string()]
        } else {
            self.sections.clone()
        }
    }

    /// The configured section a curator meant, ignoring case and accents (`dans nos
    /// dossiers` is « Dans nos dossiers »), so that a typo never opens a second heading.
    /// The error is a French message with a "vouliez-vous dire" hint and the choices.
    pub(crate) fn section(&self, kind: &str, asked: &str) -> Result<String, String> {
        let names = self.section_names();
        let key = crate::text::fold(asked);
        if let Some(found) = names.iter().find(|n| crate::text::fold(n) == key) {
            return Ok(found.clone());
        }
        let folded: Vec<String> = names.iter().map(|n| crate::text::fold(n)).collect();
        let candidates: Vec<&str> = folded.iter().map(String::as_str).collect();
        let hint = suggest(&key, &candidates)
            .and_then(|f| folded.iter().position(|x| x == f))
            .map(|i| format!(" (vouliez-vous dire « {} » ?)", names[i]))
            .unwrap_or_default();
        Err(format!(
            "rubrique inconnue « {asked} » pour {kind}{hint} ; rubriques de ce genre : {}",
            names
                .iter()
                .map(|n| format!("« {n} »"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The heading of items when a kind configures no section.
const DEFAULT_SECTION: &str = "À la une";

/// The two publications every centre has (ARCHITECTURE.md, "The contract outside checks rely
/// on"), used unless `feeds.toml` redeclares them.
fn builtin_publications() -> BTreeMap<String, Publication> {
    let mut map = BTreeMap::new();
    map.insert(
        "flash-info".to_string(),
        Publication {
            title: "Flash Info".into(),
            template: None,
            list: None,
            months: 1,
            sections: vec![
                "À la une".into(),
                "Dans nos dossiers".into(),
                "Agenda".into(),
                "Actualités du centre".into(),
            ],
            draft_schedule: None,
            images: false,
        },
    );
    map.insert(
        "lettre-pauvrete".to_string(),
        Publication {
            title: "Lettre d'information Pauvreté".into(),
            template: None,
            list: None,
            months: 2,
            sections: vec![
                "Actualités de la stratégie".into(),
                "Appels à projets".into(),
                "Ressources".into(),
                "Panorama de presse".into(),
            ],
            draft_schedule: None,
            images: false,
        },
    );
    map
}

/// Checks `[publications.*]` (names, months, declared lists); draft schedules are added to
/// `schedules`. Returns every kind, built-in ones included.
pub(super) fn validate(
    raw: BTreeMap<Spanned<String>, Publication>,
    lists: &BTreeMap<String, MailingList>,
    c: &mut Collector,
    schedules: &mut Schedules,
) -> BTreeMap<String, Publication> {
    let mut publications = builtin_publications();
    for (kind, publication) in raw {
        let valid_kind = !kind.get_ref().is_empty()
            && kind
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_kind {
            c.push(
                kind.span(),
                format!("nom de publication invalide « {} »", kind.get_ref()),
                Some(
                    "lettres minuscules sans accents, chiffres et tirets : \"lettre-reseau\""
                        .into(),
                ),
            );
        }
        if publication.months == 0 || publication.months > 12 {
            c.push(
                kind.span(),
                format!("`months` de « {} » doit être entre 1 et 12", kind.get_ref()),
                None,
            );
        }
        let list = publication.list_name(kind.get_ref());
        let builtin = matches!(kind.get_ref().as_str(), "flash-info" | "lettre-pauvrete");
        if !builtin && !lists.contains_key(&list) {
            c.push(
                kind.span(),
                format!(
                    "la publication « {} » va à la liste « {list} », qui n'est pas déclarée",
                    kind.get_ref()
                ),
                Some(format!(
                    "ajoutez [lists.{list}] avec son title, ou indiquez list = \"…\""
                )),
            );
        }
        if let Some(spec) = &publication.draft_schedule {
            let texts = c.schedule(spec);
            schedules.drafts.insert(kind.get_ref().clone(), texts);
        }
        publications.insert(kind.into_inner(), publication);
    }
    publications
}
