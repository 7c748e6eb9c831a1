//! `veille backup DEST` and `veille restore SRC`: the archive copied and put back, with the
//! tables compared by counts and checksums (see `crate::backup`).

use std::path::Path;

use serde_json::json;

use super::{EXIT_FAILURE, EXIT_OK};
use crate::backup;
use crate::publish::french::count as plural;
use crate::store::Store;

/// `veille backup DEST`: works while the daemon runs (one read transaction).
pub async fn backup(archive: &Path, config: &Path, dest: &Path, json: bool) -> anyhow::Result<i32> {
    let store = Store::open(archive).await?;
    let manifest = backup::backup(&store, archive, config, dest).await;
    store.pool().close().await;
    let manifest = manifest?;
    let rows: i64 = manifest.tables.values().map(|t| t.rows).sum();
    if json {
        println!("{}", json!({"dest": dest, "manifest": manifest}));
    } else {
        println!(
            "Sauvegarde écrite dans {} : {}, {}{}{}",
            dest.display(),
            plural(manifest.tables.len(), "table", "tables"),
            plural(rows as usize, "ligne", "lignes"),
            if manifest.secret_included {
                ", clé secrète"
            } else {
                ""
            },
            if manifest.config_included {
                ", feeds.toml"
            } else {
                ""
            }
        );
        if !manifest.secret_included {
            println!(
                "La clé secrète vient de VEILLE_SECRET : gardez-la à part, les liens de \
                 désabonnement en dépendent."
            );
        }
    }
    Ok(EXIT_OK)
}

/// `veille restore SRC [--remplacer]`: refuses while a daemon runs on the archive; then the
/// search index is rebuilt from the restored store.
pub async fn restore(
    archive: &Path,
    config: &Path,
    src: &Path,
    replace: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let restored = match backup::restore(src, archive, config, replace).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("erreur : restauration impossible : {e:#}");
            return Ok(EXIT_FAILURE);
        }
    };
    let store = Store::open(archive).await?;
    let (index, _) = crate::search::SearchIndex::open(&crate::indexing::index_dir(archive))?;
    let indexed = crate::indexing::rebuild(&store, &index).await?;
    let rows: i64 = restored.manifest.tables.values().map(|t| t.rows).sum();
    if json {
        println!("{}", json!({"restored": restored, "indexed": indexed}));
    } else {
        println!(
            "Archive restaurée depuis {} (sauvegarde du {}) : {}, {} ; index de recherche \
             reconstruit ({}).",
            src.display(),
            restored.manifest.created,
            plural(restored.manifest.tables.len(), "table", "tables"),
            plural(rows as usize, "ligne", "lignes"),
            plural(indexed as usize, "article", "articles")
        );
        if let Some(previous) = &restored.previous_config {
            println!(
                "L'ancienne configuration est gardée dans {}.",
                previous.display()
            );
        }
    }
    Ok(EXIT_OK)
}
