//! Where a copy reads and writes: an SQLite file or a PostgreSQL database, each named the way
//! people write it (`sqlite://chemin`, `postgres://…`).

use std::path::{Path, PathBuf};

use crate::config::store::{DATABASE_URL_VAR, StoreLocation, parse_url, redact};

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// An SQLite file (created by the copy when it is the target and does not exist).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL.
    Postgres(String),
}

/// What `--to` accepts, for the French errors.
const TARGET_FORMS: &str = "postgres://utilisateur@serveur:port/base, ou sqlite://chemin \
     (sqlite:///chemin/absolu/veille.sqlite, sqlite://chemin/relatif/veille.sqlite)";

impl Endpoint {
    /// Reads `--to`: `postgres://…` (or `postgresql://…`), or `sqlite://PATH`, where PATH is a
    /// file path as the shell gives it: `sqlite:///srv/veille.sqlite` absolute,
    /// `sqlite://copie/veille.sqlite` relative to the current folder. The error is French.
    pub(crate) fn parse_target(text: &str) -> Result<Endpoint, String> {
        let text = text.trim();
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(format!(
                    "cible SQLite sans chemin « {text} » : écrivez {TARGET_FORMS}"
                ));
            }
            return Ok(Endpoint::Sqlite(PathBuf::from(path)));
        }
        match parse_url(text) {
            Ok(StoreLocation::Postgres(url)) => Ok(Endpoint::Postgres(url)),
            Ok(StoreLocation::Archive) => Err(format!("cible « {text} » : écrivez {TARGET_FORMS}")),
            Err((message, _)) => Err(format!("{message} : écrivez {TARGET_FORMS}")),
        }
    }

    /// The current store, the copy's source: the database `VEILLE_DATABASE_URL` names when it
    /// is set, else the archive's `veille.sqlite`.
    pub(crate) fn current(archive: &Path) -> Result<Endpoint, String> {
        let from_env = std::env::var(DATABASE_URL_VAR)
            .ok()
            .filter(|t| !t.trim().is_empty());
        let Some(text) = from_env else {
            return Ok(Endpoint::Sqlite(archive.join(super::super::DATABASE_FILE)));
        };
        match parse_url(&text) {
            Ok(StoreLocation::Postgres(url)) => Ok(Endpoint::Postgres(url)),
            Ok(StoreLocation::Archive) => {
                Ok(Endpoint::Sqlite(archive.join(super::super::DATABASE_FILE)))
            }
            Err((message, hint)) => Err(format!("{DATABASE_URL_VAR} : {message} ; {hint}")),
        }
    }

    /// The endpoint for messages and reports: a path, or the URL without its password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Endpoint::Sqlite(path) => path.display().to_string(),
            Endpoint::Postgres(url) => redact(url),
        }
    }

    /// Whether both name the same database (then the copy would read what it writes).
    pub(super) fn same_as(&self, other: &Endpoint) -> bool {
        match (self, other) {
            (Endpoint::Sqlite(a), Endpoint::Sqlite(b)) => {
                let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.into());
                resolve(a) == resolve(b)
            }
            (Endpoint::Postgres(a), Endpoint::Postgres(b)) => {
                let key = |u: &str| {
                    url::Url::parse(u)
                        .map(|u| {
                            (
                                u.host_str().map(str::to_string),
                                u.port(),
                                u.path().to_string(),
                            )
                        })
                        .ok()
                };
                key(a).is_some() && key(a) == key(b)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_and_odd_ones_refused_in_french() {
        assert_eq!(
            Endpoint::parse_target("sqlite:///srv/veille/veille.sqlite"),
            Ok(Endpoint::Sqlite("/srv/veille/veille.sqlite".into()))
        );
        assert_eq!(
            Endpoint::parse_target("sqlite://copie/veille.sqlite"),
            Ok(Endpoint::Sqlite("copie/veille.sqlite".into()))
        );
        assert_eq!(
            Endpoint::parse_target("postgres://veille@127.0.0.1:5432/veille"),
            Ok(Endpoint::Postgres(
                "postgres://veille@127.0.0.1:5432/veille".into()
            ))
        );
        let empty = Endpoint::parse_target("sqlite://").unwrap_err();
        assert!(empty.contains("sans chemin"), "{empty}");
        let unknown = Endpoint::parse_target("mysql://h/db").unwrap_err();
        assert!(unknown.contains("inconnu « mysql »"), "{unknown}");
        assert!(unknown.contains("sqlite://chemin"), "{unknown}");
        let no_host = Endpoint::parse_target("postgres:///veille").unwrap_err();
        assert!(no_host.contains("sans serveur"), "{no_host}");
    }

    #[test]
    fn passwords_stay_out_and_the_same_database_is_recognised() {
        let pg = Endpoint::Postgres("postgres://veille:secret@db.example:5432/veille".into());
        assert!(!pg.describe().contains("secret"), "{}", pg.describe());
        let other_user = Endpoint::Postgres("postgres://autre@db.example:5432/veille".into());
        assert!(pg.same_as(&other_user));
        let other_base = Endpoint::Postgres("postgres://veille@db.example:5432/copie".into());
        assert!(!pg.same_as(&other_base));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("veille.sqlite");
        std::fs::write(&file, b"").unwrap();
        let relative = dir.path().join(".").join("veille.sqlite");
        assert!(Endpoint::Sqlite(file.clone()).same_as(&Endpoint::Sqlite(relative)));
        assert!(!Endpoint::Sqlite(file).same_as(&other_base));
    }
}
