//! What a message in the bounce mailbox says: a delivery failure (hard or soft), a complaint,
//! an auto-reply, a success notice, or nothing veille cares about; for whom, with which status.
//!
//! Reads RFC 3464 delivery status notifications, RFC 5965 feedback reports, RFC 3834
//! auto-replies, and the free-text notices of MTAs that send neither (Postfix, Exim, qmail,
//! Sendmail, Exchange, Gmail…). Hard means "this address will never work" (unknown user or
//! domain, moved, domain takes no mail); everything else that failed is soft.

use super::dsn::from_dsn;
use super::free_text::{from_free_text, html_to_text};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde::Serialize;

/// The verdict for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The address will never work: unknown user or domain, moved, domain takes no mail.
    Hard,
    /// Any other failure (mailbox full, server down, refused for now): it may work later.
    Soft,
    /// The recipient reported the message as spam (RFC 5965 feedback report).
    Complaint,
    /// An automatic answer such as an absence notice (RFC 3834): the mail did arrive.
    AutoReply,
    /// A success notice: the delivery went through.
    Delivered,
    /// Not a notice veille cares about (an ordinary reply, an advertisement…).
    None,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::Delivered => "delivered",
            Kind::None => "none",
        }
    }

    /// Precedence when one message speaks of several recipients: the file's kind is the most
    /// consequential of theirs.
    pub(super) fn rank(self) -> u8 {
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
    /// The verdict; `Kind::None` also when the message could not be read.
    pub kind: Kind,
    /// The addresses the notice is about, lower case, in order; empty when it names none
    /// (a VERP address in `delivered_to` may still name the delivery).
    pub recipients: Vec<String>,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
    /// Addresses this notice was delivered to (To, Delivered-To, X-Original-To, Envelope-To):
    /// a VERP address among them names the delivery.
    pub(crate) delivered_to: Vec<String>,
}

impl Classification {
    pub(super) fn none(delivered_to: Vec<String>) -> Classification {
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
pub(super) fn normalise_line_ends(raw: &[u8]) -> Vec<u8> {
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

/// Classifies one raw message (its bytes, any line ends); never fails: a message that
/// cannot be parsed is `Kind::None`.
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
pub(super) fn embedded_fields(raw: &str, starts: &[&str]) -> Option<String> {
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
pub(super) fn header_map(
    message: &mail_parser::Message<'_>,
) -> std::collections::HashMap<String, String> {
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

pub(super) fn delivered_to(top: &std::collections::HashMap<String, String>) -> Vec<String> {
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

pub(super) fn find_blank_line(raw: &[u8]) -> Option<usize> {
    raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 1)
}

/// `Name: value` fields with continuation lines joined.
pub(super) fn unfold_fields(text: &str) -> Vec<(String, String)> {
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
pub(crate) fn addresses_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let is_local = |c: u8| c.is_ascii_alphanumeric() || b".!#$%&'*+=?^_`{|}~-".contains(&c);
        let is_domain = |c: u8| c.is_ascii_alphanumeric() || c == b'.' || c == b'-';
        let mut start = at;
        while start > 0 && is_local(bytes[start - 1]) {
            start -= 1;
        }
        // An RFC 5321 quoted local part (`"a..b"@host`) is only that address with its
        // quotes: without them it names another mailbox, or none.
        if start == at
            && at > 0
            && bytes[at - 1] == b'"'
            && let Some(open) = text[..at - 1].rfind(['"', '\n'])
            && bytes[open] == b'"'
            && at - 1 - open > 1
            && !text[open + 1..at - 1].contains(['<', '>', ' ', '\t'])
        {
            start = open;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain(bytes[end]) {
            end += 1;
        }
        // `smtp.mailfrom=a@b`: a key and its value, not an address of its own.
        if start > 0 && bytes[start - 1] == b'=' {
            continue;
        }
        let local = if bytes[start] == b'"' {
            &text[start..at]
        } else {
            text[start..at].trim_start_matches(['.', '\'', '='])
        };
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
pub(super) fn typed_address(value: &str) -> Option<String> {
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

pub(super) fn complaint(
    report: &str,
    original: Option<&str>,
    delivered_to: Vec<String>,
) -> Classification {
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

pub(super) fn looks_like_complaint(
    subject: &str,
    top: &std::collections::HashMap<String, String>,
) -> bool {
    top.contains_key("x-hmxmroriginalrecipient")
        || subject.contains("complaint about message from")
        || subject.contains("abuse report")
        || subject.contains("fbl report")
}

/// RFC 3834 and the vacation notices that predate it.
pub(super) fn is_auto_reply(
    top: &std::collections::HashMap<String, String>,
    subject: &str,
) -> bool {
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

pub(super) fn looks_like_bounce(subject: &str, from: &str) -> bool {
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

pub(super) fn has_bounce_text(text: &str) -> bool {
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
    fn a_postfix_help_desk_is_no_recipient() {
        let notice = "From: MAILER-DAEMON@mx.exemple.fr\nTo: lettre@ressources.example\n\
            Subject: Undelivered Mail Returned to Sender\n\n\
            This is the Postfix program at host mx.exemple.fr.\n\n\
            For further assistance, please contact <aide@fai.example>\n\n\
            <inconnu@exemple.fr>: host mx.exemple.fr[192.0.2.1] said: 550\n\
            \x20   <inconnu@exemple.fr>: Recipient address rejected: User unknown\n";
        let c = classify(notice.as_bytes());
        assert_eq!(c.recipients, ["inconnu@exemple.fr"]);
    }

    #[test]
    fn exim_malformed_address_is_the_one_in_brackets() {
        let notice = "From: Mail Delivery System <Mailer-Daemon@mx.exemple.fr>\n\
            To: lettre@ressources.example\nSubject: Mail delivery failed\n\n\
            This message was created automatically by mail delivery software.\n\n\
            A message that you sent contained one or more recipient addresses that were\n\
            incorrectly constructed:\n\n\
            \x20 a@exemple.fr <b@exemple.fr>: malformed address: <b@exemple.fr> may not follow a@exemple.fr\n";
        assert_eq!(classify(notice.as_bytes()).recipients, ["b@exemple.fr"]);
    }

    #[test]
    fn quoted_local_parts_keep_their_quotes() {
        assert_eq!(
            addresses_in("rfc822; \"a....b..\"@exemple.fr"),
            ["\"a....b..\"@exemple.fr"]
        );
        // A quote closing a sentence is no local part.
        assert_eq!(
            addresses_in("said \"no\" to x@exemple.fr"),
            ["x@exemple.fr"]
        );
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
