//! The store's two backends: the throwaway PostgreSQL of the tests starts and goes away (also
//! after a panic); both schemas, migrated for real (an SQLite file, a PostgreSQL database),
//! have the same migration numbers, tables, columns, keys, indexes and triggers; the same
//! SQL and the same Rust row types run on both, sent editions stay immutable on both; and
//! until the store's queries run on PostgreSQL, a PostgreSQL URL is refused in French.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpStream;

use support::Workspace;
use support::postgres::{self, Postgres};

/// One column as both engines describe it.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    /// `INTEGER`, `REAL` or `TEXT` (SQLite's declared type; PostgreSQL's mapped back).
    kind: String,
    not_null: bool,
    primary_key: bool,
}

/// What a schema is made of, compared between the engines.
#[derive(Debug, PartialEq, Eq)]
struct Schema {
    migrations: Vec<i64>,
    tables: BTreeMap<String, Vec<Column>>,
    indexes: BTreeSet<String>,
    triggers: BTreeSet<String>,
}

async fn sqlite_schema(pool: &sqlx::SqlitePool) -> Schema {
    let migrations: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap();
    let names = |kind: &'static str| {
        sqlx::query_scalar::<_, String>(
            "SELECT name FROM sqlite_master WHERE type = $1 AND sql IS NOT NULL
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .bind(kind)
        .fetch_all(pool)
    };
    let mut tables = BTreeMap::new();
    for table in names("table").await.unwrap() {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        let columns = rows
            .into_iter()
            .map(|(name, kind, not_null, pk)| Column {
                name,
                kind,
                // An INTEGER PRIMARY KEY is the rowid: never NULL, whatever pragma says.
                not_null: not_null == 1 || pk > 0,
                primary_key: pk > 0,
            })
            .collect();
        tables.insert(table, columns);
    }
    Schema {
        migrations,
        tables,
        indexes: names("index").await.unwrap().into_iter().collect(),
        triggers: names("trigger").await.unwrap().into_iter().collect(),
    }
}

/// PostgreSQL's type name as the SQLite declared type it stands for.
fn sqlite_kind(postgres: &str) -> String {
    match postgres {
        "bigint" | "boolean" => "INTEGER",
        "double precision" => "REAL",
        "text" => "TEXT",
        other => panic!("type PostgreSQL inattendu : {other}"),
    }
    .to_string()
}

async fn postgres_schema(pool: &sqlx::PgPool) -> Schema {
    let migrations: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .unwrap();
    let table_names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for table in table_names {
        let rows: Vec<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT c.column_name::text, c.data_type::text, c.is_nullable = 'NO',
                    EXISTS (SELECT 1 FROM information_schema.table_constraints k
                            JOIN information_schema.key_column_usage u
                              ON u.constraint_name = k.constraint_name
                             AND u.table_name = k.table_name
                            WHERE k.table_schema = 'public' AND k.table_name = c.table_name
                              AND k.constraint_type = 'PRIMARY KEY'
                              AND u.column_name = c.column_name)
             FROM information_schema.columns c
             WHERE c.table_schema = 'public' AND c.table_name = $1
             ORDER BY c.ordinal_position",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        let columns = rows
            .into_iter()
            .map(|(name, kind, not_null, primary_key)| Column {
                name,
                kind: sqlite_kind(&kind),
                not_null,
                primary_key,
            })
            .collect();
        tables.insert(table, columns);
    }
    // Indexes that back a key or a UNIQUE constraint are SQLite's "autoindexes": not named in
    // the migrations, so not compared by name (the constraints are, through the columns).
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'
         AND indexname NOT IN (SELECT conname FROM pg_constraint)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let triggers: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT trigger_name::text FROM information_schema.triggers
         WHERE trigger_schema = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    Schema {
        migrations,
        tables,
        indexes: indexes.into_iter().collect(),
        triggers: triggers.into_iter().collect(),
    }
}

/// An SQLite store in a temporary archive and a PostgreSQL database, both migrated by veille.
async fn both_backends(
    pg: &Postgres,
    name: &str,
) -> (tempfile::TempDir, sqlx::SqlitePool, sqlx::PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let store = veille::store::Store::open(dir.path()).await.unwrap();
    let url = pg.create_database(name);
    let postgres = veille::store::postgres::open(&url).await.unwrap();
    let sqlite = store
        .sqlite_pool()
        .expect("Store::open on a directory opens SQLite")
        .clone();
    (dir, sqlite, postgres)
}

#[tokio::test]
async fn both_schemas_have_the_same_migrations_tables_columns_indexes_and_triggers() {
    let pg = Postgres::start();
    let (_dir, sqlite, postgres) = both_backends(&pg, "schema").await;
    let lite = sqlite_schema(&sqlite).await;
    let pg_schema = postgres_schema(&postgres).await;
    // Numbered and named alike, and every one of them applied.
    let steps = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    let sqlite_steps = steps(&veille::store::SQLITE_MIGRATIONS);
    assert_eq!(sqlite_steps, steps(&veille::store::postgres::MIGRATIONS));
    let numbers: Vec<i64> = sqlite_steps.iter().map(|(v, _)| *v).collect();
    assert_eq!(lite.migrations, numbers);
    assert_eq!(lite.migrations, pg_schema.migrations);
    assert_eq!(
        lite.tables.keys().collect::<Vec<_>>(),
        pg_schema.tables.keys().collect::<Vec<_>>()
    );
    for (table, columns) in &lite.tables {
        assert_eq!(columns, &pg_schema.tables[table], "table {table}");
    }
    assert_eq!(lite.indexes, pg_schema.indexes);
    assert_eq!(lite.triggers, pg_schema.triggers);
    assert!(
        lite.triggers.contains("editions_sent_immutable"),
        "{:?}",
        lite.triggers
    );
    // Opening again finds the schema up to date on both.
    veille::store::postgres::open(&pg.database_url("schema"))
        .await
        .unwrap();
}

/// Runs the same SQL on either pool and returns what the same Rust types decoded, then the
/// errors the sent-edition triggers gave.
macro_rules! same_sql {
    ($pool:expr) => {{
        let pool = $pool;
        let source: i64 = sqlx::query_scalar(
            "INSERT INTO sources (name, kind, url, enabled) VALUES ($1, 'rss', $2, $3) RETURNING id",
        )
        .bind("Le Monde")
        .bind("http://127.0.0.1:9/flux.xml")
        .bind(true)
        .fetch_one(pool)
        .await
        .unwrap();
        let article: i64 = sqlx::query_scalar(
            "INSERT INTO articles (source_id, guid, canonical_url, url, title, first_seen, updated_at)
             VALUES ($1, 'g1', 'http://a/1', 'http://a/1', 'Titre <b>', $2, $2) RETURNING id",
        )
        .bind(source)
        .bind("2026-12-06T10:00:00Z")
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO tags (article_id, dossier, score) VALUES ($1, 'pauvrete', $2)")
            .bind(article)
            .bind(0.75_f64)
            .execute(pool)
            .await
            .unwrap();
        // A second identical tag is ignored the portable way.
        let ignored = sqlx::query(
            "INSERT INTO tags (article_id, dossier, score) VALUES ($1, 'pauvrete', 1.0)
             ON CONFLICT DO NOTHING",
        )
        .bind(article)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected();
        let row: (i64, String, bool, Option<i64>, i64, f64, i64) = sqlx::query_as(
            "SELECT s.id, a.title, s.enabled, s.last_status, s.consecutive_errors, t.score,
                    (SELECT COUNT(*) FROM articles) AS n
             FROM sources s JOIN articles a ON a.source_id = s.id
             JOIN tags t ON t.article_id = a.id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let edition: i64 = sqlx::query_scalar(
            "INSERT INTO editions (kind, number, period_start, period_end, created_at, updated_at)
             VALUES ('flash-info', 1, 'a', 'b', 'c', 'c') RETURNING id",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO edition_items (edition_id, story, section, position) VALUES ($1, $2, '', 1)")
            .bind(edition)
            .bind(article)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE editions SET status = 'sent' WHERE id = $1")
            .bind(edition)
            .execute(pool)
            .await
            .unwrap();
        let mut refused = Vec::new();
        for sql in [
            "UPDATE editions SET updated_at = 'd' WHERE id = $1",
            "DELETE FROM editions WHERE id = $1",
            "INSERT INTO edition_items (edition_id, story, section, position) VALUES ($1, 99, '', 2)",
            "UPDATE edition_items SET title = 'autre' WHERE edition_id = $1",
            "DELETE FROM edition_items WHERE edition_id = $1",
            "INSERT INTO edition_blocks (edition_id, kind, position, body) VALUES ($1, 'intro', 1, 'x')",
        ] {
            let error = sqlx::query(sql).bind(edition).execute(pool).await.unwrap_err();
            refused.push(error.to_string().contains("édition envoyée : elle ne peut plus être modifiée"));
        }
        let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM edition_items")
            .fetch_one(pool)
            .await
            .unwrap();
        (row, ignored, refused, items)
    }};
}

#[tokio::test]
async fn the_same_sql_and_row_types_run_on_both_and_sent_editions_stay_immutable() {
    let pg = Postgres::start();
    let (_dir, sqlite, postgres) = both_backends(&pg, "rows").await;
    let lite = same_sql!(&sqlite);
    let pg_result = same_sql!(&postgres);
    assert_eq!(lite, pg_result);
    let (row, ignored, refused, items) = lite;
    assert_eq!(row, (1, "Titre <b>".to_string(), true, None, 0, 0.75, 1));
    assert_eq!(ignored, 0);
    assert_eq!(
        refused,
        vec![true; 6],
        "chaque modification refusée par les déclencheurs"
    );
    assert_eq!(items, 1, "rien de perdu");
}

#[test]
fn the_throwaway_server_stops_and_goes_away_even_after_a_panic() {
    let pg = Postgres::start();
    let (port, dir) = (pg.port(), pg.dir().to_path_buf());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(pg);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "serveur arrêté"
    );
    assert!(!dir.exists(), "dossier supprimé");

    let (send, receive) = std::sync::mpsc::channel();
    let panicked = std::thread::spawn(move || {
        let pg = Postgres::start();
        send.send((pg.port(), pg.dir().to_path_buf())).unwrap();
        panic!("échec voulu d'un test");
    })
    .join();
    assert!(panicked.is_err());
    let (port, dir) = receive.recv().unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "serveur arrêté"
    );
    assert!(!dir.exists(), "dossier supprimé");
}

#[test]
fn missing_postgresql_fails_naming_the_package() {
    let failure = std::panic::catch_unwind(|| postgres::require(None)).unwrap_err();
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("installez le paquet Debian postgresql"),
        "{message}"
    );
}

#[test]
fn an_unreachable_postgres_is_said_in_french_at_once_without_its_password() {
    // A port nobody listens on: refused at once, not after the pool's 30 s of retries.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let ws = Workspace::new(
        "",
        &format!("[store]\nurl = \"postgres://veille:secret@127.0.0.1:{port}/veille\"\n"),
    );
    // The URL of the configuration is the one under test: in the PostgreSQL pass of the
    // tests, the workspace's own database (VEILLE_DATABASE_URL) would take precedence.
    let out = ws
        .command(&["sources"])
        .env_remove("VEILLE_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("impossible de se connecter à la base PostgreSQL"),
        "{stderr}"
    );
    assert!(stderr.contains("connexion refusée"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "mot de passe affiché : {stderr}"
    );

    let ws = Workspace::new("", "");
    let out = ws
        .command(&["sources"])
        .env(
            "VEILLE_DATABASE_URL",
            format!("postgres://veille@127.0.0.1:{port}/veille"),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("connexion refusée"), "{stderr}");
    assert!(
        !ws.archive().join("veille.sqlite").exists(),
        "aucune base créée"
    );

    let out = ws
        .command(&["sources"])
        .env("VEILLE_DATABASE_URL", "mysql://h/db")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inconnu « mysql »"), "{stderr}");
}

/// Runs `veille sources` on `ws`: (success, stderr).
fn sources(ws: &Workspace) -> (bool, String) {
    let out = ws.run(&["sources"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A database whose migrations this binary does not recognise (one recorded with another
/// checksum, one it does not know at all) is refused with a French message naming the
/// migration and what to do, on whichever backend the tests run; nothing of sqlx's English.
#[tokio::test]
async fn a_migration_this_veille_does_not_recognise_is_said_in_french() {
    let ws = Workspace::new("", "");
    let (ok, stderr) = sources(&ws);
    assert!(ok, "{stderr}");
    let db = ws.db().await;
    let changed = crate::on_db!(db, pool => sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 19")
        .bind(vec![0u8; 48])
        .execute(pool)
        .await
        .unwrap()
        .rows_affected());
    assert_eq!(changed, 1);
    let (ok, stderr) = sources(&ws);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("mise à jour du schéma de la base")
            && stderr.contains("la migration 19 enregistrée dans la base n'est pas celle de cette version de veille")
            && stderr.contains("restaurez une sauvegarde"),
        "{stderr}"
    );
    assert!(!stderr.contains("previously applied"), "{stderr}");

    // Put back, and a migration of a newer veille recorded: named, with what to do.
    let checksum = veille::store::SQLITE_MIGRATIONS
        .iter()
        .find(|m| m.version == 19)
        .map(|m| m.checksum.to_vec())
        .unwrap();
    let postgres_checksum = veille::store::postgres::MIGRATIONS
        .iter()
        .find(|m| m.version == 19)
        .map(|m| m.checksum.to_vec())
        .unwrap();
    crate::on_db!(db, pool => {
        let checksum = match db {
            support::Db::Sqlite(_) => &checksum,
            support::Db::Postgres(_) => &postgres_checksum,
        };
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 19")
            .bind(checksum)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'future', $1, $2, 0)",
        )
        .bind(true)
        .bind(vec![0u8; 48])
        .execute(pool)
        .await
        .unwrap()
        .rows_affected()
    });
    let (ok, stderr) = sources(&ws);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "la base a déjà reçu la migration 9999, que cette version de veille ne connaît pas"
        ) && stderr.contains("veille plus récent"),
        "{stderr}"
    );
    assert!(!stderr.contains("previously applied"), "{stderr}");
}
