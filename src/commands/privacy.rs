//! `veille privacy report`: what personal data veille holds, where, and for how long — the
//! entry of the team's GDPR register — and `veille privacy purge`, the retention applied now.

use std::fmt;
use std::path::Path;

use serde_json::json;

use super::EXIT_OK;
use super::report::{CommandError, Report};
use crate::config::Config;
use crate::mail::token::SECRET_FILE;
use crate::store::Store;

/// `veille privacy report`.
pub async fn report(config: &Config, archive: &Path, json: bool) -> anyhow::Result<i32> {
    let store = Store::open(archive).await?;
    let data = store.personal_data().await?;
    let retention = config.privacy.keep_delivery_logs_days;
    let secret_from_env = std::env::var("VEILLE_SECRET").is_ok_and(|v| !v.trim().is_empty());
    let backups = config.backup.dir.as_ref().map(|d| d.display().to_string());
    if json {
        println!(
            "{}",
            json!({
                "data": data,
                "keep_delivery_logs_days": retention,
                "secret": if secret_from_env { "VEILLE_SECRET".to_string() } else { archive.join(SECRET_FILE).display().to_string() },
                "backups": backups,
                "backups_kept": config.backup.keep,
            })
        );
        return Ok(EXIT_OK);
    }
    println!(
        "Données personnelles tenues par veille (archive {})",
        archive.display()
    );
    println!();
    println!(
        "- Abonné·e·s : {} (adresse, prénom, nom, organisation, commune, consentement daté) ; \
         gardé·e·s jusqu'au désabonnement suivi de `veille subscribers forget`, ou à l'effacement.",
        data.subscribers
    );
    println!("- Inscriptions à des listes : {}.", data.subscriptions);
    println!(
        "- Journal des envois avec adresse : {} ligne(s){} ; {}.",
        data.deliveries_with_address,
        data.oldest_delivery_with_address
            .as_deref()
            .map(|t| format!(", la plus ancienne du {t}"))
            .unwrap_or_default(),
        match retention {
            Some(days) => format!(
                "les adresses de plus de {days} jours sont effacées chaque nuit par le démon"
            ),
            None => "aucune durée fixée : réglez [privacy] keep_delivery_logs_days".to_string(),
        }
    );
    println!(
        "- Liste de suppression : {} empreinte(s) chiffrée(s) (HMAC), sans adresse lisible, \
         gardées pour ne plus jamais écrire aux personnes désinscrites ou effacées.",
        data.suppressions
    );
    println!(
        "- Auteur·e·s des décisions de veille : {} nom(s) de session dans le journal des décisions.",
        data.decision_authors
    );
    println!(
        "- Clé secrète des liens : {} (mode 0600).",
        if secret_from_env {
            "variable d'environnement VEILLE_SECRET".to_string()
        } else {
            archive.join(SECRET_FILE).display().to_string()
        }
    );
    println!(
        "- Mots de passe SMTP et IMAP : variables d'environnement seulement, jamais écrits ni \
         journalisés."
    );
    match backups {
        Some(dir) => println!(
            "- Sauvegardes nocturnes : {dir} (mode 0700), les {} plus récentes ; elles contiennent \
             les mêmes données.",
            config.backup.keep
        ),
        None => println!("- Sauvegardes nocturnes : aucune ([backup] dir non réglé)."),
    }
    println!();
    println!(
        "Effacer une personne : veille subscribers forget ADRESSE (fiche, inscriptions et \
         adresse dans tous les journaux d'envoi)."
    );
    Ok(EXIT_OK)
}

/// `veille privacy purge`: erases the addresses of delivery logs older than the retention.
pub async fn purge(config: &Config, archive: &Path) -> Result<Purged, CommandError> {
    let Some(days) = config.privacy.keep_delivery_logs_days else {
        return Err(CommandError::Usage(format!(
            "aucune durée de conservation : réglez [privacy] keep_delivery_logs_days dans {}",
            config.path.display()
        )));
    };
    let store = Store::open(archive).await?;
    let erased = crate::daemon::nightly::purge_now(&store, archive, days).await?;
    Ok(Purged { days, erased })
}

/// What a purge erased: one JSON line, or one French sentence.
#[derive(Debug, serde::Serialize)]
pub struct Purged {
    /// The retention, in days.
    days: u32,
    /// Addresses erased.
    erased: u64,
}

impl Report for Purged {}

impl fmt::Display for Purged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} adresse(s) effacée(s) des journaux d'envoi de plus de {} jours",
            self.erased, self.days
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purge_reads_as_a_sentence_and_as_one_json_line() {
        let purged = Purged {
            days: 365,
            erased: 3,
        };
        assert_eq!(
            purged.to_string(),
            "3 adresse(s) effacée(s) des journaux d'envoi de plus de 365 jours"
        );
        let before = serde_json::json!({"erased": 3, "days": 365});
        assert_eq!(serde_json::to_string(&purged).unwrap(), before.to_string());
    }
}
