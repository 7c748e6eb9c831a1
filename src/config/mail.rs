//! `[mail]` and `[lists.*]`: the SMTP server, the sender and the sending limits.

use serde::Deserialize;

use super::collector::Collector;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailSettings {
    pub(crate) from: String,
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port` (TLS); a user name
    /// may come before the host (`smtp://user@host`); the password is `VEILLE_SMTP_PASSWORD`.
    pub(crate) smtp: String,
    pub(crate) base_url: Option<String>,
    pub(crate) reply_to: Option<String>,
    /// Path of the DKIM private key: PKCS#1 PEM (RSA 2048) or base64 (Ed25519).
    pub(crate) dkim_key: Option<String>,
    pub(crate) dkim_selector: Option<String>,
    pub(crate) dkim_domain: Option<String>,
    /// Where `mailto:` unsubscribe requests go (the From address when absent).
    pub(crate) unsubscribe_mailto: Option<String>,
    /// Parallel SMTP connections.
    #[serde(default = "default_connections")]
    pub(crate) connections: usize,
    /// Messages per second, all connections together.
    #[serde(default = "default_rate")]
    pub(crate) per_second: u32,
    /// Messages per hour (0: no cap); a send waits when the cap is reached.
    #[serde(default)]
    pub(crate) per_hour: u32,
    /// Longest time one message may take (connection included).
    #[serde(default = "default_send_timeout")]
    pub(crate) timeout_secs: u64,
    /// First wait after a temporary (4xx) refusal; doubled at each further one.
    #[serde(default = "default_retry_secs")]
    pub(crate) retry_secs: u64,
    /// Tries per recipient before a temporary refusal counts as a failure.
    #[serde(default = "default_max_attempts")]
    pub(crate) max_attempts: u32,
    /// The address bounces come back to; each message leaves with the envelope sender
    /// `local+TOKEN@domain` (VERP) naming its delivery. Without it, the From address.
    pub(crate) bounce_address: Option<String>,
    /// Permanent refusals (5xx) after which an address is marked bounced.
    #[serde(default = "default_bounce_limit")]
    pub(crate) bounce_limit: u32,
    /// Anonymous click counts per edition and link (off by default): see `mail::clicks`.
    #[serde(default)]
    pub(crate) count_clicks: bool,
}

fn default_connections() -> usize {
    4
}
fn default_rate() -> u32 {
    20
}
fn default_send_timeout() -> u64 {
    60
}
fn default_retry_secs() -> u64 {
    60
}
fn default_max_attempts() -> u32 {
    5
}
fn default_bounce_limit() -> u32 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailingList {
    pub(crate) title: String,
}

/// Checks `[mail]`: an SMTP URL, non-zero limits, a valid sender.
pub(super) fn validate(mail: Option<&MailSettings>, c: &mut Collector) {
    let Some(mail) = mail else {
        return;
    };
    if !(mail.smtp.starts_with("smtp://") || mail.smtp.starts_with("smtps://"))
        || url::Url::parse(&mail.smtp).is_err()
    {
        c.push_at(
            &mail.smtp,
            format!("serveur SMTP invalide « {} »", mail.smtp),
            Some("exemples : smtp = \"smtp://127.0.0.1:2525\", smtp = \"smtps://smtp.example.org:465\"".into()),
        );
    }
    for (key, value) in [
        ("connections", mail.connections as u64),
        ("per_second", u64::from(mail.per_second)),
        ("timeout_secs", mail.timeout_secs),
        ("max_attempts", u64::from(mail.max_attempts)),
        ("bounce_limit", u64::from(mail.bounce_limit)),
    ] {
        if value == 0 {
            c.push_at(
                key,
                format!("`{key}` de [mail] doit être supérieur à 0"),
                None,
            );
        }
    }
    if mail.from.parse::<lettre::message::Mailbox>().is_err() {
        c.push_at(
            &mail.from,
            format!("adresse d'expédition invalide « {} »", mail.from),
            Some("exemple : from = \"Ressources & Territoires <lettre@example.org>\"".into()),
        );
    }
}
