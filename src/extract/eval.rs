//! The measure of the zyte article-extraction benchmark: 4-gram shingles of `\w+` tokens,
//! their multiset intersection as true positives, each page's counts normalised to sum to 1
//! (so long pages do not dominate), then precision, recall and F1 over the averaged counts.

use std::collections::HashMap;

/// Normalised (tp, fp, fn) of one page.
pub fn page_counts(truth: &str, predicted: &str) -> (f64, f64, f64) {
    let truth = shingles(truth);
    let predicted = shingles(predicted);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (key, &t) in &truth {
        let p = predicted.get(key).copied().unwrap_or(0);
        tp += t.min(p);
        fn_ += t.saturating_sub(p);
    }
    for (key, &p) in &predicted {
        fp += p.saturating_sub(truth.get(key).copied().unwrap_or(0));
    }
    let sum = (tp + fp + fn_) as f64;
    if sum == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    (tp as f64 / sum, fp as f64 / sum, fn_ as f64 / sum)
}

/// Precision, recall and F1 over pages' normalised counts.
pub fn precision_recall_f1(pages: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    let tp: f64 = pages.iter().map(|c| c.0).sum();
    let fp: f64 = pages.iter().map(|c| c.1).sum();
    let fn_: f64 = pages.iter().map(|c| c.2).sum();
    let p = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let r = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f1)
}

/// `\w+` in the Unicode sense, as Python's `re` finds them.
fn tokens(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .collect()
}

fn shingles(text: &str) -> HashMap<Vec<&str>, usize> {
    let tokens = tokens(text);
    let n = tokens.len().min(4);
    let mut out = HashMap::new();
    if n == 0 {
        return out;
    }
    for window in tokens.windows(n) {
        *out.entry(window.to_vec()).or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_score_one_and_disjoint_zero() {
        let t = "le pacte des solidarités est prolongé jusqu'en 2027";
        assert_eq!(page_counts(t, t), (1.0, 0.0, 0.0));
        let (tp, fp, fn_) = page_counts(t, "Partager sur Facebook et sur X ici");
        assert_eq!(tp, 0.0);
        assert!(fp > 0.0 && fn_ > 0.0);
        assert_eq!(precision_recall_f1(&[page_counts(t, t)]), (1.0, 1.0, 1.0));
    }

    #[test]
    fn extra_text_costs_precision_not_recall() {
        let truth = "un deux trois quatre cinq six";
        let (p, r, _) = precision_recall_f1(&[page_counts(
            truth,
            "un deux trois quatre cinq six sept huit",
        )]);
        assert!(p < 1.0 && r == 1.0, "{p} {r}");
    }

    #[test]
    fn short_texts_use_shorter_shingles() {
        assert_eq!(page_counts("deux mots", "deux mots"), (1.0, 0.0, 0.0));
    }
}
