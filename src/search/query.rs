//! The query language of `veille search`: tantivy's grammar (words, `"phrases"`, `AND`, `OR`,
//! `-word`, `field:value`, `field:[a TO b]`), with
//! - the field names users type (`dossier:`, `territoire:`, `source:`, `titre:`, `resume:`,
//!   `date:`, `depuis:`, `avant:`, and English equivalents) mapped onto the schema,
//! - dates without a time (`2026`, `2026-01`, `2026-01-15`, `15/01/2026`) or relative (`7j`)
//!   turned into the periods they name, in the configured time zone,
//! - French typing habits: `l'école` (a plain apostrophe would open a quoted phrase),
//!   `Laïcité : le débat` (a spaced colon is punctuation, not a field), `ET` / `OU`,
//!   a lone ` - ` between words,
//! - stop words dropped outside phrases, so that `loi sur la laïcité` asks for `loi` and
//!   `laïcité` only (conjunction by default would otherwise require `sur` and `la`).

use std::fmt;

use chrono::{DateTime, Duration, Months, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use tantivy::query::{Occur, Query, QueryParser, QueryParserError};
use tantivy::query_grammar::{
    self, Delimiter, UserInputAst, UserInputBound, UserInputLeaf, UserInputLiteral,
};

use super::{
    F_BODY, F_BODY_FOLD, F_DATE, F_DOSSIER, F_ID, F_SOURCE, F_SUMMARY, F_SUMMARY_FOLD, F_TERRITORY,
    F_TITLE, F_TITLE_FOLD,
};
use crate::text;

/// What relative dates and dates without a time are relative to.
pub(crate) struct Context {
    pub(crate) timezone: Tz,
    pub(crate) now: DateTime<Utc>,
}

/// A query `veille search` cannot run; the message is French and says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidQuery(pub(crate) String);

impl fmt::Display for InvalidQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "requête invalide : {}", self.0)
    }
}

impl std::error::Error for InvalidQuery {}

const KNOWN_FIELDS: &str = "titre, resume, source, dossier, territoire, date, depuis, avant";
const DATE_HINT: &str = "écrivez une date 2026, 2026-01, 2026-01-15, 15/01/2026, \
                         2026-01-15T08:00:00Z, ou un nombre de jours (7j)";

fn invalid(message: impl Into<String>) -> InvalidQuery {
    InvalidQuery(message.into())
}

/// What a field name typed by a user stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    One(&'static str),
    /// Both analyses of a text field.
    Text(&'static str, &'static str),
    /// `date:PERIOD`: within the period.
    Date,
    /// `depuis:PERIOD`: from its start.
    Since,
    /// `avant:PERIOD`: before its start.
    Before,
}

fn target(name: &str) -> Option<Target> {
    Some(match name.to_lowercase().as_str() {
        "titre" | "title" => Target::Text(F_TITLE, F_TITLE_FOLD),
        "resume" | "résumé" | "summary" => Target::Text(F_SUMMARY, F_SUMMARY_FOLD),
        "article" | "texte" | "body" => Target::Text(F_BODY, F_BODY_FOLD),
        "dossier" | "dossiers" => Target::One(F_DOSSIER),
        "territoire" | "territoires" | "territory" | "territories" => Target::One(F_TERRITORY),
        "source" => Target::One(F_SOURCE),
        "date" => Target::Date,
        "depuis" | "since" => Target::Since,
        "avant" | "before" => Target::Before,
        "id" => Target::One(F_ID),
        "title_fold" => Target::One(F_TITLE_FOLD),
        "summary_fold" => Target::One(F_SUMMARY_FOLD),
        "body_fold" => Target::One(F_BODY_FOLD),
        _ => return None,
    })
}

/// Parses `text` into a tantivy query over the index's fields.
pub(crate) fn parse(
    parser: &QueryParser,
    text: &str,
    ctx: &Context,
) -> Result<Box<dyn Query>, InvalidQuery> {
    let prepared = prepare(text);
    if prepared.trim().is_empty() {
        return Err(invalid("la requête est vide"));
    }
    let ast = query_grammar::parse_query(&prepared).map_err(|_| {
        invalid(
            "syntaxe incorrecte : un guillemet, une parenthèse ou un crochet n'est pas refermé, \
             ou un opérateur (AND, OR, ET, OU) n'a pas ses deux côtés",
        )
    })?;
    let ast = rewrite(ast, ctx)?.ok_or_else(|| {
        invalid(
            "la requête ne contient que des mots trop courants (le, la, de, sur…) : ajoutez un \
             mot significatif, ou mettez l'expression entre guillemets",
        )
    })?;
    parser
        .build_query_from_user_input_ast(ast)
        .map_err(|e| french(&e))
}

fn french(e: &QueryParserError) -> InvalidQuery {
    use QueryParserError as E;
    invalid(match e {
        E::SyntaxError(_) => "syntaxe incorrecte".to_string(),
        E::FieldDoesNotExist(f) => {
            format!("champ inconnu « {f} » ; champs reconnus : {KNOWN_FIELDS}")
        }
        E::ExpectedInt(_) => "un nombre entier est attendu (id:123)".to_string(),
        E::AllButQueryForbidden => "la requête ne contient que des exclusions (-mot) : ajoutez \
                                    au moins un mot à chercher"
            .to_string(),
        E::FieldNotIndexed(f) => format!("le champ « {f} » ne sert pas à chercher"),
        E::FieldDoesNotHavePositionsIndexed(f) => {
            format!("le champ « {f} » n'accepte pas d'expression de plusieurs mots")
        }
        E::RangeMustNotHavePhrase => {
            "les bornes d'un intervalle sont des valeurs, pas des expressions".to_string()
        }
        E::DateFormatError(_) => format!("date incorrecte : {DATE_HINT}"),
        E::UnknownTokenizer { tokenizer, .. } => format!(
            "l'analyseur « {tokenizer} » n'est pas enregistré (index ouvert hors de veille ?)"
        ),
        E::UnsupportedQuery(m) => format!("forme de requête non prise en charge ({m})"),
        other => other.to_string(),
    })
}

/// Rewrites what users type into what tantivy's grammar means; see the module comment.
/// Only outside double quotes.
pub(crate) fn prepare(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut in_quotes = false;
    let mut i = 0;
    let at_word_start = |i: usize| i == 0 || chars[i - 1].is_whitespace();
    let word_ends = |end: usize| end >= chars.len() || chars[end].is_whitespace();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(&next) = chars.get(i + 1) {
                out.push(next);
            }
            i += 2;
            continue;
        }
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if in_quotes || c == '"' {
            out.push(c);
            i += 1;
            continue;
        }
        let prev_alnum = i > 0 && chars[i - 1].is_alphanumeric();
        let next_alnum = chars.get(i + 1).is_some_and(|c| c.is_alphanumeric());
        match c {
            // `l'école`: an apostrophe inside a word, not the start of a quoted phrase.
            '\'' if prev_alnum && next_alnum => out.push('’'),
            ':' if i > 0 && chars[i - 1].is_whitespace() => {
                let before = out.trim_end();
                let word = before
                    .rsplit(char::is_whitespace)
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches(['-', '+', '(']);
                if target(word).is_some() {
                    // `dossier : pauvrete` typed with French spacing.
                    out.truncate(before.len());
                    out.push(':');
                    while chars.get(i + 1).is_some_and(|c| c.is_whitespace()) {
                        i += 1;
                    }
                } else {
                    // `Laïcité : le débat`: punctuation.
                    out.push(' ');
                }
            }
            '-' if at_word_start(i) && word_ends(i + 1) => out.push(' '),
            'E' | 'O' if at_word_start(i) && word_ends(i + 2) => {
                match (c, chars.get(i + 1)) {
                    ('E', Some('T')) => out.push_str("AND"),
                    ('O', Some('U')) => out.push_str("OR"),
                    (_, Some(&next)) => {
                        out.push(c);
                        out.push(next);
                    }
                    (_, None) => out.push(c),
                }
                i += 2;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

fn rewrite(ast: UserInputAst, ctx: &Context) -> Result<Option<UserInputAst>, InvalidQuery> {
    Ok(match ast {
        UserInputAst::Clause(children) => {
            let mut kept = Vec::with_capacity(children.len());
            for (occur, child) in children {
                if let Some(child) = rewrite(child, ctx)? {
                    kept.push((occur, child));
                }
            }
            (!kept.is_empty()).then_some(UserInputAst::Clause(kept))
        }
        UserInputAst::Boost(inner, boost) => {
            rewrite(*inner, ctx)?.map(|inner| UserInputAst::Boost(Box::new(inner), boost))
        }
        UserInputAst::Leaf(leaf) => rewrite_leaf(*leaf, ctx)?,
    })
}

fn leaf(leaf: UserInputLeaf) -> UserInputAst {
    UserInputAst::Leaf(Box::new(leaf))
}

fn unknown_field(name: &str) -> InvalidQuery {
    invalid(format!(
        "champ inconnu « {name} » ; champs reconnus : {KNOWN_FIELDS} (pour chercher le mot \
         « {name} », mettez une espace avant « : » ou l'expression entre guillemets)"
    ))
}

/// The schema field for a field name in a range, set or regex (one field only).
fn single_field(name: &str) -> Result<String, InvalidQuery> {
    match target(name) {
        Some(Target::One(f) | Target::Text(f, _)) => Ok(f.to_string()),
        Some(Target::Date) => Ok(F_DATE.to_string()),
        Some(Target::Since | Target::Before) => Err(invalid(format!(
            "« {name}: » prend une date (depuis:2026-01-15), pas un intervalle"
        ))),
        None => Err(unknown_field(name)),
    }
}

fn rewrite_leaf(l: UserInputLeaf, ctx: &Context) -> Result<Option<UserInputAst>, InvalidQuery> {
    Ok(Some(match l {
        UserInputLeaf::Literal(lit) => {
            let Some(name) = lit.field_name.clone() else {
                // Stop words alone say nothing; in quotes they count (phrase positions).
                if lit.delimiter == Delimiter::None && text::stems(&lit.phrase).is_empty() {
                    return Ok(None);
                }
                return Ok(Some(leaf(UserInputLeaf::Literal(lit))));
            };
            match target(&name).ok_or_else(|| unknown_field(&name))? {
                Target::One(f) => leaf(UserInputLeaf::Literal(UserInputLiteral {
                    field_name: Some(f.to_string()),
                    ..lit
                })),
                Target::Text(stemmed, folded) => {
                    let on = |f: &str| {
                        leaf(UserInputLeaf::Literal(UserInputLiteral {
                            field_name: Some(f.to_string()),
                            ..lit.clone()
                        }))
                    };
                    UserInputAst::Clause(vec![
                        (Some(Occur::Should), on(stemmed)),
                        (Some(Occur::Should), on(folded)),
                    ])
                }
                Target::Date => {
                    let (lower, upper) = match when(&lit.phrase, ctx)? {
                        When::Instant(t) => (
                            UserInputBound::Inclusive(stamp(t)),
                            UserInputBound::Inclusive(stamp(t)),
                        ),
                        When::Span(start, end) => (
                            UserInputBound::Inclusive(stamp(start)),
                            UserInputBound::Exclusive(stamp(end)),
                        ),
                    };
                    date_range(lower, upper)
                }
                Target::Since => {
                    let start = when(&lit.phrase, ctx)?.start();
                    date_range(
                        UserInputBound::Inclusive(stamp(start)),
                        UserInputBound::Unbounded,
                    )
                }
                Target::Before => {
                    let start = when(&lit.phrase, ctx)?.start();
                    date_range(
                        UserInputBound::Unbounded,
                        UserInputBound::Exclusive(stamp(start)),
                    )
                }
            }
        }
        UserInputLeaf::Range {
            field: Some(name),
            lower,
            upper,
        } => {
            let field = single_field(&name)?;
            if field == F_DATE {
                date_range(lower_bound(lower, ctx)?, upper_bound(upper, ctx)?)
            } else {
                leaf(UserInputLeaf::Range {
                    field: Some(field),
                    lower,
                    upper,
                })
            }
        }
        UserInputLeaf::Set {
            field: Some(name),
            elements,
        } => leaf(UserInputLeaf::Set {
            field: Some(single_field(&name)?),
            elements,
        }),
        // Only the date is a fast field: `date:*` is "has a publication date".
        UserInputLeaf::Exists { field } => match target(&field) {
            Some(Target::Date) => leaf(UserInputLeaf::Exists {
                field: F_DATE.to_string(),
            }),
            Some(_) => {
                return Err(invalid(format!(
                    "« {field}:* » n'est pas pris en charge (seul date:* l'est : articles datés)"
                )));
            }
            None => return Err(unknown_field(&field)),
        },
        UserInputLeaf::Regex {
            field: Some(name),
            pattern,
        } => leaf(UserInputLeaf::Regex {
            field: Some(single_field(&name)?),
            pattern,
        }),
        other => leaf(other),
    }))
}

fn date_range(lower: UserInputBound, upper: UserInputBound) -> UserInputAst {
    leaf(UserInputLeaf::Range {
        field: Some(F_DATE.to_string()),
        lower,
        upper,
    })
}

/// A date as typed: an instant, or a period (a day, a month, a year, the last N days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    Instant(DateTime<Utc>),
    /// Start included, end excluded.
    Span(DateTime<Utc>, DateTime<Utc>),
}

impl When {
    fn start(self) -> DateTime<Utc> {
        match self {
            When::Instant(t) | When::Span(t, _) => t,
        }
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `[2026-01-01 TO …`: from the start of the period; `{2026-01 TO …`: after its end.
fn lower_bound(bound: UserInputBound, ctx: &Context) -> Result<UserInputBound, InvalidQuery> {
    Ok(match bound {
        UserInputBound::Inclusive(s) => UserInputBound::Inclusive(stamp(when(&s, ctx)?.start())),
        UserInputBound::Exclusive(s) => match when(&s, ctx)? {
            When::Instant(t) => UserInputBound::Exclusive(stamp(t)),
            When::Span(_, end) => UserInputBound::Inclusive(stamp(end)),
        },
        UserInputBound::Unbounded => UserInputBound::Unbounded,
    })
}

/// `… TO 2026-01-31]`: up to the end of that day; `… TO 2026-02}`: before February.
fn upper_bound(bound: UserInputBound, ctx: &Context) -> Result<UserInputBound, InvalidQuery> {
    Ok(match bound {
        UserInputBound::Inclusive(s) => match when(&s, ctx)? {
            When::Instant(t) => UserInputBound::Inclusive(stamp(t)),
            When::Span(_, end) => UserInputBound::Exclusive(stamp(end)),
        },
        UserInputBound::Exclusive(s) => UserInputBound::Exclusive(stamp(when(&s, ctx)?.start())),
        UserInputBound::Unbounded => UserInputBound::Unbounded,
    })
}

fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

/// Parses a date as users type it.
pub(crate) fn when(text: &str, ctx: &Context) -> Result<When, InvalidQuery> {
    let bad = || invalid(format!("date incorrecte « {text} » : {DATE_HINT}"));
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(When::Instant(t.with_timezone(&Utc)));
    }
    // `7j`: the last seven days (and what is dated in the next day, clocks being what they are).
    if let Some(days) = text
        .strip_suffix(['j', 'J', 'd', 'D'])
        .and_then(|n| n.parse::<i64>().ok())
    {
        let days = Duration::try_days(days).ok_or_else(bad)?;
        return Ok(When::Span(ctx.now - days, ctx.now + Duration::days(1)));
    }
    let number = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
    };
    // Year first: 2026-01-15, 2026-01, 2026; the French order reversed: 15/01/2026, 01/2026.
    let fields: Vec<&str> = if text.contains('/') {
        text.split('/').rev().collect()
    } else {
        text.split('-').collect()
    };
    if fields.len() > 3 {
        return Err(bad());
    }
    let numbers: Vec<u32> = fields
        .iter()
        .map(|s| number(s))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let year = i32::try_from(numbers[0])
        .ok()
        .filter(|y| (1000..=9999).contains(y))
        .ok_or_else(bad)?;
    let month = numbers.get(1).copied().unwrap_or(1);
    let day = numbers.get(2).copied().unwrap_or(1);
    let start = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    let end = match numbers.len() {
        1 => NaiveDate::from_ymd_opt(year + 1, 1, 1),
        2 => start.checked_add_months(Months::new(1)),
        _ => start.succ_opt(),
    }
    .ok_or_else(bad)?;
    Ok(When::Span(
        local_midnight(start, ctx.timezone),
        local_midnight(end, ctx.timezone),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            timezone: chrono_tz::Europe::Paris,
            now: "2026-03-10T12:00:00Z".parse().unwrap(),
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn french_typing_habits() {
        assert_eq!(prepare("l'école d'Alès"), "l’école d’Alès");
        assert_eq!(prepare("'seuil de pauvreté'"), "'seuil de pauvreté'");
        assert_eq!(prepare("Laïcité : le débat"), "Laïcité   le débat");
        assert_eq!(prepare("dossier : pauvrete"), "dossier:pauvrete");
        assert_eq!(prepare("-dossier : pauvrete"), "-dossier:pauvrete");
        assert_eq!(
            prepare("ecole ET laicite OU securite"),
            "ecole AND laicite OR securite"
        );
        assert_eq!(prepare("ETAT OUEST ET"), "ETAT OUEST AND");
        assert_eq!(prepare("Covid - 19 -vaccin"), "Covid   19 -vaccin");
        assert_eq!(prepare("\"l'État : ET\""), "\"l'État : ET\"");
    }

    #[test]
    fn dates_as_typed() {
        let c = ctx();
        // Paris is UTC+1 in winter: the day starts at 23:00 UTC the day before.
        assert_eq!(
            when("2026-01-15", &c).unwrap(),
            When::Span(utc("2026-01-14T23:00:00Z"), utc("2026-01-15T23:00:00Z"))
        );
        assert_eq!(when("15/01/2026", &c), when("2026-01-15", &c));
        assert_eq!(
            when("2026-01", &c).unwrap(),
            When::Span(utc("2025-12-31T23:00:00Z"), utc("2026-01-31T23:00:00Z"))
        );
        assert_eq!(when("01/2026", &c), when("2026-01", &c));
        assert_eq!(
            when("2025", &c).unwrap(),
            When::Span(utc("2024-12-31T23:00:00Z"), utc("2025-12-31T23:00:00Z"))
        );
        // Summer time: UTC+2.
        assert_eq!(
            when("2026-07-01", &c).unwrap().start(),
            utc("2026-06-30T22:00:00Z")
        );
        assert_eq!(
            when("2026-01-15T08:00:00+01:00", &c).unwrap(),
            When::Instant(utc("2026-01-15T07:00:00Z"))
        );
        assert_eq!(when("7j", &c).unwrap().start(), utc("2026-03-03T12:00:00Z"));
        for bad in ["2026-13", "2026-02-30", "hier", "26-01-15", "1/2/3/4", ""] {
            let e = when(bad, &c).unwrap_err();
            assert!(
                e.to_string()
                    .starts_with("requête invalide : date incorrecte"),
                "{e}"
            );
        }
    }
}
