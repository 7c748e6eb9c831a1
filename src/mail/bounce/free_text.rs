//! The free-text notices of MTAs that send no DSN: the failed addresses they list, the
//! text about each, and the quoted original message cut away.

use super::classify::{Classification, Kind, addresses_in, unfold_fields};
use super::dsn::{find_reply_code, find_status};
use super::patterns::{Reason, reason_of};
use super::servers::server_reason;

/// Where the notice stops and the returned original starts, in the free-text forms.
pub(super) fn cut_original(text: &str) -> &str {
    let lower = text.to_lowercase();
    let markers = [
        "------ this is a copy of the message",
        "--- below this line is a copy of the message",
        "----- original message follows",
        "------ original message follows",
        "original message follows",
        "----- transcript of session follows",
        "--- the header of the original message is following",
        "----- the following is a copy of the message",
        "------- returned message --------",
        "----- original message -----",
        "----- unsent message follows",
        "-------original mail info",
        "content-type: message/rfc822",
        "\nreturn-path:",
        "\nreceived: from",
    ];
    let mut end = text.len();
    for m in markers {
        if let Some(p) = lower.find(m)
            && p < end
            && p > 0
        {
            // The transcript of a Sendmail session is part of the notice; skip its marker.
            if m.starts_with("----- transcript") {
                continue;
            }
            end = p;
        }
    }
    &text[..end]
}

pub(super) fn from_free_text(
    text: &str,
    top: &std::collections::HashMap<String, String>,
    original: Option<&str>,
    delivered_to: Vec<String>,
) -> Classification {
    let notice = cut_original(text);
    let ignore = not_recipients(text, top, original);
    // Lines of the original's header quoted in the notice (the Exchange summary's `To:`),
    // and Exim's "generated from", name other addresses than the failed one.
    let mut candidates: Vec<String> = Vec::new();
    for line in notice.lines() {
        let t = line.trim_start().to_ascii_lowercase();
        let header_like = t.split_once(':').is_some_and(|(name, _)| {
            !name.is_empty()
                && name.len() < 30
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if header_like
            || t.starts_with("(ultimately generated from")
            || t.starts_with("(generated from")
        {
            continue;
        }
        // Exim quotes a malformed recipient as written (`a@b <c@d>: malformed address: <c@d>
        // may not follow a@b`): the mailbox is the one in angle brackets.
        let line = written_address(line).unwrap_or(line);
        for a in addresses_in(line) {
            let local = a.split('@').next().unwrap_or("");
            if !candidates.contains(&a)
                && !matches!(local, "mailer-daemon" | "postmaster" | "root" | "daemon")
            {
                candidates.push(a);
            }
        }
    }
    // Exim and Google name the failed addresses in a header of their own.
    let mut recipients: Vec<String> = top
        .get("x-failed-recipients")
        .map(|v| addresses_in(v))
        .unwrap_or_default();
    // Postfix starts each failed recipient's paragraph with `<addr>: `: the addresses in its
    // preamble (a help desk to write to) are no recipients.
    if recipients.is_empty() && is_postfix(notice) {
        recipients = postfix_failures(notice);
    }
    if recipients.is_empty() {
        recipients = candidates
            .iter()
            .filter(|a| !ignore.contains(a))
            .cloned()
            .collect();
    }
    // The sender of the original may be its recipient too (a message to oneself): the
    // notice's list of failed addresses (qmail's `<a@b>:`, Exim's `a@b:` lines) says so.
    if recipients.is_empty() {
        recipients = listed_failures(notice);
    }
    // An ignored address is still better than none when it is all the notice names.
    if recipients.is_empty() {
        let own: Vec<String> = top.get("to").map(|v| addresses_in(v)).unwrap_or_default();
        recipients = candidates
            .into_iter()
            .filter(|a| !own.contains(a))
            .collect();
    }
    if recipients.is_empty() {
        recipients = unfold_fields(&text[notice.len()..])
            .into_iter()
            .find(|(name, _)| name == "to")
            .map(|(_, v)| addresses_in(&v))
            .unwrap_or_default();
    }
    if recipients.is_empty()
        && let Some(headers) = original
    {
        for (name, value) in unfold_fields(headers) {
            if name == "to" {
                recipients = addresses_in(&value);
                break;
            }
        }
    }
    if recipients.is_empty() {
        return Classification::none(delivered_to);
    }
    // A notice listing several recipients, each with its own error: the most consequential.
    let scopes: Vec<String> = if recipients.len() > 1 {
        recipients
            .iter()
            .filter_map(|r| lines_about(notice, r))
            .filter(|l| find_status(l).is_some())
            .collect()
    } else {
        Vec::new()
    };
    let (kind, reason, status) = scopes
        .iter()
        .map(|scope| verdict(scope, notice))
        .max_by_key(|v| v.0.rank())
        .unwrap_or_else(|| verdict(notice, notice));
    Classification {
        kind,
        recipients,
        status,
        reason: Some(reason.word().to_string()),
        delivered_to,
    }
}

/// Addresses that are not the failed recipient: the notice's own header, and the sender
/// and message ids of the original wherever its header is quoted.
pub(super) fn not_recipients(
    text: &str,
    top: &std::collections::HashMap<String, String>,
    original: Option<&str>,
) -> Vec<String> {
    let mut ignore: Vec<String> = Vec::new();
    for name in [
        "from",
        "to",
        "sender",
        "return-path",
        "reply-to",
        "message-id",
        "in-reply-to",
        "references",
    ] {
        if let Some(v) = top.get(name) {
            ignore.extend(addresses_in(v));
        }
    }
    // The original's header quoted mail-style ("> Message-Id: <…@…>") names no recipient
    // either: message ids look like addresses.
    let dequoted: Vec<&str> = text
        .lines()
        .map(|l| l.trim_start().trim_start_matches('>').trim_start())
        .collect();
    let quoted = unfold_fields(text)
        .into_iter()
        .chain(unfold_fields(&dequoted.join("\n")))
        .chain(original.map(unfold_fields).unwrap_or_default());
    for (name, value) in quoted {
        if matches!(
            name.as_str(),
            "from"
                | "return-path"
                | "sender"
                | "reply-to"
                | "message-id"
                | "in-reply-to"
                | "references"
        ) {
            ignore.extend(addresses_in(&value));
        }
    }
    ignore
}

/// `<c@d>` in an indented `a@b <c@d>: error` line.
fn written_address(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let (first, rest) = t.split_once(" <")?;
    let (inside, _) = rest.split_once(">:")?;
    (first.contains('@')
        && !first.contains(char::is_whitespace)
        && inside.contains('@')
        && !inside.contains(char::is_whitespace)
        && line.len() > t.len())
    .then_some(inside)
}

fn is_postfix(notice: &str) -> bool {
    let lower = notice.to_lowercase();
    lower.contains("this is the postfix program at host")
        || lower.contains("this is the mail system at host")
}

/// The `<addr>: …` lines that open each failed recipient's paragraph in a Postfix notice.
fn postfix_failures(notice: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in notice.lines() {
        let Some(rest) = line.strip_prefix('<') else {
            continue;
        };
        let Some((inside, _)) = rest.split_once(">:") else {
            continue;
        };
        if inside.contains(char::is_whitespace) {
            continue;
        }
        for a in addresses_in(inside) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// The addresses a notice lists as failed, one per line on their own (`<a@b>:`, `a@b:`).
pub(super) fn listed_failures(notice: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in notice.lines() {
        let t = line.trim().trim_end_matches(':').trim();
        let bare = t.trim_start_matches('<').trim_end_matches('>');
        if bare.is_empty() || bare.contains(char::is_whitespace) || !bare.contains('@') {
            continue;
        }
        for a in addresses_in(bare) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

/// Kind, reason and status of a free-text error (`scope`), read in its notice.
pub(super) fn verdict(scope: &str, notice: &str) -> (Kind, Reason, Option<String>) {
    let status = find_status(scope)
        .or_else(|| find_reply_code(scope).map(|code| format!("{}.0.0", code / 100)));
    let reason = server_reason(scope, notice, "")
        .unwrap_or_else(|| reason_of(status.as_deref(), scope, "", notice));
    let kind = reason.kind(status.as_deref(), scope);
    let status = status.filter(|s| s != "5.0.0" && s != "4.0.0" || find_status(scope).is_some());
    (kind, reason, status)
}

/// The lines of `text` that name `address` (lower case), joined; None when none does.
pub(super) fn lines_about(text: &str, address: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.to_lowercase().contains(address))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Just enough of HTML to read the words of a notice sent only as HTML.
pub(super) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}
