//! `veille backup` / `veille restore`: a consistent copy of the archive (database, secret key,
//! `feeds.toml`) with a manifest of row counts and checksums per table, and its restoration.
//!
//! The copy is made with `VACUUM INTO`, SQLite's online copy: one read transaction, so it is
//! a consistent snapshot while the daemon keeps writing (WAL readers never block writers).
//! The search index is not copied: it is derived from the store and rebuilt on restore.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, SqliteConnection};

use crate::lock::{DaemonLock, LockError};
use crate::mail::token::SECRET_FILE;
use crate::store::{DATABASE_FILE, Store};

/// The manifest written next to the copy.
pub(crate) const MANIFEST_FILE: &str = "sauvegarde.json";
/// The configuration's name inside a backup.
pub(crate) const CONFIG_FILE: &str = "feeds.toml";

/// Why `veille backup` and `veille restore` refuse a PostgreSQL store: they copy the
/// archive's SQLite file, and a shared server is saved by its own tools.
pub(crate) const POSTGRES_REFUSAL: &str = "cette archive utilise une base PostgreSQL ([store] url \
     ou VEILLE_DATABASE_URL) : veille backup et veille restore ne copient que la base SQLite \
     de l'archive ; sauvegardez PostgreSQL avec pg_dump (par exemple pg_dump -Fc -f veille.dump \
     URL) et restaurez avec pg_restore (rien n'a été écrit)";

/// Row count and SHA-256 of the sorted rows of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSum {
    /// Number of rows in the table, the same rows the checksum covers.
    pub rows: i64,
    pub(crate) sha256: String,
}

/// What a backup holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) created: String,
    pub(crate) veille: String,
    pub(crate) secret_included: bool,
    pub(crate) config_included: bool,
    pub(crate) tables: BTreeMap<String, TableSum>,
}

/// Row counts and checksums of every table of the database at `path` (opened read-only).
pub async fn table_sums(path: &Path) -> anyhow::Result<BTreeMap<String, TableSum>> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "impossible d'ouvrir la base {} : {}",
                path.display(),
                crate::wording::database(&e)
            )
        })?;
    let sums = sums_on(&mut conn).await;
    let _ = conn.close().await;
    sums
}

async fn sums_on(conn: &mut SqliteConnection) -> anyhow::Result<BTreeMap<String, TableSum>> {
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await?;
    if check != "ok" {
        bail!("la base est endommagée (integrity_check : {check})");
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut sums = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut *conn)
                .await?;
        if columns.is_empty() {
            continue;
        }
        // quote() gives an exact, typed text of each value (X'..' for blobs); sorting the
        // rows makes the checksum independent of the physical order VACUUM may change.
        let row = columns
            .iter()
            .map(|c| format!("quote({})", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!("SELECT {row} AS r FROM {} ORDER BY r", quote_ident(&table));
        // Audited: the names come from sqlite_master and are quoted by quote_ident.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await?;
        let mut hash = Sha256::new();
        for r in &rows {
            let text: String = r.try_get(0)?;
            hash.update(text.as_bytes());
            hash.update(b"\n");
        }
        sums.insert(
            table,
            TableSum {
                rows: rows.len() as i64,
                sha256: hex(&hash.finalize()),
            },
        );
    }
    Ok(sums)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!("{what} {} : {}", path.display(), crate::wording::io(e))
}

/// Writes `bytes` to `path` with mode 0600 and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error("impossible d'écrire", path, &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("impossible d'écrire", path, &e))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn read_optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("impossible de lire", path, &e)),
    }
}

/// Copies the archive's database, secret key and configuration into `dest`, a new (or empty)
/// folder readable by its owner only, and returns the manifest written there.
pub(crate) async fn backup(
    store: &Store,
    archive: &Path,
    config: &Path,
    dest: &Path,
) -> anyhow::Result<Manifest> {
    // `VACUUM INTO` copies the archive's SQLite file: SQLite-only by nature.
    let Some(pool) = store.sqlite_pool() else {
        bail!("{POSTGRES_REFUSAL}");
    };
    match std::fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} existe déjà et n'est pas vide : choisissez un dossier nouveau",
                    dest.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dest)
                .map_err(|e| io_error("impossible de créer le dossier", dest, &e))?;
        }
        Err(e) => return Err(io_error("impossible de lire le dossier", dest, &e)),
    }
    // Subscribers' addresses are personal data: the folder is the owner's only.
    let _ = std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o700));
    let db = dest.join(DATABASE_FILE);
    let target = db
        .to_str()
        .context("chemin de sauvegarde non UTF-8")?
        .to_string();
    sqlx::query("VACUUM INTO $1")
        .bind(&target)
        .execute(pool)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "copie de la base vers {} impossible : {}",
                db.display(),
                crate::wording::database(&e)
            )
        })?;
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error("impossible de protéger", &db, &e))?;
    std::fs::File::open(&db)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("impossible d'écrire", &db, &e))?;
    let tables = table_sums(&db).await?;
    let secret = crate::secrets::read(&archive.join(SECRET_FILE), "la clé secrète de l'archive")?;
    if let Some(bytes) = &secret {
        write_private(&dest.join(SECRET_FILE), bytes)?;
    }
    let feeds = read_optional(config)?;
    if let Some(bytes) = &feeds {
        write_private(&dest.join(CONFIG_FILE), bytes)?;
    }
    let manifest = Manifest {
        created: crate::store::timestamp(chrono::Utc::now()),
        veille: env!("CARGO_PKG_VERSION").to_string(),
        secret_included: secret.is_some(),
        config_included: feeds.is_some(),
        tables,
    };
    // The manifest last: a folder without it is an unfinished backup.
    write_private(
        &dest.join(MANIFEST_FILE),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    sync_dir(dest);
    Ok(manifest)
}

/// Reads and checks a backup folder: its manifest, and a database whose tables match it.
pub(crate) async fn verify(src: &Path) -> anyhow::Result<Manifest> {
    let manifest_path = src.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        anyhow::anyhow!(
            "{} n'est pas une sauvegarde de veille complète : {} illisible ({})",
            src.display(),
            MANIFEST_FILE,
            crate::wording::io(&e)
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} illisible : {e}", manifest_path.display()))?;
    let db = src.join(DATABASE_FILE);
    if !db.is_file() {
        bail!("{} manque dans la sauvegarde", db.display());
    }
    let sums = table_sums(&db).await?;
    compare(&manifest.tables, &sums).map_err(|e| {
        anyhow::anyhow!(
            "la sauvegarde {} ne correspond pas à son manifeste : {e}",
            src.display()
        )
    })?;
    Ok(manifest)
}

/// The first difference between two sets of table sums, in French.
pub(crate) fn compare(
    expected: &BTreeMap<String, TableSum>,
    found: &BTreeMap<String, TableSum>,
) -> Result<(), String> {
    for (table, sum) in expected {
        match found.get(table) {
            None => return Err(format!("table {table} absente")),
            Some(f) if f.rows != sum.rows => {
                return Err(format!(
                    "table {table} : {} ligne(s) au lieu de {}",
                    f.rows, sum.rows
                ));
            }
            Some(f) if f.sha256 != sum.sha256 => {
                return Err(format!("table {table} : contenu différent"));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().find(|t| !expected.contains_key(*t)) {
        return Err(format!("table {extra} en trop"));
    }
    Ok(())
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Restored {
    pub(crate) manifest: Manifest,
    /// The previous configuration, kept aside when it differed.
    pub(crate) previous_config: Option<PathBuf>,
}

/// Restores the backup in `src` into `archive` (and `config`). Refuses while a daemon runs on
/// the archive (its lock is held during the restore, so none starts meanwhile), and refuses to
/// replace an existing database unless `replace`.
pub(crate) async fn restore(
    src: &Path,
    archive: &Path,
    config: &Path,
    replace: bool,
) -> anyhow::Result<Restored> {
    let manifest = verify(src).await?;
    let _lock = match DaemonLock::acquire(archive) {
        Ok(lock) => lock,
        Err(LockError::Held { pid }) => bail!(
            "un démon `veille run`{} utilise l'archive {} : arrêtez-le avant de restaurer \
             (rien n'a été modifié)",
            pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
            archive.display()
        ),
        Err(e) => bail!("{e}"),
    };
    let db = archive.join(DATABASE_FILE);
    if db.exists() && !replace {
        bail!(
            "l'archive {} contient déjà une base : ajoutez --remplacer pour la remplacer par la \
             sauvegarde (rien n'a été modifié)",
            archive.display()
        );
    }
    // Copy beside, then rename: a crash leaves either the old base or the new one, whole.
    let partial = archive.join(format!("{DATABASE_FILE}.restauration"));
    std::fs::copy(src.join(DATABASE_FILE), &partial)
        .map_err(|e| io_error("impossible de copier la base vers", &partial, &e))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_error("impossible de protéger", &partial, &e))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("impossible d'écrire", &partial, &e))?;
    // A WAL left by the old base would be replayed into the new one.
    for suffix in ["-wal", "-shm"] {
        let side = archive.join(format!("{DATABASE_FILE}{suffix}"));
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("impossible de supprimer", &side, &e)),
        }
    }
    std::fs::rename(&partial, &db).map_err(|e| io_error("impossible de remplacer", &db, &e))?;
    sync_dir(archive);
    if manifest.secret_included {
        let bytes = std::fs::read(src.join(SECRET_FILE))
            .map_err(|e| io_error("impossible de lire", &src.join(SECRET_FILE), &e))?;
        write_private(&archive.join(SECRET_FILE), &bytes)?;
    }
    let mut previous_config = None;
    if manifest.config_included {
        let bytes = std::fs::read(src.join(CONFIG_FILE))
            .map_err(|e| io_error("impossible de lire", &src.join(CONFIG_FILE), &e))?;
        if let Some(current) = read_optional(config)?
            && current != bytes
        {
            let mut aside = config.as_os_str().to_owned();
            aside.push(".avant-restauration");
            let aside = PathBuf::from(aside);
            std::fs::rename(config, &aside)
                .map_err(|e| io_error("impossible de mettre de côté", config, &e))?;
            previous_config = Some(aside);
        }
        write_private(config, &bytes)?;
    }
    // The index belongs to the old base: dropped, then rebuilt from the restored store.
    let index = crate::indexing::index_dir(archive);
    if index.exists() {
        std::fs::remove_dir_all(&index)
            .map_err(|e| io_error("impossible de supprimer l'index", &index, &e))?;
    }
    let restored = table_sums(&db).await?;
    compare(&manifest.tables, &restored)
        .map_err(|e| anyhow::anyhow!("la base restaurée diffère de la sauvegarde : {e}"))?;
    Ok(Restored {
        manifest,
        previous_config,
    })
}

/// Names of the dated backups `veille-AAAAMMJJ-HHMMSS` in `dir`, oldest first.
pub(crate) fn dated_backups(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("veille-") && p.join(MANIFEST_FILE).is_file())
        })
        .collect();
    found.sort();
    found
}

/// The nightly backup: a dated folder in `dir`, then only the `keep` newest are kept.
pub(crate) async fn nightly(
    store: &Store,
    archive: &Path,
    config: &Path,
    dir: &Path,
    keep: usize,
) -> anyhow::Result<PathBuf> {
    let name = chrono::Utc::now()
        .format("veille-%Y%m%d-%H%M%S")
        .to_string();
    let dest = dir.join(name);
    backup(store, archive, config, &dest).await?;
    let all = dated_backups(dir);
    let excess = all.len().saturating_sub(keep.max(1));
    for old in &all[..excess] {
        if let Err(e) = std::fs::remove_dir_all(old) {
            tracing::warn!(
                "ancienne sauvegarde {} non supprimée : {}",
                old.display(),
                crate::wording::io(&e)
            );
        }
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backup_then_restore_gives_the_same_tables_and_refuses_a_live_archive() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        // The archive's own SQLite file, whatever the tests' backend: that is what is copied.
        let store = Store::open_sqlite(&archive).await.unwrap();
        sqlx::query("INSERT INTO sources (name, url, kind) VALUES ('a', 'https://a.fr/', 'rss')")
            .execute(store.sqlite_pool().unwrap())
            .await
            .unwrap();
        std::fs::write(archive.join(SECRET_FILE), [9u8; 32]).unwrap();
        // As veille writes it: a secret others may read is refused (`secrets`).
        std::fs::set_permissions(
            archive.join(SECRET_FILE),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let config = dir.path().join("feeds.toml");
        std::fs::write(&config, "# essai\n").unwrap();
        let dest = dir.path().join("sauvegarde");
        let manifest = backup(&store, &archive, &config, &dest).await.unwrap();
        assert!(manifest.secret_included && manifest.config_included);
        let mode = std::fs::metadata(dest.join(DATABASE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A second backup into the same, now full, folder is refused.
        assert!(backup(&store, &archive, &config, &dest).await.is_err());
        store.close().await;

        let live = DaemonLock::acquire(&archive).unwrap();
        let err = restore(&dest, &archive, &config, true).await.unwrap_err();
        assert!(err.to_string().contains("arrêtez-le"), "{err}");
        drop(live);
        let err = restore(&dest, &archive, &config, false).await.unwrap_err();
        assert!(err.to_string().contains("--remplacer"), "{err}");

        let other = dir.path().join("ailleurs");
        let other_config = dir.path().join("autre.toml");
        let restored = restore(&dest, &other, &other_config, false).await.unwrap();
        assert_eq!(
            table_sums(&other.join(DATABASE_FILE)).await.unwrap(),
            restored.manifest.tables
        );
        assert_eq!(std::fs::read(other.join(SECRET_FILE)).unwrap(), [9u8; 32]);
        assert_eq!(std::fs::read_to_string(&other_config).unwrap(), "# essai\n");
    }

    #[tokio::test]
    async fn a_tampered_backup_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let store = Store::open(&archive).await.unwrap();
        let dest = dir.path().join("s");
        backup(&store, &archive, &dir.path().join("absent.toml"), &dest)
            .await
            .unwrap();
        let text = std::fs::read_to_string(dest.join(MANIFEST_FILE)).unwrap();
        let mut manifest: Manifest = serde_json::from_str(&text).unwrap();
        manifest.tables.values_mut().next().unwrap().rows += 1;
        std::fs::write(
            dest.join(MANIFEST_FILE),
            serde_json::to_string(&manifest).unwrap(),
        )
        .unwrap();
        let err = verify(&dest).await.unwrap_err();
        assert!(err.to_string().contains("ne correspond pas"), "{err}");
    }

    #[tokio::test]
    async fn nightly_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let store = Store::open(&archive).await.unwrap();
        let backups = dir.path().join("b");
        std::fs::create_dir_all(backups.join("veille-20000101-000000")).unwrap();
        std::fs::write(
            backups.join("veille-20000101-000000").join(MANIFEST_FILE),
            "{}",
        )
        .unwrap();
        std::fs::create_dir_all(backups.join("autre")).unwrap();
        let made = nightly(&store, &archive, Path::new("/nonexistent"), &backups, 1)
            .await
            .unwrap();
        assert_eq!(dated_backups(&backups), vec![made]);
        assert!(backups.join("autre").exists(), "only veille's own folders");
    }

    /// On the tests' backend: a PostgreSQL store is refused before anything is written, with
    /// pg_dump named; an SQLite one is saved.
    #[tokio::test]
    async fn a_postgres_store_is_refused_with_pg_dump_named() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let store = crate::testing::open_store(&archive).await;
        let dest = dir.path().join("sauvegarde");
        let outcome = backup(&store, &archive, &dir.path().join("absent.toml"), &dest).await;
        if store.is_postgres() {
            let err = outcome.unwrap_err().to_string();
            assert!(
                err.contains("pg_dump") && err.contains("PostgreSQL"),
                "{err}"
            );
            assert!(!dest.exists(), "nothing written");
        } else {
            assert!(outcome.unwrap().tables.contains_key("sources"));
            assert!(dest.join(DATABASE_FILE).is_file());
        }
    }
}
