//! Builders shared by the unit tests of several stages (test builds only).

use chrono::{DateTime, Utc};

use crate::model::{ArticleCandidate, DossierTag, Match, PreparedArticle, Tagging};

/// A dossier tag: (dossier, score, [(term, field, text)]).
pub type TagSpec<'a> = (&'a str, f64, &'a [(&'a str, &'a str, &'a str)]);

/// A prepared article with its tags and territories.
pub fn article(
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
