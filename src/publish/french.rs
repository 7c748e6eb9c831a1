//! French as the centre writes it: dates (« jeudi 28 novembre 2026 », « 1er mars »),
//! plurals (`1 source`, `2 sources`) and typography (narrow no-break spaces before `: ; ! ?`
//! and inside « », no-break spaces in « n° 1 » and before units), for plain text and for
//! the text of HTML without touching tags, entities or URLs.

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
pub(crate) enum DateStyle {
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
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "long" => Some(DateStyle::Long),
            "jour" => Some(DateStyle::Day),
            "jour_mois" => Some(DateStyle::DayMonth),
            "mois" => Some(DateStyle::Month),
            _ => None,
        }
    }
}

pub(crate) fn month_name(month: u32) -> &'static str {
    MONTHS[(month as usize + 11) % 12]
}

/// Writes a calendar date in French.
pub(crate) fn format_date(date: NaiveDate, style: DateStyle) -> String {
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
pub(crate) fn local_date(text: &str, tz: Tz) -> Option<NaiveDate> {
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

/// U+202F, the narrow no-break space before `; ! ?` and inside « ».
pub(crate) const NARROW_NBSP: char = '\u{202F}';
/// U+00A0, the no-break space in « n° 1 » and before units.
pub(crate) const NBSP: char = '\u{A0}';

/// `n` with its noun, singular for 0 and 1 as in French: « 1 source », « 0 histoire »,
/// « 3 histoires ».
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n > 1 { many } else { one })
}

/// Units written after a number, kept on its line.
const UNITS: [&str; 21] = [
    "%",
    "€",
    "$",
    "k€",
    "M€",
    "Md€",
    "km",
    "m",
    "m²",
    "kg",
    "g",
    "h",
    "min",
    "s",
    "°C",
    "ans",
    "mois",
    "jours",
    "euros",
    "millions",
    "milliards",
];

/// Starts of text that are links: left exactly as they are.
const LINK_STARTS: [&str; 4] = ["http://", "https://", "www.", "mailto:"];

fn is_space(c: char) -> bool {
    c == ' ' || c == NBSP || c == NARROW_NBSP
}

/// The French typography of a plain text: a narrow no-break space before `: ; ! ?` (the
/// ordinary space there is replaced; one is added before `; ! ?` glued to a word) and inside
/// « »; a no-break space in « n° 1 » and between a number and its unit (« 20 % »,
/// « 3 km »). Links are left alone, and `:` is never touched without a space before it
/// (times, URLs); so the function can run twice without changing anything more.
pub fn typography(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_link = false;
    let at = |i: usize| chars.get(i).copied();
    // The punctuation at `i` ends a clause: what follows is not part of a word.
    let ends_clause = |i: usize| at(i + 1).is_none_or(|n| !n.is_alphanumeric());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(at);
        if in_link {
            if !(c.is_whitespace() || c == '<' || c == '>') {
                out.push(c);
                continue;
            }
            // The link ends here; what follows is text again.
            in_link = false;
        }
        let word_start = prev.is_none_or(|p| p.is_whitespace() || "(<«\"'".contains(p));
        if word_start
            && matches!(c, 'h' | 'w' | 'm')
            && LINK_STARTS
                .iter()
                .any(|start| start.chars().enumerate().all(|(k, s)| at(i + k) == Some(s)))
        {
            in_link = true;
            out.push(c);
            continue;
        }
        match c {
            ' ' | NBSP => {
                let next = at(i + 1);
                if next == Some('»')
                    || (matches!(next, Some(':' | ';' | '!' | '?')) && ends_clause(i + 1))
                    || prev == Some('«')
                {
                    out.push(NARROW_NBSP);
                } else if (prev == Some('°')
                    && i >= 2
                    && matches!(at(i - 2), Some('n' | 'N'))
                    && (i < 3 || !at(i - 3).is_some_and(char::is_alphanumeric))
                    && next.is_some_and(|n| n.is_ascii_digit()))
                    || (prev.is_some_and(|p| p.is_ascii_digit()) && unit_at(&chars, i + 1))
                {
                    // « n° 1 », « 20 % »: the number stays with what it numbers.
                    out.push(NBSP);
                } else {
                    out.push(c);
                }
            }
            ';' | '!' | '?'
                if prev.is_some_and(|p| p.is_alphanumeric() || p == '»' || p == ')')
                    && ends_clause(i) =>
            {
                out.push(NARROW_NBSP);
                out.push(c);
            }
            '»' if prev.is_some_and(|p| !is_space(p)) => {
                out.push(NARROW_NBSP);
                out.push(c);
            }
            '«' if at(i + 1).is_some_and(|n| !is_space(n)) => {
                out.push(c);
                out.push(NARROW_NBSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// A unit from `UNITS` starts at `i` and ends there (`20 %`, not `20 minutes`).
fn unit_at(chars: &[char], i: usize) -> bool {
    UNITS.iter().any(|unit| {
        let unit: Vec<char> = unit.chars().collect();
        chars[i.min(chars.len())..].starts_with(&unit)
            && chars
                .get(i + unit.len())
                .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Elements whose content is copied as it is: styles, scripts, code, form text.
const VERBATIM: [&str; 5] = ["style", "script", "pre", "code", "textarea"];

/// `typography` over the text of an HTML (or XML) document: tags and their attributes,
/// comments and the `VERBATIM` elements are copied as they are, and so are entities (`&amp;`
/// never becomes `&amp ;`).
pub(crate) fn typography_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while !rest.is_empty() {
        match rest.find('<') {
            None => {
                out.push_str(&typography_text_node(rest));
                break;
            }
            Some(start) => {
                out.push_str(&typography_text_node(&rest[..start]));
                rest = &rest[start..];
                let lower = rest.get(..9).unwrap_or(rest).to_ascii_lowercase();
                let end = if lower.starts_with("<!--") {
                    rest.find("-->").map(|e| e + 3)
                } else if lower.starts_with("<![cdata[") {
                    rest.find("]]>").map(|e| e + 3)
                } else if let Some(name) = VERBATIM.iter().find(|name| {
                    lower.strip_prefix('<').is_some_and(|t| {
                        t.strip_prefix(**name)
                            .is_some_and(|after| after.starts_with(['>', ' ', '\t', '\n']))
                    })
                }) {
                    let close = format!("</{name}>");
                    rest.to_ascii_lowercase()
                        .find(&close)
                        .map(|e| e + close.len())
                } else {
                    rest.find('>').map(|e| e + 1)
                };
                let end = end.unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
            }
        }
    }
    out
}

/// One text node: its entities are set aside (as private-use characters, which count as
/// neither letters nor spaces), the text is set, the entities are put back.
fn typography_text_node(text: &str) -> String {
    if !text.contains(|c: char| c == ' ' || ";!?«»:°".contains(c)) {
        return text.to_string();
    }
    // Spaces written as entities are spaces for the rules (and valid as characters).
    let text = text
        .replace("&nbsp;", "\u{A0}")
        .replace("&#160;", "\u{A0}")
        .replace("&#8239;", "\u{202F}");
    let mut entities: Vec<&str> = Vec::new();
    let mut protected = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find('&') {
        protected.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(';').filter(|&e| {
            e > 1
                && e <= 10
                && tail[1..e]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '#')
        });
        match end {
            Some(e) if entities.len() < 6000 => {
                protected
                    .push(char::from_u32(0xE000 + entities.len() as u32).unwrap_or('\u{E000}'));
                entities.push(&tail[..=e]);
                rest = &tail[e + 1..];
            }
            _ => {
                protected.push('&');
                rest = &tail[1..];
            }
        }
    }
    protected.push_str(rest);
    typography(&protected)
        .chars()
        .map(|c| match c as u32 {
            n @ 0xE000..=0xF8FF if ((n - 0xE000) as usize) < entities.len() => {
                entities[(n - 0xE000) as usize].to_string()
            }
            _ => c.to_string(),
        })
        .collect()
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

    fn visible(text: &str) -> String {
        text.replace(NARROW_NBSP, "⍽").replace(NBSP, "~")
    }

    #[test]
    fn plurals() {
        assert_eq!(count(0, "histoire", "histoires"), "0 histoire");
        assert_eq!(count(1, "source", "sources"), "1 source");
        assert_eq!(count(2, "source", "sources"), "2 sources");
    }

    #[test]
    fn typography_of_plain_text() {
        let t = |s: &str| visible(&typography(s));
        assert_eq!(t("Toulouse : renfort"), "Toulouse⍽: renfort");
        assert_eq!(
            t("Vraiment ? Oui ! Et puis ; fin"),
            "Vraiment⍽? Oui⍽! Et puis⍽; fin"
        );
        assert_eq!(t("Vraiment? Oui!"), "Vraiment⍽? Oui⍽!");
        assert_eq!(t("« Bonjour »"), "«⍽Bonjour⍽»");
        assert_eq!(t("«Bonjour»"), "«⍽Bonjour⍽»");
        assert_eq!(t("Flash Info n° 1"), "Flash Info n°~1");
        assert_eq!(
            t("une hausse de 20 % et 3 km"),
            "une hausse de 20~% et 3~km"
        );
        assert_eq!(t("20 minutes plus tard"), "20 minutes plus tard");
        assert_eq!(t("à 10:30, ratio 2:1"), "à 10:30, ratio 2:1");
        // Links stay as they are.
        assert_eq!(
            t("Lire : https://ex.fr/a?x=1;y=2 ! ou www.ex.fr/b?"),
            "Lire⍽: https://ex.fr/a?x=1;y=2⍽! ou www.ex.fr/b?"
        );
        // A second pass changes nothing.
        let once = typography("« Quoi ? » : n° 3, 20 %");
        assert_eq!(typography(&once), once);
    }

    #[test]
    fn typography_of_html_keeps_tags_entities_and_styles() {
        let html = "<style>a:hover { color: red; }</style>\
                    <p title=\"a : b\">Lu aussi dans : <a href=\"https://ex.fr/?a=1&amp;b=2\">Le Monde</a></p>\
                    <p>Tom &amp; Jerry ; fin&nbsp;! «&#160;x&#160;»</p><!-- a : b -->\
                    <pre>a : b</pre><code>x ? y</code><p>c ? d</p>";
        let out = visible(&typography_html(html));
        assert_eq!(
            out,
            "<style>a:hover { color: red; }</style>\
             <p title=\"a : b\">Lu aussi dans⍽: <a href=\"https://ex.fr/?a=1&amp;b=2\">Le Monde</a></p>\
             <p>Tom &amp; Jerry⍽; fin⍽! «⍽x⍽»</p><!-- a : b -->\
             <pre>a : b</pre><code>x ? y</code><p>c⍽? d</p>"
        );
    }
}
