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
    let dir = config.backup.dir.clone();
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
