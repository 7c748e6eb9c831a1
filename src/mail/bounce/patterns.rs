//! Why a delivery failed, from its status code and the words of the diagnostic: the phrases
//! real MTAs and providers use (lower case, whitespace collapsed), checked in an order where
//! the specific (mailbox full, blocked, moved) comes before the generic (unknown user).

use super::classify::Kind;

/// The reason words of the JSON output (Sisimai's vocabulary, so outside tools read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    UserUnknown,
    HostUnknown,
    HasMoved,
    NotAccept,
    MailboxFull,
    MesgTooBig,
    ExceedLimit,
    Suspend,
    NoRelaying,
    Filtered,
    Rejected,
    Blocked,
    SpamDetected,
    PolicyViolation,
    VirusDetected,
    SecurityError,
    SystemError,
    SystemFull,
    NetworkError,
    TooManyConn,
    Expired,
    ContentError,
    OnHold,
    Delivered,
}

impl Reason {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Reason::UserUnknown => "userunknown",
            Reason::HostUnknown => "hostunknown",
            Reason::HasMoved => "hasmoved",
            Reason::NotAccept => "notaccept",
            Reason::MailboxFull => "mailboxfull",
            Reason::MesgTooBig => "mesgtoobig",
            Reason::ExceedLimit => "exceedlimit",
            Reason::Suspend => "suspend",
            Reason::NoRelaying => "norelaying",
            Reason::Filtered => "filtered",
            Reason::Rejected => "rejected",
            Reason::Blocked => "blocked",
            Reason::SpamDetected => "spamdetected",
            Reason::PolicyViolation => "policyviolation",
            Reason::VirusDetected => "virusdetected",
            Reason::SecurityError => "securityerror",
            Reason::SystemError => "systemerror",
            Reason::SystemFull => "systemfull",
            Reason::NetworkError => "networkerror",
            Reason::TooManyConn => "toomanyconn",
            Reason::Expired => "expired",
            Reason::ContentError => "contenterror",
            Reason::OnHold => "onhold",
            Reason::Delivered => "delivered",
        }
    }

    /// Hard: the address will never work. A domain that takes no mail is hard unless the
    /// server said it temporarily (4xx).
    pub(crate) fn kind(self, status: Option<&str>, diagnostic: &str) -> Kind {
        match self {
            Reason::Delivered => Kind::Delivered,
            Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved => Kind::Hard,
            Reason::NotAccept => {
                let temporary = status.is_some_and(|s| s.starts_with('4'))
                    || (status.is_none() && temporary_words(diagnostic));
                if temporary { Kind::Soft } else { Kind::Hard }
            }
            _ => Kind::Soft,
        }
    }
}

fn temporary_words(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("temporar") || t.contains("persistent")
}

/// Lower case, runs of whitespace made one space.
fn squeeze(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

const MAILBOX_FULL: &[&str] = &[
    "account is exceeding their quota",
    "account is over quota",
    "account is temporarily over quota",
    "boite du destinataire pleine",
    "boîte du destinataire pleine",
    "disc quota exceeded",
    "disk quota exceeded",
    "does not have enough space",
    "exceeded storage allocation",
    "exceeding its mailbox quota",
    "full mailbox",
    "is over disk quota",
    "mail quota exceeded",
    "mailbox exceeded the local limit",
    "mailbox full",
    "mailbox has exceeded",
    "mailbox is full",
    "mailbox over quota",
    "mailbox quota usage exceeded",
    "mailbox size limit exceeded",
    "maildir over quota",
    "mailfolder is full",
    "not enough storage space",
    "over the allowed quota",
    "quota exceeded",
    "quota violation",
    "reached disk quota",
    "would exceed maximum allowed storage",
    "the user's space has been used up",
    "is over quota",
    "over quota",
    "user has exceeded quota",
    "user has too many messages",
    "user is over the quota",
    "insufficient storage",
    "mailbox is over quota",
    "boite pleine",
];

const MESG_TOO_BIG: &[&str] = &[
    "message too large",
    "message too big",
    "message size exceeds",
    "message is too big",
    "message length exceeds",
    "exceeds the maximum message size",
    "size limit",
    "message file too big",
    "email is too large",
];

const EXCEED_LIMIT: &[&str] = &["message too large for this recipient", "exceeds size limit"];

const SUSPEND: &[&str] = &[
    " is currently suspended",
    " temporary locked",
    "boite du destinataire archivee",
    "email account that you tried to reach is disabled",
    "has been suspended",
    "invalid/inactive user",
    "is a deactivated mailbox",
    "mailbox currently suspended",
    "mailbox is frozen",
    "mailbox unavailable or access denied",
    "temporarily inactive",
    "recipient suspend the service",
    "has been disabled or discontinued",
    "this mailbox is disabled",
    "user suspended",
    "account is locked",
    "account disabled",
    "account has been disabled",
    "mailbox disabled",
];

const HAS_MOVED: &[&str] = &[" has been replaced by "];

const NO_RELAYING: &[&str] = &[
    "relay access denied",
    "relaying denied",
    "relay not permitted",
    "relaying not allowed",
    "not permitted to relay",
    "unable to relay",
    "we do not relay",
    "relay denied",
    "not an open relay",
    "domain isn't in my list of allowed rcpthosts",
    "relaying mail to",
];

const BLOCKED: &[&str] = &[
    "blacklisted by",
    "blocked using ",
    "client host rejected",
    "connection refused by",
    "ip address is black listed",
    "is listed in",
    "listed at ",
    "blocklist",
    "blacklist",
    "spamhaus",
    "reverse dns",
    "ptr record",
    "rejected due to poor reputation",
    "your ip",
    "ip address has been blocked",
    "has been temporarily blocked",
    "not allowed to send",
    "too many connections",
    "access denied. ip name lookup failed",
    "554 5.7.1 service unavailable; client host",
    "banned sending ip",
    "currently sending spam",
    "blocked - see",
    "refused - see",
];

const SPAM: &[&str] = &[
    "spam",
    "junk mail",
    "message rejected as bulk",
    "bulk mail",
    "unsolicited",
    "content rejected",
    "message filtered",
    "considered unsolicited",
    "looks like spam",
    "suspicious",
];

const FILTERED: &[&str] = &[
    "because the recipient is only accepting mail from specific email addresses",
    "due to extended inactivity new mail is not currently being accepted",
    "is not accepting any mail",
    "message rejected due to user rules",
    "refused due to recipient preferences",
    "resolver.rst.notauthorized",
    "this account is protected by",
    "user reject",
    "you have been blocked by the recipient",
];

const REJECTED: &[&str] = &[
    "sender address rejected",
    "sender ip address rejected",
    "access denied (in reply to mail from command)",
    "administrative prohibition",
    "batv",
    "domain of sender address",
    "empty envelope senders not allowed",
    "invalid sender",
    "null sender is not allowed",
    "returned mail not accepted here",
    "sender is in my black list",
    "sender rejected",
    "sender verify failed",
    "sender domain",
    "sender address",
    "mail from",
];

/// A refusal of the sender, not of the recipient: never a reason to drop a subscriber.
const SENDER_SIDE: &[&str] = &[
    "sender address rejected",
    "sender ip address rejected",
    "sender verify failed",
    "sender rejected",
    "domain of sender address",
    "sender rejected",
];

const POLICY: &[&str] = &[
    "policy",
    "dmarc",
    "not authorized",
    "delivery not authorized",
    "authentication required",
    "must be authenticated",
];

const VIRUS: &[&str] = &["virus", "malware", "infected"];

const SYSTEM_FULL: &[&str] = &["mail system full", "system full", "out of disk space"];

const NETWORK: &[&str] = &[
    "could not connect",
    "connection timed out",
    "lost connection",
    "conversation with",
    "network is unreachable",
    "no route to host",
    "mail loops back to myself",
    "mail loop",
    "too many hops",
    "routing loop",
    "temporary failure in name resolution",
    "dns error",
    "unable to connect",
];

/// Name service failures: the resolver did not answer, which says nothing of the domain.
const DNS_TROUBLE: &[&str] = &[
    "host name lookup failure",
    "host not found, try again",
    "malformed or unexpected name server reply",
    "malformed name server reply",
    "unable to resolve route",
    "dns records for the destination computer could not be found",
    "host is unreachable",
    "temporary failure in name resolution",
    "unrouteable mail domain",
];

const TOO_MANY_CONN: &[&str] = &[
    "too many connections",
    "too many recipients",
    "too many messages",
    "rate limit",
    "sending rate",
    "try again later",
    "throttl",
];

const EXPIRED: &[&str] = &[
    "delivery time expired",
    "retry time not reached",
    "message expired",
    "message timed out",
    "has been delayed",
    "could not be delivered for",
    "giving up",
    "too long in the queue",
    "exceeded the maximum time",
    "timed out",
    "retry timeout exceeded",
    "queue too long",
    "was not delivered within",
    "undeliverable for more than",
];

const HOST_UNKNOWN: &[&str] = &[
    "domain does not exist",
    "domain is not reachable",
    "domain must exist",
    "host or domain name not found",
    "host unknown",
    "host unreachable",
    "mail domain mentioned in email address is unknown",
    "name or service not known",
    "no such domain",
    "unknown domain",
    "the account or domain may not exist",
    "unknown host",
    "unroutable address",
    "unrouteable address",
    "domain not found",
    "host not found",
    "no mx or a record",
    "could not find mx",
    "no mail servers for",
];

const NOT_ACCEPT: &[&str] = &[
    "does not accept mail",
    "host/domain does not accept mail",
    "no mx record found for domain=",
    "no route for current request",
    "nullmx",
    "indicated no smtp service",
    "null mx",
];

const USER_UNKNOWN: &[&str] = &[
    "#5.1.1 bad address",
    "550 address invalid",
    "5.1.0 address rejected.",
    "address does not exist",
    "address not present in directory",
    "address unknown",
    "archived recipient",
    "bad recipient",
    "bad-recipient",
    "bad_recipient",
    "can't accept user",
    "does not exist.",
    "destination addresses were unknown",
    "destination server rejected recipients",
    "email address does not exist",
    "email address could not be found",
    "invalid address",
    "invalid final delivery userid",
    "invalid mailbox",
    "invalid recipient",
    "is not a known user",
    "is not a valid mailbox",
    "is not an active address at this host",
    "mailbox does not exist",
    "mailbox invalid",
    "mailbox is inactive",
    "mailbox is unavailable",
    "mailbox not present",
    "mailbox not found",
    "mailbox unavailable",
    "no account by that name here",
    "no mail box available for this user",
    "no mailbox by that name",
    "no mailbox found",
    "no such address",
    "no such mailbox",
    "no such person",
    "no such recipient",
    "no such user",
    "non-existent user",
    "nonexistent user",
    "non existent user",
    "not a valid recipient",
    "not a valid user here",
    "not a local address",
    "recipient address rejected: access denied",
    "recipient address rejected: invalid user",
    "recipient address rejected: invalid-recipient",
    "recipient address rejected: unknown user",
    "recipient address rejected: user unknown",
    "recipient does not exist",
    "recipient is not local",
    "recipient not exist",
    "recipient not found",
    "recipient not ok",
    "recipient refuses to accept your mail",
    "recipient unknown",
    "requested action not taken: mailbox unavailable",
    "resolver.adr.recipientnotfound",
    "resolver.adr.recipient notfound",
    "sorry, user unknown",
    "sorry, no mailbox here by that name",
    "badrcptto",
    "the email account that you tried to reach does not exist",
    "the following recipients was undeliverable",
    "the user's email name is not found",
    "there is no one at this address",
    "this address no longer accepts mail",
    "this email address is wrong or no longer valid",
    "is not in my validrcptto list",
    "unknown e-mail address",
    "unknown email address",
    "unknown local part",
    "unknown local-part",
    "unknown mailbox",
    "unknown recipient",
    "unknown user",
    "user does not exist",
    "user missing home directory",
    "user not active",
    "user not exist",
    "user not found",
    "user not known",
    "user unknown",
    "utilisateur inconnu",
    "adresse d au moins un destinataire invalide",
    "invalid or unknown virtual user",
    "no valid recipients",
    "account does not exist",
    "address rejected",
    "unknown address",
    "not listed in domino directory",
    "not listed in public name & address book",
    "ディレクトリのリストにありません",
    "please check if address is correct",
    "adresse destinataire invalide",
];

/// The SMTP command a refusal answered, where the notice says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Mail,
    Rcpt,
    Data,
}

fn smtp_command(text: &str) -> Option<Command> {
    const SAYINGS: &[(&str, Command)] = &[
        ("in reply to rcpt to command", Command::Rcpt),
        (">>> rcpt to", Command::Rcpt),
        ("after rcpt to", Command::Rcpt),
        ("did not like our rcpt to", Command::Rcpt),
        ("rcpt to:<", Command::Rcpt),
        // X3's "SMTP:RCPT host …", Yahoo's "… User Unknown [RCPT_TO]".
        ("smtp:rcpt ", Command::Rcpt),
        ("[rcpt_to]", Command::Rcpt),
        ("in reply to end of data command", Command::Data),
        ("in reply to data command", Command::Data),
        (">>> data", Command::Data),
        ("after end of data", Command::Data),
        ("after data", Command::Data),
        ("smtp command data", Command::Data),
        ("did not like our data", Command::Data),
        ("in reply to mail from command", Command::Mail),
        (">>> mail from", Command::Mail),
        ("after mail from", Command::Mail),
    ];
    SAYINGS
        .iter()
        .filter_map(|(p, c)| text.find(p).map(|at| (at, *c)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, c)| c)
}

fn any(text: &str, list: &[&str]) -> bool {
    list.iter().any(|p| text.contains(p))
}

/// The reason standard status codes name, where the code alone is clear.
fn reason_of_status(status: &str) -> Option<Reason> {
    let (class, rest) = status.split_once('.')?;
    let detail = match rest {
        "1.0" | "1.1" | "1.3" => Reason::UserUnknown,
        "1.2" | "4.4" => Reason::HostUnknown,
        "1.6" => Reason::HasMoved,
        "1.10" | "3.2" => Reason::NotAccept,
        "1.7" | "1.8" => Reason::Rejected,
        "2.1" => {
            if class == "4" {
                Reason::Suspend
            } else {
                Reason::Filtered
            }
        }
        "2.2" => Reason::MailboxFull,
        "2.3" => Reason::ExceedLimit,
        "3.4" => Reason::MesgTooBig,
        "3.1" | "4.5" => Reason::SystemFull,
        "4.1" | "4.7" => Reason::Expired,
        "4.2" | "4.6" => Reason::NetworkError,
        "5.3" => Reason::TooManyConn,
        "7.1" | "7.2" | "7.25" if class == "4" => Reason::Blocked,
        _ if rest.starts_with("6.") => Reason::ContentError,
        _ if rest.starts_with("7.") => Reason::SecurityError,
        _ if rest.starts_with("3.") => Reason::SystemError,
        _ => return None,
    };
    Some(detail)
}

/// The reason of one failure: the words first where they are specific, then the status code,
/// then the generic words.
pub(crate) fn reason_of(
    status: Option<&str>,
    diagnostic: &str,
    action: &str,
    context: &str,
) -> Reason {
    let text = squeeze(diagnostic);
    let command = smtp_command(&squeeze(context)).or_else(|| smtp_command(&text));
    let by_status = status.and_then(reason_of_status);
    // Words that override what a code says (a 5.1.1 sent for a full mailbox, a 5.7.1 for a
    // blocked IP): the specific ones.
    if any(&text, MAILBOX_FULL) {
        return Reason::MailboxFull;
    }
    if any(&text, HAS_MOVED) {
        return Reason::HasMoved;
    }
    if any(&text, SUSPEND) {
        return Reason::Suspend;
    }
    if any(&text, NO_RELAYING) {
        return Reason::NoRelaying;
    }
    if by_status == Some(Reason::UserUnknown) {
        if any(&text, SENDER_SIDE) {
            return Reason::Rejected;
        }
        if any(&text, BLOCKED) {
            return Reason::Blocked;
        }
        if any(&text, NOT_ACCEPT) {
            return Reason::NotAccept;
        }
        if any(&text, FILTERED) {
            return Reason::Filtered;
        }
        return Reason::UserUnknown;
    }
    if any(&text, DNS_TROUBLE) {
        return Reason::NetworkError;
    }
    if by_status == Some(Reason::HostUnknown) && !any(&text, NETWORK) {
        return Reason::HostUnknown;
    }
    if any(&text, USER_UNKNOWN) && !any(&text, SENDER_SIDE) {
        // Refused after the content was sent: a filter's verdict on the message, whatever
        // words it chose, not a statement about the address.
        // Refused after the content was sent: a filter's verdict on the message, whatever
        // words it chose, not a statement about the address. So is a refusal whose status
        // says something else than the address (5.0.0 "undefined", 5.7.x policy): Sisimai's
        // rule too (Reason::Filtered), and the safer one, as a soft bounce only removes the
        // address after it repeats.
        // Sisimai's rule: unknown-user words name the address only under an addressing
        // status (x.1.x) or in answer to RCPT TO; under another status, or after DATA,
        // they are a filter's words.
        let other_status = status
            .and_then(|s| s.split_once('.'))
            .is_some_and(|(_, rest)| !rest.starts_with("1."));
        return match command {
            Some(Command::Rcpt) => Reason::UserUnknown,
            Some(Command::Data) => Reason::Filtered,
            Some(Command::Mail) => Reason::Rejected,
            None if other_status => Reason::Filtered,
            None => Reason::UserUnknown,
        };
    }
    if any(&text, FILTERED) {
        return Reason::Filtered;
    }
    if any(&text, HOST_UNKNOWN) {
        return Reason::HostUnknown;
    }
    if any(&text, NOT_ACCEPT) {
        return Reason::NotAccept;
    }
    if any(&text, MESG_TOO_BIG) || any(&text, EXCEED_LIMIT) {
        return Reason::MesgTooBig;
    }
    if let Some(reason) = by_status {
        return reason;
    }
    if any(&text, VIRUS) {
        return Reason::VirusDetected;
    }
    if any(&text, SPAM) {
        return Reason::SpamDetected;
    }
    if any(&text, BLOCKED) {
        return Reason::Blocked;
    }
    if any(&text, TOO_MANY_CONN) {
        return Reason::TooManyConn;
    }
    if any(&text, REJECTED) {
        return Reason::Rejected;
    }
    if any(&text, POLICY) {
        return Reason::PolicyViolation;
    }
    if any(&text, SYSTEM_FULL) {
        return Reason::SystemFull;
    }
    if any(&text, NETWORK) {
        return Reason::NetworkError;
    }
    if action.starts_with("delayed") || any(&text, EXPIRED) {
        return Reason::Expired;
    }
    Reason::OnHold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_user_words_are_hard_only_about_the_address() {
        let words = "550 <a@b.fr>: User unknown";
        // Answering RCPT TO, or with no status to say otherwise: the address.
        assert_eq!(
            reason_of(None, words, "", ">>> RCPT TO:<a@b.fr>"),
            Reason::UserUnknown
        );
        assert_eq!(reason_of(None, words, "", ""), Reason::UserUnknown);
        // After DATA, or under a status about something else: a filter may have spoken.
        assert_eq!(
            reason_of(None, words, "", "in reply to end of DATA command"),
            Reason::Filtered
        );
        // Under an addressing status (x.1.x), the words are about the address.
        assert_eq!(
            reason_of(Some("5.1.10"), "550 5.1.10 Recipient not found", "", ""),
            Reason::UserUnknown
        );
        // Answering RCPT TO in X3's and Yahoo!'s own words.
        assert_eq!(
            reason_of(
                Some("5.2.1"),
                "550 5.2.1 <a@b.fr>... User Unknown [RCPT_TO]",
                "",
                ""
            ),
            Reason::UserUnknown
        );
        for status in ["5.0.0", "5.7.1", "5.2.1", "5.3.0"] {
            let r = reason_of(Some(status), words, "", "");
            assert_eq!(r, Reason::Filtered, "{status}");
            assert_eq!(r.kind(Some(status), words), Kind::Soft, "{status}");
        }
    }

    #[test]
    fn specific_words_win_over_a_generic_code() {
        assert_eq!(
            reason_of(Some("5.1.1"), "550 5.1.1 Mailbox is full", "", ""),
            Reason::MailboxFull
        );
        assert_eq!(
            reason_of(Some("5.1.1"), "550 5.1.1 <a@b.fr>: user unknown", "", ""),
            Reason::UserUnknown
        );
        assert_eq!(
            reason_of(
                None,
                "said: 550 sorry, no mailbox here by that name",
                "",
                ""
            ),
            Reason::UserUnknown
        );
    }

    #[test]
    fn a_domain_without_mail_is_hard_unless_temporary() {
        assert_eq!(Reason::NotAccept.kind(Some("5.1.10"), ""), Kind::Hard);
        assert_eq!(Reason::NotAccept.kind(Some("4.3.2"), ""), Kind::Soft);
        assert_eq!(Reason::MailboxFull.kind(Some("5.2.2"), ""), Kind::Soft);
    }
}
