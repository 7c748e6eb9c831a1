//! `veille backup DEST` and `veille restore SRC`: the archive copied and put back, with the
//! tables compared by counts and checksums (see `crate::backup`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::report::{CommandError, Report, sorted};
use crate::backup::{self, Manifest, Restored};
use crate::config::store::StoreLocation;
use crate::publish::french::count as plural;
use crate::store::Store;

/// `veille backup DEST`: works while the daemon runs (one read transaction).
pub(crate) async fn backup(
    archive: &Path,
    config: &Path,
    dest: &Path,
) -> Result<BackedUp, CommandError> {
    refuse_postgres(config)?;
    let store = Store::open(archive).await?;
    let manifest = backup::backup(&store, archive, config, dest).await;
    store.close().await;
    Ok(BackedUp {
        dest: dest.to_path_buf(),
        manifest: manifest?,
    })
}

/// Backup and restore copy the archive's SQLite file: with the store on PostgreSQL they are
/// refused before connecting (a server that is down would hide the reason), pointing to
/// pg_dump.
fn refuse_postgres(config: &Path) -> Result<(), CommandError> {
    if matches!(crate::store::location()?, StoreLocation::Postgres(_)) || postgres_in(config) {
        return Err(anyhow::anyhow!("{}", backup::POSTGRES_REFUSAL).into());
    }
    Ok(())
}

/// Whether `feeds.toml` puts the store on PostgreSQL (`[store] url`). These commands run
/// without a valid configuration (a restore brings one back), so only that key is read; an
/// unreadable file says nothing.
fn postgres_in(config: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(config) else {
        return false;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    table
        .get("store")
        .and_then(|s| s.get("url"))
        .and_then(|u| u.as_str())
        .is_some_and(|u| {
            matches!(
                crate::config::store::parse_url(u),
                Ok(StoreLocation::Postgres(_))
            )
        })
}

/// What `veille backup` wrote: `{"dest", "manifest"}` on one line, or a French sentence.
#[derive(Debug, Serialize)]
pub(crate) struct BackedUp {
    dest: PathBuf,
    #[serde(serialize_with = "sorted")]
    manifest: Manifest,
}

impl Report for BackedUp {}

impl fmt::Display for BackedUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let manifest = &self.manifest;
        let rows: i64 = manifest.tables.values().map(|t| t.rows).sum();
        write!(
            f,
            "Sauvegarde écrite dans {} : {}, {}{}{}",
            self.dest.display(),
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
        )?;
        if !manifest.secret_included {
            f.write_str(
                "\nLa clé secrète vient de VEILLE_SECRET : gardez-la à part, les liens de \
                 désabonnement en dépendent.",
            )?;
        }
        Ok(())
    }
}

/// `veille restore SRC [--remplacer]`: refuses while a daemon runs on the archive; then the
/// search index is rebuilt from the restored store.
pub(crate) async fn restore(
    archive: &Path,
    config: &Path,
    src: &Path,
    replace: bool,
) -> Result<RestoredArchive, CommandError> {
    refuse_postgres(config)?;
    let restored = backup::restore(src, archive, config, replace)
        .await
        .map_err(|e| anyhow::anyhow!("restauration impossible : {e:#}"))?;
    let store = Store::open(archive).await?;
    let (index, _) = crate::search::SearchIndex::open(&crate::indexing::index_dir(archive))?;
    store.forget_other_indexes(index.id()).await?;
    let indexed = crate::indexing::rebuild(&store, &index).await?;
    Ok(RestoredArchive {
        indexed,
        restored,
        src: src.to_path_buf(),
    })
}

/// What `veille restore` put back: `{"indexed", "restored"}` on one line, or French sentences.
#[derive(Debug, Serialize)]
pub(crate) struct RestoredArchive {
    /// Articles in the rebuilt search index.
    indexed: u64,
    #[serde(serialize_with = "sorted")]
    restored: Restored,
    #[serde(skip)]
    src: PathBuf,
}

impl Report for RestoredArchive {}

impl fmt::Display for RestoredArchive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let manifest = &self.restored.manifest;
        let rows: i64 = manifest.tables.values().map(|t| t.rows).sum();
        write!(
            f,
            "Archive restaurée depuis {} (sauvegarde du {}) : {}, {} ; index de recherche \
             reconstruit ({}).",
            self.src.display(),
            manifest.created,
            plural(manifest.tables.len(), "table", "tables"),
            plural(rows as usize, "ligne", "lignes"),
            plural(self.indexed as usize, "article", "articles")
        )?;
        if let Some(previous) = &self.restored.previous_config {
            write!(
                f,
                "\nL'ancienne configuration est gardée dans {}.",
                previous.display()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::TableSum;

    fn manifest(secret_included: bool) -> Manifest {
        Manifest {
            created: "2026-12-06T08:00:00Z".into(),
            veille: "0.1.0".into(),
            secret_included,
            config_included: true,
            tables: [("articles", 2), ("sources", 1)]
                .into_iter()
                .map(|(name, rows)| {
                    let sum = TableSum {
                        rows,
                        sha256: "ab".into(),
                    };
                    (name.to_string(), sum)
                })
                .collect(),
        }
    }

    const MANIFEST: &str = "{\"config_included\":true,\"created\":\"2026-12-06T08:00:00Z\",\
        \"secret_included\":false,\"tables\":{\"articles\":{\"rows\":2,\"sha256\":\"ab\"},\
        \"sources\":{\"rows\":1,\"sha256\":\"ab\"}},\"veille\":\"0.1.0\"}";

    #[test]
    fn a_backup_reads_as_a_sentence_and_as_sorted_json() {
        let saved = BackedUp {
            dest: "/sauvegardes/veille".into(),
            manifest: manifest(false),
        };
        assert_eq!(
            saved.to_string(),
            "Sauvegarde écrite dans /sauvegardes/veille : 2 tables, 3 lignes, feeds.toml\n\
             La clé secrète vient de VEILLE_SECRET : gardez-la à part, les liens de \
             désabonnement en dépendent."
        );
        assert_eq!(
            serde_json::to_string(&saved).unwrap(),
            format!("{{\"dest\":\"/sauvegardes/veille\",\"manifest\":{MANIFEST}}}")
        );
        // What the command printed before it gave a report.
        let before = serde_json::json!({"dest": saved.dest, "manifest": saved.manifest});
        assert_eq!(serde_json::to_string(&saved).unwrap(), before.to_string());
        let with_key = BackedUp {
            dest: "/s".into(),
            manifest: manifest(true),
        };
        assert_eq!(
            with_key.to_string(),
            "Sauvegarde écrite dans /s : 2 tables, 3 lignes, clé secrète, feeds.toml"
        );
    }

    #[test]
    fn a_restore_reads_as_sentences_and_as_sorted_json() {
        let restored = RestoredArchive {
            indexed: 1,
            restored: Restored {
                manifest: manifest(false),
                previous_config: Some("/etc/veille/feeds.toml.avant".into()),
            },
            src: "/sauvegardes/veille".into(),
        };
        assert_eq!(
            restored.to_string(),
            "Archive restaurée depuis /sauvegardes/veille (sauvegarde du 2026-12-06T08:00:00Z) : \
             2 tables, 3 lignes ; index de recherche reconstruit (1 article).\n\
             L'ancienne configuration est gardée dans /etc/veille/feeds.toml.avant."
        );
        assert_eq!(
            serde_json::to_string(&restored).unwrap(),
            format!(
                "{{\"indexed\":1,\"restored\":{{\"manifest\":{MANIFEST},\
                 \"previous_config\":\"/etc/veille/feeds.toml.avant\"}}}}"
            )
        );
        let before =
            serde_json::json!({"restored": restored.restored, "indexed": restored.indexed});
        assert_eq!(
            serde_json::to_string(&restored).unwrap(),
            before.to_string()
        );
    }
}
