//! The mailing commands: `subscribers import|list|export|forget` and `edition send`.

use std::io::IsTerminal;
use std::path::Path;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use super::report::{CommandError, Report};
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::mail::import::{FileRow, read_file};
use crate::mail::normalise_address;
use crate::mail::send::{SendFailure, SendOptions, SendReport, send_edition};
use crate::mail::token::Secret;
use crate::store::{ImportEntry, ImportOutcome, Store};

/// Refuses a list `feeds.toml` does not name, with the nearest one and all of them.
fn known_list(config: &Config, list: &str) -> Result<(), CommandError> {
    if config.lists.contains_key(list) {
        return Ok(());
    }
    let lists: Vec<&str> = config.lists.keys().map(String::as_str).collect();
    Err(CommandError::Usage(format!(
        "liste inconnue « {list} »{} ; listes de feeds.toml : {}",
        super::hint(list, &lists),
        if lists.is_empty() {
            "aucune".to_string()
        } else {
            lists.join(", ")
        }
    )))
}

/// An address of an imported file that cannot be used.
#[derive(Debug, Serialize)]
struct Invalid {
    line: usize,
    value: String,
}

/// An imported address with an accented local part.
#[derive(Debug, Serialize)]
struct Accented {
    email: String,
    line: usize,
}

/// The rows of an imported file, sorted before the store sees them.
#[derive(Default)]
struct Sorted {
    /// Addresses with an accented local part (they need SMTPUTF8).
    warnings: Vec<Accented>,
    /// Unusable addresses.
    invalid: Vec<Invalid>,
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
            None => sorted.invalid.push(Invalid {
                line: row.line,
                value: row.email,
            }),
            Some(email) if !seen.insert(email.clone()) => {
                sorted.duplicates_in_file.push(row.line);
            }
            Some(email) => {
                if crate::mail::idn::needs_smtputf8(&email) {
                    sorted.warnings.push(Accented {
                        email: email.clone(),
                        line: row.line,
                    });
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
pub(crate) async fn import(
    config: &Config,
    archive: &Path,
    file: &Path,
    list: &str,
) -> Result<Imported, CommandError> {
    known_list(config, list)?;
    let file_read = read_file(file).map_err(CommandError::Usage)?;
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
    Ok(Imported {
        list: list.to_string(),
        imported,
        duplicates,
        invalid,
        suppressed,
        columns: file_read
            .used
            .into_iter()
            .map(|(column, field)| Column { column, field })
            .collect(),
        ignored_columns: file_read.ignored,
        accented_local_parts: warnings,
    })
}

/// What `veille subscribers import` did with each line of the file.
#[derive(Debug, Serialize)]
pub(crate) struct Imported {
    list: String,
    imported: usize,
    /// File lines already on the list (or twice in the file).
    duplicates: Vec<usize>,
    invalid: Vec<Invalid>,
    /// File lines whose address was unsubscribed, failed or erased before.
    suppressed: Vec<usize>,
    columns: Vec<Column>,
    ignored_columns: Vec<String>,
    accented_local_parts: Vec<Accented>,
}

/// A column of the file and what veille keeps from it.
#[derive(Debug, Serialize)]
struct Column {
    column: String,
    field: &'static str,
}

impl Report for Imported {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        super::report::lines(f, |out| {
            writeln!(
                out,
                "Liste « {} » : {} adresse(s) importée(s)",
                self.list, self.imported
            )?;
            writeln!(
                out,
                "  doublons : {} {}",
                self.duplicates.len(),
                lines_text(&self.duplicates)
            )?;
            writeln!(
                out,
                "  refusées auparavant (désinscrites, en erreur, effacées) : {} {}",
                self.suppressed.len(),
                lines_text(&self.suppressed)
            )?;
            writeln!(out, "  adresses invalides : {}", self.invalid.len())?;
            for i in &self.invalid {
                writeln!(out, "    ligne {} : « {} »", i.line, i.value)?;
            }
            if !self.accented_local_parts.is_empty() {
                writeln!(
                    out,
                    "  attention, accents avant le @ : {} adresse(s) importée(s) qui ne partiront que par un serveur d'envoi acceptant SMTPUTF8 (sinon : échec signalé à l'envoi)",
                    self.accented_local_parts.len()
                )?;
                for w in &self.accented_local_parts {
                    writeln!(out, "    ligne {} : {}", w.line, w.email)?;
                }
            }
            let used: Vec<String> = self
                .columns
                .iter()
                .map(|c| format!("« {} » ({})", c.column, c.field))
                .collect();
            writeln!(out, "  colonnes lues : {}", used.join(", "))?;
            if !self.ignored_columns.is_empty() {
                writeln!(
                    out,
                    "  colonnes ignorées : {}",
                    self.ignored_columns
                        .iter()
                        .map(|c| format!("« {c} »"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
            }
            Ok(())
        })
    }
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
pub(crate) async fn list(
    config: &Config,
    archive: &Path,
    list: Option<&str>,
) -> Result<Subscribers, CommandError> {
    if let Some(l) = list {
        known_list(config, l)?;
    }
    let store = Store::open(archive).await?;
    Ok(Subscribers(store.subscriber_rows(list).await?))
}

/// The subscribers `veille subscribers list` shows: one line each and their count.
pub(crate) struct Subscribers(Vec<crate::model::SubscriberRow>);

impl Serialize for Subscribers {
    // The contract's fields of each subscriber: the row's details are flattened, and its
    // per-list statuses are the text's, not the document's.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|r| {
            json!({"email": r.email, "lists": r.lists, "status": r.status, "name": r.name,
                   "first_name": r.details.first_name, "last_name": r.details.last_name,
                   "organisation": r.details.organisation, "commune": r.details.commune})
        }))
    }
}

impl Report for Subscribers {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Subscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.0 {
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
            writeln!(f, "{:<40} {}{who}", r.email, detail.join(", "))?;
        }
        write!(f, "{} abonné·e(s)", self.0.len())
    }
}

/// `veille subscribers export [--list L]`: CSV (`;`, UTF-8 with BOM, as Excel opens it).
pub(crate) async fn export(
    config: &Config,
    archive: &Path,
    list: Option<&str>,
) -> anyhow::Result<i32> {
    if let Some(l) = list
        && let Err(refusal) = known_list(config, l)
    {
        eprintln!("{refusal}");
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
pub(crate) async fn forget(archive: &Path, email: &str) -> Result<Forgotten, CommandError> {
    let Some(email) = normalise_address(email) else {
        return Err(CommandError::Usage(format!("adresse invalide « {email} »")));
    };
    let secret = Secret::load(archive)?;
    let store = Store::open(archive).await?;
    let known = store
        .forget_subscriber(&email, &secret.address_hash(&email), Utc::now())
        .await?;
    Ok(Forgotten {
        email,
        known,
        suppressed: true,
    })
}

/// An erased address: whether veille knew it; it is on the exclusion list either way.
#[derive(Debug, Serialize)]
pub(crate) struct Forgotten {
    email: String,
    known: bool,
    suppressed: bool,
}

impl Report for Forgotten {}

impl std::fmt::Display for Forgotten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let email = &self.email;
        if self.known {
            write!(
                f,
                "{email} : données effacées ; l'adresse ne sera plus jamais réabonnée par un import"
            )
        } else {
            write!(
                f,
                "{email} n'était pas connue ; elle est ajoutée à la liste d'exclusion"
            )
        }
    }
}

/// `veille edition send KIND/N [--test EMAIL] [--dry-run] [--resend-uncertain]`.
pub(crate) async fn send(
    config: &Config,
    archive: &Path,
    edition: &str,
    options: &SendOptions,
    json: bool,
) -> Result<Sent, CommandError> {
    let address = super::publishing::edition_ref(config, edition)?;
    let (kind, number) = (address.kind.as_str(), address.number);
    let store = Store::open(archive).await?;
    // The bar goes to stderr, and only for a person sending for real.
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
    let report = send_edition(config, &store, archive, kind, number, options, progress)
        .await
        .map_err(|e| match e {
            SendFailure::Usage(message) => CommandError::Usage(message),
            SendFailure::Other(e) => CommandError::Runtime(e),
        })?;
    Ok(Sent {
        report,
        dry_run: options.dry_run,
    })
}

/// What `veille edition send` did: the test copy, the dry run, or the sending and its
/// refusals; a refused test copy is a failure (exit 1).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct Sent {
    report: SendReport,
    #[serde(skip)]
    dry_run: bool,
}

impl Report for Sent {
    const PRETTY: bool = true;

    fn exit_code(&self) -> i32 {
        if self.report.test.is_some() && self.report.sent != 1 {
            EXIT_FAILURE
        } else {
            EXIT_OK
        }
    }
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let report = &self.report;
        super::report::lines(f, |out| {
            if let Some(to) = &report.test {
                if report.sent == 1 {
                    writeln!(out, "Copie de test de {} envoyée à {to}", report.edition)?;
                } else {
                    writeln!(out, "Copie de test de {} à {to} : échec", report.edition)?;
                    for failure in &report.failed {
                        writeln!(out, "  {}", failure.reply.as_deref().unwrap_or(""))?;
                    }
                    if !report.uncertain.is_empty() {
                        writeln!(
                            out,
                            "  issue incertaine : le serveur n'a pas répondu (délai dépassé ou \
                             connexion coupée après l'envoi du message) ; la copie a pu arriver"
                        )?;
                    }
                }
                return Ok(());
            }
            if self.dry_run {
                return writeln!(
                    out,
                    "Essai à blanc de {} : {} message(s) prêts ({} Kio en tout), aucun envoyé",
                    report.edition,
                    report.built,
                    report.bytes / 1024
                );
            }
            writeln!(
                out,
                "{} (liste {}) : {} envoyé(s), {} échec(s), {} ignoré(s)",
                report.edition,
                report.list,
                report.sent,
                report.failed.len(),
                report.skipped
            )?;
            for failure in &report.failed {
                let what = if failure.state == "failed_perm" {
                    "refus définitif"
                } else {
                    "refus temporaire"
                };
                writeln!(
                    out,
                    "  {} — {what} : {}",
                    failure.email,
                    failure.reply.as_deref().unwrap_or("")
                )?;
            }
            if !report.uncertain.is_empty() {
                writeln!(
                    out,
                    "  {} envoi(s) incertain(s) (interrompus pendant l'échange avec le serveur), non renvoyés :",
                    report.uncertain.len()
                )?;
                for e in &report.uncertain {
                    writeln!(out, "    {e}")?;
                }
                writeln!(
                    out,
                    "  pour les renvoyer (au risque d'un doublon) : veille edition send {} --resend-uncertain",
                    report.edition
                )?;
            }
            if report.pending_retry > 0 {
                writeln!(
                    out,
                    "  {} refus temporaire(s) après tous les essais : relancez `veille edition send {}` pour une nouvelle série",
                    report.pending_retry, report.edition
                )?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::send::Failure;

    #[test]
    fn an_import_reads_as_its_lines_and_as_the_sorted_document() {
        let imported = Imported {
            list: "flash-info".into(),
            imported: 2,
            duplicates: vec![4],
            invalid: vec![Invalid {
                line: 5,
                value: "pas-une-adresse".into(),
            }],
            suppressed: Vec::new(),
            columns: vec![Column {
                column: "Courriel".into(),
                field: "adresse",
            }],
            ignored_columns: vec!["Téléphone".into()],
            accented_local_parts: vec![Accented {
                email: "élise@exemple.fr".into(),
                line: 3,
            }],
        };
        assert_eq!(
            imported.to_string(),
            "Liste « flash-info » : 2 adresse(s) importée(s)\n  doublons : 1 (lignes 4)\n  \
             refusées auparavant (désinscrites, en erreur, effacées) : 0 \n  adresses invalides : 1\n    \
             ligne 5 : « pas-une-adresse »\n  attention, accents avant le @ : 1 adresse(s) \
             importée(s) qui ne partiront que par un serveur d'envoi acceptant SMTPUTF8 (sinon : \
             échec signalé à l'envoi)\n    ligne 3 : élise@exemple.fr\n  colonnes lues : « Courriel » \
             (adresse)\n  colonnes ignorées : « Téléphone »"
        );
        let before = json!({
            "list": "flash-info", "imported": 2, "duplicates": [4],
            "invalid": [{"line": 5, "value": "pas-une-adresse"}], "suppressed": [],
            "columns": [{"column": "Courriel", "field": "adresse"}],
            "ignored_columns": ["Téléphone"],
            "accented_local_parts": [{"line": 3, "email": "élise@exemple.fr"}],
        });
        assert_eq!(
            super::super::report::document(&imported).unwrap(),
            serde_json::to_string_pretty(&before).unwrap()
        );
    }

    #[test]
    fn an_erasure_reads_as_a_sentence_and_as_one_json_line() {
        let forgotten = Forgotten {
            email: "a@exemple.fr".into(),
            known: false,
            suppressed: true,
        };
        assert_eq!(
            forgotten.to_string(),
            "a@exemple.fr n'était pas connue ; elle est ajoutée à la liste d'exclusion"
        );
        let before = json!({"email": "a@exemple.fr", "known": false, "suppressed": true});
        assert_eq!(
            super::super::report::document(&forgotten).unwrap(),
            before.to_string()
        );
    }

    #[test]
    fn a_refused_test_copy_is_shown_and_fails() {
        let refused = Sent {
            report: SendReport {
                edition: "flash-info/3".into(),
                test: Some("moi@exemple.fr".into()),
                failed: vec![Failure {
                    email: "moi@exemple.fr".into(),
                    state: "failed_perm".into(),
                    reply: Some("550 boîte inconnue".into()),
                }],
                ..SendReport::default()
            },
            dry_run: false,
        };
        assert_eq!(
            refused.to_string(),
            "Copie de test de flash-info/3 à moi@exemple.fr : échec\n  550 boîte inconnue"
        );
        assert_eq!(refused.exit_code(), EXIT_FAILURE);
        assert_eq!(
            super::super::report::document(&refused).unwrap(),
            serde_json::to_string_pretty(&refused.report).unwrap()
        );
    }
}
