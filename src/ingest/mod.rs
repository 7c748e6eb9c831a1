//! Turns fetched bytes into normalised article candidates: feeds (feed-rs) and listing pages
//! (scraper), with charset decisions, dates, sanitised summaries, canonical URLs and language.

pub(crate) mod charset;
pub(crate) mod dates;
pub(crate) mod feed;
pub(crate) mod page;
pub(crate) mod repair;
pub(crate) mod sanitize;
pub(crate) mod url;

pub use feed::{ParsedFeed, parse_feed};
pub use page::parse_page;

/// Why a document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    /// Not a feed, or one too broken to repair (also: a page whose items have no title or link); the French reason.
    #[error("flux illisible : {0}")]
    Feed(String),
    /// A page source's `item` selector (carried) matched no element.
    #[error("0 élément : `{0}` ne correspond à rien dans la page")]
    NothingMatched(String),
}

/// The language of a text when the source does not say it: ISO 639-1, only when reliable.
pub(crate) fn detect_language(text: &str) -> Option<String> {
    // The sources are French, with some English and neighbours' languages: a short allow-list
    // keeps detection fast (it runs on every item of a feed that does not declare its language).
    static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
        use whatlang::Lang::*;
        whatlang::Detector::with_allowlist(vec![Fra, Eng, Spa, Deu, Ita, Por, Cat, Ara, Rus, Nld])
    });
    let info = DETECTOR.detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    Some(
        match info.lang() {
            whatlang::Lang::Fra => "fr",
            whatlang::Lang::Eng => "en",
            whatlang::Lang::Spa => "es",
            whatlang::Lang::Deu => "de",
            whatlang::Lang::Ita => "it",
            whatlang::Lang::Por => "pt",
            whatlang::Lang::Cat => "ca",
            whatlang::Lang::Ara => "ar",
            whatlang::Lang::Rus => "ru",
            other => return Some(other.code().to_string()),
        }
        .to_string(),
    )
}

/// Normalises a language tag given by a feed (`fr-FR`, `FR`) to its primary subtag.
pub(crate) fn normalize_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() >= 2 && primary.len() <= 3 && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some(primary)
}
