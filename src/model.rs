//! Plain data types that travel between the stages; no logic beyond small helpers.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A listing page without a feed, read with CSS selectors.
    Page,
    /// A Google News search feed built from a query.
    Search,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
            SourceKind::Search => "search",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "feed" => Some(SourceKind::Feed),
            "page" => Some(SourceKind::Page),
            "search" => Some(SourceKind::Search),
            _ => None,
        }
    }
}

/// CSS selectors of a `page` source (DESIGN.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageSelectors {
    pub item: String,
    pub title: String,
    pub link: String,
    pub date: Option<String>,
    pub summary: Option<String>,
}

/// A source as configured in `feeds.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: String,
    pub kind: SourceKind,
    /// The URL actually fetched (for `search`, the built Google News URL).
    pub url: String,
    pub dossiers: Vec<String>,
    pub select: Option<PageSelectors>,
    pub enabled: bool,
}

/// Why a published date was changed or is doubtful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateFlag {
    /// The source gave a date too far in the future; it was clamped to the fetch time.
    FutureClamped,
}

impl DateFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            DateFlag::FutureClamped => "future_clamped",
        }
    }
}

/// One item read from a feed or a page, normalised, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleCandidate {
    /// The identifier the source gave (RSS guid, Atom id, JSON id), if any.
    pub guid: Option<String>,
    /// The link as published, resolved against the base URL.
    pub url: String,
    /// The link after canonicalisation (see `ingest::url::canonicalize`).
    pub canonical_url: String,
    pub title: String,
    /// Sanitised HTML.
    pub summary_html: String,
    /// Plain text of the summary.
    pub summary_text: String,
    pub author: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub date_flag: Option<DateFlag>,
    /// ISO 639-1 code when known (`fr`, `en`, …).
    pub language: Option<String>,
}

/// How one source fared in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub name: String,
    /// `ok`, `not_modified`, `error` or `deferred`.
    pub status: String,
    pub http_status: Option<u16>,
    pub new: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub error: Option<String>,
    /// When the source will be tried again, if it was slowed down.
    pub next_fetch: Option<DateTime<Utc>>,
}

/// Where a rule term matched, to show curators why an article was tagged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Match {
    /// The rule term or phrase as written in `feeds.toml`.
    pub term: String,
    /// `title` or `summary`.
    pub field: String,
    /// The matched words as they appear in the text.
    pub text: String,
}

/// An article filed under a dossier, with its score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DossierTag {
    pub dossier: String,
    pub score: f64,
    pub why: Vec<Match>,
}

/// Everything tagging says about one article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Tagging {
    pub dossiers: Vec<DossierTag>,
    /// Occitanie département slugs (`haute-garonne`, `gers`, …).
    pub territories: Vec<String>,
}

/// Precision, recall and F1 of a labelled evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Scores {
    /// From true positives, false positives and false negatives; an empty class scores 1.
    pub fn from_counts(tp: usize, fp: usize, fn_: usize) -> Scores {
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                1.0
            } else {
                num as f64 / den as f64
            }
        };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Scores {
            precision,
            recall,
            f1,
        }
    }
}

/// A candidate with what the later stages said about it, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedArticle {
    pub candidate: ArticleCandidate,
    /// The story-merging fingerprint, as text (see `dedup::Fingerprint::to_text`).
    pub fingerprint: String,
    pub tagging: Tagging,
}

/// A curator's decision on a story for a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionState {
    New,
    Kept,
    Rejected,
    Starred,
}

impl DecisionState {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionState::New => "new",
            DecisionState::Kept => "kept",
            DecisionState::Rejected => "rejected",
            DecisionState::Starred => "starred",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(DecisionState::New),
            "kept" => Some(DecisionState::Kept),
            "rejected" => Some(DecisionState::Rejected),
            "starred" => Some(DecisionState::Starred),
            _ => None,
        }
    }

    /// Strength used to summarise a story over all dossiers: starred > kept > rejected > new.
    pub fn rank(self) -> u8 {
        match self {
            DecisionState::New => 0,
            DecisionState::Rejected => 1,
            DecisionState::Kept => 2,
            DecisionState::Starred => 3,
        }
    }
}

/// What the search index needs to know about one article.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchDoc {
    pub id: i64,
    pub story: i64,
    pub title: String,
    /// Plain text.
    pub summary: String,
    pub url: String,
    /// The source's name.
    pub source: String,
    /// Dossier ids (`pauvrete`, …).
    pub dossiers: Vec<String>,
    /// Territory slugs (`haute-garonne`, …).
    pub territories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
}
