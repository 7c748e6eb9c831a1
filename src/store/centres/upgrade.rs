//! Migrations 0016 and 0021 on an SQLite archive that already holds mail: the tables they
//! rebuild keep every row, the rows that point at them still do, and sent editions stay
//! immutable.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::store::SQLITE_MIGRATIONS;

const BEFORE_CENTRED_MAIL: &str = "
INSERT INTO editions (id, kind, number, period_start, period_end, status, created_at, updated_at, sent_at)
VALUES (1, 'flash-info', 1, '2026-01-01', '2026-01-31', 'ready', 't', 't', 't'),
       (2, 'flash-info', 2, '2026-02-01', '2026-02-28', 'draft', 't', 't', NULL);
INSERT INTO subscribers (id, email, name, created_at, first_name) VALUES (7, 'a@example.org', 'A', 't', 'Hélène');
INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how, consent_source, updated_at)
VALUES (7, 'flash-info', 'active', 't', 'import', 'x.csv', 't');
INSERT INTO deliveries (edition_id, subscriber_id, email, state, message_id, updated_at)
VALUES (1, 7, 'a@example.org', 'sent', '<m@x>', 't');
INSERT INTO edition_reminders (edition_id, created_at) VALUES (2, 't');
INSERT INTO suppressions (hash, reason, at) VALUES ('abc', 'forgotten', 't');
INSERT INTO edition_links (kind, number, position, url, clicks) VALUES ('flash-info', 1, 1, 'https://x', 3);
INSERT INTO jobs (name, last_slot, runs) VALUES ('panorama', 's', 4);
";

// Items of a sent edition can only have been written before it was sent.
const ITEM: &str =
    "INSERT INTO edition_items (edition_id, story, section, position) VALUES (1, 5, 's', 1)";

/// An archive's `veille.sqlite`, on one connection with foreign keys on, as veille opens it.
async fn archive_pool(dir: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::from_str("sqlite:")
        .unwrap()
        .filename(dir.join("veille.sqlite"))
        .create_if_missing(true)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

#[tokio::test]
async fn migration_0016_keeps_every_row_and_link_of_an_sqlite_archive() {
    let dir = tempfile::tempdir().unwrap();
    let pool = archive_pool(dir.path()).await;
    SQLITE_MIGRATIONS.run_to(15, &pool).await.unwrap();
    sqlx::raw_sql(BEFORE_CENTRED_MAIL)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{ITEM};
         UPDATE editions SET status = 'sent' WHERE id = 1;"
    )))
    .execute(&pool)
    .await
    .unwrap();

    SQLITE_MIGRATIONS.run(&pool).await.unwrap();

    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM editions WHERE centre = ''").await,
        2
    );
    assert_eq!(count("SELECT COUNT(*) FROM edition_items").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM subscriptions").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM deliveries").await, 1);
    assert_eq!(count("SELECT COUNT(*) FROM edition_reminders").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM suppressions WHERE centre = ''").await,
        1
    );
    assert_eq!(count("SELECT clicks FROM edition_links").await, 3);
    assert_eq!(count("SELECT runs FROM jobs WHERE centre = ''").await, 4);
    let first_name: String =
        sqlx::query_scalar("SELECT first_name FROM subscribers WHERE centre = '' AND id = 7")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(first_name, "Hélène");
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(on, 1, "foreign keys are back on after the rebuild");

    // Still immutable once sent, items included; the owner may be set once, from ''.
    for refused in [
        "UPDATE editions SET number = 9 WHERE id = 1",
        "DELETE FROM editions WHERE id = 1",
        "DELETE FROM edition_items WHERE edition_id = 1",
        ITEM,
    ] {
        let error = sqlx::query(refused).execute(&pool).await.unwrap_err();
        assert!(
            error.to_string().contains("édition envoyée"),
            "{refused}: {error}"
        );
    }
    sqlx::query("UPDATE editions SET centre = 'rt' WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap();
    let error = sqlx::query("UPDATE editions SET centre = 'lc' WHERE id = 1")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("édition envoyée"), "{error}");
    // Deleting a subscriber still cascades to what follows it.
    sqlx::query("DELETE FROM subscribers WHERE id = 7")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM subscriptions").await, 0);
}

/// 0021 keys the mailbox's messages by (centre, message): an archive's messages and their
/// events are kept, a subscriber's erasure still takes their events, and another centre may
/// now record the same message.
#[tokio::test]
async fn migration_0021_keeps_the_bounce_messages_and_events_of_an_sqlite_archive() {
    let dir = tempfile::tempdir().unwrap();
    let pool = archive_pool(dir.path()).await;
    SQLITE_MIGRATIONS.run_to(19, &pool).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO subscribers (id, email, created_at) VALUES (7, 'a@example.org', 't');
         INSERT INTO bounce_messages (message_key, at, kind, outcome, centre)
         VALUES ('k1', 't', 'hard', 'applied', 'rt'), ('k2', 't', 'none', 'ignored', 'rt');
         INSERT INTO bounce_events (id, message_key, at, subscriber_id, kind, effect)
         VALUES (3, 'k1', 't', 7, 'hard', 'bounced');",
    )
    .execute(&pool)
    .await
    .unwrap();

    SQLITE_MIGRATIONS.run(&pool).await.unwrap();

    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT centre, message_key, outcome FROM bounce_messages ORDER BY message_key",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("rt".into(), "k1".into(), "applied".into()),
            ("rt".into(), "k2".into(), "ignored".into())
        ]
    );
    let event: (i64, String, i64) =
        sqlx::query_as("SELECT id, message_key, subscriber_id FROM bounce_events")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(event, (3, "k1".into(), 7));
    // Another centre records the same message; the same centre cannot twice.
    sqlx::query(
        "INSERT INTO bounce_messages (message_key, at, kind, outcome, centre)
         VALUES ('k1', 't', 'hard', 'applied', 'labo')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let again = sqlx::query(
        "INSERT INTO bounce_messages (message_key, at, kind, outcome, centre)
         VALUES ('k1', 't', 'hard', 'applied', 'rt')",
    )
    .execute(&pool)
    .await;
    assert!(again.is_err(), "(centre, message) is the key");
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    // Erasing the subscriber still takes its events.
    sqlx::query("DELETE FROM subscribers WHERE id = 7")
        .execute(&pool)
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bounce_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 0);
}
