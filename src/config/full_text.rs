//! Per-source full text: `full_text = "auto" | true | false`, `full_text_min_words`, and the
//! `content` selector that overrides extraction for a site whose pages it gets wrong.

use serde::Deserialize;

/// When the article page is fetched for its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FullTextMode {
    /// When the feed's text is shorter than `min_words`.
    #[default]
    Auto,
    Always,
    Never,
}

/// A source's full-text settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FullTextSettings {
    pub(crate) mode: FullTextMode,
    pub(super) min_words: usize,
    /// CSS selector of the article's text on the site's pages (instead of extraction).
    pub(crate) content: Option<String>,
}

pub(super) const DEFAULT_MIN_WORDS: usize = 60;

impl Default for FullTextSettings {
    fn default() -> Self {
        FullTextSettings {
            mode: FullTextMode::Auto,
            min_words: DEFAULT_MIN_WORDS,
            content: None,
        }
    }
}

impl FullTextSettings {
    /// Whether an item whose feed text is `feed_text` needs its page fetched.
    pub(crate) fn wants(&self, feed_text: &str) -> bool {
        match self.mode {
            FullTextMode::Always => true,
            FullTextMode::Never => false,
            FullTextMode::Auto => feed_text.split_whitespace().count() < self.min_words,
        }
    }
}

/// `full_text` as written: a boolean or the word "auto".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawFullText {
    Flag(bool),
    Word(String),
}

impl RawFullText {
    pub(super) fn mode(&self) -> Option<FullTextMode> {
        match self {
            RawFullText::Flag(true) => Some(FullTextMode::Always),
            RawFullText::Flag(false) => Some(FullTextMode::Never),
            RawFullText::Word(w) if w == "auto" => Some(FullTextMode::Auto),
            RawFullText::Word(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_fetches_only_short_feed_texts() {
        let s = FullTextSettings::default();
        assert!(s.wants("Une ligne."));
        assert!(!s.wants(&"mot ".repeat(60)));
        let never = FullTextSettings {
            mode: FullTextMode::Never,
            ..s.clone()
        };
        assert!(!never.wants(""));
        let always = FullTextSettings {
            mode: FullTextMode::Always,
            ..s
        };
        assert!(always.wants(&"mot ".repeat(500)));
    }
}
