//! French wording of the errors libraries raise (file system, URLs, JSON, feeds, database):
//! what people read says what went wrong in their words; the English original goes to the
//! debug log (`VEILLE_LOG=debug`) only.

/// A file-system error, in French.
pub(crate) fn io(e: &std::io::Error) -> String {
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
pub(crate) fn url(e: &url::ParseError) -> String {
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
pub(crate) fn json(e: &serde_json::Error) -> String {
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
pub(crate) fn feed(e: &feed_rs::parser::ParseFeedError) -> String {
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
pub(crate) fn database(e: &sqlx::Error) -> String {
    tracing::debug!("erreur de la base : {e}");
    let text = e.to_string();
    if let sqlx::Error::Database(db) = e {
        // PostgreSQL's codes are SQLSTATEs ("23505"), SQLite's numbers: read each as its own.
        let french = if db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            db.code().and_then(|c| postgres_code(&c, db.message()))
        } else {
            db.code().and_then(|c| c.parse().ok()).and_then(sqlite_code)
        };
        if let Some(french) = french {
            return french;
        }
    }
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

/// What SQLite's result codes that people can act on mean: a full disk (SQLITE_FULL, and
/// the I/O errors SQLite reports when a write or the WAL index cannot grow, which on a full
/// disk is what it says), a damaged file.
fn sqlite_code(code: i64) -> Option<String> {
    match code & 0xff {
        13 => Some(
            "disque plein : plus de place pour la base de données ; libérez de la place puis \
             relancez (ce qui était déjà enregistré est intact)"
                .into(),
        ),
        10 => Some(
            "écriture impossible sur le disque (disque plein ou défaillant ?) : libérez de la \
             place ou vérifiez le disque, puis relancez"
                .into(),
        ),
        11 | 26 => Some(
            "fichier de base de données endommagé : restaurez la dernière sauvegarde \
             (veille restore)"
                .into(),
        ),
        _ => None,
    }
}

/// What PostgreSQL's SQLSTATE codes that people can act on mean (`message`: the server's
/// text, said as is only for veille's own triggers, which speak French).
fn postgres_code(code: &str, message: &str) -> Option<String> {
    let text = match code {
        "23505" => "cette valeur est déjà enregistrée (doublon refusé par la base)",
        "23503" => "cette ligne renvoie à une autre qui n'existe pas ou plus (refusé par la base)",
        "23514" | "23502" => "valeur refusée par les règles de la base",
        "53100" => {
            "disque plein sur le serveur PostgreSQL : libérez de la place puis relancez (ce qui \
             était déjà enregistré est intact)"
        }
        "53200" => "mémoire insuffisante sur le serveur PostgreSQL : réessayez plus tard",
        "53300" => {
            "trop de connexions au serveur PostgreSQL : réessayez dans un instant, ou augmentez \
             max_connections"
        }
        "57P01" | "57P02" | "57P03" => {
            "le serveur PostgreSQL s'arrête ou redémarre : réessayez dans un instant"
        }
        "57014" => "requête interrompue par le serveur PostgreSQL (délai dépassé ?)",
        "28P01" | "28000" => {
            "PostgreSQL refuse la connexion : utilisateur ou mot de passe incorrect (vérifiez \
             [store] url ou VEILLE_DATABASE_URL)"
        }
        "3D000" => {
            "cette base PostgreSQL n'existe pas : créez-la (createdb) ou corrigez son nom dans \
             [store] url"
        }
        "42501" => {
            "droits insuffisants sur la base PostgreSQL (voyez GRANT avec son administrateur)"
        }
        "40001" | "40P01" => {
            "conflit avec une écriture simultanée d'un autre processus : réessayez"
        }
        "XX001" | "XX002" => {
            "données endommagées sur le serveur PostgreSQL : restaurez la dernière sauvegarde \
             (pg_dump)"
        }
        // RAISE EXCEPTION of veille's own triggers (a sent edition is frozen): French already.
        "P0001" => return Some(message.to_string()),
        c if c.starts_with("08") => {
            "connexion au serveur PostgreSQL impossible ou perdue : vérifiez qu'il tourne et que \
             son adresse est juste"
        }
        _ => return None,
    };
    Some(text.into())
}

/// A schema migration that could not run, in French: which migration, what it means, what
/// to do. sqlx's English text stays the error's own (the debug log shows it).
pub(crate) fn migration(e: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError as M;
    tracing::debug!("erreur de migration : {e}");
    match e {
        M::VersionMissing(v) | M::VersionNotPresent(v) => format!(
            "la base a déjà reçu la migration {v}, que cette version de veille ne connaît pas : \
             elle a été mise à jour par un veille plus récent ; utilisez ce veille-là (ou plus \
             récent), ou restaurez une sauvegarde faite avant cette mise à jour"
        ),
        M::VersionMismatch(v) => format!(
            "la migration {v} enregistrée dans la base n'est pas celle de cette version de \
             veille (somme de contrôle différente) : la base a été créée par une autre version \
             de veille, ou modifiée à la main ; utilisez la version de veille qui l'a créée, ou \
             restaurez une sauvegarde"
        ),
        M::VersionTooOld(v, latest) | M::VersionTooNew(v, latest) => format!(
            "la migration {v} ne suit pas la dernière appliquée à la base ({latest}) : la base \
             vient d'une autre version de veille ; restaurez une sauvegarde"
        ),
        M::Dirty(v) => format!(
            "la migration {v} n'a été appliquée qu'en partie (arrêt pendant la mise à jour ?) : \
             restaurez une sauvegarde faite avant"
        ),
        M::ExecuteMigration(inner, v) => format!(
            "la migration {v} a échoué ({}) : relancez ; si l'erreur revient, restaurez une \
             sauvegarde",
            database(inner)
        ),
        M::Execute(inner) => format!(
            "la table des migrations est illisible ou impossible à écrire ({})",
            database(inner)
        ),
        _ => "mise à jour du schéma impossible (détails avec VEILLE_LOG=debug)".into(),
    }
}

/// One cause of an error chain in French, when it is a library's error veille knows.
fn known(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<sqlx::migrate::MigrateError>() {
        return Some(migration(e));
    }
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
    if let Some(e) = cause.downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        tracing::debug!("erreur de la base : {e}");
        return Some(postgres_code(e.code(), e.message()).unwrap_or_else(|| {
            "erreur de la base de données (détails avec VEILLE_LOG=debug)".into()
        }));
    }
    // SQLite's own error, the source of sqlx's: its type does not come through the chain
    // (boxed as a `DatabaseError`), its text does: "(code: N) message".
    let text = cause.to_string();
    if let Some(code) = text
        .strip_prefix("(code: ")
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse::<i64>().ok())
    {
        tracing::debug!("erreur de la base : {text}");
        return Some(sqlite_code(code).unwrap_or_else(|| {
            "erreur de la base de données (détails avec VEILLE_LOG=debug)".into()
        }));
    }
    None
}

/// An error chain as people read it: veille's own (French) contexts as they are, library
/// errors in French; the chain stops at the first library error, whose English original,
/// like the rest, is in the debug log.
pub(crate) fn chain(e: &anyhow::Error) -> String {
    tracing::debug!("erreur : {e:#}");
    let mut parts = Vec::new();
    let causes: Vec<_> = e.chain().collect();
    for (i, cause) in causes.iter().enumerate() {
        if let Some(french) = known(*cause) {
            parts.push(french);
            break;
        }
        // A transparent wrapper (`#[error(transparent)]` around a library error) shows the
        // library's English text: say the library error it wraps instead.
        let text = cause.to_string();
        if let Some(french) = causes[i + 1..]
            .iter()
            .filter(|inner| text.contains(&inner.to_string()))
            .find_map(|inner| known(*inner))
        {
            parts.push(french);
            break;
        }
        parts.push(text);
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

    /// A migration that failed is named, in French, after what veille was doing; sqlx's
    /// English stays the cause, out of the message.
    #[test]
    fn a_migration_error_reads_in_french() {
        use sqlx::migrate::MigrateError as M;
        for (e, expected) in [
            (
                M::Dirty(12),
                "la migration 12 n'a été appliquée qu'en partie",
            ),
            (
                M::VersionMismatch(19),
                "la migration 19 enregistrée dans la base",
            ),
            (M::VersionMissing(30), "la base a déjà reçu la migration 30"),
            (
                M::ExecuteMigration(sqlx::Error::PoolTimedOut, 21),
                "la migration 21 a échoué",
            ),
        ] {
            let english = e.to_string();
            let e = anyhow::Error::new(e).context("mise à jour du schéma de la base b impossible");
            let text = chain(&e);
            assert!(
                text.starts_with("mise à jour du schéma de la base b impossible : ")
                    && text.contains(expected),
                "{text}"
            );
            assert!(!text.contains(&english), "{text}");
            assert!(
                e.chain().any(|cause| cause.to_string() == english),
                "the cause keeps sqlx's text"
            );
        }
    }

    /// An error type that shows its inner library error's text as its own.
    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Wrapper(anyhow::Error);

    #[test]
    fn a_transparent_wrapper_of_a_library_error_reads_in_french() {
        let missing = std::fs::read("/nonexistent/veille").unwrap_err();
        // Like the store's `SendError::Store(anyhow(sqlx::Error))`: its text is sqlx's, its
        // source the error sqlx wraps.
        let e = anyhow::Error::new(Wrapper(anyhow::Error::new(sqlx::Error::Io(missing))))
            .context("envoi de flash-info/1");
        let text = chain(&e);
        assert!(!text.contains("No such file"), "{text}");
        assert_eq!(
            text,
            "envoi de flash-info/1 : fichier ou dossier introuvable"
        );
    }

    /// A real SQLITE_FULL (a database capped at a few pages), behind a transparent wrapper.
    #[tokio::test]
    async fn a_full_database_behind_a_wrapper_is_said_so() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA max_page_count = 3")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut full = None;
        for _ in 0..100 {
            if let Err(e) = sqlx::query("INSERT INTO t VALUES (hex(randomblob(500)))")
                .execute(&mut conn)
                .await
            {
                full = Some(e);
                break;
            }
        }
        let e = anyhow::Error::new(Wrapper(anyhow::Error::from(full.expect("SQLITE_FULL"))));
        let text = chain(&e);
        assert!(text.starts_with("disque plein"), "{text}");
    }

    #[test]
    fn a_full_disk_is_said_so() {
        assert!(sqlite_code(13).unwrap().starts_with("disque plein"));
        // SQLITE_IOERR_SHMSIZE: the WAL index could not grow.
        assert!(sqlite_code(4874).unwrap().contains("disque plein"));
        assert!(sqlite_code(1).is_none());
    }

    #[test]
    fn postgres_codes_read_in_french() {
        let said = |code| postgres_code(code, "").unwrap();
        assert!(said("23505").contains("doublon"));
        assert!(said("23503").contains("n'existe pas"));
        assert!(said("53100").starts_with("disque plein"));
        assert!(said("57P01").contains("redémarre"));
        assert!(said("28P01").contains("mot de passe"));
        assert!(said("3D000").contains("createdb"));
        assert!(said("08006").contains("connexion"));
        assert_eq!(
            postgres_code("P0001", "édition envoyée : modification refusée").as_deref(),
            Some("édition envoyée : modification refusée")
        );
        assert!(postgres_code("42601", "syntax error").is_none());
    }

    /// Real refusals of a PostgreSQL server (under `tests/with-postgres`), read in French and
    /// not as SQLite numbers; without a server, an SQLite refusal keeps its own wording.
    #[tokio::test]
    async fn a_real_database_refusal_reads_in_french() {
        use sqlx::Connection;
        let admin = std::env::var(crate::testing::TEST_POSTGRES_VAR)
            .ok()
            .filter(|a| !a.is_empty());
        let Some(admin) = admin else {
            let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
                .await
                .unwrap();
            let e = sqlx::query("SELECT * FROM absente")
                .execute(&mut conn)
                .await
                .unwrap_err();
            assert_eq!(
                database(&e),
                "erreur de la base de données (détails avec VEILLE_LOG=debug)"
            );
            return;
        };
        let url = crate::testing::fresh_postgres_database(&admin).await;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE t (x TEXT PRIMARY KEY)")
            .execute(&mut conn)
            .await
            .unwrap();
        let insert = || sqlx::query("INSERT INTO t VALUES ('a')");
        insert().execute(&mut conn).await.unwrap();
        let e = insert().execute(&mut conn).await.unwrap_err();
        assert!(database(&e).contains("doublon"), "{}", database(&e));
        let missing = url.rsplit_once('/').unwrap().0.to_string() + "/absente_de_veille";
        let e = sqlx::PgConnection::connect(&missing).await.unwrap_err();
        assert!(database(&e).contains("n'existe pas"), "{}", database(&e));
    }
}
