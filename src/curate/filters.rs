//! What the filter form understands: values matched without regard to case or accents and
//! by word prefix (`midi` finds « La Dépêche du Midi » and « Midi Libre »), completion from
//! the known values, French dates (`JJ/MM/AAAA`, `JJ/MM`, `AAAA-MM-JJ`) and French state
//! names. Pure functions, so the rules are tested without a terminal.

use chrono::{Datelike, NaiveDate};

use crate::model::DecisionState;
use crate::text;

/// A value the curator can pick: what the store holds and the words it is known by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Known {
    /// What the filter is applied with (a source's name, a territory's slug).
    pub(crate) value: String,
    /// What the form shows and completes to.
    pub(crate) label: String,
    /// Other names that match exactly (a département's number, its slug).
    pub(crate) aliases: Vec<String>,
}

impl Known {
    pub(crate) fn plain(value: &str) -> Known {
        Known {
            value: value.to_string(),
            label: value.to_string(),
            aliases: Vec::new(),
        }
    }
}

fn words(text: &str) -> Vec<String> {
    text::folded_words(text)
        .into_iter()
        .map(|w| w.text)
        .collect()
}

/// The known values `input` designates. A value whose label or alias equals the input
/// (folded) wins alone, so `Tarn` is the Tarn and not also Tarn-et-Garonne; otherwise every
/// value where each typed word begins one of its words.
pub(crate) fn resolve<'k>(input: &str, known: &'k [Known]) -> Vec<&'k Known> {
    let typed = words(input);
    if typed.is_empty() {
        return Vec::new();
    }
    let exact: Vec<&Known> = known
        .iter()
        .filter(|k| {
            std::iter::once(&k.label)
                .chain(&k.aliases)
                .any(|name| words(name) == typed)
        })
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    known
        .iter()
        .filter(|k| {
            let own: Vec<String> = std::iter::once(&k.label)
                .chain(&k.aliases)
                .flat_map(|name| words(name))
                .collect();
            typed
                .iter()
                .all(|t| own.iter().any(|w| w.starts_with(t.as_str())))
        })
        .collect()
}

/// What `→` completes `input` to: the only match's label, or the longest beginning the
/// matches' labels share when it is longer than what was typed.
pub(crate) fn complete(input: &str, known: &[Known]) -> Option<String> {
    let found = resolve(input, known);
    match found.as_slice() {
        [] => None,
        [one] => Some(one.label.clone()),
        many => {
            let first: Vec<char> = many[0].label.chars().collect();
            let mut len = first.len();
            for k in &many[1..] {
                let same = k
                    .label
                    .chars()
                    .zip(&first)
                    .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
                    .count();
                len = len.min(same);
            }
            let prefix: String = first[..len].iter().collect();
            (prefix.chars().count() > input.trim().chars().count()).then_some(prefix)
        }
    }
}

/// The state names the form accepts, French first; English too (the CLI's words).
pub(crate) const STATES: [(&str, Option<DecisionState>); 8] = [
    ("nouveau", None),
    ("gardé", Some(DecisionState::Kept)),
    ("rejeté", Some(DecisionState::Rejected)),
    ("étoilé", Some(DecisionState::Starred)),
    ("new", None),
    ("kept", Some(DecisionState::Kept)),
    ("rejected", Some(DecisionState::Rejected)),
    ("starred", Some(DecisionState::Starred)),
];

/// The known values of the state field.
pub(crate) fn state_values() -> Vec<Known> {
    STATES[..4]
        .iter()
        .map(|(name, _)| Known::plain(name))
        .collect()
}

/// A state typed in French or English, by prefix and without accents (`gard`, `rejetee`,
/// `Étoilées`, `kept`); `Ok(None)` for « nouveau » (the inbox proper) and for an empty field.
pub(crate) fn parse_state(input: &str) -> Result<Option<DecisionState>, String> {
    let typed = words(input).join(" ");
    if typed.is_empty() {
        return Ok(None);
    }
    let mut found: Vec<Option<DecisionState>> = Vec::new();
    for (name, state) in STATES {
        let name = words(name).join(" ");
        // Feminine and plural forms (`gardées`) begin with the masculine singular.
        if (name.starts_with(&typed) || typed.starts_with(&name)) && !found.contains(&state) {
            found.push(state);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!(
            "état inconnu « {} » : nouveau, gardé, rejeté ou étoilé",
            input.trim()
        )),
    }
}

/// A day typed as `JJ/MM/AAAA`, `JJ/MM` (this year), `JJ-MM-AAAA`, `JJ.MM.AAAA` or
/// `AAAA-MM-JJ`; a two-digit year is of this century.
pub(crate) fn parse_day(input: &str, today: NaiveDate) -> Option<NaiveDate> {
    let text = input.trim();
    if text.split('-').next().is_some_and(|y| y.len() == 4)
        && let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return Some(d);
    }
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    let number = |s: &str| -> Option<u32> {
        (!s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (day, month, year) = match parts.as_slice() {
        [d, m] => (number(d)?, number(m)?, today.year()),
        [d, m, y] => {
            let y = number(y)? as i32;
            (number(d)?, number(m)?, if y < 100 { 2000 + y } else { y })
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// How the form shows a day.
pub(crate) fn show_day(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources() -> Vec<Known> {
        ["La Dépêche du Midi", "Midi Libre", "Le Monde", "Mediapart"]
            .iter()
            .map(|s| Known::plain(s))
            .collect()
    }

    fn territories() -> Vec<Known> {
        [
            ("81", "tarn", "Tarn"),
            ("82", "tarn-et-garonne", "Tarn-et-Garonne"),
            ("34", "herault", "Hérault"),
        ]
        .iter()
        .map(|(code, slug, name)| Known {
            value: slug.to_string(),
            label: name.to_string(),
            aliases: vec![slug.to_string(), code.to_string()],
        })
        .collect()
    }

    fn values(found: Vec<&Known>) -> Vec<&str> {
        found.iter().map(|k| k.value.as_str()).collect()
    }

    #[test]
    fn case_accents_and_word_prefixes() {
        let s = sources();
        assert_eq!(
            values(resolve("midi", &s)),
            ["La Dépêche du Midi", "Midi Libre"]
        );
        assert_eq!(values(resolve("DEPECHE", &s)), ["La Dépêche du Midi"]);
        assert_eq!(values(resolve("la dép", &s)), ["La Dépêche du Midi"]);
        assert_eq!(values(resolve("le monde", &s)), ["Le Monde"]);
        assert!(resolve("libération", &s).is_empty());
        let t = territories();
        // The exact name wins over the longer names it begins.
        assert_eq!(values(resolve("Tarn", &t)), ["tarn"]);
        assert_eq!(values(resolve("tarn", &t)), ["tarn"]);
        assert_eq!(values(resolve("tarn-et", &t)), ["tarn-et-garonne"]);
        assert_eq!(values(resolve("HERAULT", &t)), ["herault"]);
        assert_eq!(values(resolve("hér", &t)), ["herault"]);
        assert_eq!(values(resolve("82", &t)), ["tarn-et-garonne"]);
    }

    #[test]
    fn completion_goes_as_far_as_the_values_agree() {
        let s = sources();
        assert_eq!(complete("dép", &s).as_deref(), Some("La Dépêche du Midi"));
        assert_eq!(complete("m", &s), None, "Midi Libre, Mediapart, Le Monde");
        assert_eq!(complete("mi", &s), None, "two values, no common beginning");
        let t = territories();
        assert_eq!(complete("tarn-et", &t).as_deref(), Some("Tarn-et-Garonne"));
        assert_eq!(complete("tarn", &t).as_deref(), Some("Tarn"));
        assert_eq!(complete("zz", &t), None);
    }

    #[test]
    fn french_and_english_states() {
        assert_eq!(parse_state("gardé"), Ok(Some(DecisionState::Kept)));
        assert_eq!(parse_state("Gardées"), Ok(Some(DecisionState::Kept)));
        assert_eq!(parse_state("rejete"), Ok(Some(DecisionState::Rejected)));
        assert_eq!(parse_state("ÉTOILÉ"), Ok(Some(DecisionState::Starred)));
        assert_eq!(parse_state("étoilée"), Ok(Some(DecisionState::Starred)));
        assert_eq!(parse_state("nouveau"), Ok(None));
        assert_eq!(parse_state("kept"), Ok(Some(DecisionState::Kept)));
        assert_eq!(parse_state(""), Ok(None));
        let error = parse_state("archivé").unwrap_err();
        assert!(error.contains("gardé, rejeté ou étoilé"), "{error}");
    }

    #[test]
    fn french_dates() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(parse_day("05/12/2026", today), day(2026, 12, 5));
        assert_eq!(parse_day(" 5/12 ", today), day(2026, 12, 5));
        assert_eq!(parse_day("05-12-26", today), day(2026, 12, 5));
        assert_eq!(parse_day("2026-12-05", today), day(2026, 12, 5));
        assert_eq!(parse_day("31/02/2026", today), None);
        assert_eq!(parse_day("hier", today), None);
        assert_eq!(show_day(day(2026, 12, 5).unwrap()), "05/12/2026");
    }
}
