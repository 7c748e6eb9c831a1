//! `[centre]`: which centre of the network this configuration belongs to (issue 16). Absent,
//! veille runs as the single centre of its archive (id `""`).

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;

/// `[centre]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCentre {
    id: Spanned<String>,
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    region: Option<String>,
}

/// The centre the store's own rows (decisions, editions, lists) belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Centre {
    /// Lowercase ASCII letters, digits and `-`; `""` for the single-centre default.
    pub id: String,
    /// How the other centres name it ("Labo Cités"); the id when not given.
    pub name: String,
    /// Where it works (a region slug, e.g. "occitanie"); free text, informative.
    pub region: String,
}

/// Whether `id` is a valid centre id: lowercase ASCII letters, digits and `-`, not empty.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn validate(raw: Option<RawCentre>, c: &mut Collector) -> Centre {
    let Some(raw) = raw else {
        return Centre::default();
    };
    let id = raw.id.get_ref().trim().to_string();
    if !valid_id(&id) {
        c.push(
            raw.id.span(),
            format!("identifiant de centre invalide « {} »", raw.id.get_ref()),
            Some(
                "lettres minuscules sans accent, chiffres et tirets, 40 au plus ; \
                 exemple : id = \"rt\""
                    .into(),
            ),
        );
    }
    let name = match &raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            c.push(
                n.span(),
                "le nom du centre est vide".into(),
                Some("exemple : name = \"Ressources & Territoires\", ou retirez `name`".into()),
            );
            String::new()
        }
        Some(n) => n.get_ref().trim().to_string(),
        None => id.clone(),
    };
    Centre {
        id,
        name,
        region: raw.region.unwrap_or_default().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const BASE: &str = "[dossiers.politique-de-la-ville]\ntitle = \"PdV\"\n";

    #[test]
    fn a_centre_is_read_and_defaults_to_the_single_centre() {
        let config = parse(BASE, "feeds.toml").unwrap();
        assert_eq!(config.centre.id, "");
        let text = format!(
            "{BASE}[centre]\nid = \"rt\"\nname = \"Ressources & Territoires\"\nregion = \"occitanie\"\n"
        );
        let config = parse(&text, "feeds.toml").unwrap();
        assert_eq!(config.centre.id, "rt");
        assert_eq!(config.centre.name, "Ressources & Territoires");
        assert_eq!(config.centre.region, "occitanie");
        let config = parse(&format!("{BASE}[centre]\nid = \"labo-2\"\n"), "f").unwrap();
        assert_eq!(config.centre.name, "labo-2");
    }

    #[test]
    fn a_bad_centre_is_refused_in_french_at_its_place() {
        for bad in ["\"RT\"", "\"r t\"", "\"\"", "\"cité\""] {
            let text = format!("{BASE}[centre]\nid = {bad}\n");
            let errors = parse(&text, "feeds.toml").unwrap_err().0;
            assert_eq!(errors.len(), 1, "{bad}");
            assert!(
                errors[0].message.contains("identifiant de centre invalide"),
                "{bad}: {}",
                errors[0].message
            );
            assert_eq!(errors[0].line, 4, "{bad}");
        }
        let errors = parse(&format!("{BASE}[centre]\nid = \"rt\"\nname = \" \"\n"), "f")
            .unwrap_err()
            .0;
        assert!(errors[0].message.contains("nom du centre est vide"));
        let errors = parse(&format!("{BASE}[centre]\nname = \"x\"\n"), "f")
            .unwrap_err()
            .0;
        assert!(!errors.is_empty());
    }
}
