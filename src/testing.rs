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
    let store = crate::store::Store::open(dir).await.unwrap();
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
