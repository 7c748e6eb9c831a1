//! Evidence from the articles' full texts: two accounts of one event quote the same words,
//! name the same people and give the same figures deep in their pages, where two stories on
//! one topic rarely agree. What two bodies share adds a small, capped bonus to the
//! similarity of their fingerprints; it never lifts a pair that the slots of their titles
//! (`slots::conflict`: another place, count, weekday or date) keep apart, and it needs some
//! overlap of the titles and ledes to begin with, so bodies alone merge nothing.

use std::collections::BTreeSet;

use super::fingerprint::{Fingerprint, compare};
use super::slots;
use crate::text;

/// Bonus per shared quotation, multi-word name or figure.
const BODY_EVIDENCE_STEP: f64 = 0.04;
/// Most the bodies can add to a similarity.
const BODY_EVIDENCE_CAP: f64 = 0.12;
/// Below this similarity of title and lede the bodies add nothing: they confirm, never found.
const BODY_EVIDENCE_FLOOR: f64 = 0.25;
/// Words a quotation needs to count: « C'est une honte » is said every day.
const QUOTE_WORDS: usize = 5;

/// What a body says that another account of the same event would repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BodyEvidence {
    /// Quoted passages, folded, of at least `QUOTE_WORDS` words.
    quotes: BTreeSet<String>,
    /// Runs of two or more capitalised words not opening a sentence, folded.
    names: BTreeSet<String>,
    /// Figures other than small counts and years ("2,5 millions", "1 200", "37,5").
    numbers: BTreeSet<String>,
}

impl BodyEvidence {
    /// Reads a body; an empty text gives empty evidence.
    pub(crate) fn of(body: &str) -> BodyEvidence {
        BodyEvidence {
            quotes: quotes(body),
            names: names(body),
            numbers: numbers(body),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.quotes.is_empty() && self.names.is_empty() && self.numbers.is_empty()
    }

    /// How many quotations, names and figures the two bodies share.
    pub(crate) fn shared(&self, other: &BodyEvidence) -> usize {
        self.quotes.intersection(&other.quotes).count()
            + self.names.intersection(&other.names).count()
            + self.numbers.intersection(&other.numbers).count()
    }
}

/// The bonus the bodies give a pair whose fingerprints compare at `similarity`.
fn body_bonus(similarity: f64, a: &BodyEvidence, b: &BodyEvidence) -> f64 {
    if similarity < BODY_EVIDENCE_FLOOR {
        return 0.0;
    }
    (a.shared(b) as f64 * BODY_EVIDENCE_STEP).min(BODY_EVIDENCE_CAP)
}

/// The similarity of two articles with their bodies' evidence: the fingerprints' similarity
/// (vetoes included) plus the bonus, unless a slot of the titles disagrees.
pub(crate) fn similarity_with_bodies(
    a: &Fingerprint,
    b: &Fingerprint,
    a_body: &BodyEvidence,
    b_body: &BodyEvidence,
) -> f64 {
    let base = compare(a, b).similarity;
    if slots::conflict(a.slots(), b.slots()).is_some() {
        return base;
    }
    (base + body_bonus(base, a_body, b_body)).min(1.0)
}

/// Passages between « » or “ ”.
fn quotes(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(start) = rest.find(['«', '“']) {
        let open = rest[start..].chars().next().map_or(1, char::len_utf8);
        let after = &rest[start + open..];
        let Some(end) = after.find(['»', '”']) else {
            break;
        };
        let quote = text::fold(after[..end].trim());
        let words: Vec<&str> = quote
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if words.len() >= QUOTE_WORDS {
            out.insert(words.join(" "));
        }
        rest = &after[end..];
    }
    out
}

/// Runs of capitalised words ("Secours populaire" counts from its capital; "Carole Delga",
/// "Haute-Garonne"), skipping the word that opens a sentence, whose capital says nothing.
fn names(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut run: Vec<&str> = Vec::new();
    let mut sentence_start = true;
    let mut flush = |run: &mut Vec<&str>| {
        // One word alone ("Toulouse", "Paris") is too common a name to identify an event.
        if run.len() >= 2 || run.first().is_some_and(|w| w.contains('-')) {
            out.insert(text::fold(&run.join(" ")));
        }
        run.clear();
    };
    for raw in body.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
        let capitalised = word.chars().next().is_some_and(char::is_uppercase)
            && word.chars().count() >= 2
            && !word.chars().all(char::is_uppercase);
        if capitalised && !sentence_start {
            run.push(word);
        } else {
            flush(&mut run);
        }
        sentence_start = raw.ends_with(['.', '!', '?', ':', '«', '»']) || raw == "«";
        // A comma, quote or parenthesis ends a name.
        if raw.ends_with([',', ';', ')', '»']) {
            flush(&mut run);
        }
    }
    flush(&mut run);
    out
}

/// Figures of the body: digit groups joined across thin spaces and decimal commas
/// ("1 200", "2,5"), with the small counts (under 10) and years left out.
fn numbers(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut figure = String::new();
        while i < chars.len() {
            let c = chars[i];
            let joins = matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}')
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && !figure.is_empty();
            if c.is_ascii_digit() {
                figure.push(c);
            } else if joins {
                if matches!(c, ',' | '.') {
                    figure.push(',');
                }
            } else {
                break;
            }
            i += 1;
        }
        let year = figure.len() == 4
            && (figure.starts_with("19") || figure.starts_with("20"))
            && !figure.contains(',');
        let small = figure.len() == 1;
        if !year && !small {
            out.insert(figure);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DEFAULT_THRESHOLD, fingerprint};

    const BODY_A: &str = "Le conseil départemental a voté jeudi une aide de 2,5 millions d'euros. « Nous n'avons jamais vu autant de familles monoparentales », explique Marie Dupont, présidente du Secours Populaire de Toulouse. Les demandes ont augmenté de 37 % depuis 2024.";
    const BODY_B: &str = "Jeudi, les élus ont adopté une enveloppe de 2,5 millions d'euros. Pour Marie Dupont, du Secours Populaire, « nous n'avons jamais vu autant de familles monoparentales ». Les demandes ont bondi de 37 %.";
    const BODY_OTHER: &str = "La mairie a présenté son budget. « Les impôts locaux ne bougeront pas cette année », a assuré Jean Martin, adjoint aux finances, devant 45 élus.";

    #[test]
    fn evidence_reads_quotes_names_and_figures() {
        let e = BodyEvidence::of(BODY_A);
        assert!(
            e.quotes
                .contains("nous n avons jamais vu autant de familles monoparentales")
        );
        assert!(e.names.contains("marie dupont"), "{:?}", e.names);
        assert!(
            e.names.contains("secours populaire de toulouse")
                || e.names.contains("secours populaire"),
            "{:?}",
            e.names
        );
        // The sentence's first word is no name; a year and a lone digit are no figures.
        assert!(!e.names.iter().any(|n| n.starts_with("le conseil")));
        assert!(
            e.numbers.contains("2,5") && e.numbers.contains("37"),
            "{:?}",
            e.numbers
        );
        assert!(!e.numbers.contains("2024"));
        assert!(BodyEvidence::of("").is_empty());
        assert!(BodyEvidence::of("« Court. »").quotes.is_empty());
    }

    #[test]
    fn shared_evidence_adds_a_capped_bonus() {
        let (a, b, other) = (
            BodyEvidence::of(BODY_A),
            BodyEvidence::of(BODY_B),
            BodyEvidence::of(BODY_OTHER),
        );
        // The quotation, "marie dupont", "2,5" and "37" at least.
        assert!(a.shared(&b) >= 4, "{}", a.shared(&b));
        assert_eq!(a.shared(&other), 0);
        assert_eq!(body_bonus(0.45, &a, &b), BODY_EVIDENCE_CAP);
        assert_eq!(body_bonus(0.45, &a, &other), 0.0);
        // Bodies alone found nothing.
        assert_eq!(body_bonus(0.1, &a, &b), 0.0);
    }

    #[test]
    fn bodies_tip_a_close_pair_over_the_threshold() {
        let x = fingerprint(
            "Toulouse : le département vote une aide aux associations d'aide alimentaire",
            "",
        );
        let y = fingerprint(
            "Aide alimentaire : 2,5 millions d'euros pour les associations",
            "",
        );
        let base = compare(&x, &y).similarity;
        assert!(
            (BODY_EVIDENCE_FLOOR..DEFAULT_THRESHOLD).contains(&base),
            "pair to adjust: {base}"
        );
        let (a, b) = (BodyEvidence::of(BODY_A), BodyEvidence::of(BODY_B));
        assert!(similarity_with_bodies(&x, &y, &a, &b) >= DEFAULT_THRESHOLD);
        // Unrelated bodies leave it where it was.
        let other = BodyEvidence::of(BODY_OTHER);
        assert_eq!(similarity_with_bodies(&x, &y, &a, &other), base);
    }

    #[test]
    fn bodies_never_override_a_slot_veto() {
        let x = fingerprint("Alerte orange aux orages dans le Gers", "");
        let y = fingerprint("Alerte orange aux orages dans le Tarn", "");
        assert!(slots::conflict(x.slots(), y.slots()).is_some());
        let a = BodyEvidence::of(BODY_A);
        let base = compare(&x, &y).similarity;
        assert_eq!(similarity_with_bodies(&x, &y, &a, &a), base);
        assert!(similarity_with_bodies(&x, &y, &a, &a) < DEFAULT_THRESHOLD);
    }
}
