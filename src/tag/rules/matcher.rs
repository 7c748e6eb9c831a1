//! The rule matcher: scores a parsed rule against the analysed fields of an article and
//! keeps the hits (field, byte range) that explain the score.

use std::collections::HashMap;

use super::{Field, Node, Rule, Term};
use crate::text;

/// Words of a text with an index from word to places, for one analyser.
struct Analysed {
    words: Vec<text::Word>,
    index: HashMap<String, Vec<usize>>,
}

impl Analysed {
    fn new(words: Vec<text::Word>) -> Self {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, w) in words.iter().enumerate() {
            index.entry(w.text.clone()).or_default().push(i);
        }
        Analysed { words, index }
    }

    /// The word at a position, if any (positions grow with the index).
    fn at(&self, position: usize) -> Option<&text::Word> {
        self.words
            .binary_search_by_key(&position, |w| w.position)
            .ok()
            .map(|i| &self.words[i])
    }
}

/// One place where a term occurs: word positions (inclusive) and byte range.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    first: usize,
    last: usize,
    start: usize,
    end: usize,
}

/// One field of an article, analysed once for all the rules.
pub(crate) struct AnalysedField<'a> {
    pub(crate) name: &'static str,
    pub(crate) text: &'a str,
    /// Multiplies the weight of a term found here (title matches count more).
    pub(crate) factor: f64,
    stems: Analysed,
    /// Folded words, stop words included, at the same positions as the stems.
    folded: Analysed,
}

impl<'a> AnalysedField<'a> {
    pub(crate) fn new(name: &'static str, text: &'a str, factor: f64) -> Self {
        AnalysedField {
            name,
            text,
            factor,
            stems: Analysed::new(text::stems(text)),
            folded: Analysed::new(text::folded_words(text)),
        }
    }

    /// Every occurrence of a term.
    fn occurrences(&self, term: &Term) -> Vec<Occurrence> {
        let list = if term.exact {
            &self.folded
        } else {
            &self.stems
        };
        let Some((first, _)) = term.stems.first() else {
            return Vec::new();
        };
        let Some(starts) = list.index.get(first) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        'start: for &i in starts {
            let base = list.words[i].position;
            let mut last = &list.words[i];
            for (word, rel) in &term.stems[1..] {
                match list.at(base + rel) {
                    Some(w) if &w.text == word => last = w,
                    _ => continue 'start,
                }
            }
            let mut start = list.words[i].start;
            let mut end = last.end;
            for (rel, word) in &term.edges {
                let Some(position) = base.checked_add_signed(*rel) else {
                    continue 'start;
                };
                match self.folded.at(position) {
                    Some(w) if &w.text == word => {
                        start = start.min(w.start);
                        end = end.max(w.end);
                    }
                    _ => continue 'start,
                }
            }
            found.push(Occurrence {
                first: base,
                last: last.position,
                start,
                end,
            });
        }
        found
    }
}

/// A matched term, before it becomes a `model::Match`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) term: String,
    pub(crate) field: &'static str,
    /// Byte range in the field's text.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The outcome of a rule, or of part of it, on one article.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Does not match.
    No,
    /// Matches with this score and these reasons (a score of 0 is possible: an exclusion
    /// that holds, a group of only exclusions).
    Yes(f64, Vec<Hit>),
    /// An exclusion fired: the enclosing group does not count.
    Veto,
}

/// Scores a rule against the analysed fields of an article.
pub(crate) fn evaluate(rule: &Rule, fields: &[AnalysedField]) -> Outcome {
    eval(&rule.root, fields)
}

fn eval(node: &Node, fields: &[AnalysedField]) -> Outcome {
    match node {
        Node::Term(term) => eval_term(term, fields),
        Node::Any(items) => {
            let mut positives = 0;
            // (is a term, score, hits) of the members that matched.
            let mut matched: Vec<(bool, f64, Vec<Hit>)> = Vec::new();
            for item in items {
                if let Node::Not(_) = item {
                    if eval(item, fields) == Outcome::Veto {
                        return Outcome::No;
                    }
                    continue;
                }
                positives += 1;
                // A nested group that vetoed itself simply does not count here.
                if let Outcome::Yes(s, h) = eval(item, fields) {
                    matched.push((matches!(item, Node::Term(_)), s, h));
                }
            }
            if matched.is_empty() {
                return if positives == 0 {
                    Outcome::Yes(0.0, Vec::new())
                } else {
                    Outcome::No
                };
            }
            let kept = not_covered(&matched);
            let mut score = 0.0;
            let mut hits = Vec::new();
            for ((_, s, h), keep) in matched.into_iter().zip(kept) {
                if keep {
                    score += s;
                    hits.extend(h);
                }
            }
            Outcome::Yes(score, hits)
        }
        Node::All(items) => {
            let mut score = 0.0;
            let mut hits = Vec::new();
            for item in items {
                match eval(item, fields) {
                    Outcome::Yes(s, h) => {
                        score += s;
                        hits.extend(h);
                    }
                    Outcome::No | Outcome::Veto => return Outcome::No,
                }
            }
            Outcome::Yes(score, hits)
        }
        Node::Not(inner) => match eval(inner, fields) {
            Outcome::Yes(..) => Outcome::Veto,
            Outcome::No | Outcome::Veto => Outcome::Yes(0.0, Vec::new()),
        },
        Node::Weighted(inner, weight) => match eval(inner, fields) {
            Outcome::Yes(s, h) => Outcome::Yes(s * weight, h),
            other => other,
        },
        Node::Near {
            left,
            right,
            distance,
        } => eval_near(left, right, *distance, fields),
    }
}

/// Terms of one list that match the same words count once: the widest match wins, then the
/// highest score. So `femme femmes` (one stem) or `précarité "grande précarité"` do not
/// count one word twice. Groups and other members always count.
fn not_covered(matched: &[(bool, f64, Vec<Hit>)]) -> Vec<bool> {
    let width = |hits: &[Hit]| hits.iter().map(|h| h.end - h.start).max().unwrap_or(0);
    let mut order: Vec<usize> = (0..matched.len()).collect();
    order.sort_by(|&a, &b| {
        width(&matched[b].2)
            .cmp(&width(&matched[a].2))
            .then(matched[b].1.total_cmp(&matched[a].1))
            .then(a.cmp(&b))
    });
    let mut keep = vec![true; matched.len()];
    let mut taken: Vec<&Hit> = Vec::new();
    for i in order {
        let (is_term, _, hits) = &matched[i];
        if !is_term {
            continue;
        }
        let covered = !hits.is_empty()
            && hits.iter().all(|h| {
                taken
                    .iter()
                    .any(|t| t.field == h.field && t.start <= h.start && h.end <= t.end)
            });
        if covered {
            keep[i] = false;
        } else {
            taken.extend(hits);
        }
    }
    keep
}

fn field_allowed(term: &Term, field: &AnalysedField) -> bool {
    match term.field {
        Field::Any => true,
        Field::Title => field.name == "title",
        Field::Summary => field.name == "summary",
    }
}

/// A term counts once per article, at the best factor of the fields where it occurs; the
/// `why` keeps its first occurrence in each field.
fn eval_term(term: &Term, fields: &[AnalysedField]) -> Outcome {
    let mut best: Option<f64> = None;
    let mut hits = Vec::new();
    for field in fields.iter().filter(|f| field_allowed(term, f)) {
        if let Some(o) = field.occurrences(term).first() {
            hits.push(Hit {
                term: term.text.clone(),
                field: field.name,
                start: o.start,
                end: o.end,
            });
            best = Some(best.map_or(field.factor, |b: f64| b.max(field.factor)));
        }
    }
    match best {
        Some(factor) => Outcome::Yes(term.weight * factor, hits),
        None => Outcome::No,
    }
}

/// The terms of a NEAR side (a term or an OR group of terms).
fn side_terms(node: &Node) -> Vec<&Term> {
    match node {
        Node::Term(t) => vec![t],
        Node::Any(items) => items.iter().flat_map(side_terms).collect(),
        _ => Vec::new(),
    }
}

/// The closest pair of occurrences of the two sides within `distance` words, in one field;
/// its score is the sum of the two terms' weights.
fn eval_near(left: &Node, right: &Node, distance: usize, fields: &[AnalysedField]) -> Outcome {
    let mut best: Option<(f64, Vec<Hit>)> = None;
    let lefts = side_terms(left);
    let rights = side_terms(right);
    for field in fields {
        let occurrences = |terms: &[&Term]| -> Vec<(Occurrence, f64, usize)> {
            terms
                .iter()
                .enumerate()
                .filter(|(_, t)| field_allowed(t, field))
                .flat_map(|(k, t)| {
                    field
                        .occurrences(t)
                        .into_iter()
                        .map(move |o| (o, t.weight, k))
                })
                .collect()
        };
        let left_occ = occurrences(&lefts);
        if left_occ.is_empty() {
            continue;
        }
        let right_occ = occurrences(&rights);
        for &(l, lw, lk) in &left_occ {
            for &(r, rw, rk) in &right_occ {
                // 0 when the two overlap: the same words are not "near" each other.
                let gap = if r.first > l.last {
                    r.first - l.last
                } else {
                    l.first.saturating_sub(r.last)
                };
                if gap == 0 || gap > distance {
                    continue;
                }
                let score = (lw + rw) * field.factor;
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    let hit = |term: &Term, o: Occurrence| Hit {
                        term: term.text.clone(),
                        field: field.name,
                        start: o.start,
                        end: o.end,
                    };
                    best = Some((score, vec![hit(lefts[lk], l), hit(rights[rk], r)]));
                }
            }
        }
    }
    match best {
        Some((score, hits)) => Outcome::Yes(score, hits),
        None => Outcome::No,
    }
}
