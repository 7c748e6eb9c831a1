//! Reading the bounce mailbox: a Maildir (`new/` → `cur/` with the `S` flag once processed)
//! or IMAP (`imap`); `fetch` picks from `[bounces]` and sums up what was done.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Context, Processed, process};
use crate::config::BounceSettings;

/// What one reading of the mailbox did.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct FetchReport {
    /// Messages read.
    pub(crate) messages: usize,
    /// Read again after a crash, or present twice: nothing done the second time.
    pub(crate) already: usize,
    /// Messages by kind (hard, soft, complaint, auto-reply, delivered, none).
    pub(crate) kinds: BTreeMap<String, usize>,
    /// Effects on subscriptions: bounced, complained, counted, ignored.
    pub(crate) effects: BTreeMap<String, usize>,
    /// Messages that changed nothing and deserve a look: altered VERP token, unknown address.
    pub(crate) problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Problem {
    pub(crate) message: String,
    pub(crate) outcome: String,
    pub(crate) detail: String,
}

impl FetchReport {
    pub(crate) fn add(&mut self, message: String, processed: Processed) {
        self.messages += 1;
        if processed.outcome == "already" {
            self.already += 1;
            return;
        }
        *self.kinds.entry(processed.kind.to_string()).or_default() += 1;
        for (_, effect) in &processed.effects {
            *self.effects.entry(effect.clone()).or_default() += 1;
        }
        if matches!(processed.outcome.as_str(), "forged" | "unknown") {
            self.problems.push(Problem {
                message,
                outcome: processed.outcome,
                detail: processed.detail.unwrap_or_default(),
            });
        }
    }
}

/// Reads the mailbox `[bounces]` names.
pub(crate) async fn fetch(
    ctx: &Context<'_>,
    settings: &BounceSettings,
) -> anyhow::Result<FetchReport> {
    match (&settings.imap, &settings.maildir) {
        (Some(_), Some(_)) => anyhow::bail!("[bounces] : indiquez imap ou maildir, pas les deux"),
        (Some(url), None) => super::imap::fetch(ctx, settings, url).await,
        (None, Some(dir)) => fetch_maildir(ctx, Path::new(dir)).await,
        (None, None) => anyhow::bail!(
            "[bounces] : indiquez la boîte des retours, imap = \"imaps://utilisateur@serveur/INBOX\" \
             ou maildir = \"/var/mail/retours\""
        ),
    }
}

/// Every message of `new/`, in name order (delivery order for Maildir names); each moved to
/// `cur/` with the `S` flag after its effect is committed.
pub(crate) async fn fetch_maildir(ctx: &Context<'_>, dir: &Path) -> anyhow::Result<FetchReport> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&new)
        .map_err(|e| {
            anyhow::anyhow!(
                "boîte des retours {} illisible : {e} (un Maildir a new/ et cur/)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    names.sort();
    std::fs::create_dir_all(&cur)
        .map_err(|e| anyhow::anyhow!("impossible de créer {} : {e}", cur.display()))?;
    let mut report = FetchReport::default();
    for name in names {
        let path = new.join(&name);
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            // Taken by another reader meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => anyhow::bail!("message {} illisible : {e}", path.display()),
        };
        let processed = process(ctx, &raw, chrono::Utc::now()).await?;
        let name = name.to_string_lossy().into_owned();
        report.add(name.clone(), processed);
        let done = match name.split_once(":2,") {
            Some((base, flags)) if !flags.contains('S') => {
                let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
                flags.sort_unstable();
                format!("{base}:2,{}", flags.into_iter().collect::<String>())
            }
            Some(_) => name.clone(),
            None => format!("{name}:2,S"),
        };
        std::fs::rename(&path, cur.join(&done)).map_err(|e| {
            anyhow::anyhow!("impossible de ranger {} dans cur/ : {e}", path.display())
        })?;
    }
    Ok(report)
}
