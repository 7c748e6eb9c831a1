//! Parses the dates found in feeds and pages: RFC 3339 and 2822 first, then the French and
//! loose English forms that real sources use ("28 novembre 2026 à 14h05").

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;

use crate::model::DateFlag;

/// How far ahead of the fetch a date may be before it is treated as wrong.
const FUTURE_TOLERANCE: Duration = Duration::hours(24);

type Parser = fn(&str) -> chrono::ParseResult<DateTime<chrono::FixedOffset>>;

/// Parses a date as found in a feed or a page. Dates without a zone are read in Paris time.
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    // RSS dates (RFC 2822) start with a day name or a day number and a space, Atom and JSON
    // Feed dates (RFC 3339) with a four-digit year: the likely form is tried first.
    let atom_like = text.as_bytes().get(4) == Some(&b'-');
    let (first, second): (Parser, Parser) = if atom_like {
        (DateTime::parse_from_rfc3339, DateTime::parse_from_rfc2822)
    } else {
        (DateTime::parse_from_rfc2822, DateTime::parse_from_rfc3339)
    };
    if let Ok(d) = first(text).or_else(|_| second(text)) {
        return Some(d.with_timezone(&Utc));
    }
    parse_loose(text)
}

/// Clamps a date far in the future to `now` and says so.
pub(super) fn clamp_future(
    date: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateFlag>) {
    match date {
        Some(d) if d > now + FUTURE_TOLERANCE => (Some(now), Some(DateFlag::FutureClamped)),
        other => (other, None),
    }
}

const MONTHS: [(&str, u32); 26] = [
    ("janvier", 1),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("decembre", 12),
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("sept", 9),
    ("juil", 7),
];

fn month(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .find(|(name, _)| *name == word || (word.len() >= 3 && name.starts_with(word)))
        .map(|(_, m)| *m)
}

fn fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'É' => 'e',
            'û' | 'ù' => 'u',
            'à' | 'â' => 'a',
            'ô' => 'o',
            'î' => 'i',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Token-based reading of the remaining forms: a day, a month (name or number), a year, an
/// optional time (`14h05`, `14:05`, `08:28:28 PM`) and an optional zone offset.
fn parse_loose(text: &str) -> Option<DateTime<Utc>> {
    let folded = fold(text);
    let mut numbers: Vec<(u32, usize)> = Vec::new(); // value, digit count
    let mut month_name = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut pm = None;
    let mut offset_minutes: Option<i32> = None;
    let tokens: Vec<&str> = folded
        .split(|c: char| c.is_whitespace() || c == ',' || c == '|')
        .filter(|t| !t.is_empty())
        .collect();
    for token in tokens {
        let token = token.trim_matches(|c: char| c == '.' || c == '(' || c == ')');
        if let Some(t) = parse_time(token) {
            time = Some(t);
        } else if token == "pm" || token == "am" {
            pm = Some(token == "pm");
        } else if token == "utc" || token == "gmt" || token == "z" {
            offset_minutes = Some(0);
        } else if (token.starts_with('+') || token.starts_with('-'))
            && token.len() >= 5
            && time.is_some()
        {
            let digits: String = token[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() == 4 {
                let h: i32 = digits[..2].parse().ok()?;
                let m: i32 = digits[2..].parse().ok()?;
                let sign = if token.starts_with('-') { -1 } else { 1 };
                offset_minutes = Some(sign * (h * 60 + m));
            }
        } else if token.contains('/')
            || (token.contains('-') && token.chars().next().is_some_and(|c| c.is_ascii_digit()))
        {
            // 28/11/2026 or 2026-11-28
            let parts: Vec<&str> = token.split(['/', '-']).collect();
            for p in parts {
                let p = p.trim_end_matches(|c: char| !c.is_ascii_digit());
                if let Ok(n) = p.parse::<u32>() {
                    numbers.push((n, p.len()));
                }
            }
        } else if let Some(m) = month(token.trim_end_matches('.')) {
            month_name = Some(m);
        } else {
            let digits = token
                .trim_end_matches("er")
                .trim_end_matches(|c: char| !c.is_ascii_digit());
            if let Ok(n) = digits.parse::<u32>() {
                numbers.push((n, digits.len()));
            }
        }
    }
    let (year, month, day) = if let Some(m) = month_name {
        let year = numbers.iter().find(|(_, len)| *len == 4)?.0;
        let day = numbers
            .iter()
            .find(|(n, len)| *len <= 2 && (1..=31).contains(n))?
            .0;
        (year, m, day)
    } else {
        match numbers.as_slice() {
            [(y, 4), (m, _), (d, _), ..] => (*y, *m, *d),
            // French order: day/month/year
            [(d, _), (m, _), (y, 4), ..] => (*y, *m, *d),
            _ => return None,
        }
    };
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let (mut h, mi, s) = time.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let naive = NaiveDateTime::new(date, NaiveTime::from_hms_opt(h, mi, s)?);
    match offset_minutes {
        Some(off) => Some(Utc.from_utc_datetime(&(naive - Duration::minutes(off as i64)))),
        None => Paris
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.with_timezone(&Utc)),
    }
    .filter(|d| d.year() > 1900)
}

fn parse_time(token: &str) -> Option<(u32, u32, u32)> {
    let sep = if token.contains(':') {
        ':'
    } else if token.contains('h') {
        'h'
    } else {
        return None;
    };
    let parts: Vec<&str> = token.split(sep).collect();
    if parts.len() < 2 || parts.len() > 3 || parts[0].is_empty() || parts[0].len() > 2 {
        return None;
    }
    let h: u32 = parts[0].parse().ok()?;
    let m: u32 = if parts[1].is_empty() {
        0
    } else {
        parts[1].get(..2.min(parts[1].len()))?.parse().ok()?
    };
    let s: u32 = parts
        .get(2)
        .map_or(Some(0), |p| p.get(..2.min(p.len()))?.parse().ok())?;
    (h < 24 && m < 60 && s < 61).then_some((h, m, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn french_dates() {
        assert_eq!(
            parse_date("28 novembre 2026 à 14h05"),
            Some(utc("2026-11-28T14:05:00+01:00"))
        );
        assert_eq!(
            parse_date("Publié le 1er mars 2025"),
            Some(utc("2025-03-01T00:00:00+01:00"))
        );
        assert_eq!(
            parse_date("jeudi 3 juillet 2025, 9h"),
            Some(utc("2025-07-03T09:00:00+02:00"))
        );
        assert_eq!(
            parse_date("12 déc. 2024"),
            Some(utc("2024-12-12T00:00:00+01:00"))
        );
        assert_eq!(
            parse_date("05/02/2026"),
            Some(utc("2026-02-05T00:00:00+01:00"))
        );
        assert_eq!(
            parse_date("Mis à jour le 17 août 2026 à 18:30"),
            Some(utc("2026-08-17T18:30:00+02:00"))
        );
    }

    #[test]
    fn loose_english_and_standard_dates() {
        assert_eq!(
            parse_date("Sat, Oct 28 2023 08:28:28 PM"),
            Some(utc("2023-10-28T20:28:28+02:00"))
        );
        assert_eq!(
            parse_date("Tue, 10 Jun 2003 04:00:00 GMT"),
            Some(utc("2003-06-10T04:00:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-28T14:05:00+01:00"),
            Some(utc("2026-11-28T13:05:00Z"))
        );
        assert_eq!(
            parse_date("2026-11-28 14:05:00 +0000"),
            Some(utc("2026-11-28T14:05:00Z"))
        );
        assert_eq!(parse_date("demain"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn future_dates_are_clamped_and_flagged() {
        let now = utc("2026-11-28T10:00:00Z");
        let (d, flag) = clamp_future(Some(utc("2031-01-01T00:00:00Z")), now);
        assert_eq!((d, flag), (Some(now), Some(DateFlag::FutureClamped)));
        let soon = Some(utc("2026-11-28T12:00:00Z"));
        assert_eq!(clamp_future(soon, now), (soon, None));
    }
}
