//! Territory tags: the thirteen départements of Occitanie, found through their names, their
//! numbers in the unambiguous form `(31)`, the people's names (`toulousain`, `aveyronnais`),
//! the towns and priority neighbourhoods of the shared gazetteer (`places`: the communes it
//! flags `territoire`, `gazetteer.py` says how they were chosen; `Grand Garros` → gers) and
//! a few pays (`Comminges`).
//!
//! Matching runs on folded words (`text::folded_words`: lowercase, no accents, stop words
//! kept), so `Nimes` finds `Nîmes` and a name is a whole-word phrase (`gard` never matches
//! `garde`). It is conservative, because a wrong département on an article is worse than a
//! missing one:
//! - a place name must be capitalised in the text (`Lot` the place, not `un lot de`);
//! - the longest name wins and consumes its words (`Tarn-et-Garonne` gives only
//!   tarn-et-garonne, `Lot-et-Garonne` gives nothing);
//! - a name glued by a hyphen to a lowercase word is part of another name
//!   (`Villemur-sur-Tarn` is not the Tarn; `Cuxac-d'Aude` is a commune of its own);
//! - a river-département after `sur` is a river (`Villeneuve sur Lot`);
//! - `Aude` followed by a capitalised word is a first name (`Aude Lancelin`);
//! - names that are also common words (`Lot`, `Lourdes`, `Muret`…) are not read at the very
//!   start of a title unless punctuation follows (`Lourdes : …`, not `Lourdes peines…`).

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use crate::places::{self, Level};
use crate::text;

/// The départements of Occitanie: code, slug, name.
pub(crate) const DEPARTEMENTS: [(&str, &str, &str); 13] = [
    ("09", "ariege", "Ariège"),
    ("11", "aude", "Aude"),
    ("12", "aveyron", "Aveyron"),
    ("30", "gard", "Gard"),
    ("31", "haute-garonne", "Haute-Garonne"),
    ("32", "gers", "Gers"),
    ("34", "herault", "Hérault"),
    ("46", "lot", "Lot"),
    ("48", "lozere", "Lozère"),
    ("65", "hautes-pyrenees", "Hautes-Pyrénées"),
    ("66", "pyrenees-orientales", "Pyrénées-Orientales"),
    ("81", "tarn", "Tarn"),
    ("82", "tarn-et-garonne", "Tarn-et-Garonne"),
];

/// People of a département or of its main towns; matched in lowercase too (`la police
/// toulousaine`), with the feminine and plural endings.
const DEMONYMS: [(&str, &str); 28] = [
    ("ariegeois", "09"),
    ("audois", "11"),
    ("carcassonnais", "11"),
    ("narbonnais", "11"),
    ("aveyronnais", "12"),
    ("ruthenois", "12"),
    ("millavois", "12"),
    ("gardois", "30"),
    ("nimois", "30"),
    ("alesien", "30"),
    ("haut garonnais", "31"),
    ("toulousain", "31"),
    ("gersois", "32"),
    ("auscitain", "32"),
    ("heraultais", "34"),
    ("montpellierain", "34"),
    ("biterrois", "34"),
    ("setois", "34"),
    ("lotois", "46"),
    ("cadurcien", "46"),
    ("lozerien", "48"),
    ("tarbais", "65"),
    ("perpignanais", "66"),
    ("tarnais", "81"),
    ("albigeois", "81"),
    ("castrais", "81"),
    ("tarn et garonnais", "82"),
    ("montalbanais", "82"),
];

/// Pays of the research notes, and a QPV whose name is also a word; the distinctive QPV
/// names come from the shared gazetteer (`places`).
const PAYS: [(&str, &str); 5] = [
    ("Comminges", "31"),
    ("Ophite", "65"),
    ("Bigorre", "65"),
    ("Couserans", "09"),
    ("Rouergue", "12"),
];

/// Compound names that contain a département's name but are elsewhere.
const ELSEWHERE: [&str; 3] = [
    "Lot-et-Garonne",
    "Pyrénées-Atlantiques",
    "Villeneuve-sur-Lot",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A town or neighbourhood: capitalised.
    Place,
    /// Also a common word: capitalised, and not first in a title unless punctuation follows.
    Strict,
    /// A département named after its river: not after `sur`.
    River,
    /// `Lot`: a river and a common word (`lot de`).
    Lot,
    /// `Aude`: a river and a first name.
    Aude,
    /// A people's name: any case.
    Demonym,
    /// A name elsewhere that hides a shorter one; gives nothing.
    Elsewhere,
}

#[derive(Debug, Clone)]
struct Name {
    words: Vec<String>,
    slug: &'static str,
    kind: Kind,
}

/// Names indexed by their first folded word, longest first.
struct Gazetteer {
    by_first: HashMap<String, Vec<Name>>,
}

fn slug_of(code: &str) -> Option<&'static str> {
    DEPARTEMENTS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, slug, _)| *slug)
}

fn folded(name: &str) -> Vec<String> {
    text::folded_words(name)
        .into_iter()
        .map(|w| w.text)
        .collect()
}

fn gazetteer() -> &'static Gazetteer {
    static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();
    GAZETTEER.get_or_init(|| {
        let mut names = Vec::new();
        let mut add = |name: &str, slug: &'static str, kind: Kind| {
            let words = folded(name);
            if !words.is_empty() {
                names.push(Name { words, slug, kind });
            }
        };
        for (_, slug, name) in DEPARTEMENTS {
            let kind = match slug {
                "lot" => Kind::Lot,
                "aude" => Kind::Aude,
                "ariege" | "aveyron" | "gard" | "gers" | "herault" | "tarn" => Kind::River,
                _ => Kind::Place,
            };
            add(name, slug, kind);
        }
        for (stem, code) in DEMONYMS {
            let slug = slug_of(code).expect("known code");
            // Feminine and plural: -ais/-ois take -e, -es; -ien takes -ne, -nes, -s; -ain -e, -s.
            let endings: &[&str] = if stem.ends_with("ien") {
                &["", "s", "ne", "nes"]
            } else if stem.ends_with('s') {
                &["", "e", "es"]
            } else {
                &["", "s", "e", "es"]
            };
            for ending in endings {
                add(&format!("{stem}{ending}"), slug, Kind::Demonym);
            }
        }
        for (name, code) in PAYS {
            add(name, slug_of(code).expect("known code"), Kind::Place);
        }
        for place in places::all() {
            let Some(slug) = slug_of(place.departement) else {
                continue;
            };
            match place.level {
                Level::Quartier if !place.word => add(place.name, slug, Kind::Place),
                Level::Commune if place.territory => add(
                    place.name,
                    slug,
                    if place.strict {
                        Kind::Strict
                    } else {
                        Kind::Place
                    },
                ),
                _ => {}
            }
        }
        for name in ELSEWHERE {
            add(name, "", Kind::Elsewhere);
        }
        let mut by_first: HashMap<String, Vec<Name>> = HashMap::new();
        for name in names {
            by_first
                .entry(name.words[0].clone())
                .or_default()
                .push(name);
        }
        for list in by_first.values_mut() {
            // Longest first; among equals, the hand-written tables (added first) win.
            list.sort_by_key(|n| std::cmp::Reverse(n.words.len()));
        }
        Gazetteer { by_first }
    })
}

/// `St-Gaudens` and `Ste-Marie` are written short in headlines.
fn normalise(word: &str) -> &str {
    match word {
        "st" => "saint",
        "ste" => "sainte",
        other => other,
    }
}

/// The départements a text names, as slugs, sorted.
#[cfg(test)]
pub(crate) fn find(text: &str) -> BTreeSet<&'static str> {
    let mut found = BTreeSet::new();
    find_into(text, &mut found);
    found
}

/// Adds the départements a text names to `found`.
pub(super) fn find_into(text: &str, found: &mut BTreeSet<&'static str>) {
    numbers(text, found);
    let words = text::folded_words(text);
    let gazetteer = gazetteer();
    let mut i = 0;
    while i < words.len() {
        let first = normalise(&words[i].text);
        let matched = gazetteer.by_first.get(first).and_then(|names| {
            names.iter().find(|name| {
                name.words.len() <= words.len() - i
                    && name
                        .words
                        .iter()
                        .zip(&words[i..])
                        .all(|(n, w)| n == normalise(&w.text))
            })
        });
        let Some(name) = matched else {
            i += 1;
            continue;
        };
        let last = i + name.words.len() - 1;
        if name.kind == Kind::Elsewhere {
            i = last + 1;
            continue;
        }
        if accept(text, &words, i, last, name.kind) {
            found.insert(name.slug);
            i = last + 1;
        } else {
            i += 1;
        }
    }
}

/// `(31)`, `(09)`: a département number in parentheses, the form local papers use.
fn numbers(text: &str, found: &mut BTreeSet<&'static str>) {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('(') {
        if let Some(number) = bytes.get(i + 1..i + 4)
            && number[0].is_ascii_digit()
            && number[1].is_ascii_digit()
            && number[2] == b')'
            && let Some(slug) = slug_of(&text[i + 1..i + 3])
        {
            found.insert(slug);
        }
    }
}

fn capitalised(text: &str, word: &text::Word) -> bool {
    text[word.start..]
        .chars()
        .next()
        .is_some_and(char::is_uppercase)
}

/// The characters between two words.
fn between<'t>(text: &'t str, words: &[text::Word], before: usize) -> &'t str {
    &text[words[before].end..words[before + 1].start]
}

fn accept(text: &str, words: &[text::Word], first: usize, last: usize, kind: Kind) -> bool {
    if kind != Kind::Demonym && !capitalised(text, &words[first]) {
        return false;
    }
    // Glued by a hyphen to a lowercase word: part of a longer name (`Villemur-sur-Tarn`,
    // `Cuxac-d'Aude`); glued to a capitalised one it is a pair of places (`Toulouse-Blagnac`).
    if first > 0 {
        let sep = between(text, words, first - 1);
        let glued_elision = matches!(words[first - 1].text.as_str(), "d" | "l")
            && matches!(sep, "'" | "’")
            && first > 1
            && between(text, words, first - 2) == "-";
        if glued_elision || (sep == "-" && !capitalised(text, &words[first - 1])) {
            return false;
        }
    }
    if last + 1 < words.len()
        && between(text, words, last) == "-"
        && !capitalised(text, &words[last + 1])
    {
        return false;
    }
    let previous = first.checked_sub(1).map(|p| words[p].text.as_str());
    let next = words.get(last + 1).map(|w| w.text.as_str());
    match kind {
        Kind::River | Kind::Lot | Kind::Aude if previous == Some("sur") => false,
        Kind::Lot if matches!(next, Some("de" | "d" | "des" | "du")) => false,
        Kind::Aude
            if last + 1 < words.len()
                && between(text, words, last) == " "
                && capitalised(text, &words[last + 1]) =>
        {
            false
        }
        Kind::Strict | Kind::Lot | Kind::Aude if first == 0 => {
            // First word of the field: a place only when punctuation follows (`Lot : …`).
            let rest = text[words[last].end..].trim_start();
            rest.is_empty() || rest.starts_with([':', '.', ',', ';', '!', '?', '–', '—', '-', '('])
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slugs(text: &str) -> Vec<&'static str> {
        find(text).into_iter().collect()
    }

    #[test]
    fn departements_towns_and_neighbourhoods() {
        assert_eq!(slugs("Toulouse : un nouveau tram"), ["haute-garonne"]);
        assert_eq!(slugs("Rénovation du Grand Garros à Auch"), ["gers"]);
        assert_eq!(slugs("Incendie en Haute-Garonne"), ["haute-garonne"]);
        assert_eq!(slugs("Saint-Gaudens. La foire"), ["haute-garonne"]);
        assert_eq!(slugs("St-Gaudens : la foire"), ["haute-garonne"]);
        assert_eq!(slugs("Beziers et Nimes sans accents"), ["gard", "herault"]);
        assert_eq!(
            slugs("Un habitant de Léguevin (31) gagne"),
            ["haute-garonne"]
        );
        assert_eq!(
            slugs("Les Toulousains et la police toulousaine"),
            ["haute-garonne"]
        );
        assert_eq!(slugs("La Reynerie et Empalot"), ["haute-garonne"]);
        assert_eq!(slugs("dans le Lot, à Cahors"), ["lot"]);
        assert_eq!(slugs("Lot : la crue"), ["lot"]);
        assert_eq!(slugs("dans l'Aude et l’Ariège"), ["ariege", "aude"]);
        assert_eq!(slugs("Aéroport Toulouse-Blagnac"), ["haute-garonne"]);
        assert_eq!(slugs("Lourdes : les pèlerins"), ["hautes-pyrenees"]);
    }

    #[test]
    fn traps() {
        // Common nouns and other words.
        assert!(slugs("Un lot de consolation pour le gagnant").is_empty());
        assert!(slugs("Lot de trois maillots à gagner").is_empty());
        assert!(slugs("La garde à vue prolongée").is_empty());
        assert!(slugs("Lourdes peines pour les trafiquants").is_empty());
        assert!(slugs("de lourdes peines").is_empty());
        assert!(slugs("Le muret s'effondre").is_empty());
        // Tarn inside Tarn-et-Garonne; Lot inside Lot-et-Garonne, Villeneuve-sur-Lot.
        assert_eq!(slugs("Montech (Tarn-et-Garonne)"), ["tarn-et-garonne"]);
        assert_eq!(
            slugs("en Tarn-et-Garonne et dans le Tarn"),
            ["tarn", "tarn-et-garonne"]
        );
        assert!(slugs("Agen, Lot-et-Garonne").is_empty());
        assert!(slugs("à Villeneuve-sur-Lot").is_empty());
        assert!(slugs("Villeneuve sur Lot").is_empty());
        // A river in another town's name.
        assert_eq!(
            slugs("Villemur-sur-Tarn. Fermeture du parking"),
            ["haute-garonne"]
        );
        assert!(slugs("Bessières-sur-Tarn imaginaire").is_empty());
        // A first name.
        assert!(slugs("Aude Lancelin publie un livre").is_empty());
        assert_eq!(slugs("Aude : alerte orange"), ["aude"]);
        // Elsewhere in France, abroad, or not a place.
        assert!(slugs("La fin des trottinettes à Montréal").is_empty());
        assert!(slugs("Valence : un incendie").is_empty());
        assert!(slugs("Le Ségur de la santé").is_empty());
        assert!(slugs("Les Pyrénées-Atlantiques").is_empty());
        assert!(slugs("Saint-Gilles-Croix-de-Vie en Vendée").is_empty());
        // German `auch`, and a number that is not a département.
        assert!(slugs("Das ist auch gut").is_empty());
        assert!(slugs("Il a 31 ans (31 ans)").is_empty());
    }
}
