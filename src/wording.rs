//! French wording of the errors libraries raise (file system, URLs, JSON, feeds, database):
//! what people read says what went wrong in their words; the English original goes to the
//! debug log (`VEILLE_LOG=debug`) only.

/// A file-system error, in French.
pub fn io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    tracing::debug!("erreur d'entrée-sortie : {e}");
    match e.kind() {
        K::NotFound => "fichier ou dossier introuvable".into(),
        K::PermissionDenied => "accès refusé (droits insuffisants)".into(),
        K::AlreadyExists => "existe déjà".into(),
        K::IsADirectory => "c'est un dossier, pas un fichier".into(),
        K::NotADirectory => "un élément du chemin n'est pas un dossier".into(),
        K::InvalidData => "contenu illisible (texte qui n'est pas en UTF-8 ?)".into(),
        K::StorageFull => "disque plein".into(),
        K::ReadOnlyFilesystem => "système de fichiers en lecture seule".into(),
        K::ConnectionRefused => "connexion refusée".into(),
        K::AddrInUse => "adresse déjà utilisée par un autre programme".into(),
        K::AddrNotAvailable => "adresse non disponible sur cette machine".into(),
        K::TimedOut => "délai dépassé".into(),
        K::UnexpectedEof => "fin de fichier inattendue (fichier tronqué ?)".into(),
        _ => match e.raw_os_error() {
            Some(code) => format!("erreur du système (code {code})"),
            None => "erreur d'entrée-sortie".into(),
        },
    }
}

/// A URL that could not be parsed, in French.
pub fn url(e: &url::ParseError) -> String {
    use url::ParseError as P;
    tracing::debug!("adresse refusée : {e}");
    match e {
        P::RelativeUrlWithoutBase => {
            "adresse incomplète : elle doit commencer par https:// (ou http://)".into()
        }
        P::EmptyHost => "adresse sans nom de serveur".into(),
        P::InvalidPort => "numéro de port invalide".into(),
        P::InvalidIpv4Address | P::InvalidIpv6Address => "adresse IP invalide".into(),
        P::InvalidDomainCharacter | P::IdnaError => "nom de domaine invalide".into(),
        _ => "adresse web invalide".into(),
    }
}

/// A JSON document that could not be read, in French, with where.
pub fn json(e: &serde_json::Error) -> String {
    tracing::debug!("JSON illisible : {e}");
    let what = if e.is_eof() {
        "JSON incomplet"
    } else if e.is_syntax() {
        "JSON mal formé"
    } else {
        "JSON inattendu"
    };
    format!("{what} (ligne {}, colonne {})", e.line(), e.column())
}

/// A feed feed-rs could not read, in French.
pub fn feed(e: &feed_rs::parser::ParseFeedError) -> String {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError as F};
    tracing::debug!("flux refusé par feed-rs : {e}");
    match e {
        F::ParseError(ParseErrorKind::NoFeedRoot) => {
            "ce n'est ni du RSS, ni de l'Atom, ni un JSON Feed".into()
        }
        F::ParseError(_) => "flux mal formé".into(),
        F::IoError(e) => format!("lecture impossible ({})", io(e)),
        F::JsonSerde(e) => format!("JSON Feed illisible : {}", json(e)),
        F::JsonUnsupportedVersion(v) => format!("version de JSON Feed non prise en charge ({v})"),
        F::XmlReader(_) => "XML mal formé".into(),
    }
}

/// A database error, in French.
pub fn database(e: &sqlx::Error) -> String {
    tracing::debug!("erreur de la base : {e}");
    let text = e.to_string();
    if text.contains("locked") || text.contains("busy") {
        "base de données occupée par un autre processus : réessayez dans un instant".into()
    } else if let sqlx::Error::Io(e) = e {
        format!("base de données inaccessible ({})", io(e))
    } else if text.contains("unable to open database file") {
        "fichier de base impossible à ouvrir (droits du dossier d'archive ?)".into()
    } else {
        "erreur de la base de données (détails avec VEILLE_LOG=debug)".into()
    }
}

/// One cause of an error chain in French, when it is a library's error veille knows.
fn known(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return Some(io(e));
    }
    if let Some(e) = cause.downcast_ref::<url::ParseError>() {
        return Some(url(e));
    }
    if let Some(e) = cause.downcast_ref::<serde_json::Error>() {
        return Some(json(e));
    }
    if let Some(e) = cause.downcast_ref::<feed_rs::parser::ParseFeedError>() {
        return Some(feed(e));
    }
    if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
        return Some(database(e));
    }
    None
}

/// An error chain as people read it: veille's own (French) contexts as they are, library
/// errors in French; the chain stops at the first library error, whose English original,
/// like the rest, is in the debug log.
pub fn chain(e: &anyhow::Error) -> String {
    tracing::debug!("erreur : {e:#}");
    let mut parts = Vec::new();
    for cause in e.chain() {
        if let Some(french) = known(cause) {
            parts.push(french);
            break;
        }
        parts.push(cause.to_string());
    }
    parts.join(" : ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_errors_read_in_french() {
        let missing = std::fs::read("/nonexistent/veille").unwrap_err();
        assert_eq!(io(&missing), "fichier ou dossier introuvable");
        let relative = url::Url::parse("exemple.fr/flux").unwrap_err();
        assert!(url(&relative).starts_with("adresse incomplète"));
        let bad = serde_json::from_str::<serde_json::Value>("{\"a\": }").unwrap_err();
        assert_eq!(json(&bad), "JSON mal formé (ligne 1, colonne 7)");
        let e = anyhow::Error::new(missing).context("lecture de contacts.csv");
        assert_eq!(
            chain(&e),
            "lecture de contacts.csv : fichier ou dossier introuvable"
        );
        let text = chain(&e);
        assert!(!text.contains("No such file"), "{text}");
    }
}
