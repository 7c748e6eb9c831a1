//! Named slots of a headline: the people (`Mike Pompeo`), the organisations (`SNCF`, `Conseil
//! constitutionnel`) and, in a team sport's headline, the teams (`Carcassonne XIII`, `Stade
//! toulousain`, `contre le Connacht`). Two headlines naming different people, organisations or
//! teams of one type report different events ("Les vœux de Gérard Pérochon" / "… de François
//! Audoux"; "Ferrals" / "Carcassonne XIII").
//!
//! Names are read from capitals, so the rules lean towards finding too few: a name is only
//! compared with the names of the same type on the other side, and any single capitalised word
//! of the other title that matches it (`Thomas` for `Benjamin Thomas`) is an agreement, so a
//! word read as a name by mistake rarely makes a disagreement alone.

use std::sync::LazyLock;

use foldhash::HashSet;

use crate::places::{Level, Mention};
use crate::text::Word;

use super::analyse::word_set;

use super::slots::Slot;

/// Function words that a capitalised headline may start with before a name ("Quand Elisabeth
/// Borne…", "Les Bleus"): dropped from the front of a run of capitalised words.
#[rustfmt::skip]
const FUNCTION_WORDS: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "en", "et", "ou",
    "a", "ce", "cette", "ces", "son", "sa", "ses", "leur", "leurs", "pour", "dans", "sur", "avec",
    "par", "qui", "que", "quoi", "quand", "comment", "pourquoi", "quel", "quelle", "quels",
    "quelles", "nos", "notre", "vos", "votre", "mon", "ma", "mes", "il", "elle", "ils", "elles",
    "on", "nous", "je", "tu", "y", "ne", "pas", "plus", "tout", "tous", "toute", "toutes", "chez",
    "selon", "apres", "avant", "face", "contre", "depuis", "entre", "vers", "sans", "sous",
];

/// Capitalised headline words that are not a person's: a run of capitals holding one is a
/// place, an event or a rubric ("Maison Blanche", "Coupe Lord Derby", "Six Nations").
#[rustfmt::skip]
const NOT_PERSON: &[&str] = &[
    "maison", "coupe", "tour", "grand", "grande", "prix", "mont", "place", "rue", "avenue",
    "boulevard", "parc", "palais", "conseil", "mairie", "ville", "jeux", "championnat", "ligue",
    "top", "soldes", "meteo", "canicule", "video", "photos", "photo", "carte", "direct", "info",
    "infos", "exclusif", "urgent", "bon", "bons", "plan", "plans", "nouveau", "nouvelle", "etats",
    "unis", "union", "europe", "republique", "assemblee", "senat", "cour", "saint", "sainte",
    "dame", "nord", "sud", "est", "ouest", "centre", "haute", "haut", "hauts", "hautes", "bas",
    "basse", "val", "pays", "ile", "iles", "rugby", "football", "foot", "handball", "basket",
    "cyclisme", "tennis", "sport", "sports", "municipales", "elections", "bac", "noel", "paques",
    "toussaint", "covid", "coronavirus", "black", "friday", "premier", "premiere", "dernier",
    "derniere", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "cent",
    "mille", "nations", "tournoi", "festival", "salon", "fete", "marche", "journee", "semaine",
];

/// Capitalised words that open an organisation's name with the word after them.
#[rustfmt::skip]
const ORG_HEADS: &[&str] = &[
    "conseil", "mairie", "universite", "association", "parti", "syndicat", "federation", "banque",
    "groupe", "credit", "caisse", "collectif", "compagnie", "societe", "cour", "tribunal",
    "assemblee", "senat", "ministere", "agence", "institut", "fondation", "office", "chambre",
];

/// Capitals that are not an organisation's acronym: headline boilerplate and roman numerals
/// of rugby league and union ("XIII", "XV").
#[rustfmt::skip]
const NOT_ACRONYM: &[&str] = &[
    "video", "videos", "photo", "photos", "carte", "cartes", "direct", "live", "info", "infos",
    "exclusif", "exclu", "urgent", "top", "ok", "tv", "replay", "podcast", "interview",
    "alerte", "breaking", "news", "edito", "tribune", "diaporama", "infographie", "euro", "eur",
];

/// Words that make a headline about a team sport, where clubs are named by their town.
#[rustfmt::skip]
const TEAM_SPORTS: &[&str] = &[
    "rugby", "football", "foot", "handball", "hand", "basket", "basketball", "volley",
    "volleyball", "hockey", "xiii", "xv", "ligue", "top", "federale", "nationale", "match",
    "derby", "water", "polo",
];

/// Words of a club's name that are not its identity ("Stade", "XIII", "RC"), and the names of
/// competitions, which two matches share.
#[rustfmt::skip]
const NOT_TEAM: &[&str] = &[
    "stade", "xiii", "xv", "rc", "fc", "as", "us", "sc", "ac", "es", "su", "ca", "sa", "aj",
    "hb", "hbc", "club", "olympique", "sporting", "union", "coupe", "europe", "championnat",
    "ligue", "top", "pro", "d2", "federale", "nationale", "six", "nations", "tournoi", "mondial",
    "monde", "france", "elite", "finale", "match", "rugby", "football", "foot", "handball",
    "hand", "basket", "lord", "derby", "champions", "challenge", "trophee", "jeux", "gala",
];

static FUNCTION: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(FUNCTION_WORDS));
static NOT_PERSON_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(NOT_PERSON));
static ORG_HEAD_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(ORG_HEADS));
static NOT_ACRONYM_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(NOT_ACRONYM));
static TEAM_SPORT_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(TEAM_SPORTS));
static NOT_TEAM_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(NOT_TEAM));

/// One word or hyphenated compound of the title.
struct Group {
    key: String,
    start: usize,
    end: usize,
    case: Case,
    /// Part of a place mention.
    place: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Lower,
    /// `Pompeo`, `Jean-Marie`.
    Title,
    /// `SNCF`, `XIII`.
    Upper,
}

fn case_of(text: &str) -> Case {
    let letters = || text.chars().filter(|c| c.is_alphabetic());
    match text.chars().next() {
        Some(c) if c.is_uppercase() => {
            if letters().count() >= 2 && letters().all(char::is_uppercase) {
                Case::Upper
            } else {
                Case::Title
            }
        }
        _ => Case::Lower,
    }
}

/// The title's words, hyphenated compounds joined ("Jean-Marie", "Etats-Unis").
fn groups(title: &str, words: &[Word], places: &[Mention]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for w in words {
        let in_place = places.iter().any(|m| w.start < m.end && m.start < w.end);
        if let Some(last) = out.last_mut()
            && title[last.end..w.start] == *"-"
        {
            last.key.push(' ');
            last.key.push_str(&w.text);
            last.end = w.end;
            last.place |= in_place;
            continue;
        }
        out.push(Group {
            key: w.text.clone(),
            start: w.start,
            end: w.end,
            case: case_of(&title[w.start..w.end]),
            place: in_place,
        });
    }
    out
}

fn first_word(key: &str) -> &str {
    key.split(' ').next().unwrap_or(key)
}

/// Is the title written in capitals throughout ("CANICULE : L'AUDE EN VIGILANCE")? Then
/// capitals say nothing about names.
fn shouted(title: &str) -> bool {
    let upper = title.chars().filter(|c| c.is_uppercase()).count();
    let letters = title.chars().filter(|c| c.is_alphabetic()).count();
    letters > 0 && upper * 2 > letters
}

/// The people, organisations and teams of a headline, and the single capitalised words that
/// may name one of them on the other side ([`Slot::Alias`]).
pub(super) fn named(title: &str, words: &[Word], places: &[Mention]) -> Vec<Slot> {
    if shouted(title) {
        return Vec::new();
    }
    let gs = groups(title, words, places);
    let sports = words
        .iter()
        .any(|w| TEAM_SPORT_WORDS.contains(w.text.as_str()));
    let mut out = Vec::new();
    let mut in_person = vec![false; gs.len()];
    people(title, &gs, sports, &mut in_person, &mut out);
    for (i, g) in gs.iter().enumerate() {
        if g.place || g.case == Case::Lower {
            continue;
        }
        let word = g.key.as_str();
        if g.case == Case::Upper && !NOT_ACRONYM_WORDS.contains(word) && !roman(word) {
            out.push(if sports {
                Slot::Team(word.into())
            } else {
                Slot::Org(word.into())
            });
        } else if g.case == Case::Title
            && ORG_HEAD_WORDS.contains(word)
            && let Some(next) = gs.get(i + 1).filter(|n| adjacent(title, g, n))
        {
            out.push(Slot::Org(format!("{word} {}", next.key)));
        }
        if !in_person[i] && g.case == Case::Title && word.len() >= 3 && !FUNCTION.contains(word) {
            out.push(Slot::Alias(word.into()));
        }
        if sports && !in_person[i] && !NOT_TEAM_WORDS.contains(first_word(word)) && word.len() >= 3
        {
            out.push(Slot::Team(word.into()));
        }
    }
    if sports {
        // Clubs named by their town ("Toulouse", "Stade toulousain").
        for m in places {
            if m.levels().any(|l| l == Level::Commune) {
                out.push(Slot::Team(m.key.clone()));
            }
        }
    }
    out
}

/// `XIII`, `XV`, `II`: numbers, not acronyms.
fn roman(word: &str) -> bool {
    word.chars().all(|c| matches!(c, 'i' | 'v' | 'x'))
}

/// Only a space (or an elision, the apostrophe being dropped) between two groups.
fn adjacent(title: &str, a: &Group, b: &Group) -> bool {
    matches!(&title[a.end..b.start], " " | "\u{a0}" | "'" | "’")
}

/// Runs of two or three capitalised words that are not places nor headline words: people.
fn people(title: &str, gs: &[Group], sports: bool, in_person: &mut [bool], out: &mut Vec<Slot>) {
    let capital = |g: &Group| g.case == Case::Title && !g.place;
    let mut i = 0;
    while i < gs.len() {
        if !capital(&gs[i]) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < gs.len()
            && capital(&gs[j])
            && matches!(&title[gs[j - 1].end..gs[j].start], " " | "\u{a0}")
        {
            j += 1;
        }
        let mut from = i;
        while from < j && FUNCTION.contains(gs[from].key.as_str()) {
            from += 1;
        }
        let run = &gs[from..j];
        // A name glued to a club's mark is a club, not a person.
        let club = sports
            && gs
                .get(j)
                .is_some_and(|g| g.case == Case::Upper && NOT_TEAM_WORDS.contains(g.key.as_str()));
        if (2..=3).contains(&run.len())
            && !club
            && !run
                .iter()
                .any(|g| g.key.split(' ').any(|w| NOT_PERSON_WORDS.contains(w)))
        {
            let name: Vec<&str> = run.iter().map(|g| g.key.as_str()).collect();
            out.push(Slot::Person(name.join(" ")));
            in_person[from..j].iter_mut().for_each(|p| *p = true);
        }
        i = j;
    }
}

/// The last word of a person's name: the surname, which the other side may say alone.
pub(super) fn surname(name: &str) -> &str {
    name.rsplit(' ').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::super::slots::{conflict, slots};
    use super::*;

    fn named_of(title: &str) -> Vec<Slot> {
        slots(title)
            .into_iter()
            .filter(|s| !matches!(s, Slot::Alias(_)))
            .filter(|s| matches!(s, Slot::Person(_) | Slot::Org(_) | Slot::Team(_)))
            .collect()
    }

    fn disagree(a: &str, b: &str) -> bool {
        conflict(&slots(a), &slots(b)).is_some()
    }

    #[test]
    fn people_and_organisations() {
        assert_eq!(
            named_of("Mathilde Seigner : sa solution pour eviter les disputes"),
            [Slot::Person("mathilde seigner".into())]
        );
        assert_eq!(
            named_of("Les derniers vœux de Jean-Marie At, maire"),
            [Slot::Person("jean marie at".into())]
        );
        assert_eq!(
            named_of("Grèves à la RATP et la SNCF : les prévisions du week-end"),
            [Slot::Org("ratp".into()), Slot::Org("sncf".into())]
        );
        assert_eq!(
            named_of("Le Conseil constitutionnel censure l'article sur les loyers"),
            [Slot::Org("conseil constitutionnel".into())]
        );
        // Headline words, places and a shouted title give no name.
        assert!(named_of("Les Etats-Unis et la Maison Blanche").is_empty());
        assert!(named_of("Canicule : l'Aude placée en vigilance orange").is_empty());
        assert!(named_of("VIDEO. INONDATIONS DANS L'AUDE : LE PLAN ORSEC").is_empty());
    }

    #[test]
    fn other_people_or_organisations_disagree() {
        assert!(disagree(
            "Les vœux de Gérard Pérochon",
            "Les vœux de François Audoux"
        ));
        assert!(disagree(
            "Cyclisme : Séverine Eraud sacrée championne de France du contre-la-montre",
            "Benjamin Thomas champion de France du contre-la-montre",
        ));
        assert!(disagree(
            "Retraites : la CFDT appelle à manifester jeudi",
            "Retraites : la CGT appelle à manifester jeudi",
        ));
        // Accent-free forms and a surname said alone agree.
        assert!(!disagree(
            "Mike Pompeo, le va-t-en-guerre de Donald Trump",
            "Mike Pompéo va rencontrer ses homologues au Japon",
        ));
        assert!(!disagree(
            "Benjamin Thomas champion de France du contre-la-montre",
            "Cyclisme: Thomas champion de France du contre-la-montre après un chrono étouffant",
        ));
        assert!(!disagree(
            "FFR : Bernard Laporte candidat à la présidence du Six Nations",
            "Six Nations : Laporte candidat à la présidence, la FFR confirme",
        ));
        // One side without a name is no disagreement.
        assert!(!disagree(
            "Elizabeth Warren domine le premier débat démocrate",
            "La progressiste domine le premier débat démocrate",
        ));
    }

    #[test]
    fn teams_of_a_team_sport() {
        let teams = |t: &str| -> Vec<Slot> {
            slots(t)
                .into_iter()
                .filter(|s| matches!(s, Slot::Team(_)))
                .collect()
        };
        assert_eq!(
            teams("Rugby à XIII : Carcassonne XIII prêt pour la Coupe"),
            [Slot::Team("carcassonne".into())]
        );
        assert!(
            teams("Rugby : le Stade toulousain s'impose face à Clermont")
                .contains(&Slot::Team("toulouse".into()))
        );
        // Not a team sport: a town is a place, not a club.
        assert!(teams("Toulouse : le marché de Noël ouvre ses portes").is_empty());
        assert!(disagree(
            "Rugby à XIII : dans l'Aude, Ferrals terre de choc pour la Coupe Lord Derby",
            "Rugby à XIII : Carcassonne XIII prêt pour la Coupe et dans l'attente du match de gala",
        ));
        assert!(disagree(
            "Coupe d'Europe de rugby : Antoine Dupont titulaire à Toulouse samedi contre le Connacht",
            "Coupe d'Europe de rugby : Iribaren enchaîne avec le Racing",
        ));
        assert!(!disagree(
            "Rugby : le Stade toulousain s'impose face à Clermont",
            "Top 14 : Toulouse bat Clermont au terme d'un match fou",
        ));
    }
}
