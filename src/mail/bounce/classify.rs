//! What a message in the bounce mailbox says: a delivery failure (hard or soft), a complaint,
//! an auto-reply, a success notice, or nothing veille cares about; for whom, with which status.
//!
//! Reads RFC 3464 delivery status notifications, RFC 5965 feedback reports, RFC 3834
//! auto-replies, and the free-text notices of MTAs that send neither (Postfix, Exim, qmail,
//! Sendmail, Exchange, Gmail…). Hard means "this address will never work" (unknown user or
//! domain, moved, domain takes no mail); everything else that failed is soft.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use super::patterns::{Reason, reason_of};

/// The verdict for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Hard,
    Soft,
    Complaint,
    AutoReply,
    Delivered,
    None,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::Delivered => "delivered",
            Kind::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "hard" => Kind::Hard,
            "soft" => Kind::Soft,
            "complaint" => Kind::Complaint,
            "auto-reply" => Kind::AutoReply,
            "delivered" => Kind::Delivered,
            "none" => Kind::None,
            _ => return None,
        })
    }

    /// Precedence when one message speaks of several recipients: the file's kind is the most
    /// consequential of theirs.
    fn rank(self) -> u8 {
        match self {
            Kind::Complaint => 5,
            Kind::Hard => 4,
            Kind::Soft => 3,
            Kind::AutoReply => 2,
            Kind::Delivered => 1,
            Kind::None => 0,
        }
    }
}

/// One message read: its kind, the recipients it is about (lower case, in order), the first
/// enhanced status code met, a reason word, and the local parts of the addresses the message
/// was delivered to (where a VERP token is looked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: Kind,
    pub recipients: Vec<String>,
    pub status: Option<String>,
    pub reason: Option<String>,
    /// Addresses this notice was delivered to (To, Delivered-To, X-Original-To, Envelope-To):
    /// a VERP address among them names the delivery.
    pub delivered_to: Vec<String>,
}

impl Classification {
    fn none(delivered_to: Vec<String>) -> Classification {
        Classification {
            kind: Kind::None,
            recipients: Vec::new(),
            status: None,
            reason: None,
            delivered_to,
        }
    }
}

/// Line ends of any kind (LF, CRLF, bare CR as in old Mac mailboxes) made LF, so the three
/// copies of a message read the same.
fn normalise_line_ends(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\r' => {
                out.push(b'\n');
                if raw.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Classifies one raw message.
pub fn classify(raw: &[u8]) -> Classification {
    let bytes = normalise_line_ends(raw);
    let Some(message) = MessageParser::default().parse(&bytes) else {
        return Classification::none(Vec::new());
    };
    let top = header_map(&message);
    let delivered_to = delivered_to(&top);

    let mut feedback: Option<String> = None;
    let mut dsn: Option<String> = None;
    let mut texts: Vec<String> = Vec::new();
    let mut original_headers: Option<String> = None;
    for part in &message.parts {
        let (ctype, csub) = part
            .content_type()
            .map(|c| {
                (
                    c.ctype().to_ascii_lowercase(),
                    c.subtype().unwrap_or("").to_ascii_lowercase(),
                )
            })
            .unwrap_or_else(|| ("text".into(), "plain".into()));
        let body = String::from_utf8_lossy(part.contents()).into_owned();
        match (ctype.as_str(), csub.as_str()) {
            ("message", "feedback-report") => feedback = Some(body),
            // A notice may hold several reports (one per queue entry): all are read.
            ("message", "delivery-status") | ("message", "global-delivery-status") => {
                let all = dsn.get_or_insert_with(String::new);
                all.push_str(&body);
                all.push_str("\n\n");
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers") => {
                original_headers.get_or_insert(body);
            }
            ("message", "rfc822") | ("message", "global") => {
                if let PartType::Message(inner) = &part.body {
                    let raw = inner.raw_message();
                    let head_end = find_blank_line(raw).unwrap_or(raw.len());
                    original_headers
                        .get_or_insert(String::from_utf8_lossy(&raw[..head_end]).into_owned());
                } else {
                    original_headers.get_or_insert(body);
                }
            }
            // A multipart whose header is broken (a boundary on an unfolded line) is left
            // unsplit: its text is still the notice's.
            ("multipart", _) if !body.is_empty() => texts.push(body),
            // Parts of an attached message are kept inside it by mail-parser: these are the
            // notice's own words.
            ("text", _) => texts.push(if csub == "html" {
                html_to_text(&body)
            } else {
                body
            }),
            _ => {}
        }
    }
    let text = texts.join("\n");
    // Several notices pasted into one (one per queue entry): the reports after the first
    // end up inside its parts; every per-recipient block of the message is read.
    if let Some(all) = &mut dsn {
        let raw = String::from_utf8_lossy(&bytes);
        let mut lower = raw.to_ascii_lowercase();
        // Not inside the returned original, which may itself be a bounce.
        if let Some(end) = lower.find("content-type: message/rfc822") {
            lower.truncate(end);
        }
        for (at, _) in lower.match_indices("\nfinal-recipient:") {
            let block = &raw[at + 1..];
            let end = block.find("\n\n").unwrap_or(block.len());
            all.push_str(&block[..end]);
            all.push_str("\n\n");
        }
    }
    // A boundary that does not match its declaration (anonymised or broken notices) leaves
    // the report unparsed inside one text part: its fields are still there to read.
    if dsn.is_none() && feedback.is_none() {
        let raw = String::from_utf8_lossy(&bytes);
        dsn = embedded_fields(&raw, &["final-recipient:", "original-recipient:"]);
        if dsn.is_none() {
            feedback = embedded_fields(&raw, &["feedback-type:"]);
        }
    }

    if let Some(report) = feedback {
        return complaint(&report, original_headers.as_deref(), delivered_to);
    }
    if let Some(fields) = dsn
        && let Some(found) = from_dsn(&fields, &text, delivered_to.clone())
    {
        return found;
    }
    if let Some(found) = super::ses::notification(&text, delivered_to.clone()) {
        return found;
    }
    let subject = top
        .get("subject")
        .cloned()
        .unwrap_or_default()
        .to_lowercase();
    let from = top.get("from").cloned().unwrap_or_default().to_lowercase();
    if looks_like_complaint(&subject, &top) {
        let mut found = complaint("", original_headers.as_deref(), delivered_to);
        if found.recipients.is_empty() {
            found.kind = Kind::None;
        }
        return found;
    }
    if is_auto_reply(&top, &subject) && !looks_like_bounce(&subject, &from) {
        let recipients = addresses_in(&from);
        return Classification {
            kind: Kind::AutoReply,
            recipients,
            status: None,
            reason: Some("vacation".into()),
            delivered_to,
        };
    }
    if looks_like_bounce(&subject, &from) || has_bounce_text(&text) {
        return from_free_text(&text, &top, original_headers.as_deref(), delivered_to);
    }
    Classification::none(delivered_to)
}

/// The report fields written in plain text somewhere in a message: from the first line that
/// starts with one of `starts` (or the `Reporting-MTA:` just before it) to the next MIME
/// boundary or attached message.
fn embedded_fields(raw: &str, starts: &[&str]) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let at = starts
        .iter()
        .filter_map(|s| {
            lower
                .match_indices(s)
                .find(|(i, _)| *i == 0 || lower.as_bytes()[i - 1] == b'\n')
                .map(|(i, _)| i)
        })
        .min()?;
    let from = lower[..at]
        .rfind("\nreporting-mta:")
        .filter(|p| at - p < 500)
        .map_or(at, |p| p + 1);
    let rest = &raw[from..];
    let end = rest
        .match_indices("\n--")
        .map(|(i, _)| i)
        .chain(
            rest.to_ascii_lowercase()
                .find("content-type: message/rfc822"),
        )
        .min()
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// Headers of the message itself, names lower-cased, values unfolded and decoded by
/// mail-parser where it can (the raw text otherwise).
fn header_map(message: &mail_parser::Message<'_>) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    let raw = message.raw_message();
    let end = find_blank_line(raw).unwrap_or(raw.len());
    for (name, value) in unfold_fields(&String::from_utf8_lossy(&raw[..end])) {
        map.entry(name).or_insert(value);
    }
    if let Some(subject) = message.subject() {
        map.insert("subject".into(), subject.to_string());
    }
    map
}

fn delivered_to(top: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for name in [
        "to",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
    ] {
        if let Some(value) = top.get(name) {
            for a in addresses_in(value) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

fn find_blank_line(raw: &[u8]) -> Option<usize> {
    raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1)
}

/// `Name: value` fields with continuation lines joined.
fn unfold_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                fields.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    fields
}

/// Addresses in free text, lower-cased, in order, without repeats.
pub fn addresses_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let is_local = |c: u8| c.is_ascii_alphanumeric() || b".!#$%&'*+=?^_`{|}~-".contains(&c);
        let is_domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
        let mut start = at;
        while start > 0 && is_local(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain(bytes[end]) {
            end += 1;
        }
        // `smtp.mailfrom=a@b`: a key and its value, not an address of its own.
        if start > 0 && bytes[start - 1] == b'=' {
            continue;
        }
        let local = text[start..at].trim_start_matches(['.', '\'', '=']);
        let domain = text[at + 1..end].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.contains('.') || domain.starts_with('.') {
            continue;
        }
        let address = format!("{local}@{domain}").to_lowercase();
        if !out.contains(&address) {
            out.push(address);
        }
    }
    out
}

/// The address of an `rfc822; user@host` field (a local host without a dot too, as MTAs
/// write it for local deliveries).
fn typed_address(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, a)| a);
    addresses_in(value).into_iter().next().or_else(|| {
        let bare = value.trim().trim_matches(['<', '>']).to_lowercase();
        let (local, host) = bare.split_once('@')?;
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_+=".contains(c))
        };
        (plain(local) && plain(host)).then_some(bare)
    })
}

fn complaint(report: &str, original: Option<&str>, delivered_to: Vec<String>) -> Classification {
    let fields = unfold_fields(report);
    let mut recipients: Vec<String> = Vec::new();
    for (name, value) in &fields {
        if name == "original-rcpt-to" || name == "removal-recipient" {
            for a in addresses_in(value) {
                if !recipients.contains(&a) {
                    recipients.push(a);
                }
            }
        }
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
    let reason = fields
        .iter()
        .find(|(n, _)| n == "feedback-type")
        .map(|(_, v)| v.to_lowercase())
        .unwrap_or_else(|| "abuse".into());
    Classification {
        kind: Kind::Complaint,
        recipients,
        status: None,
        reason: Some(reason),
        delivered_to,
    }
}

fn looks_like_complaint(subject: &str, top: &std::collections::HashMap<String, String>) -> bool {
    top.contains_key("x-hmxmroriginalrecipient")
        || subject.contains("complaint about message from")
        || subject.contains("abuse report")
        || subject.contains("fbl report")
}

/// RFC 3834 and the vacation notices that predate it.
fn is_auto_reply(top: &std::collections::HashMap<String, String>, subject: &str) -> bool {
    let auto = top
        .get("auto-submitted")
        .is_some_and(|v| v.to_lowercase().starts_with("auto-replied"));
    let flagged = [
        "x-autoreply",
        "x-autorespond",
        "x-auto-response-suppress-never",
    ]
    .iter()
    .any(|h| top.contains_key(*h))
        || top
            .get("precedence")
            .is_some_and(|v| v.eq_ignore_ascii_case("auto_reply"))
        || top
            .get("x-autogenerated")
            .is_some_and(|v| v.eq_ignore_ascii_case("reply"));
    let worded = [
        "auto reply",
        "auto-reply",
        "autoreply",
        "automatic reply",
        "auto response",
        "autoresponse",
        "out of office",
        "out of the office",
        "away until",
        "on vacation",
        "vacation",
        "réponse automatique",
        "reponse automatique",
        "absence",
        "abwesenheit",
    ]
    .iter()
    .any(|w| subject.contains(w));
    auto || flagged || worded
}

fn looks_like_bounce(subject: &str, from: &str) -> bool {
    let senders = [
        "mailer-daemon",
        "postmaster",
        "post_master",
        "mail delivery",
        "mail administrator",
    ];
    let subjects = [
        "undeliver",
        "undelivered",
        "delivery status",
        "delivery failure",
        "delivery failed",
        "delivery notification",
        "delivery has failed",
        "failure notice",
        "returned mail",
        "returned to sender",
        "mail delivery failed",
        "could not be delivered",
        "non remis",
        "non distribuable",
        "nondeliverable",
        "non-deliverable",
        "rejected",
        "warning: could not send",
        "delayed mail",
        "delivery delayed",
        "mail system error",
        "permanent error",
    ];
    senders.iter().any(|s| from.contains(s)) || subjects.iter().any(|s| subject.contains(s))
}

fn has_bounce_text(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "this is the mail system at host",
        "could not be delivered to one or more of its recipients",
        "permanent error. the following address",
        "was not delivered to",
        "delivery to the following recipient",
        "delivery has failed to these recipients",
        "message could not be delivered",
        "i'm afraid i wasn't able to deliver",
        "this message was created automatically by mail delivery software",
        "could not be delivered to",
        "requested action not taken",
        "invalid user address",
    ]
    .iter()
    .any(|p| t.contains(p))
}

/// One per-recipient block of a delivery status notification.
#[derive(Debug, Default)]
struct DsnRecipient {
    address: String,
    action: String,
    status: Option<String>,
    diagnostic: String,
}

fn from_dsn(fields: &str, text: &str, delivered_to: Vec<String>) -> Option<Classification> {
    let mut recipients: Vec<DsnRecipient> = Vec::new();
    let mut current: Option<DsnRecipient> = None;
    for block in fields.split("\n\n") {
        // Fields written before the block's Final-Recipient (Facebook's order) are its own.
        let mut early = DsnRecipient::default();
        for (name, value) in unfold_fields(block) {
            let target = match current.as_mut() {
                Some(r) => r,
                None => &mut early,
            };
            match name.as_str() {
                "final-recipient" | "original-recipient" => {
                    let Some(address) = typed_address(&value) else {
                        continue;
                    };
                    match &mut current {
                        Some(r) if r.address.is_empty() || name == "original-recipient" => {
                            if r.address.is_empty() {
                                r.address = address;
                            }
                        }
                        _ => {
                            if let Some(done) = current.take() {
                                recipients.push(done);
                            }
                            current = Some(DsnRecipient {
                                address,
                                ..std::mem::take(&mut early)
                            });
                        }
                    }
                }
                "action" => target.action = value.to_lowercase(),
                "status" => target.status = enhanced_status(&value),
                "diagnostic-code" => {
                    let v = value.split_once(';').map_or(value.as_str(), |(_, d)| d);
                    target.diagnostic = v.trim().to_string();
                }
                _ => {}
            }
        }
        // A block that named a recipient ends it: the next Final-Recipient starts another.
        if let Some(done) = current.take() {
            recipients.push(done);
        }
    }
    if recipients.is_empty() {
        return None;
    }
    let mut kind = Kind::None;
    let mut status = None;
    let mut reason = None;
    let mut addresses = Vec::new();
    for r in &recipients {
        // Without a Diagnostic-Code, the notice's own words about this recipient (a notice
        // listing several gives each its error), else the whole notice.
        let diagnostic = if r.diagnostic.is_empty() {
            lines_about(text, &r.address)
                .filter(|l| find_status(l).is_some())
                .unwrap_or_else(|| text.to_string())
        } else {
            r.diagnostic.clone()
        };
        // A generic x.0.0 status says less than the notice's own line about the recipient
        // (`550 5.1.1 <addr>: User unknown`, written when the report gives no diagnostic).
        let this_status = match (&r.status, find_status(&diagnostic)) {
            (Some(s), Some(d))
                if r.diagnostic.is_empty() && s.ends_with(".0.0") && !d.ends_with(".0.0") =>
            {
                Some(d)
            }
            (s, d) => s.clone().or(d),
        };
        let (this_kind, this_reason) = if r.action.starts_with("delivered")
            || r.action.starts_with("relayed")
            || r.action.starts_with("expanded")
            || this_status.as_deref().is_some_and(|s| s.starts_with("2."))
        {
            (Kind::Delivered, Reason::Delivered)
        } else {
            let reason = reason_of(this_status.as_deref(), &diagnostic, &r.action, text);
            (reason.kind(this_status.as_deref(), &diagnostic), reason)
        };
        if this_kind.rank() > kind.rank() {
            kind = this_kind;
            reason = Some(this_reason.word().to_string());
            status = this_status.clone();
        }
        if !addresses.contains(&r.address) {
            addresses.push(r.address.clone());
        }
    }
    if status.is_none() {
        status = recipients.iter().find_map(|r| r.status.clone());
    }
    Some(Classification {
        kind,
        recipients: addresses,
        status,
        reason,
        delivered_to,
    })
}

/// `5.1.1` in `5.1.1 (bad destination)`, `smtp; 550 5.1.1 …`.
fn enhanced_status(value: &str) -> Option<String> {
    find_status(value)
}

/// The first enhanced status code (`X.Y.Z`, X in 2, 4, 5) in a text.
pub fn find_status(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, c) in bytes.iter().enumerate() {
        if !matches!(c, b'2' | b'4' | b'5') || bytes.get(i + 1) != Some(&b'.') {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.') {
            continue;
        }
        let rest = &text[i + 2..];
        let y: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if y.is_empty() || y.len() > 3 {
            continue;
        }
        let rest = &rest[y.len()..];
        let Some(rest) = rest.strip_prefix('.') else {
            continue;
        };
        let z: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if z.is_empty() || z.len() > 3 {
            continue;
        }
        let after = rest[z.len()..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.') {
            continue;
        }
        return Some(format!("{}.{y}.{z}", *c as char));
    }
    None
}

/// The three-digit SMTP reply code of a text, when there is no enhanced code.
fn find_reply_code(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        if matches!(bytes[i], b'4' | b'5')
            && bytes[i + 1].is_ascii_digit()
            && bytes[i + 2].is_ascii_digit()
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes
                .get(i + 3)
                .is_none_or(|c| matches!(c, b' ' | b'-' | b'\n'))
        {
            return text[i..i + 3].parse().ok();
        }
    }
    None
}

/// Where the notice stops and the returned original starts, in the free-text forms.
fn cut_original(text: &str) -> &str {
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

fn from_free_text(
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
fn not_recipients(
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

/// The addresses a notice lists as failed, one per line on their own (`<a@b>:`, `a@b:`).
fn listed_failures(notice: &str) -> Vec<String> {
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
fn verdict(scope: &str, notice: &str) -> (Kind, Reason, Option<String>) {
    let status = find_status(scope)
        .or_else(|| find_reply_code(scope).map(|code| format!("{}.0.0", code / 100)));
    let reason = reason_of(status.as_deref(), scope, "", notice);
    let kind = reason.kind(status.as_deref(), scope);
    let status = status.filter(|s| s != "5.0.0" && s != "4.0.0" || find_status(scope).is_some());
    (kind, reason, status)
}

/// The lines of `text` that name `address` (lower case), joined; None when none does.
fn lines_about(text: &str, address: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.to_lowercase().contains(address))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Just enough of HTML to read the words of a notice sent only as HTML.
fn html_to_text(html: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE: &str = "From: MAILER-DAEMON@mx.exemple.fr\r\nTo: lettre@ressources.example\r\n\
        References: <123.456@ressources.example>\r\nSubject: Undelivered Mail Returned to Sender\r\n\
        Content-Type: text/plain\r\n\r\nThe following list of recipients failed:\r\n\r\n\
        inconnu@exemple.fr: 550 5.1.1 <inconnu@exemple.fr>: Recipient address rejected: User unknown\r\n\
        plein@exemple.fr: 552 5.2.2 <plein@exemple.fr>: Recipient address rejected: Mailbox full\r\n";

    #[test]
    fn each_listed_recipient_keeps_its_own_error() {
        let c = classify(NOTICE.as_bytes());
        assert_eq!(c.recipients, ["inconnu@exemple.fr", "plein@exemple.fr"]);
        // The worst of the two: an unknown user, whatever words the other line used.
        assert_eq!(c.kind, Kind::Hard);
        assert_eq!(c.status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn a_message_to_oneself_is_still_read() {
        let qmail = "From: MAILER-DAEMON@exemple.fr\nTo: moi@exemple.fr\nSubject: failure notice\n\n\
            Hi. This is the qmail-send program at exemple.fr.\n\
            I'm afraid I wasn't able to deliver your message to the following addresses.\n\n\
            <moi@exemple.fr>:\nRemote host said: 552 Error: disk quota exceeded\n";
        let c = classify(qmail.as_bytes());
        assert_eq!(c.recipients, ["moi@exemple.fr"]);
        assert_eq!(c.kind, Kind::Soft);
    }

    #[test]
    fn message_ids_are_no_recipients() {
        let quoted = NOTICE.replace(
            "Content-Type: text/plain\r\n\r\n",
            "Content-Type: text/plain\r\n\r\n> Message-Id: <200904290210.0000@mx.exemple.fr>\r\n",
        );
        let c = classify(quoted.as_bytes());
        assert_eq!(c.recipients, ["inconnu@exemple.fr", "plein@exemple.fr"]);
    }
}
