//! The dossier rule language: parser and matcher.
//!
//! A rule is a list of terms, mostly keywords, that add up to a score. The full syntax, for
//! the people who edit `feeds.toml`, is in README.md (« Règles de marquage des dossiers »); in short:
//!
//! ```text
//! pauvreté précarité^2 "seuil de pauvreté"^3     whitespace = OR: each matched term adds its weight
//! violence AND femme                              both, the score is the sum
//! voile -bateau   NOT régate                      exclusion: the enclosing group does not count
//! (radicalisation OR islamisme)^2                 a group, weighted
//! femme NEAR/5 violence                           at most 5 words apart (NEAR alone = NEAR/10)
//! titre:attentat                                  only in the title (title:, summary:, résumé:)
//! « violences conjugales »                        phrase; also "…" and “…”
//! =REP  ="sans papiers"                           folded words, no stemming (REP ≠ repas)
//! # a comment to the end of the line ("# " with a space; #MeToo is a term)
//! ```
//!
//! Precedence, loosest first: OR and juxtaposition, then AND, then NEAR, then NOT / `-`.
//! Terms and the text are analysed with the same French analyser (`text::stems`), so case,
//! accents, elisions and plurals do not matter, and stop words leave the same gaps in both.
//! A term that analyses to several words (`sans-abri`, `16-18`) is a phrase; stop words at
//! its edges must be there too (`sans-abri` needs `sans`, the analyser would drop it).
//!
//! Scores: a term counts once per article, its weight times the factor of the best field
//! where it occurs; OR and AND add up their members; in one list, terms that match the same
//! words of the text count once (the widest, then the heaviest), so that `femme femmes` or
//! `précarité "grande précarité"` do not count a word twice. An exclusion that fires makes
//! its enclosing list (or the whole rule) not match.
//!
//! The parser never panics: every input gives a rule or a `RuleError` with a byte offset.

mod lexer;
mod matcher;
mod parser;
#[cfg(test)]
mod tests;

pub(crate) use matcher::{AnalysedField, Hit, Outcome, evaluate};
pub use parser::parse;

/// Default distance of a bare `NEAR`.
pub(super) const DEFAULT_NEAR: usize = 10;

/// A mistake in a rule, located by its byte offset in the rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub(crate) offset: usize,
    /// In French, for the people who edit `feeds.toml`.
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

/// Where a term may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Any,
    Title,
    Summary,
}

/// A word or a phrase of a rule, analysed once when the rule is read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    /// As written in the rule (quotes removed), for the `why` of a tag.
    pub(crate) text: String,
    pub(crate) weight: f64,
    pub(crate) field: Field,
    /// `=mot`: folded words compared without stemming (stop words included).
    pub(crate) exact: bool,
    /// The words to find and their position relative to the first one: stems (stop words
    /// leave gaps), or folded words for an exact term.
    pub(crate) stems: Vec<(String, usize)>,
    /// Stop words at the edges of a stemmed term, which must be there too (folded, with
    /// their position relative to the first stem): `sans-abri` needs `sans` before `abri`.
    pub(super) edges: Vec<(isize, String)>,
}

/// A parsed rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Term(Term),
    /// OR, explicit or by juxtaposition. `Not` children are exclusions for the whole group.
    Any(Vec<Node>),
    All(Vec<Node>),
    Not(Box<Node>),
    /// Both sides within `distance` words; sides are terms or groups of terms.
    Near {
        left: Box<Node>,
        right: Box<Node>,
        distance: usize,
    },
    /// A parenthesised group with a weight: its score is multiplied.
    Weighted(Box<Node>, f64),
}

/// A rule as read from `feeds.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) root: Node,
}

impl Rule {
    /// Every term of the rule, in order (for documentation and tests).
    #[cfg(test)]
    pub(crate) fn terms(&self) -> Vec<&Term> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Term>) {
            match node {
                Node::Term(t) => out.push(t),
                Node::Any(v) | Node::All(v) => v.iter().for_each(|n| walk(n, out)),
                Node::Not(n) | Node::Weighted(n, _) => walk(n, out),
                Node::Near { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

/// A rule error at `offset`; the message and hint are French, for `feeds.toml`'s editors.
fn err(offset: usize, message: impl Into<String>, hint: Option<&str>) -> RuleError {
    RuleError {
        offset,
        message: message.into(),
        hint: hint.map(str::to_string),
    }
}
