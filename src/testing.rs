//! Builders shared by the unit tests of several stages (test builds only).

use chrono::{DateTime, Utc};

use crate::model::{ArticleCandidate, DossierTag, Match, PreparedArticle, Tagging};

/// A dossier tag: (dossier, score, [(term, field, text)]).
type TagSpec<'a> = (&'a str, f64, &'a [(&'a str, &'a str, &'a str)]);

/// A prepared article with its tags and territories.
pub(crate) fn article(
    title: &str,
    summary: &str,
    url: &str,
    published: DateTime<Utc>,
    tags: &[TagSpec<'_>],
    territories: &[&str],
) -> PreparedArticle {
    PreparedArticle {
        candidate: ArticleCandidate {
            guid: Some(url.to_string()),
            url: url.to_string(),
            canonical_url: url.to_string(),
            title: title.to_string(),
            summary_html: summary.to_string(),
            summary_text: summary.to_string(),
            author: None,
            published: Some(published),
            date_flag: None,
            language: Some("fr".into()),
            image: None,
        },
        fingerprint: String::new(),
        tagging: Tagging {
            dossiers: tags
                .iter()
                .map(|(dossier, score, why)| DossierTag {
                    dossier: dossier.to_string(),
                    score: *score,
                    why: why
                        .iter()
                        .map(|(term, field, text)| Match {
                            term: term.to_string(),
                            field: field.to_string(),
                            text: text.to_string(),
                        })
                        .collect(),
                })
                .collect(),
            territories: territories.iter().map(|t| t.to_string()).collect(),
        },
    }
}

/// A store holding the configuration's sources: each of `stories` (from the first source)
/// starts a story, and every article of `echoes` (from the second source) joins the first
/// of those stories. Returns the store and the story ids, in order.
pub(crate) async fn two_source_store(
    dir: &std::path::Path,
    config: &crate::config::Config,
    stories: &[PreparedArticle],
    echoes: &[PreparedArticle],
    at: DateTime<Utc>,
) -> (crate::store::Store, Vec<i64>) {
    let store = open_store(dir).await;
    let states = store.sync_sources(&config.sources).await.unwrap();
    let validators = crate::store::Validators {
        etag: None,
        last_modified: None,
        status: 200,
    };
    let source = |n: usize| states[&config.sources[n].name].id;
    let mut ids = Vec::new();
    store
        .record_success(source(0), &validators, stories, at, |_, id| {
            ids.push(id);
            id
        })
        .await
        .unwrap();
    let first = ids[0];
    store
        .record_success(source(1), &validators, echoes, at, |_, _| first)
        .await
        .unwrap();
    (store, ids)
}

/// The environment variable naming a running PostgreSQL cluster (an admin URL) on which the
/// tests run the store instead of SQLite: `make test` sets it for its second pass
/// (`tests/with-postgres`).
pub(crate) const TEST_POSTGRES_VAR: &str = "VEILLE_TEST_POSTGRES";

/// A fresh, empty store for one test: a new database of the cluster `VEILLE_TEST_POSTGRES`
/// names, or else `veille.sqlite` in `dir`.
pub(crate) async fn open_store(dir: &std::path::Path) -> crate::store::Store {
    match std::env::var(TEST_POSTGRES_VAR) {
        Ok(admin) if !admin.is_empty() => {
            let url = fresh_postgres_database(&admin).await;
            crate::store::Store::open_postgres(&url).await.unwrap()
        }
        _ => crate::store::Store::open_sqlite(dir).await.unwrap(),
    }
}

/// Creates an empty database in the cluster of `admin` and returns its URL.
pub(crate) async fn fresh_postgres_database(admin: &str) -> String {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&name);
    url.to_string()
}
