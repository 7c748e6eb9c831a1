//! SQLite store (WAL) under the archive folder: sources with their fetch state, articles.
//!
//! Several processes share the file. Writes that read first start with `BEGIN IMMEDIATE`, and
//! each source's results go in one transaction, so a crash leaves the previous state whole.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::model::{PreparedArticle, Source, Tagging};

mod alerts;
mod articles;
mod bodies;
pub(crate) mod bounces;
pub(crate) mod clicks;
mod decisions;
mod editions;
mod inbox;
mod inbox_counts;
mod jobs;
mod learning;
mod ledger;
pub mod postgres;
pub(crate) mod preferences;
mod privacy;
mod subscribers;
mod triage;

pub(crate) use alerts::AlertInput;
pub(crate) use articles::{ArticleFilter, ArticleRow, TaggingInput};
pub(crate) use bodies::PendingBody;
pub(crate) use decisions::DecisionError;
pub(crate) use editions::{EditionError, NewBlock};
pub(crate) use jobs::{EditionReminder, JobRow, SourceStat, Totals};
pub(crate) use learning::{ToCheckEntry, ToCheckRow};
pub(crate) use ledger::{ClaimedDelivery, DeliveryOutcome, LedgerStep, SendError};
pub(crate) use privacy::PersonalData;
pub(crate) use subscribers::{ImportEntry, ImportOutcome};
pub(crate) use triage::{DecisionSnapshot, InboxFilter, InboxRow, StoryDetail};

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

/// The archive's database: a pool of connections to `veille.sqlite`, migrated on opening.
/// Cheap to clone (the clones share the pool); every query of veille goes through it.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
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

async fn insert_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    article: i64,
    tagging: &Tagging,
) -> anyhow::Result<()> {
    for tag in &tagging.dossiers {
        sqlx::query("INSERT INTO tags (article_id, dossier, score, why) VALUES ($1, $2, $3, $4)")
            .bind(article)
            .bind(&tag.dossier)
            .bind(tag.score)
            .bind(serde_json::to_string(&tag.why)?)
            .execute(&mut **tx)
            .await?;
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
/// is closed instead; a sound one answers `BEGIN` and `ROLLBACK` at no I/O cost.
async fn usable(conn: &mut sqlx::SqliteConnection) -> bool {
    use sqlx::Connection;
    match conn.begin_with("BEGIN").await {
        Ok(tx) => tx.rollback().await.is_ok(),
        Err(_) => false,
    }
}

/// `VEILLE_DATABASE_URL` names another database than the archive's: refused, with why, rather
/// than quietly ignored (PostgreSQL is not available to the store's queries yet).
fn refuse_database_url() -> anyhow::Result<()> {
    use crate::config::store::{DATABASE_URL_VAR, StoreLocation, parse_url, postgres_unavailable};
    let Some(text) = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(());
    };
    let (message, hint) = match parse_url(&text) {
        Ok(StoreLocation::Archive) => return Ok(()),
        Ok(StoreLocation::Postgres(url)) => postgres_unavailable(&url),
        Err(refusal) => refusal,
    };
    anyhow::bail!("{DATABASE_URL_VAR} : {message} ; {hint}")
}

impl Store {
    /// Opens (and creates or migrates) the database in `archive`.
    pub async fn open(archive: &Path) -> anyhow::Result<Store> {
        refuse_database_url()?;
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
        SQLITE_MIGRATIONS.run(&pool).await.map_err(|e| {
            anyhow::anyhow!("migration de la base {} impossible : {e}", path.display())
        })?;
        Ok(Store { pool })
    }

    /// The pool itself, for what the store's methods do not cover: closing it before a
    /// backup replaces the file, and the tests' direct checks.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Records the configured sources (matched by name) and returns their fetch state.
    /// A source whose URL changed forgets its validators.
    pub(crate) async fn sync_sources(
        &self,
        sources: &[Source],
    ) -> anyhow::Result<HashMap<String, FetchState>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for s in sources {
            sqlx::query(
                "INSERT INTO sources (name, kind, url, dossiers, enabled) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO UPDATE SET
                   etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
                   last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END,
                   kind = excluded.kind, url = excluded.url, dossiers = excluded.dossiers,
                   enabled = excluded.enabled",
            )
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(&s.url)
            .bind(serde_json::to_string(&s.dossiers)?)
            .bind(s.enabled)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let rows: Vec<FetchStateRow> = sqlx::query_as(
            "SELECT id, name, etag, last_modified, next_fetch, consecutive_errors FROM sources",
        )
        .fetch_all(&self.pool)
        .await?;
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
    pub(crate) async fn record_success(
        &self,
        source_id: i64,
        validators: &Validators,
        items: &[PreparedArticle],
        now: DateTime<Utc>,
        mut assign_story: impl FnMut(&PreparedArticle, i64) -> i64,
    ) -> anyhow::Result<Counts> {
        let now_text = timestamp(now);
        let mut counts = Counts::default();
        // Changed articles and new stories, whose inbox rows are computed before commit (an
        // article joining a story updates that story's rows at once).
        let (mut changed, mut started) = (Vec::new(), Vec::new());
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for prepared in items {
            let item = &prepared.candidate;
            // One lookup for both identities: the same GUID in this source first, else the
            // same canonical URL anywhere.
            let existing: Option<(i64, String, String)> = sqlx::query_as(
                "SELECT id, title, summary_text FROM articles
                 WHERE (source_id = $1 AND guid = $2) OR canonical_url = $3
                 ORDER BY (source_id = $1 AND guid IS NOT NULL AND guid = $2) DESC, id LIMIT 1",
            )
            .bind(source_id)
            .bind(&item.guid)
            .bind(&item.canonical_url)
            .fetch_optional(&mut *tx)
            .await?;
            let published = item.published.map(timestamp);
            let territories = serde_json::to_string(&prepared.tagging.territories)?;
            let id = match existing {
                Some((id, title, summary)) => {
                    if title == item.title && summary == item.summary_text {
                        // An image that appears or changes alone is not news: kept quietly,
                        // without re-tagging or re-indexing.
                        sqlx::query(
                            "UPDATE articles SET image = $1 WHERE id = $2 AND image IS NOT $1",
                        )
                        .bind(&item.image)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        counts.unchanged += 1;
                        continue;
                    }
                    sqlx::query(
                        "UPDATE articles SET title = $1, summary_html = $2, summary_text = $3,
                         published = COALESCE($4, published), updated_at = $5, fingerprint = $6,
                         territories = $7, indexed_at = NULL, image = $9 WHERE id = $8",
                    )
                    .bind(&item.title)
                    .bind(&item.summary_html)
                    .bind(&item.summary_text)
                    .bind(&published)
                    .bind(&now_text)
                    .bind(&prepared.fingerprint)
                    .bind(&territories)
                    .bind(id)
                    .bind(&item.image)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("DELETE FROM tags WHERE article_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    counts.updated += 1;
                    changed.push(id);
                    id
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO articles (source_id, guid, canonical_url, url, title, summary_html,
                           summary_text, author, published, date_flag, first_seen, updated_at, language,
                           fingerprint, territories, image)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15) RETURNING id",
                    )
                    .bind(source_id)
                    .bind(&item.guid)
                    .bind(&item.canonical_url)
                    .bind(&item.url)
                    .bind(&item.title)
                    .bind(&item.summary_html)
                    .bind(&item.summary_text)
                    .bind(&item.author)
                    .bind(&published)
                    .bind(item.date_flag.map(|f| f.as_str()))
                    .bind(&now_text)
                    .bind(&item.language)
                    .bind(&prepared.fingerprint)
                    .bind(&territories)
                    .bind(&item.image)
                    .fetch_one(&mut *tx)
                    .await?;
                    // A NULL story means "its own story" (queries read COALESCE(story, id)).
                    let story = assign_story(prepared, id);
                    if story != id {
                        sqlx::query("UPDATE articles SET story = $1 WHERE id = $2")
                            .bind(story)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        let joined = (story, id, source_id);
                        inbox::article_joined(&mut tx, joined, &prepared.tagging).await?;
                    } else {
                        started.push(id);
                    }
                    counts.new += 1;
                    id
                }
            };
            insert_tags(&mut tx, id, &prepared.tagging).await?;
        }
        // After the joins: a story started in this batch is computed whole, with the
        // articles that joined it since.
        inbox::refresh(&mut tx, &started).await?;
        inbox::refresh_articles(&mut tx, &changed).await?;
        sqlx::query(
            "UPDATE sources SET etag = $1, last_modified = $2, last_status = $3, last_fetch = $4,
             last_success = $4, consecutive_errors = 0, last_error = NULL, next_fetch = NULL WHERE id = $5",
        )
        .bind(&validators.etag)
        .bind(&validators.last_modified)
        .bind(validators.status as i64)
        .bind(&now_text)
        .bind(source_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// A 304: the source is healthy and nothing changed.
    pub(crate) async fn record_not_modified(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sources SET last_status = 304, last_fetch = $1, last_success = $1,
             consecutive_errors = 0, last_error = NULL, next_fetch = NULL WHERE id = $2",
        )
        .bind(timestamp(now))
        .bind(source_id)
        .execute(&self.pool)
        .await?;
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
        sqlx::query(
            "UPDATE sources SET last_status = $1, last_fetch = $2, last_error = $3, next_fetch = $4,
             consecutive_errors = consecutive_errors + 1 WHERE id = $5",
        )
        .bind(status.map(i64::from))
        .bind(timestamp(now))
        .bind(error)
        .bind(timestamp(next_fetch))
        .bind(source_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every known source with its health, in name order.
    pub(crate) async fn source_health(&self) -> anyhow::Result<Vec<SourceHealth>> {
        let rows: Vec<SourceHealthRow> = sqlx::query_as(
            "SELECT s.name, s.url, s.kind, s.dossiers, s.enabled, s.last_fetch, s.last_success,
                    s.last_status, s.consecutive_errors, s.last_error, s.next_fetch,
                    (SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id) AS items
             FROM sources s ORDER BY s.name",
        )
        .fetch_all(&self.pool)
        .await?;
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
