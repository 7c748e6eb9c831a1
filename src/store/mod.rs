//! The store: sources with their fetch state, articles, stories, decisions, editions and the
//! delivery ledger, in the archive's SQLite file (WAL) or in a shared PostgreSQL database.
//!
//! Several processes share the database. Writes that read first take the write lock
//! (`begin_write`: `BEGIN IMMEDIATE` on SQLite, a transaction-level advisory lock on
//! PostgreSQL), and each source's results go in one transaction, so a crash leaves the
//! previous state whole.
//!
//! Each query is written once, in SQL both dialects accept, and compiled once per backend by
//! `on_pool!` / `on_conn!`: the row types and binds are the same Rust types on both.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

use crate::config::store::StoreLocation;
use crate::model::{PreparedArticle, Source, Tagging};

/// Runs `$body` with `$pool` bound to the store's pool, compiled once per backend: the same
/// text is type-checked against `SqlitePool` and against `PgPool`.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection behind a `Conn`, once per backend.
macro_rules! on_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Sqlite($c) => $body,
            $crate::store::Conn::Postgres($c) => $body,
        }
    };
}

mod alerts;
mod articles;
mod bodies;
pub(crate) mod bounces;
pub(crate) mod centre_tags;
pub mod centres;
pub(crate) mod clicks;
pub(crate) mod copy;
mod deciding;
mod decisions;
mod editions;
mod inbox;
mod inbox_counts;
mod index_marks;
mod jobs;
mod learning;
mod leases;
mod ledger;
mod ledger_batch;
mod network;
#[cfg(test)]
mod plans;
pub mod postgres;
pub(crate) mod preferences;
mod privacy;
mod storing;
mod subscribers;
mod triage;

pub(crate) use alerts::AlertInput;
pub(crate) use articles::{ArticleFilter, ArticleRow, TaggingInput};
pub(crate) use bodies::PendingBody;
pub(crate) use deciding::InboxRanks;
pub(crate) use decisions::DecisionError;
pub(crate) use editions::{EditionError, NewBlock};
pub(crate) use jobs::{EditionReminder, JobRow, SourceStat, Totals};
pub(crate) use learning::{ToCheckEntry, ToCheckRow};
pub(crate) use leases::Lease;
pub(crate) use ledger::{ClaimedDelivery, DeliveryOutcome, LedgerStep, SendError};
pub(crate) use ledger_batch::{Claim, ReservedStep};
pub(crate) use privacy::PersonalData;
pub(crate) use subscribers::{ImportEntry, ImportOutcome};
pub(crate) use triage::{DecisionSnapshot, InboxFilter, InboxRow, StoryDetail};

/// Sources per upsert of `sync_sources` (5 values each): far below both backends' limits on
/// bound parameters.
const SOURCE_CHUNK: usize = 400;

/// The database file inside the archive folder.
pub(crate) const DATABASE_FILE: &str = "veille.sqlite";

/// `$from, $from+1, …` for a list of `n` values bound one by one: portable SQL where array
/// binds are not (SQLite has none).
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQLite schema, step by step; `postgres::MIGRATIONS` has the same steps.
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The archive's database: a pool of connections to `veille.sqlite` or to PostgreSQL,
/// migrated on opening. Cheap to clone (the clones share the pool); every query of veille
/// goes through it.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// The centre whose decisions, editions and lists this store reads and writes
    /// (`centres`); `""` for the single-centre default.
    centre: std::sync::Arc<str>,
}

/// The database behind the store.
#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One connection (most often a transaction's), for the helpers that run inside another
/// query's transaction: `Conn::from(&mut *tx)` on either backend.
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl<'a> From<&'a mut SqliteConnection> for Conn<'a> {
    fn from(c: &'a mut SqliteConnection) -> Self {
        Conn::Sqlite(c)
    }
}

impl<'a> From<&'a mut PgConnection> for Conn<'a> {
    fn from(c: &'a mut PgConnection) -> Self {
        Conn::Postgres(c)
    }
}

/// What differs between the two dialects, for the few queries that cannot be written alike.
#[allow(dead_code)] // Used by the queries that differ (the ports of the store files under way).
pub(crate) trait Dialect {
    /// PostgreSQL, rather than SQLite.
    const POSTGRES: bool;
}

impl Dialect for SqlitePool {
    const POSTGRES: bool = false;
}
impl Dialect for PgPool {
    const POSTGRES: bool = true;
}
impl Dialect for SqliteConnection {
    const POSTGRES: bool = false;
}
impl Dialect for PgConnection {
    const POSTGRES: bool = true;
}

/// The text of a query that differs between dialects, picked by what `_on` runs on.
#[allow(dead_code)]
pub(crate) fn by_dialect<T: Dialect + ?Sized>(
    _on: &T,
    sqlite: &'static str,
    postgres: &'static str,
) -> &'static str {
    if T::POSTGRES { postgres } else { sqlite }
}

/// Starts a transaction that holds the store's write lock until it ends, so that a write that
/// reads first never interleaves with another process's: `BEGIN IMMEDIATE` on SQLite, a
/// transaction-level advisory lock on PostgreSQL (readers are never blocked by it).
pub(crate) trait WritePool: Dialect {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Db>>> + Send;
}

/// The advisory lock key of the store's write lock on PostgreSQL ("veille" in ASCII).
const WRITE_LOCK_KEY: i64 = 0x7665_696c_6c65;

impl WritePool for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl WritePool for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// What the fetcher needs to know about a source before fetching it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FetchState {
    pub(crate) id: i64,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) next_fetch: Option<DateTime<Utc>>,
    pub(crate) consecutive_errors: u32,
}

/// Conditional-GET validators and status of a successful response.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validators {
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) status: u16,
}

/// New, updated and unchanged counts of one stored batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) new: u32,
    pub(crate) updated: u32,
    pub(crate) unchanged: u32,
}

/// The health of a source, as `veille sources` shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceHealth {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) kind: String,
    pub(crate) dossiers: Vec<String>,
    pub(crate) enabled: bool,
    pub(crate) last_fetch: Option<String>,
    pub(crate) last_success: Option<String>,
    pub(crate) last_status: Option<u16>,
    pub(crate) consecutive_errors: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) next_fetch: Option<String>,
    pub(crate) items: i64,
}

/// A source's fetch state as stored.
#[derive(sqlx::FromRow)]
struct FetchStateRow {
    id: i64,
    name: String,
    etag: Option<String>,
    last_modified: Option<String>,
    next_fetch: Option<String>,
    consecutive_errors: i64,
}

/// A source's health as stored, with its article count.
#[derive(sqlx::FromRow)]
struct SourceHealthRow {
    name: String,
    url: String,
    kind: String,
    dossiers: String,
    enabled: bool,
    last_fetch: Option<String>,
    last_success: Option<String>,
    last_status: Option<i64>,
    consecutive_errors: i64,
    last_error: Option<String>,
    next_fetch: Option<String>,
    items: i64,
}

/// Writes `centre`'s tags of an article (the caller has removed its old ones).
async fn insert_tags(
    conn: &mut Conn<'_>,
    centre: &str,
    article: i64,
    tagging: &Tagging,
) -> anyhow::Result<()> {
    for tag in &tagging.dossiers {
        let why = serde_json::to_string(&tag.why)?;
        on_conn!(conn, c => {
            sqlx::query(
                "INSERT INTO tags (centre, article_id, dossier, score, why) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(centre)
            .bind(article)
            .bind(&tag.dossier)
            .bind(tag.score)
            .bind(&why)
            .execute(&mut **c)
            .await?;
        });
    }
    Ok(())
}

/// Articles stored after `after` (an article id), handed to `learn` as (id, story, date,
/// fingerprint) in id order: what another process stored since a story index last looked.
pub(crate) struct CatchUp<'a> {
    pub(crate) after: i64,
    pub(crate) learn: Learn<'a>,
}

/// What learns one article stored by another process: (id, story, date, fingerprint).
pub(crate) type Learn<'a> = &'a mut dyn FnMut(i64, i64, DateTime<Utc>, &str);

/// A source answered and its items are stored: its validators and health, reset.
async fn mark_fetched(
    conn: &mut Conn<'_>,
    source_id: i64,
    validators: &Validators,
    now_text: &str,
) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query(
            "UPDATE sources SET etag = $1, last_modified = $2, last_status = $3, last_fetch = $4,
             last_success = $4, consecutive_errors = 0, last_error = NULL, next_fetch = NULL WHERE id = $5",
        )
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .bind(i64::from(validators.status))
        .bind(now_text)
        .bind(source_id)
        .execute(&mut **c)
        .await?;
    });
    Ok(())
}

async fn learn_newer(conn: &mut Conn<'_>, catch_up: &mut CatchUp<'_>) -> anyhow::Result<()> {
    let rows: Vec<(i64, i64, String, String)> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT id, COALESCE(story, id), COALESCE(published, first_seen), fingerprint
             FROM articles WHERE id > $1 AND fingerprint IS NOT NULL ORDER BY id",
        )
        .bind(catch_up.after)
        .fetch_all(&mut **c)
        .await?
    });
    for (id, story, at, fingerprint) in rows {
        if let Some(at) = parse_timestamp(Some(at)) {
            (catch_up.learn)(id, story, at, &fingerprint);
        }
    }
    Ok(())
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so that text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn parse_timestamp(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Whether a connection may go back to the pool. A COMMIT that SQLite refuses (a full disk)
/// can leave the transaction rolled back by SQLite while sqlx still counts it open: every
/// later `begin_with` on that connection would fail ("non-zero transaction depth"), so one
/// full disk would fail every source of the pass, even once space is back. Such a connection
/// is closed instead. The ping lets the worker run what a dropped transaction queued (its
/// rollback) first; then sqlx's depth counter tells, without a statement of our own. Every
/// query releases a connection, so this costs one hand-off to the worker, not a `BEGIN` and a
/// `ROLLBACK`. (Raw `BEGIN`s only run on `store::copy`'s own connections, never pooled.)
async fn usable(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Connection;
    conn.ping().await.is_ok() && !conn.is_in_transaction()
}

/// The store's database as the configuration names it (`[store] url`), set once by the
/// command line before any store opens; `VEILLE_DATABASE_URL` overrides it.
static CONFIGURED: std::sync::OnceLock<StoreLocation> = std::sync::OnceLock::new();

/// Records `[store]` of the configuration; the first call wins.
pub fn configure(location: StoreLocation) {
    let _ = CONFIGURED.set(location);
}

/// Where the store lives: `VEILLE_DATABASE_URL`, else `[store] url`, else the archive.
pub fn location() -> anyhow::Result<StoreLocation> {
    use crate::config::store::{DATABASE_URL_VAR, parse_url};
    match std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        Some(text) => parse_url(&text)
            .map_err(|(message, hint)| anyhow::anyhow!("{DATABASE_URL_VAR} : {message} ; {hint}")),
        None => Ok(CONFIGURED.get().cloned().unwrap_or_default()),
    }
}

impl Store {
    /// Opens (and creates or migrates) the store: the database `location()` names, by
    /// default `veille.sqlite` in `archive`.
    pub async fn open(archive: &Path) -> anyhow::Result<Store> {
        match location()? {
            StoreLocation::Archive => Store::open_sqlite(archive).await,
            StoreLocation::Postgres(url) => Store::open_postgres(&url).await,
        }
    }

    /// Opens (and creates or migrates) the PostgreSQL database at `url`.
    pub async fn open_postgres(url: &str) -> anyhow::Result<Store> {
        let pool = postgres::open(url).await?;
        Store {
            backend: Backend::Postgres(pool),
            centre: std::sync::Arc::from(""),
        }
        .with_configured_centre()
        .await
    }

    /// Opens (and creates or migrates) `veille.sqlite` in `archive`, whatever the
    /// configuration says.
    pub async fn open_sqlite(archive: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(archive).map_err(|e| {
            anyhow::anyhow!(
                "impossible de créer le dossier d'archive {} : {}",
                archive.display(),
                crate::wording::io(&e)
            )
        })?;
        let path = archive.join(DATABASE_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable against a process crash in WAL mode; only a power loss may
            // drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(async move { Ok(usable(conn).await) }))
            .connect_with(options)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "impossible d'ouvrir la base {} : {}",
                    path.display(),
                    crate::wording::database(&e)
                )
            })?;
        // sqlx's error stays the cause: `wording::chain` says it in French.
        SQLITE_MIGRATIONS.run(&pool).await.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "mise à jour du schéma de la base {} impossible",
                path.display()
            ))
        })?;
        Store {
            backend: Backend::Sqlite(pool),
            centre: std::sync::Arc::from(""),
        }
        .with_configured_centre()
        .await
    }

    /// The highest article id stored so far (0 for none): where a story index starts
    /// watching for other processes' articles.
    pub(crate) async fn last_article_id(&self) -> anyhow::Result<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM articles")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Whether the store is a PostgreSQL database (shared by several centres or machines).
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The SQLite pool, for what only the archive's file allows (closing it before a backup
    /// replaces the file, the tests' direct checks); `None` on PostgreSQL.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.backend {
            Backend::Sqlite(pool) => Some(pool),
            Backend::Postgres(_) => None,
        }
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// Records the configured sources (matched by name) and returns their fetch state.
    /// A source whose URL changed forgets its validators.
    pub(crate) async fn sync_sources(
        &self,
        sources: &[Source],
    ) -> anyhow::Result<HashMap<String, FetchState>> {
        let mut dossiers = Vec::with_capacity(sources.len());
        for s in sources {
            dossiers.push(serde_json::to_string(&s.dossiers)?);
        }
        // One multi-row upsert per chunk rather than a statement per source: with hundreds of
        // sources, those round trips were most of what a pass did before its first request.
        // A name given twice keeps its last entry, as row-by-row upserts did (PostgreSQL
        // refuses to touch one row twice in a statement).
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(sources.len());
        for (i, s) in sources.iter().enumerate() {
            last.insert(s.name.as_str(), i);
        }
        let kept: Vec<usize> = (0..sources.len())
            .filter(|&i| last.get(sources[i].name.as_str()) == Some(&i))
            .collect();
        let rows: Vec<FetchStateRow> = on_pool!(self, pool => {
        let mut tx = pool.begin_write().await?;
        for chunk in kept.chunks(SOURCE_CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|r| format!("({})", placeholders(1 + 5 * r, 5)))
                .collect();
            // Only placeholders are spliced into constant text; every value is bound.
            let sql = format!(
                "INSERT INTO sources (name, kind, url, dossiers, enabled) VALUES {}
                 ON CONFLICT (name) DO UPDATE SET
                   etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
                   last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END,
                   kind = excluded.kind, url = excluded.url, dossiers = excluded.dossiers,
                   enabled = excluded.enabled",
                values.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for &i in chunk {
                let s = &sources[i];
                query = query
                    .bind(&s.name)
                    .bind(s.kind.as_str())
                    .bind(&s.url)
                    .bind(&dossiers[i])
                    .bind(s.enabled);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        sqlx::query_as(
            "SELECT id, name, etag, last_modified, next_fetch, consecutive_errors FROM sources",
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.name,
                    FetchState {
                        id: r.id,
                        etag: r.etag,
                        last_modified: r.last_modified,
                        next_fetch: parse_timestamp(r.next_fetch),
                        consecutive_errors: r.consecutive_errors as u32,
                    },
                )
            })
            .collect())
    }

    /// Stores a source's items and its new state in one transaction.
    ///
    /// An item is the same article as a stored one when it has the same GUID in the same
    /// source, or else the same canonical URL. A changed title or summary updates it (and its
    /// tags). A new article gets its story from `assign_story(item, new_article_id)`, which
    /// merging supplies; the store itself knows nothing of how stories are found.
    #[cfg(test)]
    pub(crate) async fn record_success(
        &self,
        source_id: i64,
        validators: &Validators,
        items: &[PreparedArticle],
        now: DateTime<Utc>,
        mut assign_story: impl FnMut(&PreparedArticle, i64) -> i64,
    ) -> anyhow::Result<Counts> {
        let batch = (source_id, validators, items, now);
        let counts = self
            .record_successes_seeing(&[batch], None, |_, item, id| assign_story(item, id))
            .await?;
        Ok(counts[0])
    }

    /// `record_success` for several sources' batches in one write transaction (a group
    /// commit), stored in the given order as if one after the other: one lock, one catch-up
    /// and one commit for the group instead of one each. `assign_story` gets the batch's
    /// position. All or nothing: an error rolls the whole group back.
    ///
    /// For a caller whose story index may lag behind other processes sharing the store: once
    /// the write lock is held, and before any item is assigned, `catch_up` learns every
    /// article stored after `catch_up.after` — so two processes storing the same story at the
    /// same moment still make one story.
    pub(crate) async fn record_successes_seeing(
        &self,
        batches: &[storing::Batch<'_>],
        catch_up: Option<CatchUp<'_>>,
        mut assign_story: impl FnMut(usize, &PreparedArticle, i64) -> i64,
    ) -> anyhow::Result<Vec<Counts>> {
        let mut catch_up = catch_up;
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let conn = &mut Conn::from(&mut *tx);
            let mut counts = Vec::with_capacity(batches.len());
            for (n, &batch) in batches.iter().enumerate() {
                // Once the lock is held, before the first item: later batches of the group
                // are seen by the index as they are assigned.
                let catch_up = if n == 0 { catch_up.as_mut() } else { None };
                let mut assign = |item: &PreparedArticle, id: i64| assign_story(n, item, id);
                counts.push(
                    storing::store_batch(conn, self.centre(), batch, catch_up, &mut assign).await?,
                );
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// A 304: the source is healthy and nothing changed.
    pub(crate) async fn record_not_modified(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
            "UPDATE sources SET last_status = 304, last_fetch = $1, last_success = $1,
             consecutive_errors = 0, last_error = NULL, next_fetch = NULL WHERE id = $2",
        )
        .bind(timestamp(now))
        .bind(source_id)
        .execute(pool)
        .await?;
        });
        Ok(())
    }

    /// A failure: the error is kept and the source is not tried again before `next_fetch`.
    pub(crate) async fn record_failure(
        &self,
        source_id: i64,
        status: Option<u16>,
        error: &str,
        next_fetch: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            sqlx::query(
            "UPDATE sources SET last_status = $1, last_fetch = $2, last_error = $3, next_fetch = $4,
             consecutive_errors = consecutive_errors + 1 WHERE id = $5",
        )
        .bind(status.map(i64::from))
        .bind(timestamp(now))
        .bind(error)
        .bind(timestamp(next_fetch))
        .bind(source_id)
        .execute(pool)
        .await?;
        });
        Ok(())
    }

    /// Every known source with its health, in name order.
    pub(crate) async fn source_health(&self) -> anyhow::Result<Vec<SourceHealth>> {
        let rows: Vec<SourceHealthRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT s.name, s.url, s.kind, s.dossiers, s.enabled, s.last_fetch, s.last_success,
                    s.last_status, s.consecutive_errors, s.last_error, s.next_fetch,
                    (SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id) AS items
             FROM sources s ORDER BY s.name",
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|r| SourceHealth {
                name: r.name,
                url: r.url,
                kind: r.kind,
                dossiers: serde_json::from_str(&r.dossiers).unwrap_or_default(),
                enabled: r.enabled,
                last_fetch: r.last_fetch,
                last_success: r.last_success,
                last_status: r.last_status.map(|s| s as u16),
                consecutive_errors: r.consecutive_errors as u32,
                last_error: r.last_error,
                next_fetch: r.next_fetch,
                items: r.items,
            })
            .collect())
    }
}

/// Direct SQL for the unit tests' arrangements and checks, on either backend.
#[cfg(test)]
impl Store {
    /// Runs one statement.
    pub(crate) async fn exec(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        on_pool!(self, pool => {
            sqlx::query(sql).execute(pool).await.unwrap();
        })
    }

    /// The one integer a query returns (a `COUNT(*)`, an id).
    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        on_pool!(self, pool => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap())
    }
}

#[cfg(test)]
mod pool_tests {
    use sqlx::Connection;

    /// A transaction SQLite ended by itself (as when it refuses a COMMIT on a full disk)
    /// while sqlx still counts it open: back in the pool, that connection would fail every
    /// later write transaction ("non-zero transaction depth"), so it must be closed instead.
    #[tokio::test]
    async fn a_connection_whose_transaction_sqlite_ended_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open_sqlite(dir.path()).await.unwrap();
        let pool = store.sqlite_pool().unwrap();
        {
            let mut conn = pool.acquire().await.unwrap();
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::raw_sql("ROLLBACK").execute(&mut *tx).await.unwrap();
            assert!(tx.is_in_transaction(), "sqlx compte encore la transaction");
        }
        for round in 0..8 {
            let tx = pool.begin_with("BEGIN IMMEDIATE").await;
            let tx = tx.unwrap_or_else(|e| panic!("transaction {round} refusée : {e}"));
            tx.rollback().await.unwrap();
        }
    }
}
