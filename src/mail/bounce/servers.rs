//! What particular servers mean by their words: providers and products whose notices use
//! their own codes or phrases for a reason (Orange/La Poste's `LPN007_416`, au/KDDI's two
//! "User unknown", IMail's "Invalid final delivery userid"…), read as Sisimai's per-server
//! rules (`Sisimai::Rhost::*`, `Sisimai::Lhost::*`) read them. Checked before the generic
//! words, which these servers use with another meaning.

use super::patterns::Reason;

/// The reason a known server's diagnostic or notice gives, if it is one of those.
/// `diagnostic`: the error about one recipient; `notice`: the notice's own text;
/// `remote_host`: the server that refused (a DSN's `Remote-MTA`), lower case, when known.
pub(super) fn server_reason(diagnostic: &str, notice: &str, remote_host: &str) -> Option<Reason> {
    let diagnostic_lower = diagnostic.to_lowercase();
    orange_la_poste(diagnostic)
        .or_else(|| kddi(&diagnostic_lower, remote_host))
        .or_else(|| google(&diagnostic_lower, &notice.to_lowercase()))
        .or_else(|| interscan(&diagnostic_lower, &notice.to_lowercase()))
        .or_else(|| hotmail(&diagnostic_lower, remote_host))
        .or_else(|| exchange_online(&diagnostic_lower, remote_host))
}

/// Exchange Online refuses an address its directory does not have with "5.4.1 Recipient
/// address rejected: Access denied" (directory-based edge blocking), and names its own
/// servers (`….prod.outlook.com`, `….protection.outlook.com`) in the reply or as the host.
fn exchange_online(diagnostic: &str, remote_host: &str) -> Option<Reason> {
    let microsoft = diagnostic.contains(".outlook.com") || remote_host.ends_with(".outlook.com");
    (microsoft && diagnostic.contains("recipient address rejected: access denied"))
        .then_some(Reason::UserUnknown)
}

/// PowerMTA writes its own verdict in each report (`X-PowerMTA-BounceCategory`).
pub(super) fn bounce_category(category: &str) -> Option<Reason> {
    Some(match category {
        "bad-domain" => Reason::HostUnknown,
        "bad-mailbox" => Reason::UserUnknown,
        "inactive-mailbox" => Reason::Suspend,
        "message-expired" => Reason::Expired,
        "no-answer-from-host" => Reason::NetworkError,
        "policy-related" => Reason::PolicyViolation,
        "quota-issues" => Reason::MailboxFull,
        "routing-errors" => Reason::SystemError,
        "spam-related" => Reason::SpamDetected,
        _ => return None,
    })
}

/// Hotmail (Outlook.com) answers "mailbox unavailable" for an address it does not have;
/// elsewhere the same words may be a filter's.
fn hotmail(diagnostic: &str, remote_host: &str) -> Option<Reason> {
    let host = remote_host.trim_end_matches('.');
    (host.ends_with(".hotmail.com")
        && diagnostic.contains("requested action not taken: mailbox unavailable"))
    .then_some(Reason::UserUnknown)
}

/// Orange, Wanadoo and La Poste number their refusals (`LPN007_416`, `OFR_999`,
/// `OUK_417`): the last three digits say why, whatever the status code (a 5.5.0 for an
/// unknown address).
fn orange_la_poste(diagnostic: &str) -> Option<Reason> {
    let upper = diagnostic.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    for prefix in ["LPNAAA", "LPN", "OFR", "OUK"] {
        for (at, _) in upper.match_indices(prefix) {
            if at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let rest = &upper[at + prefix.len()..];
            let digits = |s: &str, n: usize| {
                s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit)
            };
            // `_416`, or `007_416` / `007-416`: (the three digits that count, length read).
            let (code, len) = if let Some(r) = rest.strip_prefix('_')
                && digits(r, 3)
            {
                (&r[..3], 4)
            } else if digits(rest, 3)
                && matches!(rest.as_bytes().get(3), Some(b'_' | b'-'))
                && digits(&rest[4..], 3)
            {
                (&rest[4..7], 7)
            } else {
                continue;
            };
            if rest
                .as_bytes()
                .get(len)
                .is_some_and(u8::is_ascii_alphanumeric)
            {
                continue;
            }
            return match code {
                "101" | "102" | "103" | "401" | "510" | "999" => Some(Reason::Blocked),
                "104" => Some(Reason::TooManyConn),
                "305" | "402" => Some(Reason::SecurityError),
                "403" | "405" | "415" | "421" => Some(Reason::Rejected),
                "416" | "418" => Some(Reason::UserUnknown),
                "417" => Some(Reason::MailboxFull),
                "420" | "426" => Some(Reason::Suspend),
                "505" => Some(Reason::SystemError),
                "506" => Some(Reason::SpamDetected),
                "514" => Some(Reason::MesgTooBig),
                "517" | "630" => Some(Reason::PolicyViolation),
                _ => None,
            };
        }
    }
    None
}

/// au (KDDI, `*.ezweb.ne.jp`, `*.au.com`) answers "User unknown" both for an address that
/// does not exist (`550 <addr>: User unknown`) and for one whose owner filters the sender
/// (`550 : User unknown`, no address).
fn kddi(diagnostic: &str, remote_host: &str) -> Option<Reason> {
    let host = remote_host.trim_end_matches('.');
    if !(host.ends_with(".ezweb.ne.jp") || host.ends_with(".au.com")) {
        return None;
    }
    if diagnostic.contains("550 : user unknown") {
        Some(Reason::Filtered)
    } else if diagnostic.contains(">: user unknown") {
        Some(Reason::UserUnknown)
    } else {
        None
    }
}

/// Google's notices say in their own words when the address does not exist, whatever the
/// remote server's code.
fn google(diagnostic: &str, notice: &str) -> Option<Reason> {
    const NOT_FOUND: &str = "because the address couldn't be found. check for typos or unnecessary spaces and try again.";
    (diagnostic.contains(NOT_FOUND) || notice.contains(NOT_FOUND)).then_some(Reason::UserUnknown)
}

/// Trend Micro InterScan says "Unable to deliver message to <addr>" only when the address
/// was refused; other errors come with the server's reply.
fn interscan(diagnostic: &str, notice: &str) -> Option<Reason> {
    let interscan = notice.contains("interscan messaging security suite");
    let unable = |t: &str| {
        t.lines().any(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("reason:").map_or(l, str::trim_start);
            l.starts_with("unable to deliver message to <")
        })
    };
    let replied = notice.contains("<<< ") || diagnostic.contains("<<< ");
    (interscan && !replied && (unable(diagnostic) || unable(notice))).then_some(Reason::UserUnknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orange_codes_name_the_reason_whatever_the_status() {
        let d = "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416";
        assert_eq!(server_reason(d, "", ""), Some(Reason::UserUnknown));
        assert_eq!(
            server_reason("421 mwinf5c10 ME Trop de connexions, OFR_104", "", ""),
            Some(Reason::TooManyConn)
        );
        assert_eq!(
            server_reason("550 OFR_417 [fr] Boite pleine", "", ""),
            Some(Reason::MailboxFull)
        );
        // Not a code: longer digits, or glued to other letters.
        assert_eq!(server_reason("550 XLPN007_4160 refused", "", ""), None);
        assert_eq!(server_reason("550 LPN_41 refused", "", ""), None);
        assert_eq!(server_reason("550 LPN_4é1 OFR0é", "", ""), None);
    }

    #[test]
    fn kddi_user_unknown_depends_on_the_address_being_named() {
        let host = "lsean.ezweb.ne.jp.";
        assert_eq!(
            server_reason("550 : User unknown", "", host),
            Some(Reason::Filtered)
        );
        assert_eq!(
            server_reason("550 <a@ezweb.ne.jp>: User unknown", "", host),
            Some(Reason::UserUnknown)
        );
        // Elsewhere, the same words are left to the generic rules.
        assert_eq!(
            server_reason("550 : User unknown", "", "mx.exemple.fr"),
            None
        );
    }

    #[test]
    fn hotmail_and_powermta_say_it_their_own_way() {
        let d = "550 Requested action not taken: mailbox unavailable (-00022:2222)";
        assert_eq!(
            server_reason(d, "", "bay004-neko22.hotmail.com"),
            Some(Reason::UserUnknown)
        );
        assert_eq!(server_reason(d, "", "mx.zoho.example"), None);
        assert_eq!(bounce_category("bad-mailbox"), Some(Reason::UserUnknown));
        let dbeb =
            "5.4.1 Recipient address rejected: Access denied. [QQ0.jpnprd01.prod.outlook.com]";
        assert_eq!(server_reason(dbeb, "", ""), Some(Reason::UserUnknown));
        assert_eq!(
            server_reason(
                "5.4.1 Recipient address rejected: Access denied",
                "",
                "mx.exemple.fr"
            ),
            None
        );
        assert_eq!(bounce_category("quota-issues"), Some(Reason::MailboxFull));
        assert_eq!(bounce_category(""), None);
    }

    #[test]
    fn interscan_unable_to_deliver_is_an_unknown_address() {
        let notice = "****** Message from InterScan Messaging Security Suite ******\n\
            Reason:  Unable to deliver message to <a@exemple.fr> (and other recipients).";
        assert_eq!(server_reason("", notice, ""), Some(Reason::UserUnknown));
        let replied = format!("{notice}\nReceived <<< 552 mailbox full");
        assert_eq!(server_reason("", &replied, ""), None);
        assert_eq!(
            server_reason("", "Unable to deliver message to <a@exemple.fr>", ""),
            None
        );
    }
}
