//! PostgreSQL side of the store: a pool on a `postgres://` URL, migrated with the PostgreSQL
//! twins of the migrations (`migrations/postgres`, numbered and named like the SQLite ones).
//!
//! The queries themselves are `Store`'s, written once for both backends (`on_pool!`).

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::store::redact;

/// The PostgreSQL schema, in the same steps as the SQLite one (`super::SQLITE_MIGRATIONS`).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects to `url` and brings its schema up to date.
pub async fn open(url: &str) -> anyhow::Result<PgPool> {
    let unreachable = |e: sqlx::Error| {
        anyhow::anyhow!(
            "impossible de se connecter à la base PostgreSQL {} : {}",
            redact(url),
            crate::wording::database(&e)
        )
    };
    // One connection first: a refused connection or a wrong password is said at once, where
    // the pool would retry quietly until its timeout.
    let first = PgConnection::connect(url).await.map_err(unreachable)?;
    first.close().await.map_err(unreachable)?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .map_err(unreachable)?;
    MIGRATIONS.run(&pool).await.map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "mise à jour du schéma de la base PostgreSQL {} impossible",
            redact(url)
        ))
    })?;
    Ok(pool)
}
