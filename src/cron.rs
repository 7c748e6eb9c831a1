//! Cron expressions: 5-field patterns evaluated by croner in a timezone (`Expr`) and their
//! unions (`Schedule`). Imports nothing of the crate, so that `config` can check expressions
//! and `schedule` can run them without either knowing the other.
//!
//! Daylight saving time follows croner (Vixie cron's rules): a fixed-time job (one minute and
//! one hour, such as `30 2 * * *`) whose local time falls in the spring-forward gap runs at
//! the first instant after the gap, and once only when its local time occurs twice in the
//! autumn; an interval job (`*/15 * * * *`, `0 * * * *`) keeps its pace in real time: it
//! skips the hour that does not exist and runs in both copies of the repeated hour.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The names of the five fields, for messages.
const FIELDS: [&str; 5] = [
    "minute",
    "heure",
    "jour du mois",
    "mois",
    "jour de la semaine",
];

/// How to write a schedule, for hints.
pub const SYNTAX_HINT: &str = "5 champs : minute heure jour-du-mois mois jour-de-la-semaine (0 ou 7 = dimanche), par exemple \"*/30 6-21 * * 1-5\" (toutes les 30 min de 6 h à 21 h en semaine) ou \"0 7 * * *\" (chaque jour à 7 h)";

/// A schedule expression that does not parse: a French message and, when known, the byte
/// offset of the faulty field in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub(crate) message: String,
    pub(crate) offset: Option<usize>,
}

/// One parsed 5-field expression (POSIX/Vixie cron, with croner's `L`, `W` and `#`).
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    cron: Cron,
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

impl Expr {
    /// Parses a five-field cron expression; the error is worded in French for the user.
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let trimmed = text.trim();
        let fields: Vec<(usize, &str)> = field_offsets(text);
        if trimmed.is_empty() {
            return Err(ExprError {
                message: "expression de planification vide".into(),
                offset: None,
            });
        }
        if !trimmed.starts_with('@') && fields.len() != 5 {
            return Err(ExprError {
                message: format!(
                    "expression de planification « {trimmed} » : {} champ{} au lieu de 5",
                    fields.len(),
                    if fields.len() > 1 { "s" } else { "" }
                ),
                offset: None,
            });
        }
        // croner reads an empty list item (`,5`, `1,,5`) as a list that matches nothing, and
        // then searches years for an instant that never comes (seconds of CPU, found by
        // `make fuzz`): refused here, pointing at the field.
        if !trimmed.starts_with('@')
            && let Some(i) = (0..5).find(|&i| fields[i].1.split(',').any(str::is_empty))
        {
            return Err(ExprError {
                message: format!(
                    "expression de planification « {trimmed} » : champ « {} » invalide (`{}` : \
                     élément vide entre deux virgules)",
                    FIELDS[i], fields[i].1
                ),
                offset: Some(fields[i].0),
            });
        }
        match parser().parse(trimmed) {
            Ok(cron) => {
                let expr = Expr {
                    text: trimmed.to_string(),
                    cron,
                };
                // A pattern such as `0 0 31 2 *` parses but never happens.
                let probe = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
                    .expect("static date")
                    .with_timezone(&Utc);
                if expr.next_after(probe, chrono_tz::UTC).is_none() {
                    return Err(ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » : cette date n'existe jamais"
                        ),
                        offset: None,
                    });
                }
                Ok(expr)
            }
            Err(e) => {
                // Find the first field that is wrong on its own, to point at it.
                let faulty = if trimmed.starts_with('@') {
                    None
                } else {
                    (0..5).find(|&i| {
                        let mut probe = ["*"; 5];
                        probe[i] = fields[i].1;
                        parser().parse(&probe.join(" ")).is_err()
                    })
                };
                Err(match faulty {
                    Some(i) => ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » : champ « {} » invalide (`{}`)",
                            FIELDS[i], fields[i].1
                        ),
                        offset: Some(fields[i].0),
                    },
                    None => ExprError {
                        message: format!(
                            "expression de planification « {trimmed} » invalide ({})",
                            french_error(&e)
                        ),
                        offset: None,
                    },
                })
            }
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `t`, in `tz`; None when the pattern never happens again.
    pub(crate) fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&tz), false)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }

    /// The last run at or before `t`, in `tz`.
    pub(crate) fn latest_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&tz), true)
            .ok()
            .map(|n| n.with_timezone(&Utc))
    }
}

/// Each whitespace-separated field with its byte offset in `text`.
fn field_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                fields.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        fields.push((s, &text[s..]));
    }
    fields
}

fn french_error(e: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    match e {
        E::EmptyPattern => "expression vide".into(),
        E::InvalidPattern(m) | E::IllegalCharacters(m) | E::ComponentError(m) => {
            format!("détail : {m}")
        }
        other => format!("détail : {other}"),
    }
}

/// A schedule: the union of one or more expressions, in one timezone. An empty schedule
/// never runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    exprs: Vec<Expr>,
    tz: Tz,
}

impl Schedule {
    /// Parses every expression (the configuration has checked them already).
    pub(crate) fn new<S: AsRef<str>>(texts: &[S], tz: Tz) -> Result<Schedule, ExprError> {
        let exprs = texts
            .iter()
            .map(|t| Expr::parse(t.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Schedule { exprs, tz })
    }

    pub(crate) fn timezone(&self) -> Tz {
        self.tz
    }

    /// The expressions, joined with ` | `.
    pub(crate) fn text(&self) -> String {
        self.exprs
            .iter()
            .map(Expr::text)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The first run strictly after `t`.
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.exprs
            .iter()
            .filter_map(|e| e.next_after(t, self.tz))
            .min()
    }

    /// The last run at or before `t`.
    pub(crate) fn latest_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.exprs
            .iter()
            .filter_map(|e| e.latest_at_or_before(t, self.tz))
            .max()
    }

    /// The next `count` runs after `from`, in local time.
    pub(crate) fn upcoming(&self, from: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut t = from;
        while out.len() < count {
            let Some(next) = self.next_after(t) else {
                break;
            };
            out.push(next.with_timezone(&self.tz));
            t = next;
        }
        out
    }
}
