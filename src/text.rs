//! French text analysis shared by story merging, tagging and search, so that a word matches
//! the same way everywhere: `l’État` → `etat`, `discriminations` → `discrimin`,
//! `sécurité` and `securite` → `secur`.

use std::cell::RefCell;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, TokenizerManager,
};

/// Tokenizer name of the stemmed French analyser in the search index.
pub(crate) const STEMMED: &str = "fr_stem";
/// Tokenizer name of the folded, unstemmed analyser in the search index.
pub(crate) const FOLDED: &str = "fr_fold";

/// One analysed word and its position in the text (stop words leave gaps, so phrases and
/// proximity still count them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The analysed form: lowercase, accentless, and stemmed unless it comes from the folded
    /// analyser.
    pub text: String,
    /// Index of the word among all the words of the text, removed stop words included.
    pub position: usize,
    /// Byte range in the original text, for highlighting.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// lowercase → French stop words (elided `l'`, `d'`, `qu'` included) → ASCII folding →
/// French stemmer. Folding comes before stemming, unlike the textbook order, so that titles
/// typed without accents (Google News often drops them) stem to the same word.
fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(french_stop_words())
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build()
}

/// lowercase → ASCII folding: `laicite` finds `laïcité`.
fn folded_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn french_stop_words() -> StopWordFilter {
    StopWordFilter::new(Language::French).expect("tantivy ships French stop words")
}

/// Registers both analysers; every process that opens the index must call it.
pub(crate) fn register(manager: &TokenizerManager) {
    manager.register(STEMMED, stemmed_analyzer());
    manager.register(FOLDED, folded_analyzer());
}

fn run(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        words.push(Word {
            text: token.text.clone(),
            position: token.position,
            start: token.offset_from,
            end: token.offset_to,
        });
    }
    words
}

thread_local! {
    static STEMMED_ANALYZER: RefCell<TextAnalyzer> = RefCell::new(stemmed_analyzer());
    static FOLDED_ANALYZER: RefCell<TextAnalyzer> = RefCell::new(folded_analyzer());
}

/// The stemmed words of a text, as search indexes them.
pub fn stems(text: &str) -> Vec<Word> {
    STEMMED_ANALYZER.with(|a| run(&mut a.borrow_mut(), text))
}

/// Stems of the words seen lately, by surface form (`None` for a stop word): a newsroom's
/// vocabulary is small, and running the analyser again on a word it has seen cost more than
/// half of story merging's fingerprinting. Emptied when full, to bound memory.
const STEM_MEMO_WORDS: usize = 200_000;

thread_local! {
    // foldhash: several times faster than SipHash on short words, still seeded per process
    // so that a feed cannot choose words that collide.
    static STEM_MEMO: RefCell<foldhash::HashMap<Box<str>, Option<Box<str>>>> =
        RefCell::default();
}

/// [`stems`] of `text` from its [`folded_words`], without a second pass of the tokenizer:
/// both analysers split and drop long words alike, and every other filter reads one word at a
/// time, so a word's stem is that of the word alone.
pub fn stems_of_folded(text: &str, folded: &[Word]) -> Vec<Word> {
    STEM_MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let mut words = Vec::with_capacity(folded.len());
        for w in folded {
            let surface = &text[w.start..w.end];
            let stem = match memo.get(surface) {
                Some(stem) => stem.clone(),
                None => {
                    if memo.len() >= STEM_MEMO_WORDS {
                        memo.clear();
                    }
                    let stem = stems(surface).pop().map(|s| s.text.into_boxed_str());
                    memo.insert(surface.into(), stem.clone());
                    stem
                }
            };
            if let Some(stem) = stem {
                words.push(Word {
                    text: stem.into(),
                    position: w.position,
                    start: w.start,
                    end: w.end,
                });
            }
        }
        words
    })
}

/// The folded (accentless, lowercase) words of a text, stop words kept.
pub(crate) fn folded_words(text: &str) -> Vec<Word> {
    FOLDED_ANALYZER.with(|a| run(&mut a.borrow_mut(), text))
}

/// Lowercase text without accents, for comparisons that ignore both.
pub(crate) fn fold(text: &str) -> String {
    folded_words(text)
        .into_iter()
        .map(|w| w.text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Control characters (CR and LF included) and runs of whitespace folded into single spaces:
/// a title, a name or a header value that must hold on one line whatever the source sent.
pub(crate) fn one_line(text: &str) -> String {
    // One pass: this runs on every title and summary of every feed.
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_controls_and_whitespace() {
        assert_eq!(
            one_line("  Appel\r\nà projets\t\u{7}2026\u{85} "),
            "Appel à projets 2026"
        );
        assert_eq!(one_line("\n\t"), "");
    }

    fn stem_texts(text: &str) -> Vec<String> {
        stems(text).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn accents_elisions_and_plurals() {
        assert_eq!(stem_texts("l’État"), stem_texts("etat"));
        assert_eq!(stem_texts("l'État d'urgence"), stem_texts("etat urgence"));
        assert_eq!(stem_texts("discriminations"), stem_texts("discrimination"));
        assert_eq!(stem_texts("Sécurité"), stem_texts("securite"));
        assert_eq!(stem_texts("laïcité"), stem_texts("LAICITE"));
        assert_eq!(
            stem_texts("quartiers prioritaires"),
            stem_texts("quartier prioritaire")
        );
        assert_eq!(fold("Égalité femmes–hommes"), "egalite femmes hommes");
    }

    #[test]
    fn stems_of_folded_words_are_the_stems() {
        for text in [
            "l’État d'urgence : les 10, 11 et 12 janvier à Saint-Denis",
            "Sécurité routière : la préfète de l'Hérault renforce les contrôles",
            "Où va-t-on ? OU PAS… 1er mai, aujourd’hui ; Ünïcödé ΑΘΗΝΑ Москва 東京",
            "anticonstitutionnellementanticonstitutionnellement long mot puis court",
            "",
        ] {
            // Twice: from the analyser, then from the memo.
            for _ in 0..2 {
                assert_eq!(
                    stems_of_folded(text, &folded_words(text)),
                    stems(text),
                    "{text}"
                );
            }
        }
    }

    /// The same on every title and summary of the labelled story-merging pairs.
    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn stems_of_folded_words_on_the_labelled_texts() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/eval/dedup-pairs-fr.tsv");
        let pairs = std::fs::read_to_string(path).expect("dedup-pairs-fr.tsv");
        let mut compared = 0;
        for line in pairs.lines().skip(1) {
            for text in line.split('\t').skip(1).take(4) {
                assert_eq!(
                    stems_of_folded(text, &folded_words(text)),
                    stems(text),
                    "{text}"
                );
                compared += 1;
            }
        }
        assert!(compared > 100, "{compared} texts only");
    }

    #[test]
    fn positions_keep_gaps_for_stop_words() {
        let words = stems("seuil de pauvreté");
        assert_eq!(words.len(), 2);
        assert_eq!((words[0].position, words[1].position), (0, 2));
        assert_eq!(
            &"seuil de pauvreté"[words[1].start..words[1].end],
            "pauvreté"
        );
    }
}
