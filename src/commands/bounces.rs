//! `veille bounces parse|fetch`, `veille subscribers show` and `veille edition report`: the
//! deliverability loop as seen from the command line.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::report::{CommandError, Report};
use super::{EXIT_FAILURE, EXIT_OK};
use crate::config::Config;
use crate::mail::bounce::{self, Context, ParsedFile, mailbox};
use crate::mail::token::Secret;
use crate::model::{EditionRef, SubscriberRow};
use crate::store::Store;
use crate::store::bounces::{BounceEventRow, EditionReport};
use crate::store::clicks::LinkClicks;

/// Every file under `path` (itself when a file), in name order; hidden files left out.
fn files_under(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for entry in entries {
        files_under(&entry, out)?;
    }
    Ok(())
}

/// `veille bounces parse PATH… [--json]`: classifies message files without touching the store;
/// an unreadable file is said on stderr and makes the exit code 1, the others are still read.
pub(crate) fn parse(paths: &[PathBuf]) -> Parsed {
    let mut files = Vec::new();
    let mut unreadable = false;
    for path in paths {
        if let Err(e) = files_under(path, &mut files) {
            eprintln!("erreur : {} illisible : {e}", path.display());
            unreadable = true;
        }
    }
    let mut parsed = Vec::new();
    for file in files {
        match std::fs::read(&file) {
            Ok(raw) => parsed.push(ParsedFile::new(
                file.display().to_string(),
                &bounce::classify(&raw),
            )),
            Err(e) => {
                eprintln!("erreur : {} illisible : {e}", file.display());
                unreadable = true;
            }
        }
    }
    Parsed { parsed, unreadable }
}

/// The files `veille bounces parse` classified: a JSON array, or two lines each.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct Parsed {
    parsed: Vec<ParsedFile>,
    /// A path or a file could not be read (said on stderr as it happened).
    #[serde(skip)]
    unreadable: bool,
}

impl Report for Parsed {
    const PRETTY: bool = true;

    fn exit_code(&self) -> i32 {
        if self.unreadable {
            EXIT_FAILURE
        } else {
            EXIT_OK
        }
    }
}

impl std::fmt::Display for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.parsed {
            writeln!(
                f,
                "{}\n    {} ; {} ; statut {} ; raison {}",
                p.file,
                french_kind(p.kind),
                if p.recipients.is_empty() {
                    "destinataire inconnu".to_string()
                } else {
                    p.recipients.join(", ")
                },
                p.status.as_deref().unwrap_or("—"),
                p.reason.as_deref().unwrap_or("—"),
            )?;
        }
        write!(f, "{} message(s) lu(s)", self.parsed.len())
    }
}

fn french_kind(kind: &str) -> &'static str {
    match kind {
        "hard" => "échec définitif",
        "soft" => "échec temporaire",
        "complaint" => "plainte (signalé comme indésirable)",
        "auto-reply" => "réponse automatique",
        "delivered" => "remis",
        _ => "rien à en tirer",
    }
}

fn french_effect(effect: &str) -> &'static str {
    match effect {
        "bounced" => "adresse mise en échec",
        "complained" => "désabonné·e de tout et écarté·e",
        "counted" => "compté",
        _ => "ignoré",
    }
}

/// `veille bounces fetch [--json]`: reads the bounce mailbox once.
pub(crate) async fn fetch(config: &Config, archive: &Path) -> Result<Fetched, CommandError> {
    if config.bounces.is_none() {
        return Err(CommandError::Usage(
            "erreur : aucune boîte des retours : ajoutez [bounces] à feeds.toml \
             (imap = \"imaps://utilisateur@serveur/INBOX\" ou maildir = \"/var/mail/retours\")"
                .into(),
        ));
    }
    let report = fetch_once(config, archive)
        .await
        .map_err(|e| anyhow::anyhow!("lecture de la boîte des retours : {e:#}"))?;
    Ok(Fetched(report))
}

/// What one reading of the bounce mailbox found and did.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct Fetched(mailbox::FetchReport);

impl Report for Fetched {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = &self.0;
        write!(
            f,
            "{} message(s) lu(s){}",
            report.messages,
            if report.already > 0 {
                format!(", dont {} déjà traité(s)", report.already)
            } else {
                String::new()
            }
        )?;
        for (kind, n) in &report.kinds {
            write!(f, "\n  {n} {}", french_kind(kind))?;
        }
        for (effect, n) in &report.effects {
            write!(f, "\n  → {n} {}", french_effect(effect))?;
        }
        for p in &report.problems {
            let what = if p.outcome == "forged" {
                "sans effet, jeton falsifié"
            } else {
                "sans effet, destinataire inconnu"
            };
            write!(f, "\n  ! {} : {what} ({})", p.message, p.detail)?;
        }
        Ok(())
    }
}

/// One reading of the mailbox `[bounces]` names (the command and the daemon's job).
pub(crate) async fn fetch_once(
    config: &Config,
    archive: &Path,
) -> anyhow::Result<mailbox::FetchReport> {
    let settings = config
        .bounces
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("aucune section [bounces]"))?;
    let store = Store::open(archive).await?;
    let secret = Secret::load(archive)?;
    let ctx = Context {
        store: &store,
        secret: &secret,
        bounce_address: config
            .mail
            .as_ref()
            .and_then(|m| m.bounce_address.as_deref()),
        policy: settings.policy(),
    };
    mailbox::fetch(&ctx, settings).await
}

/// `veille subscribers show ADDRESS [--json]`: lists and the events that came back.
pub(crate) async fn subscriber_show(
    archive: &Path,
    email: &str,
) -> Result<Subscriber, CommandError> {
    let store = Store::open(archive).await?;
    let email = email.trim().to_lowercase();
    let rows = store.subscriber_rows(None).await?;
    let Some(row) = rows.into_iter().find(|r| r.email == email) else {
        // An address veille does not know is a fact about the store, not a typo: exit 1.
        return Err(CommandError::Runtime(anyhow::anyhow!(
            "adresse inconnue « {email} »"
        )));
    };
    let events = store.bounce_events(&email).await?;
    Ok(Subscriber { row, events })
}

/// A subscriber's lists and the events that came back for them.
pub(crate) struct Subscriber {
    row: SubscriberRow,
    events: Vec<BounceEventRow>,
}

impl Serialize for Subscriber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let lists: Vec<_> = self
            .row
            .subscriptions
            .iter()
            .map(|(l, s)| json!({"list": l, "status": s.as_str()}))
            .collect();
        json!({
            "email": self.row.email,
            "name": self.row.name,
            "subscriptions": lists,
            "events": self.events,
        })
        .serialize(s)
    }
}

impl Report for Subscriber {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let row = &self.row;
        write!(f, "{}", row.email)?;
        if let Some(name) = &row.name {
            write!(f, "\n  nom : {name}")?;
        }
        for (list, status) in &row.subscriptions {
            write!(f, "\n  liste {list} : {}", status.as_str())?;
        }
        if self.events.is_empty() {
            return write!(
                f,
                "\n  aucun retour (échec, plainte ou réponse automatique) reçu"
            );
        }
        write!(f, "\n  retours reçus :")?;
        for e in &self.events {
            write!(
                f,
                "\n    {} — {} — {}{}{} → {}",
                e.at,
                e.edition.as_deref().unwrap_or("édition inconnue"),
                french_kind(&e.kind),
                e.status
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default(),
                e.reason
                    .as_deref()
                    .map(|r| format!(" [{r}]"))
                    .unwrap_or_default(),
                french_effect(&e.effect),
            )?;
        }
        Ok(())
    }
}

/// `veille edition report KIND/N [--json]`: the figures after the fact, also written to
/// `archive/published/<kind>/<n>/rapport.html` (linked from nowhere).
pub(crate) async fn edition_report(
    config: &Config,
    archive: &Path,
    edition: &str,
) -> Result<Delivered, CommandError> {
    let Ok(EditionRef { kind, number }) = edition.parse::<EditionRef>() else {
        return Err(CommandError::Usage(format!(
            "erreur : édition « {edition} » : attendu GENRE/NUMÉRO, par exemple flash-info/3"
        )));
    };
    let list = config.publications.get(&kind).map(|p| p.list_name(&kind));
    let store = Store::open(archive).await?;
    let Some(report) = store.edition_report(&kind, number, list.as_deref()).await? else {
        return Err(CommandError::Runtime(anyhow::anyhow!(
            "édition introuvable : {edition}"
        )));
    };
    let dir = archive
        .join(crate::publish::PUBLISHED_DIR)
        .join(&kind)
        .join(number.to_string());
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("impossible de créer {} : {e}", dir.display()))?;
    let clicks = if config.mail.as_ref().is_some_and(|m| m.count_clicks) {
        Some(store.link_clicks(&kind, number).await?)
    } else {
        None
    };
    let html = report_html(&report, clicks.as_deref());
    let path = dir.join("rapport.html");
    std::fs::write(&path, html)
        .map_err(|e| anyhow::anyhow!("impossible d'écrire {} : {e}", path.display()))?;
    Ok(Delivered {
        report,
        clicks,
        path,
    })
}

/// The figures of a sent edition, the clicks per link when they are counted, and the page
/// written with them.
#[derive(Debug, Serialize)]
pub(crate) struct Delivered {
    #[serde(flatten)]
    report: EditionReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    clicks: Option<Vec<LinkClicks>>,
    #[serde(skip)]
    path: PathBuf,
}

impl Report for Delivered {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Delivered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (label, value) in report_lines(&self.report) {
            writeln!(f, "{label:<48} {value}")?;
        }
        if let Some(clicks) = &self.clicks {
            writeln!(f, "\nClics par lien (anonymes, sans savoir qui a cliqué) :")?;
            if clicks.is_empty() {
                writeln!(f, "  aucun lien compté pour cette édition")?;
            }
            for c in clicks {
                writeln!(f, "  {:>6}  {}", c.clicks, c.url)?;
            }
        }
        write!(f, "\nRapport : {}", self.path.display())
    }
}

fn report_lines(r: &EditionReport) -> Vec<(&'static str, i64)> {
    vec![
        ("Destinataires", r.recipients),
        ("Acceptés par le relais", r.sent),
        ("Refusés pendant l'envoi", r.refused_during_sending),
        ("Revenus en échec définitif (après coup)", r.bounced_hard),
        ("Revenus en échec temporaire (après coup)", r.bounced_soft),
        ("Plaintes (signalé comme indésirable)", r.complaints),
        ("Réponses automatiques", r.auto_replies),
        ("Désabonnements depuis cette édition", r.unsubscribes),
        ("Incertains (sans réponse du relais)", r.uncertain),
    ]
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page for the team: no tracking of readers, only what the relay and the bounce
/// mailbox said.
fn report_html(r: &EditionReport, clicks: Option<&[LinkClicks]>) -> String {
    let mut rows = String::new();
    for (label, value) in report_lines(r) {
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{value}</td></tr>\n",
            escape(label)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>Rapport d'envoi — {ed}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}\
         table{{border-collapse:collapse;width:100%}}th,td{{padding:.4rem;border-bottom:1px solid #ccc;text-align:left}}\
         td{{text-align:right;font-variant-numeric:tabular-nums}}</style>\n</head>\n<body>\n<main>\n\
         <h1>Rapport d'envoi — {ed}</h1>\n<p>Liste : {list}. Premier message accepté : {sent_at}.</p>\n\
         <table>\n<caption>Ce que le relais et la boîte des retours ont dit de cette édition</caption>\n\
         {rows}</table>\n{clicks}</main>\n</body>\n</html>\n",
        ed = escape(&r.edition),
        list = escape(r.list.as_deref().unwrap_or("—")),
        sent_at = escape(r.sent_at.as_deref().unwrap_or("pas encore envoyée")),
        clicks = clicks_html(clicks),
    )
}

/// The clicks per link when they are counted; otherwise the statement that nothing is.
fn clicks_html(clicks: Option<&[LinkClicks]>) -> String {
    let Some(clicks) = clicks else {
        return "<p>Aucune ouverture ni aucun clic n'est suivi : ces chiffres viennent du relais \
                et des messages revenus.</p>\n"
            .into();
    };
    let mut rows = String::new();
    for c in clicks {
        rows.push_str(&format!(
            "<tr><th scope=\"row\"><a href=\"{url}\">{url}</a></th><td>{}</td></tr>\n",
            c.clicks,
            url = escape(&c.url)
        ));
    }
    format!(
        "<table>\n<caption>Clics par lien (comptés sans savoir qui a cliqué ; aucune ouverture \
         n'est suivie)</caption>\n{rows}</table>\n"
    )
}

/// What `veille status` shows of the loop: messages of the bounce mailbox by outcome, and
/// the report of the edition sent last.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct StatusFigures {
    pub(crate) mailbox: std::collections::BTreeMap<String, i64>,
    pub(crate) last_edition: Option<EditionReport>,
}

pub(crate) async fn status_figures(
    config: &Config,
    store: &Store,
) -> anyhow::Result<StatusFigures> {
    let mailbox = store.bounce_message_counts().await?.into_iter().collect();
    let last_edition = match store.last_sent_edition().await? {
        Some((kind, number)) => {
            let list = config.publications.get(&kind).map(|p| p.list_name(&kind));
            store.edition_report(&kind, number, list.as_deref()).await?
        }
        None => None,
    };
    Ok(StatusFigures {
        mailbox,
        last_edition,
    })
}

/// The bounce loop's part of `veille status`, for a person.
pub(super) fn write_status_figures(out: &mut String, f: &StatusFigures) -> std::fmt::Result {
    use std::fmt::Write;
    let count = |k: &str| f.mailbox.get(k).copied().unwrap_or(0);
    let total: i64 = f.mailbox.values().sum();
    if total > 0 {
        writeln!(
            out,
            "\nBoîte des retours : {total} message(s) traité(s) — {} appliqué(s), {} sans rapport \
             avec un envoi, {} destinataire(s) inconnu(s), {} jeton(s) falsifié(s)",
            count("applied"),
            count("ignored"),
            count("unknown"),
            count("forged")
        )?;
    }
    if let Some(r) = &f.last_edition {
        writeln!(out, "\nDernier envoi, {} :", r.edition)?;
        for (label, value) in report_lines(r) {
            writeln!(out, "  {label:<46} {value}")?;
        }
    }
    Ok(())
}
