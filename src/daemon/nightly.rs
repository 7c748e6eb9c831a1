//! The daemon's nightly work, on `[backup] schedule`, in real time (not the test clock: it is
//! about the disk, not the scheduler): the retention of `[privacy] keep_delivery_logs_days`,
//! then a dated backup in `[backup] dir`, keeping the `keep` newest.

use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Config;
use crate::schedule::Schedule;
use crate::store::Store;

/// Runs until `stop` turns true; returns at once when there is nothing to do.
pub(crate) async fn run(
    config: std::sync::Arc<Config>,
    archive: PathBuf,
    store: Store,
    mut stop: watch::Receiver<bool>,
) {
    let dir = backup_dir(&config, &store);
    let retention = config.privacy.keep_delivery_logs_days;
    if dir.is_none() && retention.is_none() {
        return;
    }
    let tz = config.tz();
    let schedule = match Schedule::new(&[&config.backup.schedule], tz) {
        Ok(s) => s,
        Err(e) => {
            warn!(
                "sauvegarde nocturne désactivée : horaire invalide ({})",
                e.message
            );
            return;
        }
    };
    loop {
        let Some(next) = schedule.next_after(Utc::now()) else {
            return;
        };
        // Short sleeps, so a wall clock that jumps is noticed.
        while Utc::now() < next {
            let wait = (next - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(std::time::Duration::from_secs(60));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
        if let Some(days) = retention {
            match purge_now(&store, &archive, days).await {
                Ok(0) => {}
                Ok(n) => {
                    info!("{n} adresse(s) effacée(s) des journaux d'envoi de plus de {days} jours")
                }
                Err(e) => warn!("purge des journaux d'envoi impossible : {e:#}"),
            }
        }
        let Some(dir) = &dir else { continue };
        match crate::backup::nightly(&store, &archive, &config.path, dir, config.backup.keep).await
        {
            Ok(dest) => info!("sauvegarde écrite dans {}", dest.display()),
            Err(e) => warn!("sauvegarde nocturne impossible : {e:#}"),
        }
    }
}

/// Where the nightly backups go: `[backup] dir`, except on PostgreSQL, whose server is saved
/// by its own tools (`pg_dump`): said once in the log, and the retention still runs.
fn backup_dir(config: &Config, store: &Store) -> Option<PathBuf> {
    let dir = config.backup.dir.clone()?;
    if store.is_postgres() {
        info!(
            "sauvegarde nocturne sans objet : la base est sur PostgreSQL, sauvegardez-la avec \
             pg_dump ([backup] dir {} ignoré)",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// The retention applied now (also `veille privacy purge`): addresses of delivery logs older
/// than `days` replaced by their keyed hash.
pub(crate) async fn purge_now(store: &Store, archive: &Path, days: u32) -> anyhow::Result<u64> {
    let secret = crate::mail::token::Secret::load(archive)?;
    store
        .purge_delivery_logs(
            Utc::now() - chrono::Duration::days(i64::from(days)),
            |email| secret.address_hash(email),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the tests' backend: no nightly backup on PostgreSQL (and `run` then has nothing
    /// to do without a retention), `[backup] dir` on SQLite.
    #[tokio::test]
    async fn the_nightly_backup_is_skipped_on_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let backups = dir.path().join("sauvegardes");
        let text = format!("[backup]\ndir = {:?}\n", backups.display().to_string());
        let config = crate::config::parse(&text, "feeds.toml").expect("config");
        assert_eq!(config.backup.dir.as_ref(), Some(&backups));
        assert_eq!(config.privacy.keep_delivery_logs_days, None);
        if store.is_postgres() {
            assert_eq!(backup_dir(&config, &store), None);
            let (_tx, stop) = watch::channel(false);
            let ran = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                run(std::sync::Arc::new(config), dir.path().into(), store, stop),
            )
            .await;
            assert!(ran.is_ok(), "returns at once: nothing to wait for");
            assert!(!backups.exists());
        } else {
            assert_eq!(backup_dir(&config, &store), Some(backups));
        }
    }
}
