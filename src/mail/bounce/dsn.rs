//! RFC 3464 delivery status notifications: the per-recipient fields of a DSN, and the
//! enhanced status codes and SMTP reply codes found in any text.

use super::classify::{Classification, Kind, typed_address, unfold_fields};
use super::free_text::lines_about;
use super::patterns::{Reason, reason_of};
use super::servers::{bounce_category, server_reason};

/// One per-recipient block of a delivery status notification.
#[derive(Debug, Default)]
pub(super) struct DsnRecipient {
    address: String,
    action: String,
    status: Option<String>,
    diagnostic: String,
    /// The server that refused (`Remote-MTA: dns; host`), lower case.
    remote: String,
    /// Named by an Original-Recipient field, no Final-Recipient read yet.
    from_original: bool,
    /// PowerMTA's own verdict (`X-PowerMTA-BounceCategory: bad-mailbox`).
    category: String,
}

/// The per-recipient blocks of a report, and the host of its `Reporting-MTA` (the refusing
/// server too when it had the mailbox).
fn read_blocks(fields: &str) -> (Vec<DsnRecipient>, String) {
    let mut recipients: Vec<DsnRecipient> = Vec::new();
    let mut current: Option<DsnRecipient> = None;
    let mut reporting = String::new();
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
                        // Original-Recipient written first (Oracle Messaging Server): the
                        // Final-Recipient after it is the same recipient, and names it.
                        Some(r)
                            if r.from_original
                                && r.action.is_empty()
                                && r.status.is_none()
                                && r.diagnostic.is_empty() =>
                        {
                            r.address = address;
                            r.from_original = false;
                        }
                        _ => {
                            if let Some(done) = current.take() {
                                recipients.push(done);
                            }
                            current = Some(DsnRecipient {
                                address,
                                from_original: name == "original-recipient",
                                ..std::mem::take(&mut early)
                            });
                        }
                    }
                }
                "action" => target.action = value.to_lowercase(),
                "reporting-mta" if reporting.is_empty() => {
                    let v = value.split_once(';').map_or(value.as_str(), |(_, h)| h);
                    reporting = v.split_whitespace().next().unwrap_or("").to_lowercase();
                }
                "x-powermta-bouncecategory" => target.category = value.trim().to_lowercase(),
                "remote-mta" => {
                    let v = value.split_once(';').map_or(value.as_str(), |(_, h)| h);
                    target.remote = v.split_whitespace().next().unwrap_or("").to_lowercase();
                }
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
    (recipients, reporting)
}

pub(super) fn from_dsn(
    fields: &str,
    text: &str,
    delivered_to: Vec<String>,
) -> Option<Classification> {
    let (recipients, reporting) = read_blocks(fields);
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
        // (`550 5.1.1 <addr>: User unknown`, written when the report gives no diagnostic);
        // and the remote server's own fully specific code (no 0 in it, `5.2.2`) is its
        // word on this recipient, over the reporting MTA's summary (Sisimai's rule too).
        let specific = |d: &str| !d[1..].contains('0');
        let this_status = match (&r.status, find_status(&diagnostic)) {
            (Some(s), Some(d))
                if (r.diagnostic.is_empty() && s.ends_with(".0.0") && !d.ends_with(".0.0"))
                    || (!r.diagnostic.is_empty() && specific(&d)) =>
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
            let host = if r.remote.is_empty() {
                &reporting
            } else {
                &r.remote
            };
            let reason = bounce_category(&r.category)
                .or_else(|| server_reason(&diagnostic, text, host))
                .unwrap_or_else(|| reason_of(this_status.as_deref(), &diagnostic, &r.action, text));
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
pub(super) fn enhanced_status(value: &str) -> Option<String> {
    find_status(value)
}

/// The first enhanced status code (`X.Y.Z`, X in 2, 4, 5) in a text.
pub(crate) fn find_status(text: &str) -> Option<String> {
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
pub(super) fn find_reply_code(text: &str) -> Option<u16> {
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
