//! The mailing commands: `subscribers import|list|export|forget` and `edition send`.

use std::io::IsTerminal;
use std::path::Path;

use chrono::Utc;
use serde_json::json;

use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::mail::import::{FileRow, read_file};
use crate::mail::normalise_address;
use crate::mail::send::{SendFailure, SendOptions, send_edition};
use crate::mail::token::Secret;
use crate::store::{ImportEntry, ImportOutcome, Store};

fn unknown_list(config: &Config, list: &str) -> bool {
    if config.lists.contains_key(list) {
        return false;
    }
    let lists: Vec<&str> = config.lists.keys().map(String::as_str).collect();
    eprintln!(
        "liste inconnue « {list} »{} ; listes de feeds.toml : {}",
        super::hint(list, &lists),
        if lists.is_empty() {
            "aucune".to_string()
        } else {
            lists.join(", ")
        }
    );
    true
}

/// The rows of an imported file, sorted before the store sees them.
#[derive(Default)]
struct Sorted {
    /// Addresses with an accented local part (they need SMTPUTF8), as `{line, email}`.
    warnings: Vec<serde_json::Value>,
    /// Unusable addresses, as `{line, value}`.
    invalid: Vec<serde_json::Value>,
    entries: Vec<ImportEntry>,
    /// The file line of each entry.
    lines: Vec<usize>,
    duplicates_in_file: Vec<usize>,
}

fn sort_rows(rows: Vec<FileRow>, secret: &Secret) -> Sorted {
    let mut sorted = Sorted::default();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        // An internationalised domain must have a punycode form to be sent at all.
        let address =
            normalise_address(&row.email).filter(|a| crate::mail::idn::ascii_domain(a).is_some());
        match address {
            None => sorted
                .invalid
                .push(json!({"line": row.line, "value": row.email})),
            Some(email) if !seen.insert(email.clone()) => {
                sorted.duplicates_in_file.push(row.line);
            }
            Some(email) => {
                if crate::mail::idn::needs_smtputf8(&email) {
                    sorted
                        .warnings
                        .push(json!({"line": row.line, "email": email}));
                }
                sorted.lines.push(row.line);
                sorted.entries.push(ImportEntry {
                    hash: secret.address_hash(&email),
                    email,
                    name: row.name.map(|n| crate::mail::message::header_safe(&n)),
                    details: row.details,
                });
            }
        }
    }
    sorted
}

/// `veille subscribers import FILE --list L`.
pub async fn import(
    config: &Config,
    archive: &Path,
    file: &Path,
    list: &str,
    json: bool,
) -> anyhow::Result<i32> {
    if unknown_list(config, list) {
        return Ok(EXIT_USAGE);
    }
    let file_read = match read_file(file) {
        Ok(f) => f,
        Err(message) => {
            eprintln!("{message}");
            return Ok(EXIT_USAGE);
        }
    };
    let secret = Secret::load(archive)?;
    let Sorted {
        warnings,
        invalid,
        entries,
        lines,
        duplicates_in_file,
    } = sort_rows(file_read.rows, &secret);
    let store = Store::open(archive).await?;
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcomes = store
        .import_subscribers(list, &entries, &source, Utc::now())
        .await?;
    let mut duplicates = duplicates_in_file;
    let mut suppressed = Vec::new();
    let mut imported = 0;
    for (outcome, line) in outcomes.iter().zip(&lines) {
        match outcome {
            ImportOutcome::Imported => imported += 1,
            ImportOutcome::Duplicate => duplicates.push(*line),
            ImportOutcome::Suppressed => suppressed.push(*line),
        }
    }
    duplicates.sort_unstable();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "list": list, "imported": imported, "duplicates": duplicates,
                "invalid": invalid, "suppressed": suppressed,
                "columns": file_read.used.iter().map(|(c, f)| json!({"column": c, "field": f})).collect::<Vec<_>>(),
                "ignored_columns": file_read.ignored,
                "accented_local_parts": warnings,
            }))?
        );
    } else {
        println!("Liste « {list} » : {imported} adresse(s) importée(s)");
        println!(
            "  doublons : {} {}",
            duplicates.len(),
            lines_text(&duplicates)
        );
        println!(
            "  refusées auparavant (désinscrites, en erreur, effacées) : {} {}",
            suppressed.len(),
            lines_text(&suppressed)
        );
        println!("  adresses invalides : {}", invalid.len());
        for i in &invalid {
            println!(
                "    ligne {} : « {} »",
                i["line"],
                i["value"].as_str().unwrap_or("")
            );
        }
        if !warnings.is_empty() {
            println!(
                "  attention, accents avant le @ : {} adresse(s) importée(s) qui ne partiront que par un serveur d'envoi acceptant SMTPUTF8 (sinon : échec signalé à l'envoi)",
                warnings.len()
            );
            for w in &warnings {
                println!(
                    "    ligne {} : {}",
                    w["line"],
                    w["email"].as_str().unwrap_or("")
                );
            }
        }
        let used: Vec<String> = file_read
            .used
            .iter()
            .map(|(c, f)| format!("« {c} » ({f})"))
            .collect();
        println!("  colonnes lues : {}", used.join(", "));
        if !file_read.ignored.is_empty() {
            println!(
                "  colonnes ignorées : {}",
                file_read
                    .ignored
                    .iter()
                    .map(|c| format!("« {c} »"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(EXIT_OK)
}

fn lines_text(lines: &[usize]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = lines.iter().take(20).map(usize::to_string).collect();
    let more = if lines.len() > 20 { " …" } else { "" };
    format!("(lignes {}{more})", shown.join(", "))
}

/// `veille subscribers list [--list L] [--json]`.
pub async fn list(
    config: &Config,
    archive: &Path,
    list: Option<&str>,
    json: bool,
) -> anyhow::Result<i32> {
    if let Some(l) = list
        && unknown_list(config, l)
    {
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(archive).await?;
    let rows = store.subscriber_rows(list).await?;
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"email": r.email, "lists": r.lists, "status": r.status, "name": r.name,
                           "first_name": r.details.first_name, "last_name": r.details.last_name,
                           "organisation": r.details.organisation, "commune": r.details.commune})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &rows {
            let detail: Vec<String> = r
                .subscriptions
                .iter()
                .map(|(l, s)| format!("{l} : {}", s.as_str()))
                .collect();
            let who: Vec<&str> = [&r.name, &r.details.organisation, &r.details.commune]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let who = if who.is_empty() {
                String::new()
            } else {
                format!(" ({})", who.join(", "))
            };
            println!("{:<40} {}{who}", r.email, detail.join(", "));
        }
        println!("{} abonné·e(s)", rows.len());
    }
    Ok(EXIT_OK)
}

/// `veille subscribers export [--list L]`: CSV (`;`, UTF-8 with BOM, as Excel opens it).
pub async fn export(config: &Config, archive: &Path, list: Option<&str>) -> anyhow::Result<i32> {
    if let Some(l) = list
        && unknown_list(config, l)
    {
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(archive).await?;
    let rows = store.subscriber_rows(list).await?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(Vec::new());
    writer.write_record([
        "email",
        "nom",
        "prénom",
        "nom de famille",
        "structure",
        "commune",
        "listes",
        "statut",
    ])?;
    for r in &rows {
        let field = |v: &Option<String>| v.clone().unwrap_or_default();
        writer.write_record([
            r.email.as_str(),
            r.name.as_deref().unwrap_or(""),
            &field(&r.details.first_name),
            &field(&r.details.last_name),
            &field(&r.details.organisation),
            &field(&r.details.commune),
            &r.lists.join(","),
            r.status.as_str(),
        ])?;
    }
    let bytes = writer.into_inner()?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(b"\xEF\xBB\xBF")?;
    out.write_all(&bytes)?;
    Ok(EXIT_OK)
}

/// `veille subscribers forget EMAIL`: erasure (RGPD art. 17).
pub async fn forget(archive: &Path, email: &str, json: bool) -> anyhow::Result<i32> {
    let Some(email) = normalise_address(email) else {
        eprintln!("adresse invalide « {email} »");
        return Ok(EXIT_USAGE);
    };
    let secret = Secret::load(archive)?;
    let store = Store::open(archive).await?;
    let known = store
        .forget_subscriber(&email, &secret.address_hash(&email), Utc::now())
        .await?;
    if json {
        println!(
            "{}",
            json!({"email": email, "known": known, "suppressed": true})
        );
    } else if known {
        println!(
            "{email} : données effacées ; l'adresse ne sera plus jamais réabonnée par un import"
        );
    } else {
        println!("{email} n'était pas connue ; elle est ajoutée à la liste d'exclusion");
    }
    Ok(EXIT_OK)
}

/// `veille edition send KIND/N [--test EMAIL] [--dry-run] [--resend-uncertain]`.
pub async fn send(
    config: &Config,
    archive: &Path,
    edition: &str,
    options: &SendOptions,
    json: bool,
) -> anyhow::Result<i32> {
    let address = match super::publishing::edition_ref(config, edition) {
        Ok(a) => a,
        Err(code) => return Ok(code),
    };
    let (kind, number) = (address.kind.as_str(), address.number);
    let store = Store::open(archive).await?;
    let progress =
        (!json && std::io::stderr().is_terminal() && options.test.is_none() && !options.dry_run)
            .then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} messages ({eta} restantes)",
                    )
                    .expect("valid template"),
                );
                bar
            });
    let report = match send_edition(config, &store, archive, kind, number, options, progress).await
    {
        Ok(r) => r,
        Err(SendFailure::Usage(message)) => {
            eprintln!("{message}");
            return Ok(EXIT_USAGE);
        }
        Err(SendFailure::Other(e)) => return Err(e),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(to) = &report.test {
        if report.sent == 1 {
            println!("Copie de test de {} envoyée à {to}", report.edition);
        } else {
            println!("Copie de test de {} à {to} : échec", report.edition);
            for f in &report.failed {
                println!("  {}", f.reply.as_deref().unwrap_or(""));
            }
        }
    } else if options.dry_run {
        println!(
            "Essai à blanc de {} : {} message(s) prêts ({} Kio en tout), aucun envoyé",
            report.edition,
            report.built,
            report.bytes / 1024
        );
    } else {
        println!(
            "{} (liste {}) : {} envoyé(s), {} échec(s), {} ignoré(s)",
            report.edition,
            report.list,
            report.sent,
            report.failed.len(),
            report.skipped
        );
        for f in &report.failed {
            let what = if f.state == "failed_perm" {
                "refus définitif"
            } else {
                "refus temporaire"
            };
            println!(
                "  {} — {what} : {}",
                f.email,
                f.reply.as_deref().unwrap_or("")
            );
        }
        if !report.uncertain.is_empty() {
            println!(
                "  {} envoi(s) incertain(s) (interrompus pendant l'échange avec le serveur), non renvoyés :",
                report.uncertain.len()
            );
            for e in &report.uncertain {
                println!("    {e}");
            }
            println!(
                "  pour les renvoyer (au risque d'un doublon) : veille edition send {} --resend-uncertain",
                report.edition
            );
        }
        if report.pending_retry > 0 {
            println!(
                "  {} refus temporaire(s) après tous les essais : relancez `veille edition send {}` pour une nouvelle série",
                report.pending_retry, report.edition
            );
        }
    }
    Ok(if report.test.is_some() && report.sent != 1 {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}
