//! The `[backup]` and `[privacy]` sections of `feeds.toml`: the daemon's nightly backup and
//! how long personal data in the delivery logs is kept.

use std::path::PathBuf;

use serde::Deserialize;

use super::collector::Collector;

/// `[backup]`: when `dir` is set, `veille run` writes a dated backup there on `schedule`
/// and keeps the `keep` newest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupSettings {
    /// Folder of the dated backups (relative paths are relative to the working directory).
    pub(crate) dir: Option<PathBuf>,
    #[serde(default = "default_backup_schedule")]
    pub(crate) schedule: String,
    #[serde(default = "default_keep")]
    pub(crate) keep: usize,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            dir: None,
            schedule: default_backup_schedule(),
            keep: default_keep(),
        }
    }
}

fn default_backup_schedule() -> String {
    "30 2 * * *".into()
}

fn default_keep() -> usize {
    7
}

/// `[privacy]`: addresses in delivery logs older than `keep_delivery_logs_days` are erased
/// (the row stays, as a count, with the suppression-style hash instead of the address).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrivacySettings {
    pub(crate) keep_delivery_logs_days: Option<u32>,
}

/// Checks `[backup]`: its schedule must parse.
pub(super) fn validate_backup(raw: Option<BackupSettings>, c: &mut Collector) -> BackupSettings {
    let backup = raw.unwrap_or_default();
    if let Err(e) = crate::cron::Expr::parse(&backup.schedule) {
        c.push_at(
            &backup.schedule,
            format!(
                "horaire de sauvegarde invalide « {} » : {}",
                backup.schedule, e.message
            ),
            Some(crate::cron::SYNTAX_HINT.into()),
        );
    }
    backup
}
