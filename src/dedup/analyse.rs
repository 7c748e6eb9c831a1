//! Reading one title or summary for story merging: the shared French analyser gives the stems,
//! and the original text tells what kind of word each one is. Headlines say *who* and *where*
//! with capitalised names and say *when* with dates that every article of the week shares, so a
//! plain bag of stems weighs "vendredi 10 janvier" as much as "Niort": these classes fix that.

use std::sync::LazyLock;

use foldhash::HashSet;

use crate::text;

/// What a token is, which sets its weight and its part in the vetoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    /// An ordinary content word.
    Word,
    /// A name: capitalised where capitals are not due to the start of a sentence.
    Entity,
    /// A number that is not part of a date (score, age, price, count).
    Number,
    /// A weekday, month, year, day of month, "week-end", "matin": shared by everything
    /// published the same week, so it says nothing about the event.
    Date,
    /// Boilerplate: "VIDEO", "EN DIRECT", a trailing "- LCI" publisher suffix.
    Boiler,
    /// Frequent news and service words ("soldes", "bons plans", "prévisions", "nouveau",
    /// "selon"): templates are made of them.
    Rubric,
}

impl Class {
    pub(crate) fn code(self) -> char {
        match self {
            Class::Word => 'w',
            Class::Entity => 'e',
            Class::Number => 'n',
            Class::Date => 'd',
            Class::Boiler => 'b',
            Class::Rubric => 'r',
        }
    }

    pub(crate) fn from_code(c: char) -> Option<Class> {
        Some(match c {
            'w' => Class::Word,
            'e' => Class::Entity,
            'n' => Class::Number,
            'd' => Class::Date,
            'b' => Class::Boiler,
            'r' => Class::Rubric,
            _ => return None,
        })
    }
}

/// One analysed token of one text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// The stem (folded, stemmed), or the digits of a number word.
    pub(crate) stem: String,
    pub(crate) class: Class,
    /// Word position in the text (stop words count).
    pub(crate) position: usize,
    /// True when something other than a plain space, hyphen, apostrophe or one short
    /// particle ("de", "du", "d'") separates this token from the previous one: names do not
    /// run across punctuation ("Saint-Denis : Patrick Braouezec" is two names).
    pub(crate) breaks: bool,
    /// Part of a leading dateline ("Loudéac. …").
    pub(crate) dateline: bool,
}

/// Boilerplate words (folded surface forms).
#[rustfmt::skip]
const BOILER: &[&str] = &[
    "video", "videos", "direct", "live", "lci", "photo", "photos", "carte", "cartes", "people",
    "exclusif", "exclusive", "replay", "podcast", "interview", "tribune", "chronique", "edito",
    "urgent", "diaporama", "infographie", "info", "infos", "actualite", "actualites", "revoir",
];

/// Date words (folded surface forms): compared before stemming, because the stemmer maps
/// "mars" and "marié" to the same stem.
#[rustfmt::skip]
const DATES: &[&str] = &[
    "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
    "octobre", "novembre", "decembre", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
    "dimanche", "week", "end", "weekend", "semaine", "matin", "soir", "soiree", "aujourd", "hui",
    "demain", "hier", "nuit",
];

/// Frequent words of news and service templates, stemmed at first use. Not a stop list: they
/// still count, at a lower weight, so two texts made mostly of them need more to match.
/// "France" is one of them: in the French press it is as generic as "national".
#[rustfmt::skip]
const RUBRIC: &[&str] = &[
    "soldes", "bon", "bons", "plan", "plans", "offre", "offres", "meilleur", "meilleurs",
    "meilleure", "meilleures", "promo", "promos", "promotion", "selection", "sortie", "sorties",
    "sortir", "idee", "idees", "programme", "prevision", "previsions", "meteo", "temps",
    "horoscope", "rendez", "vous", "voeux", "an", "ans", "annee", "annees", "mois", "jour",
    "jours", "prochain", "prochaine", "prochains", "prochaines", "nouveau", "nouvelle", "nouveaux",
    "nouvelles", "premier", "premiere", "premiers", "premieres", "dernier", "derniere", "derniers",
    "dernieres", "grand", "grande", "grands", "grandes", "petit", "petite", "fait", "faut", "va",
    "veut", "peut", "a", "est", "sont", "ont", "son", "ses", "sa", "plus", "tres", "apres",
    "avant", "selon", "contre", "face", "chez", "tout", "tous", "toute", "toutes", "comment",
    "pourquoi", "quand", "quel", "quelle", "quels", "quelles", "fois", "bien", "deja", "encore",
    "aussi", "lors", "depuis", "pendant", "sans", "sous", "vers", "entre", "pres", "ete", "etre",
    "avoir", "faire", "dit", "dire", "ici", "voici", "voila", "cas", "suite", "fin", "debut",
    "retour", "france", "francais", "francaise",
];

/// Number words, so that "quatre départements" meets "4 départements".
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("deux", "2"),
    ("trois", "3"),
    ("quatre", "4"),
    ("cinq", "5"),
    ("six", "6"),
    ("sept", "7"),
    ("huit", "8"),
    ("neuf", "9"),
    ("dix", "10"),
    ("onze", "11"),
    ("douze", "12"),
    ("quinze", "15"),
    ("vingt", "20"),
    ("trente", "30"),
    ("cent", "100"),
    ("mille", "1000"),
];

/// A word list as a set: every word of every headline goes through several lists, and a
/// linear search of each cost more than the stemming.
pub(super) fn word_set(words: &[&'static str]) -> HashSet<&'static str> {
    words.iter().copied().collect()
}

static BOILER_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(BOILER));
static DATE_WORDS: LazyLock<HashSet<&str>> = LazyLock::new(|| word_set(DATES));

static RUBRIC_STEMS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    RUBRIC
        .iter()
        .flat_map(|w| text::stems(w))
        .map(|w| w.text)
        .collect()
});

fn is_boiler(folded: &str) -> bool {
    BOILER_WORDS.contains(folded)
}

fn is_date(folded: &str) -> bool {
    DATE_WORDS.contains(folded)
        || (folded.len() == 4
            && (folded.starts_with("19") || folded.starts_with("20"))
            && folded.bytes().all(|b| b.is_ascii_digit()))
}

fn number_word(folded: &str) -> Option<&'static str> {
    NUMBER_WORDS
        .iter()
        .find(|(w, _)| *w == folded)
        .map(|(_, d)| *d)
}

/// A day of the month ("10", "1er"), which becomes a date next to a month or weekday.
fn is_day_number(stem: &str) -> bool {
    let digits = stem.strip_suffix("er").unwrap_or(stem);
    !digits.is_empty()
        && digits.len() <= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

/// Characters after which a capital is due to the start of a sentence or of a quotation.
fn opens_sentence(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '…' | '«' | '"' | '“' | '”' | '(' | '[' | '|' | '>' | '/' | '–' | '—'
    )
}

/// Is the word starting at byte `start` capitalised only because it opens a sentence?
/// After a colon it is not (headlines write "Retraites : Édouard Philippe…" and "Canicule :
/// quatre départements…"), nor after an elision ("l'Arcep").
fn at_sentence_start(text: &str, start: usize) -> bool {
    let before = &text[..start];
    let mut chars = before.chars().rev().skip_while(|c| c.is_whitespace());
    match chars.next() {
        None => true,
        Some('-') => {
            // A spaced dash separates parts of a headline ("EN DIRECT - Réforme…"); a hyphen
            // inside a compound does not.
            before.ends_with(' ') || before.trim_end().ends_with(" -")
        }
        Some('\'' | '’') => false,
        Some(c) => opens_sentence(c),
    }
}

/// A hyphenated compound continues the previous word ("Etats-Unis", "Hauts-de-Seine").
fn continues_compound(text: &str, start: usize) -> bool {
    let before = &text[..start];
    before.ends_with('-') && !before[..before.len() - 1].ends_with(char::is_whitespace)
}

/// Where a trailing publisher or rubric suffix starts ("… - LCI", "… | Le Monde"): at most
/// four words after the last separator.
fn suffix_start(title: &str) -> usize {
    let mut start = title.len();
    for sep in [" - ", " | ", " – ", " — "] {
        if let Some(i) = title.rfind(sep) {
            let rest = &title[i + sep.len()..];
            let words = rest.split_whitespace().count();
            if i > 0 && (1..=4).contains(&words) {
                start = start.min(i);
            }
        }
    }
    start
}

/// End of a leading dateline or rubric ("Loudéac. …", "Le Croisic. …", "Athlétisme. …"):
/// one to three words closed by a full stop. Its words are names, though capitalised at the
/// start.
fn dateline_end(title: &str) -> usize {
    let trimmed = title.trim_start();
    let offset = title.len() - trimmed.len();
    if !trimmed.chars().next().is_some_and(char::is_uppercase) {
        return 0;
    }
    let mut end = 0;
    for (n, word) in trimmed.split(' ').enumerate() {
        if n >= 3 || word.is_empty() || word.contains([':', '!', '?', ',']) {
            return 0;
        }
        end += word.len();
        if let Some(stem) = word.strip_suffix('.') {
            // "M. Macron" and initials are not datelines.
            let ok =
                stem.chars().count() >= 3 && trimmed[end..].starts_with(' ') && !stem.contains('.');
            return if ok { offset + end - 1 } else { 0 };
        }
        end += 1;
    }
    0
}

/// Does the text between two tokens keep them in one name? Spaces, a hyphen, an apostrophe
/// and one short particle ("de", "du", "d'", "la", "le") do.
fn breaks_name(gap: &str) -> bool {
    // Most gaps are one space: answered before the substring searches.
    if gap == " " {
        return false;
    }
    if gap.contains(" - ") || gap.contains(" – ") || gap.contains(" — ") {
        return true;
    }
    if gap
        .chars()
        .any(|c| !(c.is_alphabetic() || c.is_whitespace() || matches!(c, '-' | '\'' | '’')))
    {
        return true;
    }
    gap.chars().filter(|c| c.is_alphabetic()).count() > 3
}

/// Analyses one text. `title` turns on the headline conventions (publisher suffix, dateline).
#[cfg(test)]
pub(crate) fn analyse(text: &str, title: bool) -> Vec<Token> {
    analyse_folded(text, title, &text::folded_words(text))
}

/// [`analyse`] with the text's folded words (`text::folded_words`), which the caller also
/// needs for the title's slots: one analysis fewer per article.
pub(super) fn analyse_folded(text: &str, title: bool, folded: &[text::Word]) -> Vec<Token> {
    let words = text::stems_of_folded(text, folded);
    if words.is_empty() {
        return Vec::new();
    }
    // Both lists are in text order and the stems are a subset of the folded words (stop
    // words removed): one cursor finds each stem's folded form, where a search per word made
    // a long lede quadratic.
    let mut cursor = 0;
    let mut folded_at = |start: usize| {
        while folded.get(cursor).is_some_and(|w| w.start < start) {
            cursor += 1;
        }
        folded
            .get(cursor)
            .filter(|w| w.start == start)
            .map_or("", |w| w.text.as_str())
    };
    let (suffix, dateline) = if title {
        (suffix_start(text), dateline_end(text))
    } else {
        (text.len(), 0)
    };
    let first_upper = |w: &text::Word| {
        text[w.start..w.end]
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
    };
    // A stem written in lower case somewhere in the text is a common word, even when a
    // capital elsewhere makes it look like a name ("Climat. … sur le climat").
    let lower: HashSet<&str> = words
        .iter()
        .filter(|w| !first_upper(w))
        .map(|w| w.text.as_str())
        .collect();

    let mut tokens: Vec<Token> = Vec::with_capacity(words.len());
    let mut upper = Vec::with_capacity(words.len());
    let mut initial = Vec::with_capacity(words.len());
    let mut compound = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let f = folded_at(w.start);
        let is_upper = first_upper(w);
        // A single word heading a title before a colon is its topic, most often a name
        // ("Cdiscount : 10 bons plans…", "Perpignan : les avocats…"), though capitalised as
        // the first word.
        let topic = title && i == 0 && text[w.end..].trim_start().starts_with(':');
        let starts = at_sentence_start(text, w.start) && w.start >= dateline && !topic;
        let mut stem = w.text.clone();
        let class = if w.start >= suffix || is_boiler(f) {
            Class::Boiler
        } else if is_date(f) {
            Class::Date
        } else if let Some(digits) = number_word(f) {
            stem = digits.to_string();
            Class::Number
        } else if w.text.starts_with(|c: char| c.is_ascii_digit()) {
            Class::Number
        } else if RUBRIC_STEMS.contains(&w.text) {
            Class::Rubric
        } else if is_upper && !starts && !lower.contains(w.text.as_str()) {
            Class::Entity
        } else {
            Class::Word
        };
        let breaks = i == 0 || breaks_name(&text[words[i - 1].end..w.start]);
        tokens.push(Token {
            stem,
            class,
            position: w.position,
            breaks,
            dateline: w.start < dateline,
        });
        upper.push(is_upper && !lower.contains(w.text.as_str()));
        initial.push(starts);
        compound.push(continues_compound(text, w.start));
    }

    // Names: a capitalised first word followed by a name is part of it ("Harry Potter",
    // "Elizabeth Warren"); a compound follows its first part ("Jean-Yves", "Etats-Unis").
    for i in (0..tokens.len().saturating_sub(1)).rev() {
        if tokens[i].class == Class::Word
            && upper[i]
            && initial[i]
            && tokens[i + 1].class == Class::Entity
            && !tokens[i + 1].breaks
            && tokens[i + 1].position == tokens[i].position + 1
        {
            tokens[i].class = Class::Entity;
        }
    }
    for i in 1..tokens.len() {
        if compound[i]
            && upper[i]
            && tokens[i - 1].class == Class::Entity
            && matches!(tokens[i].class, Class::Word)
        {
            tokens[i].class = Class::Entity;
        }
    }
    // Days of the month next to a month or weekday are dates ("les 10, 11 et 12 janvier").
    for _ in 0..3 {
        for i in 0..tokens.len() {
            if tokens[i].class != Class::Number || !is_day_number(&tokens[i].stem) {
                continue;
            }
            let near_date = [i.wrapping_sub(1), i + 1].into_iter().any(|j| {
                tokens.get(j).is_some_and(|t| {
                    t.class == Class::Date && t.position.abs_diff(tokens[i].position) <= 2
                })
            });
            if near_date {
                tokens[i].class = Class::Date;
            }
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(String, Class)> {
        analyse(text, true)
            .into_iter()
            .map(|t| (t.stem, t.class))
            .collect()
    }

    fn of(text: &str, class: Class) -> Vec<String> {
        classes(text)
            .into_iter()
            .filter(|(_, c)| *c == class)
            .map(|(s, _)| s)
            .collect()
    }

    #[test]
    fn names_dates_and_boilerplate() {
        let t = "Quel temps fera-t-il à Niort le vendredi 10 janvier 2020 ?";
        assert_eq!(of(t, Class::Entity), ["niort"]);
        assert_eq!(of(t, Class::Date).len(), 4);
        let t = "EN DIRECT - Réforme des retraites : Édouard Philippe promet - LCI";
        assert_eq!(of(t, Class::Entity), ["edouard", "philipp"]);
        assert!(of(t, Class::Boiler).contains(&"lci".to_string()));
        let t = "Aux Etats-Unis, la progressiste Elizabeth Warren domine";
        assert_eq!(
            of(t, Class::Entity),
            ["etat", "unis", "elizabeth", "warren"]
        );
        let t = "Harry Potter Wizards Unite fait un carton";
        assert_eq!(of(t, Class::Entity).len(), 4);
    }

    #[test]
    fn datelines_and_number_words() {
        assert_eq!(
            of("Loudéac. Nos bons plans pour sortir", Class::Entity),
            ["loudeac"]
        );
        assert!(of("M. Macron parle", Class::Entity).is_empty());
        assert_eq!(of("Canicule : quatre départements", Class::Number), ["4"]);
        assert_eq!(of("Un garçon de 4 ans", Class::Number), ["4"]);
    }

    #[test]
    fn names_break_at_punctuation() {
        let tokens = analyse("Saint-Denis : Patrick Braouezec se retire", true);
        let patrick = tokens.iter().find(|t| t.stem == "patrick").unwrap();
        assert!(patrick.breaks);
        assert!(!tokens[1].breaks, "{tokens:?}");
    }
}
