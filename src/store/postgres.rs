//! PostgreSQL side of the store: a pool on a `postgres://` URL, migrated with the PostgreSQL
//! twins of the migrations (`migrations/postgres`, numbered and named like the SQLite ones).
//!
//! Only the schema lives here for now: `Store`'s queries still run on SQLite alone, so the
//! configuration refuses a PostgreSQL URL (`config::store`).

use std::time::Duration;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;

use crate::config::store::redact;

/// The PostgreSQL schema, in the same steps as the SQLite one (`super::SQLITE_MIGRATIONS`).
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Connects to `url` and brings its schema up to date.
pub async fn open(url: &str) -> anyhow::Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "impossible de se connecter à la base PostgreSQL {} : {}",
                redact(url),
                crate::wording::database(&e)
            )
        })?;
    MIGRATIONS.run(&pool).await.map_err(|e| {
        anyhow::anyhow!(
            "migration de la base PostgreSQL {} impossible : {e}",
            redact(url)
        )
    })?;
    Ok(pool)
}
