//! The learned half of tagging: per dossier, a logistic regression over the words of the
//! shared French analyser, trained on the curators' own decisions (no external weights).
//!
//! The rules stay the explainable base; the scorer only adds what they miss. A story the rules
//! do not tag but the scorer ranks at or above its dossier's threshold (at least [`TO_CHECK`])
//! goes to the dossier's "to check" band, with the words that weighed most as its *why*.
//!
//! Features are binary: the distinct stems of title and summary, and the pairs of neighbouring
//! title stems ("violenc conjugal"), which carry most of a dossier's vocabulary. Training is
//! deterministic (fixed order, fixed steps), so a figure can be re-run exactly. The classes
//! keep their natural weights: weighing each half of the loss, measured by cross-validation on
//! the development labels, proposed every story naming "femme" for the equality dossier
//! (precision 0.56). An L2 penalty keeps a word seen in one or two kept stories from deciding
//! alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::text;

/// Lowest probability from which a story the rules miss may enter a dossier's "to check"
/// band; each dossier's own threshold is chosen among [`THRESHOLDS`] by cross-validation on
/// its training decisions only (see [`Scorer::train`]).
const TO_CHECK: f64 = 0.3;

/// The thresholds a dossier's scorer chooses from.
const THRESHOLDS: [f64; 7] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Folds of the decisions used to choose a dossier's threshold.
const INNER_FOLDS: usize = 4;

/// Fewest positive and negative examples before a dossier gets a scorer: below, the weights
/// would only repeat a handful of stories.
pub(crate) const MIN_EXAMPLES: usize = 3;

/// Learned words shown in a why.
const WHY_WORDS: usize = 5;

/// One decided story as the scorer sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Example {
    pub(crate) title: String,
    pub(crate) summary: String,
    /// Dossiers the story was kept or starred in.
    pub(crate) positive: BTreeSet<String>,
    /// Dossiers it was rejected in.
    pub(crate) negative: BTreeSet<String>,
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LearnParams {
    /// L2 penalty per example.
    l2: f64,
    epochs: usize,
    pub(crate) rate: f64,
}

impl LearnParams {
    pub(crate) const DEFAULT: LearnParams = LearnParams {
        l2: 0.01,
        epochs: 40,
        rate: 0.5,
    };
}

/// The features of a text: distinct stems and neighbouring title stem pairs.
fn features(title: &str, summary: &str) -> BTreeSet<String> {
    surfaces(title, summary).into_keys().collect()
}

/// Each feature with the words that gave it, as written (the first occurrence): a why reads
/// `violences conjugales`, not the stems.
fn surfaces(title: &str, summary: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let title_words = text::stems(title);
    for pair in title_words.windows(2) {
        out.entry(format!("{} {}", pair[0].text, pair[1].text))
            .or_insert_with(|| title[pair[0].start..pair[1].end].to_string());
    }
    for (text, words) in [(title, title_words), (summary, text::stems(summary))] {
        for w in words {
            if w.text.chars().count() >= 2 {
                out.entry(w.text)
                    .or_insert_with(|| text[w.start..w.end].to_string());
            }
        }
    }
    out
}

/// One dossier's regression.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    weights: HashMap<String, f64>,
    bias: f64,
    /// From which probability the scorer files a story (the "to check" band).
    threshold: f64,
    positives: usize,
    negatives: usize,
}

/// A learned score and its reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Learned {
    pub(crate) dossier: String,
    /// Probability that a curator keeps the story in the dossier.
    pub(crate) probability: f64,
    /// The dossier's threshold: at or above it, the story is proposed.
    pub(crate) threshold: f64,
    /// The words of the text that weighed most for the dossier, as written, heaviest first.
    pub(crate) words: Vec<(String, f64)>,
}

/// The scorers of every dossier that has enough decisions.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scorer {
    models: BTreeMap<String, Model>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Scorer {
    /// Trains one regression per dossier named in the examples. A story is a positive of the
    /// dossiers it was kept in, a negative of those it was rejected in and, since a curator
    /// who filed it elsewhere judged it, of the dossiers it was kept in none of.
    pub(crate) fn train(examples: &[Example], params: LearnParams) -> Scorer {
        let feats: Vec<Vec<String>> = examples
            .iter()
            .map(|e| features(&e.title, &e.summary).into_iter().collect())
            .collect();
        let dossiers: BTreeSet<&String> = examples.iter().flat_map(|e| &e.positive).collect();
        let mut models = BTreeMap::new();
        for dossier in dossiers {
            let labelled: Vec<(usize, bool)> = examples
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    if e.positive.contains(dossier) {
                        Some((i, true))
                    } else if e.negative.contains(dossier)
                        || !e.positive.is_empty()
                        || !e.negative.is_empty()
                    {
                        Some((i, false))
                    } else {
                        None
                    }
                })
                .collect();
            let positives = labelled.iter().filter(|(_, y)| *y).count();
            let negatives = labelled.len() - positives;
            if positives < MIN_EXAMPLES || negatives < MIN_EXAMPLES {
                continue;
            }
            let mut model = fit(&feats, &labelled, params);
            model.threshold = choose_threshold(&feats, &labelled, params);
            models.insert(dossier.clone(), model);
        }
        Scorer { models }
    }

    /// The dossiers that have a scorer.
    #[cfg(test)]
    pub(crate) fn dossiers(&self) -> impl Iterator<Item = &str> {
        self.models.keys().map(String::as_str)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// The learned score of every dossier with a scorer.
    pub(crate) fn score(&self, title: &str, summary: &str) -> Vec<Learned> {
        let feats = surfaces(title, summary);
        self.models
            .iter()
            .map(|(dossier, m)| {
                let mut words: Vec<(String, f64)> = feats
                    .iter()
                    .filter_map(|(f, surface)| m.weights.get(f).map(|&w| (surface.clone(), w)))
                    .collect();
                let z = m.bias + words.iter().map(|(_, w)| w).sum::<f64>();
                words.retain(|(_, w)| *w > 0.0);
                words.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                words.truncate(WHY_WORDS);
                for w in &mut words {
                    w.1 = (w.1 * 100.0).round() / 100.0;
                }
                Learned {
                    dossier: dossier.clone(),
                    probability: sigmoid(z),
                    threshold: m.threshold,
                    words,
                }
            })
            .collect()
    }
}

/// The threshold of [`THRESHOLDS`] with the best F1 of the scorer on held-out decisions:
/// each of [`INNER_FOLDS`] folds (by position) is scored by a regression fitted on the others;
/// ties go to the higher threshold (fewer proposals). Without enough decisions to hold some
/// out, the highest threshold.
fn choose_threshold(feats: &[Vec<String>], labelled: &[(usize, bool)], params: LearnParams) -> f64 {
    let mut held_out: Vec<(f64, bool)> = Vec::new();
    for k in 0..INNER_FOLDS {
        let train: Vec<(usize, bool)> = labelled
            .iter()
            .enumerate()
            .filter(|(j, _)| j % INNER_FOLDS != k)
            .map(|(_, l)| *l)
            .collect();
        let positives = train.iter().filter(|(_, y)| *y).count();
        let negatives = train.len() - positives;
        if positives < MIN_EXAMPLES || negatives < MIN_EXAMPLES {
            continue;
        }
        let m = fit(feats, &train, params);
        for (_, &(i, y)) in labelled
            .iter()
            .enumerate()
            .filter(|(j, _)| j % INNER_FOLDS == k)
        {
            let z = m.bias
                + feats[i]
                    .iter()
                    .filter_map(|f| m.weights.get(f))
                    .sum::<f64>();
            held_out.push((sigmoid(z), y));
        }
    }
    let mut best = (THRESHOLDS[THRESHOLDS.len() - 1], -1.0);
    for &t in THRESHOLDS.iter().rev() {
        let tp = held_out.iter().filter(|(p, y)| *y && *p >= t).count() as f64;
        let fp = held_out.iter().filter(|(p, y)| !*y && *p >= t).count() as f64;
        let fn_ = held_out.iter().filter(|(p, y)| *y && *p < t).count() as f64;
        let f1 = if tp > 0.0 {
            2.0 * tp / (2.0 * tp + fp + fn_)
        } else {
            0.0
        };
        if f1 > best.1 {
            best = (t, f1);
        }
    }
    best.0
}

/// L2-regularised logistic regression by stochastic gradient descent with per-weight AdaGrad
/// steps, over the examples in their given order.
fn fit(feats: &[Vec<String>], labelled: &[(usize, bool)], params: LearnParams) -> Model {
    let positives = labelled.iter().filter(|(_, y)| *y).count();
    let negatives = labelled.len() - positives;
    let mut weights: HashMap<String, f64> = HashMap::new();
    let mut squares: HashMap<String, f64> = HashMap::new();
    let mut bias = 0.0;
    let mut bias_square = 1e-8;
    for _ in 0..params.epochs {
        for &(i, y) in labelled {
            let f = &feats[i];
            let z = bias + f.iter().filter_map(|k| weights.get(k)).sum::<f64>();
            let g = sigmoid(z) - if y { 1.0 } else { 0.0 };
            for k in f {
                let w = weights.entry(k.clone()).or_insert(0.0);
                let grad = g + params.l2 * *w;
                let s = squares.entry(k.clone()).or_insert(1e-8);
                *s += grad * grad;
                *w -= params.rate * grad / s.sqrt();
            }
            bias_square += g * g;
            bias -= params.rate * g / bias_square.sqrt();
        }
    }
    weights.retain(|_, w| w.abs() > 1e-6);
    Model {
        weights,
        bias,
        threshold: TO_CHECK,
        positives,
        negatives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(title: &str, positive: &[&str], negative: &[&str]) -> Example {
        Example {
            title: title.into(),
            summary: String::new(),
            positive: positive.iter().map(|s| s.to_string()).collect(),
            negative: negative.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn training() -> Vec<Example> {
        let mut out = Vec::new();
        for town in ["Albi", "Rodez", "Auch", "Foix", "Cahors", "Tarbes"] {
            out.push(example(
                &format!("{town} : un nouveau jardin partagé pour les habitants du quartier"),
                &["ville"],
                &[],
            ));
            out.push(example(
                &format!("{town} : le centre social du quartier rouvre ses ateliers"),
                &["ville"],
                &[],
            ));
            out.push(example(
                &format!("{town} : le club de rugby gagne son match à domicile"),
                &[],
                &["ville"],
            ));
            out.push(example(
                &format!("{town} : la mairie vote le budget des routes"),
                &[],
                &["ville"],
            ));
        }
        out
    }

    #[test]
    fn learns_the_words_of_kept_stories() {
        let scorer = Scorer::train(&training(), LearnParams::DEFAULT);
        assert_eq!(scorer.dossiers().collect::<Vec<_>>(), ["ville"]);
        let yes = &scorer.score("Millau : les habitants du quartier créent un jardin", "")[0];
        let no = &scorer.score("Millau : victoire du club de rugby", "")[0];
        assert!(yes.probability >= yes.threshold, "{yes:?}");
        assert!(no.probability < no.threshold, "{no:?}");
        assert!(THRESHOLDS.contains(&yes.threshold));
        assert!(
            yes.words
                .iter()
                .any(|(w, _)| w == "quartier" || w == "jardin"),
            "{yes:?}"
        );
        assert!(yes.words.iter().all(|(_, w)| *w > 0.0));
    }

    #[test]
    fn too_few_decisions_give_no_scorer_and_training_is_deterministic() {
        let few = &training()[..4];
        assert!(Scorer::train(few, LearnParams::DEFAULT).is_empty());
        let a = Scorer::train(&training(), LearnParams::DEFAULT);
        let b = Scorer::train(&training(), LearnParams::DEFAULT);
        assert_eq!(a, b);
    }

    #[test]
    fn features_are_stems_and_title_pairs() {
        let f = features("Violences conjugales à Albi", "Un bracelet");
        assert!(f.contains("violenc conjugal"), "{f:?}");
        assert!(f.contains("bracelet"), "{f:?}");
        assert!(!f.contains("a"), "{f:?}");
    }
}
