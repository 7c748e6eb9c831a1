//! Turns fetched bytes into normalised article candidates: feeds (feed-rs) and listing pages
//! (scraper), with charset decisions, dates, sanitised summaries, canonical URLs and language.

pub(crate) mod charset;
pub(crate) mod dates;
pub(crate) mod feed;
pub(crate) mod page;
pub(crate) mod repair;
pub(crate) mod sanitize;
pub(crate) mod url;

pub use feed::{ParsedFeed, parse_feed};
pub use page::parse_page;

/// Why a document could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IngestError {
    /// Not a feed, or one too broken to repair (also: a page whose items have no title or link); the French reason.
    #[error("flux illisible : {0}")]
    Feed(String),
    /// A page source's `item` selector (carried) matched no element.
    #[error("0 élément : `{0}` ne correspond à rien dans la page")]
    NothingMatched(String),
}

/// Bytes of an item's title and summary that language detection reads. Trigram counting is
/// linear in the text, and a feed that puts whole articles in `content:encoded` made detection
/// the largest part of parsing it; the start of a text says its language as well as the rest.
/// Chosen by measuring, on every item of the real-world fixture feeds, how often detection on
/// the prefix agrees with detection on the whole text (`tests::language_prefix_agrees`): over
/// 313 items, 512 bytes agree on all, 256 and 384 on 99.0 %, 128 on 95.2 %. 256 rather than
/// 512 cut detection's share of parsing from 29 % to 21–24 % (perf, two runs of `benches/parse.rs`) and
/// changed none of the 419 items that `examples/parse_dump.rs` reads in all the fixture
/// feeds (detection only runs where no language is declared), nor the language of any of
/// the 539 labelled French titles and summaries (`tests::language_prefix_on_french_labels`).
pub const LANGUAGE_PREFIX_BYTES: usize = 256;

/// The language of an item when neither it nor its feed says it: detection on the start of
/// `title. summary` only ([`LANGUAGE_PREFIX_BYTES`]).
pub fn detect_item_language(title: &str, summary: &str) -> Option<String> {
    detect_language(&language_sample(title, summary, LANGUAGE_PREFIX_BYTES))
}

/// `title. summary`, cut to about `max` bytes at a character boundary (a word cut in half
/// costs one trigram, not worth a search for a space).
fn language_sample(title: &str, summary: &str, max: usize) -> String {
    let mut sample = String::with_capacity(max.min(title.len() + 2 + summary.len()) + 4);
    for part in [title, ". ", summary] {
        let room = max.saturating_sub(sample.len());
        if part.len() <= room {
            sample.push_str(part);
        } else {
            let mut end = room;
            while !part.is_char_boundary(end) {
                end -= 1;
            }
            sample.push_str(&part[..end]);
            break;
        }
    }
    sample
}

/// The language of a text when the source does not say it: ISO 639-1, only when reliable.
pub(crate) fn detect_language(text: &str) -> Option<String> {
    // The sources are French, with some English and neighbours' languages: a short allow-list
    // keeps detection fast (it runs on every item of a feed that does not declare its language).
    static DETECTOR: std::sync::LazyLock<whatlang::Detector> = std::sync::LazyLock::new(|| {
        use whatlang::Lang::*;
        whatlang::Detector::with_allowlist(vec![Fra, Eng, Spa, Deu, Ita, Por, Cat, Ara, Rus, Nld])
    });
    let info = DETECTOR.detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    Some(
        match info.lang() {
            whatlang::Lang::Fra => "fr",
            whatlang::Lang::Eng => "en",
            whatlang::Lang::Spa => "es",
            whatlang::Lang::Deu => "de",
            whatlang::Lang::Ita => "it",
            whatlang::Lang::Por => "pt",
            whatlang::Lang::Cat => "ca",
            whatlang::Lang::Ara => "ar",
            whatlang::Lang::Rus => "ru",
            other => return Some(other.code().to_string()),
        }
        .to_string(),
    )
}

/// Normalises a language tag given by a feed (`fr-FR`, `FR`) to its primary subtag.
pub(crate) fn normalize_language(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() >= 2 && primary.len() <= 3 && primary.chars().all(|c| c.is_ascii_alphabetic()))
        .then_some(primary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_sample_cuts_at_a_character_boundary() {
        assert_eq!(language_sample("Été", "chaud", 100), "Été. chaud");
        assert_eq!(language_sample("Été", "chaud", 3), "Ét");
        assert_eq!(language_sample("Titre", "éèà", 9), "Titre. é");
        assert_eq!(
            detect_item_language(
                "Le gouvernement annonce un plan",
                "pour les quartiers prioritaires de la ville"
            )
            .as_deref(),
            Some("fr")
        );
    }

    /// French detection on the labelled French rows of `../shared/fixtures/eval` (every row is
    /// French: titles, and summaries where given), for each prefix length: how many rows each
    /// length reads as French, and how many change language against [`LANGUAGE_PREFIX_BYTES`]
    /// (`cargo test --lib language_prefix_on_french -- --nocapture`).
    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn language_prefix_on_french_labels() {
        let eval = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/eval");
        let mut rows: Vec<(String, String)> = Vec::new();
        for (file, pairs) in [
            ("dossier-labels-fr.tsv", false),
            ("dedup-pairs-fr.tsv", true),
        ] {
            let text = std::fs::read_to_string(eval.join(file)).expect("labelled rows");
            for line in text.lines().skip(1) {
                let cols: Vec<&str> = line.split('\t').collect();
                let get = |i: usize| cols.get(i).copied().unwrap_or("").to_string();
                rows.push((get(1), get(2)));
                if pairs {
                    rows.push((get(3), get(4)));
                }
            }
        }
        assert!(rows.len() > 400, "{} rows only", rows.len());
        let detect = |max: usize| -> Vec<Option<String>> {
            rows.iter()
                .map(|(t, s)| detect_language(&language_sample(t, s, max)))
                .collect()
        };
        let chosen = detect(LANGUAGE_PREFIX_BYTES);
        let french =
            |langs: &[Option<String>]| langs.iter().filter(|l| l.as_deref() == Some("fr")).count();
        let undecided = |langs: &[Option<String>]| langs.iter().filter(|l| l.is_none()).count();
        for max in [128, 192, 256, 384, 512, 1024] {
            let langs = detect(max);
            let changed = langs.iter().zip(&chosen).filter(|(a, b)| a != b).count();
            println!(
                "prefix {max:>4} bytes: {} of {} rows read as French, {} not reliable, {changed} differ from {LANGUAGE_PREFIX_BYTES} bytes",
                french(&langs),
                rows.len(),
                undecided(&langs)
            );
        }
        // Short titles are often not reliable (no language given, which is no mistake); a
        // reliable answer that is not French is one.
        let wrong = rows.len() - french(&chosen) - undecided(&chosen);
        assert!(
            french(&chosen) * 2 >= rows.len() && wrong * 100 <= rows.len(),
            "{} of {} rows read as French, {wrong} as another language",
            french(&chosen),
            rows.len()
        );
    }

    /// How often detection on the first `max` bytes agrees with detection on the whole
    /// `title. summary`, over every item of the real-world fixture feeds (declared language or
    /// not: more texts to compare). Prints the table that chose [`LANGUAGE_PREFIX_BYTES`]
    /// (`cargo test --lib language_prefix -- --nocapture`).
    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn language_prefix_agrees() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/feeds/realworld");
        let mut texts = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("realworld fixtures") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("xml" | "atom")
                ) {
                    let bytes = std::fs::read(&path).expect("fixture");
                    let now = chrono::Utc::now();
                    if let Ok(feed) = parse_feed(&bytes, None, "http://example.com/", now) {
                        texts.extend(feed.items.into_iter().map(|i| (i.title, i.summary_text)));
                    }
                }
            }
        }
        assert!(texts.len() > 250, "{} items only", texts.len());
        let full: Vec<Option<String>> = texts
            .iter()
            .map(|(t, s)| detect_language(&format!("{t}. {s}")))
            .collect();
        let detected = full.iter().filter(|l| l.is_some()).count();
        println!(
            "{} items, {detected} with a reliable language on the whole text",
            texts.len()
        );
        let mut chosen = None;
        for max in [64, 128, 192, 256, 384, 512, 1024] {
            let (mut same, mut lost, mut other) = (0, 0, 0);
            for ((t, s), whole) in texts.iter().zip(&full) {
                let prefix = detect_language(&language_sample(t, s, max));
                match (&prefix, whole) {
                    _ if prefix == *whole => same += 1,
                    (None, Some(_)) => lost += 1,
                    _ => other += 1,
                }
            }
            let rate = same as f64 / texts.len() as f64;
            println!(
                "prefix {max:>4} bytes: agreement {:.2} %, {lost} undetected, {other} other language or newly detected",
                100.0 * rate
            );
            if max == LANGUAGE_PREFIX_BYTES {
                chosen = Some((rate, other));
            }
        }
        let (rate, other) = chosen.expect("LANGUAGE_PREFIX_BYTES is in the table");
        assert!(rate >= 0.99, "agreement {rate:.4} below 99 %");
        assert!(
            other as f64 <= 0.01 * texts.len() as f64,
            "{other} items change language"
        );
    }
}
