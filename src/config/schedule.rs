//! The schedules of `feeds.toml`: `[schedule]` (default polling, panoramas, stop delay),
//! per-dossier `poll_schedule` / `panorama_schedule`, per-source `schedule`, and
//! `draft_schedule` of each publication. A schedule is one 5-field cron expression or a list
//! of them (their union), in `[settings] timezone`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use super::Config;
use super::collector::Collector;
use crate::model::Source;

/// Default polling: every 30 minutes from 6 h to 21 h on weekdays, and hourly at all times.
const DEFAULT_POLL: [&str; 2] = ["*/30 6-21 * * 1-5", "0 * * * *"];
/// Default panorama refresh: every day at 7 h.
const DEFAULT_PANORAMAS: &str = "0 7 * * *";
/// Default reading of the bounce mailbox: every 15 minutes.
const DEFAULT_BOUNCES: &str = "*/15 * * * *";
/// How long in-flight fetches may go on after a stop signal, by default.
const DEFAULT_STOP_GRACE_SECS: u64 = 5;

/// The draft of a publication covering `months` months: 8 h on the first day of its
/// period (`0 8 1 * *` monthly, `0 8 1 */2 *` every two months from January).
fn default_draft(months: u32) -> String {
    if months <= 1 {
        "0 8 1 * *".into()
    } else {
        format!("0 8 1 */{months} *")
    }
}

/// A schedule as written: one expression or a list (an empty list: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScheduleSpec {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = ScheduleSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an expression \"* * * * *\" or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScheduleSpec::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<String>>()? {
                    list.push(item);
                }
                Ok(ScheduleSpec::Many(list))
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

impl Serialize for ScheduleSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ScheduleSpec::One(t) => serializer.serialize_str(t),
            ScheduleSpec::Many(list) => serializer.collect_seq(list.iter().map(|t| t.get_ref())),
        }
    }
}

/// `[schedule]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(crate) poll: Option<Spanned<ScheduleSpec>>,
    pub(crate) panoramas: Option<Spanned<ScheduleSpec>>,
    pub(crate) bounces: Option<Spanned<ScheduleSpec>>,
    pub(crate) stop_grace_secs: Option<Spanned<u64>>,
}

/// The schedules of a validated configuration (expressions as text; `schedule` parses them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedules {
    /// Polling of every source without a schedule of its own or of its dossiers.
    pub(crate) poll: Vec<String>,
    /// Panorama refresh of every dossier with `panorama = true` and no schedule of its own.
    pub(crate) panoramas: Vec<String>,
    /// Polling of a dossier's sources (a source in several dossiers follows all of them).
    pub(super) dossier_poll: BTreeMap<String, Vec<String>>,
    pub(crate) dossier_panorama: BTreeMap<String, Vec<String>>,
    /// A source's own polling schedule, by source name.
    pub(crate) sources: BTreeMap<String, Vec<String>>,
    /// `draft_schedule` of the publications that set one.
    pub(crate) drafts: BTreeMap<String, Vec<String>>,
    /// Reading of the bounce mailbox (when `[bounces]` names one).
    pub(crate) bounces: Vec<String>,
    /// How long in-flight fetches may go on after SIGTERM/SIGINT (then they are cut).
    pub(crate) stop_grace_secs: u64,
}

impl Default for Schedules {
    fn default() -> Self {
        Schedules {
            poll: DEFAULT_POLL.iter().map(|s| s.to_string()).collect(),
            panoramas: vec![DEFAULT_PANORAMAS.into()],
            dossier_poll: BTreeMap::new(),
            dossier_panorama: BTreeMap::new(),
            sources: BTreeMap::new(),
            drafts: BTreeMap::new(),
            bounces: vec![DEFAULT_BOUNCES.into()],
            stop_grace_secs: DEFAULT_STOP_GRACE_SECS,
        }
    }
}

impl Schedules {
    /// The polling schedule of a source: its own, else the union of its dossiers', else
    /// the default.
    pub(crate) fn poll_for(&self, source: &Source) -> Vec<String> {
        if let Some(own) = self.sources.get(&source.name) {
            return own.clone();
        }
        let mut texts: Vec<String> = source
            .dossiers
            .iter()
            .filter_map(|d| self.dossier_poll.get(d))
            .flatten()
            .cloned()
            .collect();
        if texts.is_empty() {
            return self.poll.clone();
        }
        texts.sort();
        texts.dedup();
        texts
    }

    /// The draft schedule of a publication kind: its own, else from its period length.
    pub(crate) fn draft_for(&self, config: &Config, kind: &str) -> Vec<String> {
        match self.drafts.get(kind) {
            Some(own) => own.clone(),
            None => vec![default_draft(
                config.publications.get(kind).map_or(1, |p| p.months),
            )],
        }
    }
}

/// Checks every expression of `spec`; returns its texts and, for each mistake, where it is
/// (the expression's span, or the field's inside a one-line string) with its message.
pub(super) fn check(
    spec: &Spanned<ScheduleSpec>,
    text: &str,
) -> (Vec<String>, Vec<(Range<usize>, String)>) {
    let mut errors = Vec::new();
    let items: Vec<(String, Range<usize>)> = match spec.get_ref() {
        ScheduleSpec::One(t) => vec![(t.clone(), spec.span())],
        ScheduleSpec::Many(list) => list
            .iter()
            .map(|t| (t.get_ref().clone(), t.span()))
            .collect(),
    };
    for (expr, span) in &items {
        if let Err(e) = crate::cron::Expr::parse(expr) {
            // Point at the field when the literal is a plain one-line string.
            let literal = &text[span.clone()];
            let at = match e.offset {
                Some(offset)
                    if (literal.starts_with('"') || literal.starts_with('\''))
                        && !literal.starts_with("\"\"\"")
                        && !literal.starts_with("'''")
                        && literal.get(1..1 + expr.len()) == Some(expr.as_str()) =>
                {
                    span.start + 1 + offset..span.end
                }
                _ => span.clone(),
            };
            errors.push((at, e.message));
        }
    }
    (items.into_iter().map(|(t, _)| t).collect(), errors)
}

/// Checks `[schedule]`; per-dossier, per-source and per-publication schedules are added by
/// the validators of those tables.
pub(super) fn validate(raw: Option<RawSchedule>, c: &mut Collector) -> Schedules {
    let mut schedules = Schedules::default();
    let Some(raw) = raw else {
        return schedules;
    };
    if let Some(spec) = &raw.poll {
        schedules.poll = c.schedule(spec);
    }
    if let Some(spec) = &raw.panoramas {
        schedules.panoramas = c.schedule(spec);
    }
    if let Some(spec) = &raw.bounces {
        schedules.bounces = c.schedule(spec);
    }
    if let Some(grace) = &raw.stop_grace_secs {
        if *grace.get_ref() > 60 {
            c.push(
                grace.span(),
                "`stop_grace_secs` doit être au plus 60".into(),
                Some("au-delà, systemd ou l'opérateur perdent patience ; 5 par défaut".into()),
            );
        }
        schedules.stop_grace_secs = *grace.get_ref();
    }
    schedules
}
