//! French dates as the centre writes them: « jeudi 28 novembre 2026 », « 1er mars ».

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

const DAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// How much of a date to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// « jeudi 28 novembre 2026 »
    Long,
    /// « 28 novembre 2026 »
    Day,
    /// « 1er mars »
    DayMonth,
    /// « novembre 2026 »
    Month,
}

impl DateStyle {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "long" => Some(DateStyle::Long),
            "jour" => Some(DateStyle::Day),
            "jour_mois" => Some(DateStyle::DayMonth),
            "mois" => Some(DateStyle::Month),
            _ => None,
        }
    }
}

pub fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize + 11) % 12]
}

/// Writes a calendar date in French.
pub fn format_date(date: NaiveDate, style: DateStyle) -> String {
    let day = match date.day() {
        1 => "1er".to_string(),
        d => d.to_string(),
    };
    let month = month_name(date.month());
    match style {
        DateStyle::Long => format!(
            "{} {day} {month} {}",
            DAYS[date.weekday().num_days_from_monday() as usize],
            date.year()
        ),
        DateStyle::Day => format!("{day} {month} {}", date.year()),
        DateStyle::DayMonth => format!("{day} {month}"),
        DateStyle::Month => format!("{month} {}", date.year()),
    }
}

/// The local calendar date of a stored value: RFC 3339 (converted to `tz`) or `YYYY-MM-DD`
/// (optionally followed by a time, as agenda entries are written).
pub fn local_date(text: &str, tz: Tz) -> Option<NaiveDate> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc).with_timezone(&tz).date_naive());
    }
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// The period of an edition: « novembre 2026 », « novembre-décembre 2026 »,
/// « décembre 2026-janvier 2027 », or the two days when they are not whole months.
pub fn period_label(start: NaiveDate, end: NaiveDate) -> String {
    let whole_months = start.day() == 1 && end.succ_opt().is_some_and(|next| next.day() == 1);
    if !whole_months {
        return format!(
            "du {} au {}",
            format_date(start, DateStyle::Day),
            format_date(end, DateStyle::Day)
        );
    }
    let (m1, m2) = (month_name(start.month()), month_name(end.month()));
    if start.year() == end.year() && start.month() == end.month() {
        format!("{m1} {}", start.year())
    } else if start.year() == end.year() {
        format!("{m1}-{m2} {}", start.year())
    } else {
        format!("{m1} {}-{m2} {}", start.year(), end.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_in_french() {
        assert_eq!(
            format_date(d(2026, 11, 26), DateStyle::Long),
            "jeudi 26 novembre 2026"
        );
        assert_eq!(format_date(d(2026, 3, 1), DateStyle::DayMonth), "1er mars");
        assert_eq!(format_date(d(2026, 8, 15), DateStyle::Day), "15 août 2026");
        assert_eq!(
            format_date(d(2027, 2, 1), DateStyle::Long),
            "lundi 1er février 2027"
        );
        assert_eq!(
            format_date(d(2026, 12, 2), DateStyle::Month),
            "décembre 2026"
        );
    }

    #[test]
    fn timestamps_are_read_in_the_local_day() {
        // 23:30 UTC on 31 December is already New Year's Day in Paris.
        let date = local_date("2026-12-31T23:30:00Z", chrono_tz::Europe::Paris).unwrap();
        assert_eq!(date, d(2027, 1, 1));
        assert_eq!(
            local_date("2026-03-05 18h30", chrono_tz::Europe::Paris),
            Some(d(2026, 3, 5))
        );
        assert_eq!(local_date("demain", chrono_tz::Europe::Paris), None);
    }

    #[test]
    fn periods() {
        assert_eq!(
            period_label(d(2026, 11, 1), d(2026, 11, 30)),
            "novembre 2026"
        );
        assert_eq!(
            period_label(d(2026, 11, 1), d(2026, 12, 31)),
            "novembre-décembre 2026"
        );
        assert_eq!(
            period_label(d(2026, 12, 1), d(2027, 1, 31)),
            "décembre 2026-janvier 2027"
        );
        assert_eq!(
            period_label(d(2026, 11, 3), d(2026, 11, 17)),
            "du 3 novembre 2026 au 17 novembre 2026"
        );
    }
}
