//! Plain data types that travel between the stages; no logic beyond small helpers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SourceKind {
    /// RSS, Atom or JSON Feed.
    Feed,
    /// A listing page without a feed, read with CSS selectors.
    Page,
    /// A Google News search feed built from a query.
    Search,
}

impl SourceKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
            SourceKind::Search => "search",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "feed" => Some(SourceKind::Feed),
            "page" => Some(SourceKind::Page),
            "search" => Some(SourceKind::Search),
            _ => None,
        }
    }
}

/// CSS selectors of a `page` source (`[sources.select]`, ARCHITECTURE.md's contract).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageSelectors {
    /// Selects each article block of the page; the other selectors look inside a block.
    pub item: String,
    /// The title: the text of the first match, one line. A block without it is skipped.
    pub title: String,
    /// The link: the first match's `href` (else the block's own), resolved against the page;
    /// a block without an http(s) link is skipped.
    pub link: String,
    /// The date, read from a `datetime` or `content` attribute, else from the text;
    /// `None`: the articles have no date.
    pub date: Option<String>,
    /// The summary; `None`: the articles have none.
    pub summary: Option<String>,
}

/// A source as configured in `feeds.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Source {
    pub(crate) name: String,
    pub(crate) kind: SourceKind,
    /// The URL actually fetched (for `search`, the built Google News URL).
    pub(crate) url: String,
    pub(crate) dossiers: Vec<String>,
    pub(crate) select: Option<PageSelectors>,
    pub(crate) enabled: bool,
}

/// Why a published date was changed or is doubtful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DateFlag {
    /// The source gave a date too far in the future; it was clamped to the fetch time.
    FutureClamped,
}

impl DateFlag {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DateFlag::FutureClamped => "future_clamped",
        }
    }
}

/// One item read from a feed or a page, normalised, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleCandidate {
    /// The identifier the source gave (RSS guid, Atom id, JSON id), if any.
    pub(crate) guid: Option<String>,
    /// The link as published, resolved against the base URL.
    pub url: String,
    /// The link after canonicalisation (see `ingest::url::canonicalize`).
    pub(crate) canonical_url: String,
    /// Plain text on one line (markup removed, entities decoded, whitespace folded).
    pub title: String,
    /// Sanitised HTML.
    pub(crate) summary_html: String,
    /// Plain text of the summary.
    pub(crate) summary_text: String,
    pub(crate) author: Option<String>,
    /// The date the source gave, in UTC; a future one is clamped to the fetch time (see
    /// `date_flag`). `None`: no readable date.
    pub published: Option<DateTime<Utc>>,
    pub(crate) date_flag: Option<DateFlag>,
    /// ISO 639-1 code when known (`fr`, `en`, …).
    pub(crate) language: Option<String>,
    /// The item's image (RSS `enclosure`, Media RSS `media:content` or the thumbnail of a
    /// video), an absolute http(s) URL.
    pub(crate) image: Option<String>,
}

/// How one source fared in one pass (`ok`, `not_modified`… in JSON and in the store).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SourceStatus {
    /// Fetched and stored (the starting point of a report, until the pass says otherwise).
    #[default]
    Ok,
    /// The server answered 304: nothing new.
    NotModified,
    Error,
    /// Not tried: the source is slowed down after errors (backoff).
    Deferred,
    /// Not tried: the pass was stopped (daemon stopping, Ctrl-C).
    Stopped,
    /// Not fetched here: another process sharing the store fetched it in this slot.
    Elsewhere,
}

impl SourceStatus {
    pub(crate) const ALL: [SourceStatus; 6] = [
        SourceStatus::Ok,
        SourceStatus::NotModified,
        SourceStatus::Error,
        SourceStatus::Deferred,
        SourceStatus::Stopped,
        SourceStatus::Elsewhere,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SourceStatus::Ok => "ok",
            SourceStatus::NotModified => "not_modified",
            SourceStatus::Error => "error",
            SourceStatus::Deferred => "deferred",
            SourceStatus::Stopped => "stopped",
            SourceStatus::Elsewhere => "elsewhere",
        }
    }
}

impl std::str::FromStr for SourceStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SourceStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("état de relève inconnu « {text} »"))
    }
}

/// How one source fared in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SourceReport {
    pub(crate) name: String,
    pub(crate) status: SourceStatus,
    pub(crate) http_status: Option<u16>,
    pub(crate) new: u32,
    pub(crate) updated: u32,
    pub(crate) unchanged: u32,
    pub(crate) error: Option<String>,
    /// When the source will be tried again, if it was slowed down.
    pub(crate) next_fetch: Option<DateTime<Utc>>,
}

/// Where a rule term matched, to show curators why an article was tagged.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Match {
    /// The rule term or phrase as written in `feeds.toml`.
    pub term: String,
    /// `title`, `summary` or `body` (the article's full text).
    pub(crate) field: String,
    /// The matched words as they appear in the text.
    pub text: String,
}

impl Match {
    /// Where it matched, in French.
    pub fn field_fr(&self) -> &str {
        match self.field.as_str() {
            "title" => "titre",
            "summary" => "chapeau",
            "body" => "dans l'article",
            other => other,
        }
    }
}

/// An article filed under a dossier, with its score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct DossierTag {
    /// The dossier id (`pauvrete`, …), one of `config::DOSSIER_IDS`.
    pub dossier: String,
    /// Sum of the matched terms' weights (title ×1.5, full text ×0.4, plus the source's hint),
    /// rounded to 0.01; at least the dossier's threshold.
    pub score: f64,
    /// The matches behind the score, in rule order.
    pub why: Vec<Match>,
}

/// Everything tagging says about one article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Tagging {
    /// The dossiers the article is filed under; empty: none.
    pub dossiers: Vec<DossierTag>,
    /// Occitanie département slugs (`haute-garonne`, `gers`, …).
    pub territories: Vec<String>,
}

/// Precision, recall and F1 of a labelled evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Scores {
    pub(crate) precision: f64,
    pub(crate) recall: f64,
    pub(crate) f1: f64,
}

impl Scores {
    /// From true positives, false positives and false negatives; an empty class scores 1.
    pub(crate) fn from_counts(tp: usize, fp: usize, fn_: usize) -> Scores {
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
pub(crate) struct PreparedArticle {
    pub(crate) candidate: ArticleCandidate,
    /// The story-merging fingerprint, as text (see `dedup::Fingerprint::to_text`).
    pub(crate) fingerprint: String,
    pub(crate) tagging: Tagging,
}

/// A curator's decision on a story for a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionState {
    /// No decision yet (the state of every story that arrives).
    New,
    /// Kept for the dossier: may go into an edition.
    Kept,
    /// Set aside for the dossier.
    Rejected,
    /// Kept and highlighted: panoramas list starred stories first.
    Starred,
}

impl DecisionState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DecisionState::New => "new",
            DecisionState::Kept => "kept",
            DecisionState::Rejected => "rejected",
            DecisionState::Starred => "starred",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(DecisionState::New),
            "kept" => Some(DecisionState::Kept),
            "rejected" => Some(DecisionState::Rejected),
            "starred" => Some(DecisionState::Starred),
            _ => None,
        }
    }

    /// Strength used to summarise a story over all dossiers: starred > kept > rejected > new.
    pub(crate) fn rank(self) -> u8 {
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
    /// The article's row id in the store; a document with the same id replaces the old one.
    pub id: i64,
    /// The id of the story the article belongs to (`dedup` merges articles into stories).
    pub story: i64,
    /// Plain text.
    pub title: String,
    /// Plain text.
    pub summary: String,
    /// The page's main text fetched after the feed pass; empty when there is none.
    pub body: String,
    /// The article's link as published.
    pub url: String,
    /// The source's name.
    pub source: String,
    /// Dossier ids (`pauvrete`, …).
    pub dossiers: Vec<String>,
    /// Territory slugs (`haute-garonne`, …).
    pub territories: Vec<String>,
    /// `None`: the source gave no date.
    pub published: Option<DateTime<Utc>>,
}

/// Where an edition is in its life: composed, ready to send, sent (then immutable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EditionStatus {
    Draft,
    Ready,
    Sent,
}

impl EditionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EditionStatus::Draft => "draft",
            EditionStatus::Ready => "ready",
            EditionStatus::Sent => "sent",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(EditionStatus::Draft),
            "ready" => Some(EditionStatus::Ready),
            "sent" => Some(EditionStatus::Sent),
            _ => None,
        }
    }

    /// The French word shown to curators.
    pub(crate) fn label(self) -> &'static str {
        match self {
            EditionStatus::Draft => "brouillon",
            EditionStatus::Ready => "prête",
            EditionStatus::Sent => "envoyée",
        }
    }
}

/// The kinds of free Markdown blocks of an edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BlockKind {
    /// The introduction or édito, shown first.
    Intro,
    /// An agenda entry (event, training) with a date and a place.
    Agenda,
    /// The centre's own news.
    News,
    /// Any other text (calls for projects, resources…).
    Text,
}

impl BlockKind {
    pub(crate) const ALL: [BlockKind; 4] = [
        BlockKind::Intro,
        BlockKind::Agenda,
        BlockKind::News,
        BlockKind::Text,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BlockKind::Intro => "intro",
            BlockKind::Agenda => "agenda",
            BlockKind::News => "news",
            BlockKind::Text => "text",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The address of an edition, `KIND/NUMBER` (`flash-info/3`): parsed once at the edge and
/// carried typed; whether the kind exists is the configuration's business, not this type's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EditionRef {
    pub(crate) kind: String,
    pub(crate) number: i64,
}

impl EditionRef {
    pub(crate) fn new(kind: impl Into<String>, number: i64) -> Self {
        Self {
            kind: kind.into(),
            number,
        }
    }
}

/// Why a text is not an edition address; the messages are French because users type them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditionRefError {
    /// Not two parts around one `/` (the text as typed).
    #[error("« {0} » : attendu GENRE/NUMÉRO, par exemple flash-info/12")]
    Shape(String),
    /// The part after `/` is not a whole number from 1 (that part as typed).
    #[error("numéro d'édition invalide « {0} » : un entier à partir de 1")]
    Number(String),
}

impl std::str::FromStr for EditionRef {
    type Err = EditionRefError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let Some((kind, number)) = text.trim().rsplit_once('/') else {
            return Err(EditionRefError::Shape(text.to_string()));
        };
        if kind.is_empty() {
            return Err(EditionRefError::Shape(text.to_string()));
        }
        match number.parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Self::new(kind, n)),
            _ => Err(EditionRefError::Number(number.to_string())),
        }
    }
}

impl std::fmt::Display for EditionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.number)
    }
}

impl Serialize for EditionRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An edition as stored: numbered per kind, with its period, items and blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Edition {
    pub(crate) kind: String,
    pub(crate) number: i64,
    /// First and last day of the period covered (`YYYY-MM-DD` in JSON and in the store).
    pub(crate) period_start: NaiveDate,
    pub(crate) period_end: NaiveDate,
    pub(crate) status: EditionStatus,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) rendered_at: Option<String>,
    pub(crate) sent_at: Option<String>,
    /// Items in their order: by section (in the order sections first appear), then position.
    pub(crate) items: Vec<EditionItem>,
    pub(crate) blocks: Vec<Block>,
}

impl Edition {
    /// `KIND/NUMBER`, the address used by every command.
    pub(crate) fn address(&self) -> String {
        self.reference().to_string()
    }

    /// The typed address of this edition.
    pub(crate) fn reference(&self) -> EditionRef {
        EditionRef::new(self.kind.clone(), self.number)
    }
}

/// A story placed in an edition, optionally retitled for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EditionItem {
    pub(crate) story: i64,
    pub(crate) section: String,
    pub(crate) position: i64,
    pub(crate) title: Option<String>,
    pub(crate) lede: Option<String>,
}

/// A free Markdown block of an edition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Block {
    pub(crate) id: i64,
    pub(crate) kind: BlockKind,
    pub(crate) position: i64,
    pub(crate) title: Option<String>,
    /// Markdown, rendered and sanitised at publication.
    pub(crate) body: String,
    /// For agenda entries: when (YYYY-MM-DD, optionally with a time) and where.
    pub(crate) event_date: Option<String>,
    pub(crate) place: Option<String>,
}

/// A story as publications show it: its representative article, the curator's edits, and
/// the other sources that carried it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoryCard {
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) lede: String,
    pub(crate) url: String,
    pub(crate) source: String,
    /// RFC 3339 UTC: publication date, else first seen.
    pub(crate) date: String,
    pub(crate) also: Vec<SourceLink>,
    pub(crate) dossiers: Vec<String>,
    pub(crate) territories: Vec<String>,
    pub(crate) starred: bool,
    /// The story's image: the lead article's, else another article's of the story.
    pub(crate) image: Option<String>,
    /// In the network's collective panorama, the centres that kept or starred the story
    /// ("repéré par R&T, Labo Cités"); empty everywhere else.
    pub(crate) picked_by: Vec<String>,
}

/// Another source's article of the same story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SourceLink {
    pub(crate) source: String,
    pub(crate) url: String,
}

/// A subscriber's state in one list (the states of ARCHITECTURE.md's contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SubscriptionStatus {
    /// Waiting for the confirmation of a double opt-in.
    Pending,
    Active,
    Unsubscribed,
    Bounced,
    Complained,
}

impl SubscriptionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Pending => "pending",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Unsubscribed => "unsubscribed",
            SubscriptionStatus::Bounced => "bounced",
            SubscriptionStatus::Complained => "complained",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            SubscriptionStatus::Pending,
            SubscriptionStatus::Active,
            SubscriptionStatus::Unsubscribed,
            SubscriptionStatus::Bounced,
            SubscriptionStatus::Complained,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// An address in this state must never be subscribed again by an import.
    pub(crate) fn is_suppressed(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Unsubscribed
                | SubscriptionStatus::Bounced
                | SubscriptionStatus::Complained
        )
    }
}

/// What a subscriber file may say about a person beyond the address: kept by the import,
/// shown by `subscribers list/export`, offered to templates at send time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriberDetails {
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) organisation: Option<String>,
    pub(crate) commune: Option<String>,
}

/// A subscriber with its lists, as `subscribers list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SubscriberRow {
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    #[serde(flatten)]
    pub(crate) details: SubscriberDetails,
    /// The lists where the address is active.
    pub(crate) lists: Vec<String>,
    /// `active` when active in a list, else `pending`, else the strongest refusal
    /// (complained > bounced > unsubscribed).
    pub(crate) status: SubscriptionStatus,
    /// Every list with its own state.
    pub(crate) subscriptions: Vec<(String, SubscriptionStatus)>,
}

/// Where one recipient of one edition stands (the delivery ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeliveryState {
    // The ledger's SQL writes `queued`, `sending` and `skipped` as text; the enum still names
    // the whole vocabulary of the column.
    #[allow(dead_code)]
    Queued,
    /// Handed to the SMTP server; a crash here leaves it uncertain.
    #[allow(dead_code)]
    Sending,
    Sent,
    FailedTemp,
    FailedPerm,
    /// Unsubscribed or erased after the edition was queued.
    #[allow(dead_code)]
    Skipped,
}

impl DeliveryState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::FailedTemp => "failed_temp",
            DeliveryState::FailedPerm => "failed_perm",
            DeliveryState::Skipped => "skipped",
        }
    }
}

#[cfg(test)]
mod edition_ref_tests {
    use super::*;

    #[test]
    fn an_edition_address_round_trips_and_bad_ones_say_why() {
        let parsed: EditionRef = "flash-info/3".parse().unwrap();
        assert_eq!(parsed, EditionRef::new("flash-info", 3));
        assert_eq!(parsed.to_string(), "flash-info/3");
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"flash-info/3\"");
        assert!(matches!(
            "flash-info".parse::<EditionRef>(),
            Err(EditionRefError::Shape(_))
        ));
        assert!(matches!(
            "/3".parse::<EditionRef>(),
            Err(EditionRefError::Shape(_))
        ));
        assert!(matches!(
            "flash-info/0".parse::<EditionRef>(),
            Err(EditionRefError::Number(_))
        ));
        assert!(matches!(
            "flash-info/x".parse::<EditionRef>(),
            Err(EditionRefError::Number(_))
        ));
    }
}
