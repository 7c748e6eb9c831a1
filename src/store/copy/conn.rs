//! One connection to each side of a copy, whichever engine: opening (the source read-only
//! in spirit, the target created and migrated), raw transaction statements and the schema
//! version each side has applied.

use std::str::FromStr;
use std::time::Duration;

use anyhow::bail;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, PgConnection, SqliteConnection};

use super::Endpoint;
use crate::config::store::redact;

/// The SQL dialect of a connection, where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Sqlite,
    Postgres,
}

/// A connection to one side of the copy.
pub(super) enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

fn cannot_open(endpoint: &Endpoint, e: &sqlx::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "impossible d'ouvrir la base {} : {}",
        endpoint.describe(),
        crate::wording::database(e)
    )
}

async fn connect_postgres(url: &str, endpoint: &Endpoint) -> anyhow::Result<Conn> {
    let connection = tokio::time::timeout(Duration::from_secs(30), PgConnection::connect(url))
        .await
        .map_err(|_| anyhow::anyhow!("la base PostgreSQL {} ne répond pas (30 s)", redact(url)))?
        .map_err(|e| cannot_open(endpoint, &e))?;
    Ok(Conn::Postgres(connection))
}

impl Conn {
    /// Opens the source. Nothing is written to it: an SQLite file is opened read-only, and it
    /// must exist (an absent archive is not an empty one).
    pub(super) async fn open_source(source: &Endpoint) -> anyhow::Result<Conn> {
        match source {
            Endpoint::Sqlite(path) => {
                if !path.is_file() {
                    bail!(
                        "aucune base à copier : {} n'existe pas (vérifiez --archive, ou \
                         VEILLE_DATABASE_URL pour copier depuis PostgreSQL)",
                        path.display()
                    );
                }
                let options = SqliteConnectOptions::from_str("sqlite:")?
                    .filename(path)
                    .read_only(true)
                    .busy_timeout(Duration::from_secs(30));
                let connection = SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| cannot_open(source, &e))?;
                Ok(Conn::Sqlite(connection))
            }
            Endpoint::Postgres(url) => connect_postgres(url, source).await,
        }
    }

    /// Opens the target, creating an SQLite file (and its folder) when there is none, in the
    /// journal mode the store uses.
    pub(super) async fn open_target(target: &Endpoint) -> anyhow::Result<Conn> {
        match target {
            Endpoint::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        anyhow::anyhow!(
                            "impossible de créer le dossier {} : {}",
                            parent.display(),
                            crate::wording::io(&e)
                        )
                    })?;
                }
                let options = SqliteConnectOptions::from_str("sqlite:")?
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true);
                let connection = SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| cannot_open(target, &e))?;
                Ok(Conn::Sqlite(connection))
            }
            Endpoint::Postgres(url) => connect_postgres(url, target).await,
        }
    }

    pub(super) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement without parameters nor rows (transaction control, `UPDATE`s).
    pub(super) async fn execute(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
    }

    /// Starts the source's read transaction: every table is read from one snapshot, so a
    /// daemon writing meanwhile cannot make the copy (or its checksums) inconsistent.
    pub(super) async fn begin_snapshot(&mut self) -> Result<(), sqlx::Error> {
        match self.dialect() {
            // A deferred transaction's first read fixes the snapshot for the rest of it.
            Dialect::Sqlite => self.execute("BEGIN").await,
            Dialect::Postgres => {
                self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
    }

    /// Starts the target's one write transaction.
    pub(super) async fn begin_write(&mut self) -> Result<(), sqlx::Error> {
        match self.dialect() {
            Dialect::Sqlite => self.execute("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.execute("BEGIN").await,
        }
    }

    /// The single `i64` a query gives.
    pub(super) async fn scalar(&mut self, sql: &str) -> Result<i64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await,
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await,
        }
    }

    /// The migrations applied, in order; `None` when the database has no migration table
    /// (an empty database, or not one of veille's).
    pub(super) async fn applied_migrations(&mut self) -> Result<Option<Vec<i64>>, sqlx::Error> {
        let exists = match self.dialect() {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = '_sqlx_migrations'"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        };
        if self.scalar(exists).await? == 0 {
            return Ok(None);
        }
        let sql = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let versions = match self {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await?,
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await?,
        };
        Ok(Some(versions))
    }

    /// Brings the schema to this binary's version, with the migrator of its engine.
    pub(super) async fn migrate(&mut self, endpoint: &Endpoint) -> anyhow::Result<()> {
        let result = match self {
            Conn::Sqlite(c) => super::super::SQLITE_MIGRATIONS.run(c).await,
            Conn::Postgres(c) => super::super::postgres::MIGRATIONS.run(c).await,
        };
        result.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "mise à jour du schéma de la base cible {} impossible",
                endpoint.describe()
            ))
        })
    }

    pub(super) async fn close(self) {
        let _ = match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Postgres(c) => c.close().await,
        };
    }
}

/// The migration versions this binary knows for `dialect` (both engines have the same).
pub(super) fn known_migrations(dialect: Dialect) -> Vec<i64> {
    let migrator = match dialect {
        Dialect::Sqlite => &super::super::SQLITE_MIGRATIONS,
        Dialect::Postgres => &super::super::postgres::MIGRATIONS,
    };
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect()
}
