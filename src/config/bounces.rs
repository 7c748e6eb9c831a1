//! `[bounces]`: where the bounce mailbox is (IMAP or Maildir) and the policy's thresholds.

use serde::Deserialize;

/// The bounce mailbox and the policy applied to what it holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BounceSettings {
    /// `imaps://user@host:993/INBOX` (TLS), or `imap://user@host:143/INBOX` (STARTTLS,
    /// required); the password is `VEILLE_BOUNCES_PASSWORD`, else the file `password_file`.
    pub(crate) imap: Option<String>,
    /// A file holding the IMAP password, readable by the service only (mode 0600 or 0400).
    pub(crate) password_file: Option<String>,
    /// PEM certificates of the authorities trusted for the IMAP server, besides the public
    /// ones (an internal CA, or a server's own certificate).
    #[serde(default)]
    pub(crate) ca_file: Option<String>,
    /// A Maildir (`new/`, `cur/`) read instead of IMAP.
    pub(crate) maildir: Option<String>,
    /// The IMAP folder processed messages are moved to (created when missing).
    #[serde(default = "default_done_folder")]
    pub(crate) done_folder: String,
    /// Soft bounces, with no delivery notice in between, after which an address is bounced…
    #[serde(default = "default_soft_limit")]
    pub(crate) soft_limit: u32,
    /// … over at least this many different editions.
    #[serde(default = "default_soft_editions")]
    pub(crate) soft_editions: u32,
}

fn default_done_folder() -> String {
    "veille-traites".into()
}
fn default_soft_limit() -> u32 {
    3
}
fn default_soft_editions() -> u32 {
    2
}
