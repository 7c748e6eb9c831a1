//! A plain reference for [`StoryIndex`]: every article of the window compared with the query,
//! no postings, no bounds. The index must give the same stories and scores on any input; the
//! property test below feeds both random headlines built to share words, names and numbers.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::analyse::Class;
use super::fingerprint::{Fingerprint, fingerprint, follows, similarity};
use super::{DEFAULT_THRESHOLD, LINK_THRESHOLD, StoryIndex};

/// The stems an article is found by: its words, names and numbers, or every stem of a text
/// that has none of them (the index's postings).
fn lookup_stems(fp: &Fingerprint) -> Vec<u64> {
    let is_key = |c: Class| matches!(c, Class::Word | Class::Entity | Class::Number);
    let any_key = fp.tokens().iter().any(|t| is_key(t.class));
    fp.tokens()
        .iter()
        .filter(|t| !any_key || is_key(t.class))
        .map(|t| t.hash)
        .collect()
}

struct Reference {
    window: Duration,
    threshold: f64,
    entries: Vec<(i64, DateTime<Utc>, Fingerprint)>,
}

impl Reference {
    /// The best-scoring article sharing a lookup stem, within the window (and before `at` with
    /// `earlier_only`); ties go to the most recently inserted.
    fn scan(
        &self,
        fp: &Fingerprint,
        at: DateTime<Utc>,
        earlier_only: bool,
        score: impl Fn(&Fingerprint, &Fingerprint) -> Option<f64>,
    ) -> Option<(i64, f64)> {
        let mine = lookup_stems(fp);
        let mut best: Option<(i64, f64)> = None;
        for (story, when, other) in &self.entries {
            if (*when - at).abs() > self.window || (earlier_only && *when > at) {
                continue;
            }
            if !lookup_stems(other).iter().any(|h| mine.contains(h)) {
                continue;
            }
            if let Some(s) = score(fp, other)
                && best.is_none_or(|(_, b)| s >= b)
            {
                best = Some((*story, s));
            }
        }
        best
    }

    fn best(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<(i64, f64)> {
        self.scan(fp, at, false, |a, b| {
            Some(similarity(a, b)).filter(|&s| s >= self.threshold)
        })
    }

    fn running(&self, fp: &Fingerprint, at: DateTime<Utc>) -> Option<(i64, f64)> {
        self.scan(fp, at, true, |a, b| {
            follows(a, b, self.threshold).filter(|&s| s >= LINK_THRESHOLD)
        })
    }
}

/// Headline parts: a few stories told in several ways, names and numbers that make
/// look-alikes, and words that many share.
const TOPICS: &[&str] = &[
    "Alerte orange aux orages dans le",
    "Canicule : vigilance rouge pour",
    "Meurtre à Albi : le suspect interpellé",
    "Inondations : la préfecture déclenche le plan Orsec dans",
    "Retraites : l'intersyndicale appelle à manifester à",
    "Rugby : le Stade toulousain s'impose face à",
    "Soldes : un téléviseur à moins de 350 euros chez",
    "Le pont Vieux fermé pour travaux à",
    "Quel temps fera-t-il à",
    "Les bons plans du week-end à",
];
const PLACES: &[&str] = &[
    "Gers",
    "Tarn",
    "Aude",
    "Hérault",
    "Montauban",
    "Toulouse",
    "Albi",
    "Castres",
];
const TAILS: &[&str] = &[
    "",
    "jeudi",
    "mardi 25 juin",
    "les écoles fermées",
    "deux morts",
    "selon Météo-France",
    "VIDEO",
    "- LCI",
];
const LEDES: &[&str] = &[
    "",
    "La préfecture a décidé de fermer les écoles jeudi.",
    "Le bilan s'alourdit : plus de 3 000 foyers privés de courant selon Enedis.",
    "Les travaux de rénovation débutent lundi.",
];

fn article(parts: (usize, usize, usize, usize, u8)) -> Fingerprint {
    let (topic, place, tail, lede, number) = parts;
    let mut title = format!("{} {}", TOPICS[topic], PLACES[place]);
    if !TAILS[tail].is_empty() {
        title = format!("{title} {}", TAILS[tail]);
    }
    if number > 0 {
        title = format!("{title} ({number})");
    }
    fingerprint(&title, LEDES[lede])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn index_agrees_with_the_plain_reference(
        articles in prop::collection::vec(
            (
                (0..TOPICS.len(), 0..PLACES.len(), 0..TAILS.len(), 0..LEDES.len(), 0u8..4),
                0i64..40 * 24,
                prop::bool::weighted(0.1),
            ),
            1..120,
        )
    ) {
        let window = Duration::days(3);
        let mut index = StoryIndex::new(window, DEFAULT_THRESHOLD);
        let mut reference = Reference { window, threshold: DEFAULT_THRESHOLD, entries: Vec::new() };
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let mut next = 0;
        for (n, (parts, hours, evict)) in articles.into_iter().enumerate() {
            let fp = article(parts);
            // Mostly in date order, with some articles arriving late.
            let at = start + Duration::hours(hours / 4 + n as i64 * 3);
            let best = index.best(&fp, at);
            prop_assert_eq!(best, reference.best(&fp, at), "article {}", n);
            prop_assert_eq!(index.find(&fp, at), best.map(|(s, _)| s));
            prop_assert_eq!(index.running(&fp, at), reference.running(&fp, at), "article {}", n);
            let story = best.map_or_else(|| { next += 1; next }, |(s, _)| s);
            index.insert(story, at, fp.clone());
            reference.entries.push((story, at, fp));
            if evict {
                let cutoff = at - window;
                index.evict_before(cutoff);
                // The index drops from the oldest inserted while they are older than the cutoff.
                let keep = reference.entries.iter().position(|e| e.1 >= cutoff);
                reference.entries.drain(..keep.unwrap_or(reference.entries.len()));
            }
            prop_assert_eq!(index.len(), reference.entries.len());
        }
    }
}
