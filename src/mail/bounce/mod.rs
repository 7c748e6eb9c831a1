//! The deliverability loop: the relay accepts every message and refusals come back later, as
//! mail, to the envelope sender. `verp` names each delivery in that sender; `classify` reads
//! what came back (with `patterns`, the words of real MTAs); `process` records one message and
//! applies the policy through the store; `mailbox` reads a Maildir or an IMAP folder and marks
//! each message processed only after its effect is committed.

pub mod classify;
mod dsn;
mod free_text;
pub(crate) mod imap;
pub(crate) mod mailbox;
mod patterns;
mod servers;
mod ses;
pub(crate) mod verp;

pub(crate) use classify::{Classification, Kind, classify};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::token::Secret;
use crate::config::BounceSettings;
use crate::store::Store;
use crate::store::bounces::{BounceApplied, BouncePolicy, BounceRecord, BounceTarget};

/// The JSON contract of `veille bounces parse` (used by outside checks: keep it).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ParsedFile {
    pub(crate) file: String,
    pub(crate) kind: &'static str,
    pub(crate) recipients: Vec<String>,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
}

impl ParsedFile {
    pub(crate) fn new(file: String, c: &Classification) -> ParsedFile {
        ParsedFile {
            file,
            kind: c.kind.as_str(),
            recipients: c.recipients.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
        }
    }
}

/// The identity of a mailbox message: the SHA-256 of its bytes with line ends made LF, so the
/// same message appended twice, or fetched again after a crash, is processed once.
pub fn message_key(raw: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut previous_cr = false;
    for &b in raw {
        match b {
            b'\r' => hasher.update(b"\n"),
            b'\n' if previous_cr => {}
            _ => hasher.update([b]),
        }
        previous_cr = b == b'\r';
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What processing one message did, for the command's report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Processed {
    pub(crate) kind: &'static str,
    /// applied, forged, unknown, ignored, or already (processed before).
    pub(crate) outcome: String,
    pub(crate) recipients: Vec<String>,
    pub(crate) status: Option<String>,
    pub(crate) reason: Option<String>,
    /// Effects on subscribers: (address, bounced | complained | counted | ignored).
    pub(crate) effects: Vec<(String, String)>,
    pub(crate) detail: Option<String>,
}

/// Everything processing needs besides the message.
pub(crate) struct Context<'a> {
    pub(crate) store: &'a Store,
    pub(crate) secret: &'a Secret,
    /// `[mail] bounce_address`: where VERP tokens are looked for.
    pub(crate) bounce_address: Option<&'a str>,
    pub(crate) policy: BouncePolicy,
}

impl BounceSettings {
    pub(crate) fn policy(&self) -> BouncePolicy {
        BouncePolicy {
            soft_limit: self.soft_limit.max(1),
            soft_editions: self.soft_editions.max(1),
        }
    }
}

/// Classifies one message, finds whom it is about (the VERP token first, else the report's
/// recipients) and records it with its effect, in one transaction. A message recorded
/// before changes nothing.
pub(crate) async fn process(
    ctx: &Context<'_>,
    raw: &[u8],
    now: DateTime<Utc>,
) -> anyhow::Result<Processed> {
    let key = message_key(raw);
    let c = classify(raw);
    let mut processed = Processed {
        kind: c.kind.as_str(),
        outcome: String::new(),
        recipients: c.recipients.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        effects: Vec::new(),
        detail: None,
    };
    if ctx.store.bounce_processed(&key).await? {
        processed.outcome = "already".into();
        return Ok(processed);
    }
    let mut targets: Vec<(BounceTarget, String)> = Vec::new();
    let mut outcome = "applied";
    let verp = match ctx.bounce_address {
        Some(address) => verp::check(
            ctx.secret,
            address,
            &c.delivered_to,
            &String::from_utf8_lossy(raw),
        ),
        None => verp::VerpCheck::Absent,
    };
    match verp {
        verp::VerpCheck::Forged(token) => {
            outcome = "forged";
            processed.detail = Some(format!("jeton VERP altéré « {token} »"));
        }
        verp::VerpCheck::Valid {
            edition,
            subscriber,
        } => match ctx.store.delivery_email(edition, subscriber).await? {
            Some(email) => {
                processed.recipients = vec![email.clone()];
                targets.push((
                    BounceTarget {
                        subscriber,
                        edition: Some(edition),
                        suppression_hash: ctx.secret.address_hash(&email),
                    },
                    email,
                ));
            }
            None => {
                outcome = "unknown";
                processed.detail = Some(format!(
                    "jeton VERP valable mais aucun envoi de l'édition {edition} à l'abonné·e {subscriber} (effacé·e ?)"
                ));
            }
        },
        verp::VerpCheck::Absent => {
            for email in &c.recipients {
                if let Some(subscriber) = ctx.store.subscriber_id(email).await? {
                    targets.push((
                        BounceTarget {
                            subscriber,
                            edition: None,
                            suppression_hash: ctx.secret.address_hash(email),
                        },
                        email.clone(),
                    ));
                }
            }
            if targets.is_empty() && c.kind != Kind::None {
                outcome = "unknown";
                processed.detail = Some(if c.recipients.is_empty() {
                    "destinataire introuvable dans le message".into()
                } else {
                    format!("adresse(s) inconnue(s) : {}", c.recipients.join(", "))
                });
            }
        }
    }
    if c.kind == Kind::None && outcome == "applied" {
        outcome = "ignored";
    }
    let record = BounceRecord {
        message_key: key,
        kind: c.kind.as_str().to_string(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        targets: targets.iter().map(|(t, _)| t.clone()).collect(),
        outcome: outcome.to_string(),
        detail: processed.detail.clone(),
    };
    processed.outcome = outcome.to_string();
    match ctx.store.record_bounce(&record, ctx.policy, now).await? {
        BounceApplied::AlreadyProcessed => processed.outcome = "already".into(),
        BounceApplied::Recorded(effects) => {
            for (subscriber, effect) in effects {
                if let Some((_, email)) = targets.iter().find(|(t, _)| t.subscriber == subscriber) {
                    processed.effects.push((email.clone(), effect));
                }
            }
        }
    }
    Ok(processed)
}
