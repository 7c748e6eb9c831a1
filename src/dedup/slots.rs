//! Typed slots of a headline: the places it names (with their level, from the shared
//! gazetteer), the quantities it gives (a number with its unit: `120 logements`, `350 €`,
//! `quatre départements`), the weekday and the date. Two headlines whose slots of one type
//! disagree (Aude / Hérault, Cantepau / Bellefontaine, 120 / 200 logements, lundi / mardi)
//! report different events, however alike the rest of their words: a local watch must not
//! hide one département's alert under another's.
//!
//! People, organisations and the teams of a team sport are slots too (`named`): "Les vœux de
//! Gérard Pérochon" and "… de François Audoux" are two events.
//!
//! Only the title is read: a lede names context (the neighbouring town, last year's figure)
//! that two accounts of one event need not share.

use crate::places::{self, Level};
use crate::text;

use super::named;

/// One slot. Places are compared by folded name within a level.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Slot {
    Place(Level, String),
    /// A unit (folded, singular) and a value (digits, `.` for decimals).
    Quantity(String, String),
    /// 1 = lundi … 7 = dimanche.
    Weekday(u8),
    /// Day and month.
    Date(u8, u8),
    /// A person's name, folded words joined by spaces (`mike pompeo`).
    Person(String),
    /// An organisation: an acronym (`sncf`) or a head word and the next (`conseil
    /// constitutionnel`).
    Org(String),
    /// A club, in a team sport's headline (`carcassonne`, `connacht`).
    Team(String),
    /// A capitalised word of the title outside a person's name: never a disagreement, only a
    /// way for the other side to agree (`Thomas` for `Benjamin Thomas`).
    Alias(String),
}

/// What two slots must share to be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SlotType<'a> {
    Place(Level),
    Quantity(&'a str),
    Weekday,
    Date,
    Person,
    Org,
    Team,
    Alias,
}

impl Slot {
    fn kind(&self) -> SlotType<'_> {
        match self {
            Slot::Place(level, _) => SlotType::Place(*level),
            Slot::Quantity(unit, _) => SlotType::Quantity(unit),
            Slot::Weekday(_) => SlotType::Weekday,
            Slot::Date(..) => SlotType::Date,
            Slot::Person(_) => SlotType::Person,
            Slot::Org(_) => SlotType::Org,
            Slot::Team(_) => SlotType::Team,
            Slot::Alias(_) => SlotType::Alias,
        }
    }

    /// Does `other` say this slot, in the same form or, for a name, in part: a surname alone
    /// for a person, one word of an organisation's or a team's name?
    fn said_in(&self, other: &[Slot]) -> bool {
        let words_of = |name: &str, them: &[Slot]| {
            name.split(' ').any(|w| {
                them.iter().any(|y| match y {
                    Slot::Org(n) | Slot::Team(n) if self.kind() == y.kind() => {
                        n.split(' ').any(|v| v == w)
                    }
                    Slot::Alias(a) => a == w,
                    Slot::Place(_, p) => matches!(self, Slot::Team(_)) && p == w,
                    _ => false,
                })
            })
        };
        match self {
            Slot::Person(name) => {
                let last = named::surname(name);
                other.iter().any(|y| match y {
                    Slot::Person(n) => named::surname(n) == last,
                    Slot::Alias(a) => a == last,
                    _ => false,
                })
            }
            Slot::Org(name) | Slot::Team(name) => words_of(name, other),
            _ => other.contains(self),
        }
    }

    /// `pc:saint_gaudens`, `n:logement:120`, `w:1`, `d:10.1`, `h:mike_pompeo`, `o:sncf`,
    /// `t:carcassonne`, `a:thomas` (no spaces nor `|`).
    pub(crate) fn to_text(&self) -> String {
        match self {
            Slot::Place(level, name) => format!("p{}:{}", level.code(), name.replace(' ', "_")),
            Slot::Quantity(unit, value) => format!("n:{unit}:{value}"),
            Slot::Weekday(d) => format!("w:{d}"),
            Slot::Date(d, m) => format!("d:{d}.{m}"),
            Slot::Person(n) => format!("h:{}", n.replace(' ', "_")),
            Slot::Org(n) => format!("o:{}", n.replace(' ', "_")),
            Slot::Team(n) => format!("t:{}", n.replace(' ', "_")),
            Slot::Alias(n) => format!("a:{}", n.replace(' ', "_")),
        }
    }

    pub(crate) fn from_text(text: &str) -> Option<Slot> {
        let (head, rest) = text.split_once(':')?;
        let mut head_chars = head.chars();
        Some(match head_chars.next()? {
            'p' => {
                let level = Level::from_code(head_chars.next()?)?;
                if rest.is_empty() {
                    return None;
                }
                Slot::Place(level, rest.replace('_', " "))
            }
            'n' => {
                let (unit, value) = rest.split_once(':')?;
                if unit.is_empty() || value.is_empty() {
                    return None;
                }
                Slot::Quantity(unit.into(), value.into())
            }
            'h' | 'o' | 't' | 'a' if !rest.is_empty() && head.len() == 1 => {
                let name = rest.replace('_', " ");
                match head {
                    "h" => Slot::Person(name),
                    "o" => Slot::Org(name),
                    "t" => Slot::Team(name),
                    _ => Slot::Alias(name),
                }
            }
            'w' => Slot::Weekday(rest.parse().ok().filter(|d| (1..=7).contains(d))?),
            'd' => {
                let (d, m) = rest.split_once('.')?;
                Slot::Date(d.parse().ok()?, m.parse().ok()?)
            }
            _ => return None,
        })
    }
}

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
];
/// Number words; `un`/`une` are left out (an article far more often than a count).
const NUMBER_WORDS: [(&str, u32); 21] = [
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("six", 6),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("treize", 13),
    ("quinze", 15),
    ("vingt", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("soixante", 60),
    ("cent", 100),
    ("mille", 1000),
    ("centaine", 100),
];
/// Words after a number that are not its unit.
const NOT_UNITS: [&str; 12] = [
    "a", "au", "aux", "de", "des", "du", "et", "en", "le", "la", "les", "ou",
];

/// A raw token of the title: a run of letters and digits, or `€` / `%`.
struct Token {
    folded: String,
    start: usize,
    end: usize,
}

fn tokens(title: &str, words: Vec<text::Word>) -> Vec<Token> {
    // The folding analyser's words (it splits on what is not a letter or a digit, like the
    // gazetteer's lookups), then the symbols it drops.
    let mut out: Vec<Token> = words
        .into_iter()
        .map(|w| Token {
            folded: w.text,
            start: w.start,
            end: w.end,
        })
        .collect();
    for (i, c) in title.char_indices().filter(|(_, c)| *c == '€' || *c == '%') {
        out.push(Token {
            folded: if c == '€' { "euro" } else { "pourcent" }.into(),
            start: i,
            end: i + c.len_utf8(),
        });
    }
    out.sort_by_key(|t| t.start);
    out
}

fn singular(word: &str) -> String {
    let w = word.strip_suffix('s').unwrap_or(word);
    let w = w
        .strip_suffix('x')
        .filter(|_| word.ends_with("aux"))
        .unwrap_or(w);
    w.to_string()
}

/// The slots of a headline, sorted, without repeats.
#[cfg(test)]
pub(crate) fn slots(title: &str) -> Vec<Slot> {
    slots_in(title, text::folded_words(title))
}

/// [`slots`] over the title's folded words (`text::folded_words`): one analysis of the title
/// serves the places, the names and the numbers.
pub(super) fn slots_in(title: &str, words: Vec<text::Word>) -> Vec<Slot> {
    let mut out = Vec::new();
    let mentions = places::mentions_in(title, &words);
    out.extend(named::named(title, &words, &mentions));
    for m in mentions {
        let mut levels: Vec<Level> = m.levels().collect();
        levels.sort();
        levels.dedup();
        for level in levels {
            out.push(Slot::Place(level, m.key.clone()));
        }
    }
    let toks = tokens(title, words);
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if let Some(d) = WEEKDAYS.iter().position(|w| *w == t.folded) {
            out.push(Slot::Weekday(d as u8 + 1));
            i += 1;
            continue;
        }
        // A number: digits, with thousands written apart (`3 000`), or a number word.
        let mut value: Option<String> = None;
        let mut next = i + 1;
        if t.folded.chars().all(|c| c.is_ascii_digit()) || t.folded == "1er" {
            let mut digits = t.folded.trim_end_matches("er").to_string();
            while let Some(n) = toks.get(next) {
                let gap = &title[toks[next - 1].end..n.start];
                if n.folded.len() == 3
                    && n.folded.chars().all(|c| c.is_ascii_digit())
                    && (gap == " " || gap == "\u{a0}" || gap == "\u{202f}" || gap == ".")
                {
                    digits.push_str(&n.folded);
                    next += 1;
                } else if gap == "," && n.folded.chars().all(|c| c.is_ascii_digit()) {
                    digits = format!("{digits}.{}", n.folded);
                    next += 1;
                } else {
                    break;
                }
            }
            value = Some(digits.trim_start_matches('0').to_string()).filter(|v| !v.is_empty());
        } else if let Some((_, n)) = NUMBER_WORDS.iter().find(|(w, _)| *w == t.folded) {
            value = Some(n.to_string());
        }
        let Some(value) = value else {
            i += 1;
            continue;
        };
        let unit = toks.get(next).map(|u| u.folded.as_str());
        if let Some(m) = unit.and_then(|u| MONTHS.iter().position(|m| *m == u))
            && let Ok(day) = value.parse::<u8>()
            && (1..=31).contains(&day)
        {
            out.push(Slot::Date(day, m as u8 + 1));
            i = next + 1;
            continue;
        }
        if let Some(unit) = unit
            && unit.chars().next().is_some_and(char::is_alphabetic)
            && unit.chars().count() >= 2
            && !NOT_UNITS.contains(&unit)
            && !MONTHS.contains(&unit)
        {
            out.push(Slot::Quantity(singular(unit), value));
            i = next + 1;
            continue;
        }
        i = next;
    }
    out.sort();
    out.dedup();
    out
}

/// The first type of slot on which two sorted slot lists disagree: both name slots of that
/// type, and neither says one of the other's ([`Slot::said_in`]). Aliases never disagree.
pub(super) fn conflict<'a>(a: &'a [Slot], b: &'a [Slot]) -> Option<&'a Slot> {
    conflict_where(a, b, |_| true)
}

/// Do the two disagree on who or where (a place, person, organisation or team), rather than
/// only on when or how many? The first is another affair; the second may be its sequel.
pub(super) fn identity_conflict(a: &[Slot], b: &[Slot]) -> bool {
    conflict_where(a, b, |x| {
        matches!(
            x,
            Slot::Place(..) | Slot::Person(_) | Slot::Org(_) | Slot::Team(_)
        )
    })
    .is_some()
}

fn conflict_where<'a>(
    a: &'a [Slot],
    b: &'a [Slot],
    wanted: impl Fn(&Slot) -> bool,
) -> Option<&'a Slot> {
    // Most pairs have no slot of one type on both sides: answered without the quadratic
    // search below, which runs for every candidate close enough to be scored.
    let alias = |x: &Slot| matches!(x, Slot::Alias(_));
    if a.iter().all(alias) || b.iter().all(alias) {
        return None;
    }
    a.iter().find(|x| {
        let kind = x.kind();
        kind != SlotType::Alias
            && wanted(x)
            && b.iter().any(|y| y.kind() == kind)
            && !a.iter().any(|z| z.kind() == kind && z.said_in(b))
            && !b.iter().any(|y| y.kind() == kind && y.said_in(a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slots other than names (`named` has its own tests).
    fn unnamed(title: &str) -> Vec<Slot> {
        slots(title)
            .into_iter()
            .filter(|s| {
                !matches!(
                    s,
                    Slot::Person(_) | Slot::Org(_) | Slot::Team(_) | Slot::Alias(_)
                )
            })
            .collect()
    }

    fn disagree(a: &str, b: &str) -> bool {
        conflict(&slots(a), &slots(b)).is_some()
    }

    #[test]
    fn places_with_their_level() {
        assert_eq!(
            unnamed("Canicule : l'Aude placée en vigilance orange"),
            [Slot::Place(Level::Departement, "aude".into())]
        );
        assert_eq!(
            unnamed("Toulouse : un appartement en feu à Cantepau"),
            [
                Slot::Place(Level::Quartier, "cantepau".into()),
                Slot::Place(Level::Commune, "toulouse".into()),
            ]
        );
        // Accent-free and elided.
        assert!(
            slots("Canicule : l'Herault place en vigilance orange")
                .contains(&Slot::Place(Level::Departement, "herault".into()))
        );
        assert!(
            slots("Incendie dans un immeuble d'Empalot")
                .contains(&Slot::Place(Level::Quartier, "empalot".into()))
        );
    }

    #[test]
    fn quantities_weekdays_and_dates() {
        assert_eq!(
            unnamed("NPNRU : 120 logements démolis"),
            [Slot::Quantity("logement".into(), "120".into())]
        );
        assert_eq!(
            unnamed("Plus de 3 000 foyers privés d'électricité, 350 € d'aide"),
            [
                Slot::Quantity("euro".into(), "350".into()),
                Slot::Quantity("foyer".into(), "3000".into()),
            ]
        );
        assert_eq!(
            unnamed("Canicule : quatre départements en vigilance rouge"),
            unnamed("Canicule : 4 départements en vigilance rouge")
        );
        assert_eq!(
            unnamed("Grève lundi 13 janvier et le 1er février"),
            [Slot::Weekday(1), Slot::Date(1, 2), Slot::Date(13, 1)]
        );
        // A year, or a number before an article, gives no slot.
        assert!(unnamed("Les municipales de 2020 : le bilan").is_empty());
    }

    #[test]
    fn the_three_look_alike_pairs_disagree() {
        assert!(disagree(
            "Canicule : l'Aude placée en vigilance orange jusqu'à jeudi",
            "Canicule : l'Hérault placé en vigilance orange jusqu'à jeudi",
        ));
        assert!(disagree(
            "NPNRU : à Cantepau, 120 logements vont être démolis",
            "NPNRU : à Bellefontaine, 200 logements vont être démolis",
        ));
        assert!(disagree(
            "Albi : 120 logements démolis dans le quartier de Cantepau",
            "Toulouse : 200 logements démolis dans le quartier de Bellefontaine",
        ));
        assert!(disagree(
            "Toulouse : un appartement ravagé par les flammes lundi à Empalot",
            "Toulouse : un appartement ravagé par les flammes mardi aux Izards",
        ));
        assert!(disagree(
            "Incendie lundi dans un appartement à Toulouse",
            "Incendie mardi dans un appartement à Toulouse",
        ));
    }

    #[test]
    fn same_slots_or_other_levels_agree() {
        assert!(!disagree(
            "Canicule : l'Aude placée en vigilance orange",
            "Vigilance orange canicule dans l'Aude",
        ));
        // A town and its département are not a disagreement.
        assert!(!disagree(
            "Inondations à Carcassonne : le plan Orsec déclenché",
            "Aude : le plan Orsec déclenché après les inondations",
        ));
        // Extra places on one side share one with the other.
        assert!(!disagree(
            "Toulouse : un incendie à Empalot",
            "Incendie à Empalot, dans le sud de Toulouse et à Blagnac",
        ));
        assert!(!disagree(
            "Canicule : 4 départements en vigilance rouge",
            "Canicule : quatre départements du sud en vigilance rouge",
        ));
    }

    #[test]
    fn slots_round_trip_as_text() {
        let titles = [
            "Saint-Gaudens : 3 000 foyers privés de courant lundi 13 janvier",
            "Rugby à XIII : Jean-Marie At et la FFR à Carcassonne contre les Dragons",
        ];
        for s in titles.iter().flat_map(|t| slots(t)) {
            assert_eq!(Slot::from_text(&s.to_text()), Some(s.clone()), "{s:?}");
        }
        for bad in [
            "",
            "x:1",
            "p:aude",
            "pz:aude",
            "n:logement",
            "w:9",
            "d:1",
            "h:",
            "hh:x",
            "o:",
        ] {
            assert_eq!(Slot::from_text(bad), None, "{bad}");
        }
    }
}
