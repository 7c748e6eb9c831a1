//! `veille privacy report`: what personal data veille holds, where, and for how long — the
//! entry of the team's GDPR register — and `veille privacy purge`, the retention applied now.

use std::fmt;
use std::path::{Path, PathBuf};

use super::report::{CommandError, Report, sorted};
use crate::config::Config;
use crate::mail::token::SECRET_FILE;
use crate::store::{PersonalData, Store};

/// `veille privacy report`.
pub(crate) async fn report(config: &Config, archive: &Path) -> Result<PrivacyReport, CommandError> {
    let store = Store::open(archive).await?;
    let data = store.personal_data().await?;
    let secret_from_env = std::env::var("VEILLE_SECRET").is_ok_and(|v| !v.trim().is_empty());
    Ok(PrivacyReport {
        backups: config.backup.dir.as_ref().map(|d| d.display().to_string()),
        backups_kept: config.backup.keep,
        data,
        keep_delivery_logs_days: config.privacy.keep_delivery_logs_days,
        secret: if secret_from_env {
            "VEILLE_SECRET".to_string()
        } else {
            archive.join(SECRET_FILE).display().to_string()
        },
        archive: archive.to_path_buf(),
        secret_from_env,
    })
}

/// The entry of the GDPR register: one JSON line, or the French list of what is held.
#[derive(Debug, serde::Serialize)]
pub(crate) struct PrivacyReport {
    /// The folder of the nightly backups, when set.
    backups: Option<String>,
    backups_kept: usize,
    #[serde(serialize_with = "sorted")]
    data: PersonalData,
    keep_delivery_logs_days: Option<u32>,
    /// `VEILLE_SECRET`, or the secret file.
    secret: String,
    #[serde(skip)]
    archive: PathBuf,
    #[serde(skip)]
    secret_from_env: bool,
}

impl Report for PrivacyReport {}

impl fmt::Display for PrivacyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = &self.data;
        writeln!(
            f,
            "Données personnelles tenues par veille (archive {})\n",
            self.archive.display()
        )?;
        writeln!(
            f,
            "- Abonné·e·s : {} (adresse, prénom, nom, organisation, commune, consentement daté) ; \
             gardé·e·s jusqu'au désabonnement suivi de `veille subscribers forget`, ou à l'effacement.",
            data.subscribers
        )?;
        writeln!(f, "- Inscriptions à des listes : {}.", data.subscriptions)?;
        writeln!(
            f,
            "- Journal des envois avec adresse : {} ligne(s){} ; {}.",
            data.deliveries_with_address,
            data.oldest_delivery_with_address
                .as_deref()
                .map(|t| format!(", la plus ancienne du {t}"))
                .unwrap_or_default(),
            match self.keep_delivery_logs_days {
                Some(days) => format!(
                    "les adresses de plus de {days} jours sont effacées chaque nuit par le démon"
                ),
                None => "aucune durée fixée : réglez [privacy] keep_delivery_logs_days".to_string(),
            }
        )?;
        writeln!(
            f,
            "- Liste de suppression : {} empreinte(s) chiffrée(s) (HMAC), sans adresse lisible, \
             gardées pour ne plus jamais écrire aux personnes désinscrites ou effacées.",
            data.suppressions
        )?;
        writeln!(
            f,
            "- Auteur·e·s des décisions de veille : {} nom(s) de session dans le journal des décisions.",
            data.decision_authors
        )?;
        writeln!(
            f,
            "- Clé secrète des liens : {} (mode 0600).",
            if self.secret_from_env {
                "variable d'environnement VEILLE_SECRET"
            } else {
                &self.secret
            }
        )?;
        writeln!(
            f,
            "- Mots de passe SMTP et IMAP : variables d'environnement seulement, jamais écrits ni \
             journalisés."
        )?;
        match &self.backups {
            Some(dir) => writeln!(
                f,
                "- Sauvegardes nocturnes : {dir} (mode 0700), les {} plus récentes ; elles contiennent \
                 les mêmes données.",
                self.backups_kept
            )?,
            None => writeln!(
                f,
                "- Sauvegardes nocturnes : aucune ([backup] dir non réglé)."
            )?,
        }
        write!(
            f,
            "\nEffacer une personne : veille subscribers forget ADRESSE (fiche, inscriptions et \
             adresse dans tous les journaux d'envoi)."
        )
    }
}

/// `veille privacy purge`: erases the addresses of delivery logs older than the retention.
pub(crate) async fn purge(config: &Config, archive: &Path) -> Result<Purged, CommandError> {
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
pub(crate) struct Purged {
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

    #[test]
    fn the_register_reads_as_french_lines_and_as_one_sorted_json_line() {
        let report = |days, backups: Option<&str>, from_env| PrivacyReport {
            backups: backups.map(str::to_string),
            backups_kept: 7,
            data: PersonalData {
                subscribers: 20,
                subscriptions: 21,
                deliveries_with_address: 40,
                oldest_delivery_with_address: Some("2026-01-02T03:04:05Z".into()),
                suppressions: 2,
                decision_authors: 3,
            },
            keep_delivery_logs_days: days,
            secret: if from_env {
                "VEILLE_SECRET".into()
            } else {
                "/srv/archive/secret.key".into()
            },
            archive: "/srv/archive".into(),
            secret_from_env: from_env,
        };
        let kept = report(Some(365), Some("/sauvegardes"), false);
        assert_eq!(
            kept.to_string(),
            "Données personnelles tenues par veille (archive /srv/archive)\n\n\
             - Abonné·e·s : 20 (adresse, prénom, nom, organisation, commune, consentement daté) ; \
             gardé·e·s jusqu'au désabonnement suivi de `veille subscribers forget`, ou à \
             l'effacement.\n\
             - Inscriptions à des listes : 21.\n\
             - Journal des envois avec adresse : 40 ligne(s), la plus ancienne du \
             2026-01-02T03:04:05Z ; les adresses de plus de 365 jours sont effacées chaque nuit \
             par le démon.\n\
             - Liste de suppression : 2 empreinte(s) chiffrée(s) (HMAC), sans adresse lisible, \
             gardées pour ne plus jamais écrire aux personnes désinscrites ou effacées.\n\
             - Auteur·e·s des décisions de veille : 3 nom(s) de session dans le journal des \
             décisions.\n\
             - Clé secrète des liens : /srv/archive/secret.key (mode 0600).\n\
             - Mots de passe SMTP et IMAP : variables d'environnement seulement, jamais écrits ni \
             journalisés.\n\
             - Sauvegardes nocturnes : /sauvegardes (mode 0700), les 7 plus récentes ; elles \
             contiennent les mêmes données.\n\n\
             Effacer une personne : veille subscribers forget ADRESSE (fiche, inscriptions et \
             adresse dans tous les journaux d'envoi)."
        );
        let before = serde_json::json!({
            "data": kept.data,
            "keep_delivery_logs_days": kept.keep_delivery_logs_days,
            "secret": kept.secret,
            "backups": kept.backups,
            "backups_kept": kept.backups_kept,
        });
        assert_eq!(serde_json::to_string(&kept).unwrap(), before.to_string());

        let bare = report(None, None, true).to_string();
        assert!(
            bare.contains(" ; aucune durée fixée : réglez [privacy] keep_delivery_logs_days.\n"),
            "{bare}"
        );
        assert!(
            bare.contains(
                "- Clé secrète des liens : variable d'environnement VEILLE_SECRET (mode 0600).\n"
            ),
            "{bare}"
        );
        assert!(
            bare.contains(
                "\n- Sauvegardes nocturnes : aucune ([backup] dir non réglé).\n\nEffacer"
            ),
            "{bare}"
        );
    }
}
