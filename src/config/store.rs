//! `[store]`: where the store lives — the archive's SQLite file by default, a PostgreSQL
//! database (`url = "postgres://…"`, or `VEILLE_DATABASE_URL`) for the network edition.

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;

/// The environment variable that names the store's database, over `[store] url`.
pub const DATABASE_URL_VAR: &str = "VEILLE_DATABASE_URL";

/// `[store]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    #[serde(default)]
    url: Option<Spanned<String>>,
}

/// Which database the store opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreLocation {
    /// `veille.sqlite` in the archive folder.
    #[default]
    Archive,
    /// A PostgreSQL database, by its `postgres://` URL.
    Postgres(String),
}

/// Reads a database URL, as `[store] url` or `VEILLE_DATABASE_URL` gives it. An error is a
/// French message and a hint.
pub fn parse_url(text: &str) -> Result<StoreLocation, (String, String)> {
    let parsed = url::Url::parse(text.trim()).map_err(|e| {
        (
            format!("adresse de base de données invalide « {text} » ({e})"),
            "exemple : url = \"postgres://veille@127.0.0.1:5432/veille\"".to_string(),
        )
    })?;
    match parsed.scheme() {
        "postgres" | "postgresql" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(StoreLocation::Postgres(text.trim().to_string()))
        }
        "postgres" | "postgresql" => Err((
            format!("adresse PostgreSQL sans serveur « {text} »"),
            "exemple : url = \"postgres://veille@127.0.0.1:5432/veille\"".to_string(),
        )),
        "sqlite" => Err((
            format!(
                "base SQLite « {text} » : seule celle du dossier d'archive est prise en charge"
            ),
            "retirez `url` de [store] : veille utilise alors archive/veille.sqlite".to_string(),
        )),
        other => Err((
            format!("type de base de données inconnu « {other} » dans « {text} »"),
            "veille connaît SQLite (sans `url`, archive/veille.sqlite) et PostgreSQL \
             (url = \"postgres://…\")"
                .to_string(),
        )),
    }
}

/// The URL without its password, fit for an error message or a log.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

pub(super) fn validate(raw: Option<RawStore>, c: &mut Collector) -> StoreLocation {
    let Some(url) = raw.unwrap_or_default().url else {
        return StoreLocation::Archive;
    };
    match parse_url(url.get_ref()) {
        Ok(location) => location,
        Err((message, hint)) => {
            c.push(url.span(), message, Some(hint));
            StoreLocation::Archive
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_and_odd_ones_refused_in_french() {
        assert_eq!(
            parse_url("postgres://veille@127.0.0.1:5432/veille"),
            Ok(StoreLocation::Postgres(
                "postgres://veille@127.0.0.1:5432/veille".into()
            ))
        );
        let (message, _) = parse_url("postgres:///veille").unwrap_err();
        assert!(message.contains("sans serveur"), "{message}");
        let (message, hint) = parse_url("sqlite://ailleurs.sqlite").unwrap_err();
        assert!(message.contains("dossier d'archive"), "{message}");
        assert!(hint.contains("retirez"), "{hint}");
        let (message, _) = parse_url("mysql://h/db").unwrap_err();
        assert!(message.contains("inconnu « mysql »"), "{message}");
        let (message, _) = parse_url("pas une adresse").unwrap_err();
        assert!(message.contains("invalide"), "{message}");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        let shown = redact("postgres://veille:secret@db.example/veille");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("veille:***@db.example"), "{shown}");
    }
}
