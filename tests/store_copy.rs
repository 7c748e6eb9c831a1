//! `veille store copy` end to end: a real archive built through the binary (fetched from the
//! local HTTP server, decisions, a Flash Info sent to aiosmtpd with counted links, a bounce
//! read from a Maildir, a forgotten subscriber) goes into a throwaway PostgreSQL and back to a
//! fresh SQLite file, with counts and checksums equal at each step and the final file equal
//! to the original row for row; a non-empty target is refused and left unchanged; a NUL in a
//! text, which PostgreSQL cannot hold, stops the copy naming its row, nothing written.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::str::FromStr;

use sqlx::Connection;
use support::postgres::Postgres;
use support::server::{Route, TestServer};
use support::smtp::Sink;
use support::{Workspace, feed_source};

/// A title with quotes, markup, an apostrophe and an emoji, as a feed carries it.
const HOSTILE_TITLE: &str =
    "Le « pacte » &quot;solidarités&quot; &lt;script&gt;alert(1)&lt;/script&gt; l'été 🎉";
/// A block with CR/LF, quotes, markup and an emoji, given on the command line.
const HOSTILE_BLOCK: &str =
    "Ligne 1\r\nLigne « 2 » \"guillemets\" 'simples'\r\n<script>alert(1)</script> 🎉";

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

fn feed(server: &TestServer) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    let titles = [
        "Le gouvernement présente le nouveau pacte des solidarités",
        "Toulouse : l'aide alimentaire face à une hausse des demandes",
        HOSTILE_TITLE,
    ];
    for (i, title) in titles.iter().enumerate() {
        let date = (chrono::Utc::now() - chrono::Duration::hours(3 + i as i64)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><description>Résumé {i} de la pauvreté à Toulouse.</description>\
             <pubDate>{date}</pubDate></item>",
            server.url(&format!("/a/{i}.html"))
        ));
    }
    xml + "</channel></rss>"
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "échec ({}) :\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An archive with rows in every table: what the binary writes, then the few tables only the
/// daemon fills (job runs, alerts, reminders, "suite de" links, "to check" bands, polling
/// leases) given a row
/// each directly, so that no table goes through the copy empty.
fn filled_archive(sink: &Sink, server: &TestServer) -> Workspace {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             bounce_address = \"retours@ressources.example\"\nper_second = 500\ncount_clicks = true\n\n\
             [bounces]\nmaildir = \"MAILDIR\"\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n{}",
            templates.display(),
            sink.url(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    );
    let maildir = ws.dir.path().join("retours");
    let config = std::fs::read_to_string(ws.config()).unwrap();
    let config = config
        .replace("MAILDIR", maildir.to_str().unwrap())
        .replace(
            "panorama = true\n",
            "panorama = true\nrules = '''pauvreté solidarités'''\n",
        );
    std::fs::write(ws.config(), config).unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    ws.fetch(&[]);
    let stories: Vec<String> = ws
        .articles()
        .iter()
        .map(|a| a["story"].as_i64().unwrap().to_string())
        .collect();
    assert_eq!(stories.len(), 3, "trois histoires");
    ws.json(&["edition", "new", "flash-info", "--json"]);
    for story in &stories {
        ws.json(&["decide", story, "keep", "--dossier", "pauvrete", "--json"]);
        ws.json(&["edition", "add", "flash-info/1", story, "--json"]);
    }
    ws.json(&["decide", &stories[0], "star", "--json"]);
    ok(&ws.run(&[
        "edition",
        "block",
        "flash-info/1",
        "intro",
        "--text",
        HOSTILE_BLOCK,
    ]));
    ok(&ws.run(&["edition", "ready", "flash-info/1"]));
    ws.import_subscribers(
        "Nom;Courriel\nHélène \"Léna\" <b>;helene@exemple.fr\nPaul;paul@exemple.fr\nZoé;zoe@exemple.fr\n",
    );
    let sent = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 3, "{sent:#}");
    bounce_one(&ws, sink, &maildir);
    ok(&ws.run(&["subscribers", "forget", "zoe@exemple.fr"]));
    ws.json(&["edition", "new", "flash-info", "--json"]);
    block(daemon_rows(&ws.archive().join("veille.sqlite")));
    ws
}

/// A hard bounce of Paul's message, addressed to its VERP sender, read from the Maildir.
fn bounce_one(ws: &Workspace, sink: &Sink, maildir: &Path) {
    let start = std::time::Instant::now();
    while sink.messages().len() < 3 {
        assert!(start.elapsed().as_secs() < 20, "messages jamais arrivés");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let verp = sink
        .messages()
        .into_iter()
        .find(|(meta, _)| meta["rcpt_tos"][0] == "paul@exemple.fr")
        .map(|(meta, _)| meta["mail_from"].as_str().unwrap().to_string())
        .expect("message de Paul");
    let dsn = format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.exemple.fr\r\nTo: {verp}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-Id: <dsn-1@mx.exemple.fr>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\n<paul@exemple.fr>: User unknown\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exemple.fr\r\n\r\n\
         Final-Recipient: rfc822; paul@exemple.fr\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n--B--\r\n"
    );
    std::fs::write(maildir.join("new/1.eml"), dsn).unwrap();
    let report = ws.json(&["bounces", "fetch", "--json"]);
    assert_eq!(report["messages"], 1, "{report:#}");
}

async fn sqlite(path: &Path) -> sqlx::SqliteConnection {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite:")
        .unwrap()
        .filename(path);
    sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap()
}

/// Rows the daemon alone writes; plain SQL, as the daemon's own statements would leave them.
async fn daemon_rows(path: &Path) {
    let mut c = sqlite(path).await;
    for sql in [
        "INSERT INTO jobs (name, last_slot, last_run, last_status, last_duration_ms, runs, failures) \
         VALUES ('poll', '2026-12-06T06:00:00Z', '2026-12-06T06:00:02Z', 'ok', 1500, 3, 0) ON CONFLICT DO NOTHING",
        "INSERT INTO source_stats (source_id, fetches, errors, new_articles) VALUES (1, 3, 1, 3) \
         ON CONFLICT DO NOTHING",
        "INSERT INTO source_alerts (source_id, state, since, detail) \
         VALUES (1, 'erring', '2026-12-06T06:00:00Z', 'délai dépassé « 30 s »') ON CONFLICT DO NOTHING",
        "INSERT INTO edition_reminders (edition_id, created_at) \
         SELECT MAX(id), '2026-12-06T06:00:00Z' FROM editions WHERE true ON CONFLICT DO NOTHING",
        "INSERT INTO story_links (story, previous, similarity) \
         SELECT MAX(id), MIN(id), 0.4375 FROM articles WHERE true ON CONFLICT DO NOTHING",
        "INSERT INTO to_check (story, dossier, probability, why) \
         SELECT MIN(id), 'securite', 0.1 + 0.2, '[\"délinquance\"]' FROM articles WHERE true ON CONFLICT DO NOTHING",
        "INSERT INTO source_leases (url, slot, holder, expires, done) VALUES ('https://exemple.fr/flux.xml', \
         '2026-12-06T06:00:00Z', 'serveur:42:1765000000000', '2026-12-06T06:00:16Z', 1) ON CONFLICT DO NOTHING",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();
}

async fn table_names(c: &mut sqlx::SqliteConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(c)
    .await
    .unwrap()
}

/// Every row of every table as SQLite's `quote()` writes it, sorted: the copy's own checksum
/// code plays no part in this comparison.
async fn dump(path: &Path) -> BTreeMap<String, Vec<String>> {
    let mut c = sqlite(path).await;
    let mut tables = BTreeMap::new();
    for table in table_names(&mut c).await {
        let columns: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut c)
                .await
                .unwrap();
        let row = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let sql = format!("SELECT {row} FROM \"{table}\" ORDER BY 1");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut c)
            .await
            .unwrap();
        tables.insert(table, rows);
    }
    c.close().await.unwrap();
    tables
}

/// Row counts of every table of a PostgreSQL database.
async fn postgres_counts(url: &str) -> BTreeMap<String, i64> {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut counts = BTreeMap::new();
    for name in names {
        let sql = format!("SELECT COUNT(*) FROM \"{name}\"");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut c)
            .await
            .unwrap();
        counts.insert(name, n);
    }
    c.close().await.unwrap();
    counts
}

/// `store copy --to TARGET --json` (from `VEILLE_DATABASE_URL` when given): its document.
fn copy(ws: &Workspace, from: Option<&str>, to: &str) -> serde_json::Value {
    let out = copy_output(ws, from, to, true);
    serde_json::from_str(&ok(&out)).expect("JSON")
}

fn copy_output(ws: &Workspace, from: Option<&str>, to: &str, json: bool) -> Output {
    let mut args = vec!["store", "copy", "--to", to];
    if json {
        args.push("--json");
    }
    let mut command = ws.command(&args);
    if let Some(url) = from {
        command.env("VEILLE_DATABASE_URL", url);
    }
    command.output().unwrap()
}

/// table → (rows, sha256) of a copy's report.
fn sums(report: &serde_json::Value) -> BTreeMap<String, (i64, String)> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let sum = (
                t["rows"].as_i64().unwrap(),
                t["sha256"].as_str().unwrap().to_string(),
            );
            (t["table"].as_str().unwrap().to_string(), sum)
        })
        .collect()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[test]
fn an_archive_goes_to_postgresql_and_back_with_nothing_lost() {
    let pg = Postgres::start();
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let ws = filled_archive(&sink, &server);
    let original = ws.archive().join("veille.sqlite");
    let before = block(dump(&original));
    for (table, rows) in &before {
        assert!(
            !rows.is_empty(),
            "table {table} vide : la copie ne serait pas éprouvée"
        );
    }

    let url = pg.create_database("centre");
    let there = copy(&ws, None, &url);
    let there_sums = sums(&there);
    // Every table of the schema is in the report, with the original's row counts.
    assert_eq!(
        there_sums.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "tables copiées"
    );
    for (table, rows) in &before {
        assert_eq!(there_sums[table].0, rows.len() as i64, "table {table}");
    }
    let counts = block(postgres_counts(&url));
    assert_eq!(
        counts,
        there_sums
            .iter()
            .map(|(t, (n, _))| (t.clone(), *n))
            .collect(),
        "lignes dans PostgreSQL"
    );
    block(check_postgres(&url));

    // A second copy into the same, now filled, database: refused, nothing changed.
    let again = copy_output(&ws, None, &url, false);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("n'est pas vide"), "{stderr}");
    assert!(stderr.contains("rien n'a été écrit"), "{stderr}");
    assert_eq!(block(postgres_counts(&url)), counts, "rien de changé");

    // And back, as a centre leaving the network: from VEILLE_DATABASE_URL to a new file.
    let back_dir = ws.dir.path().join("retour");
    let back = back_dir.join("veille.sqlite");
    let text = ok(&copy_output(&ws, Some(&url), &sqlite_url(&back), false));
    assert!(text.contains("somme de contrôle"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("reconstruisez-le avec `veille reindex`."),
        "{text}"
    );
    let home = copy(&ws, Some(&url), &sqlite_url(&back_dir.join("bis.sqlite")));
    assert_eq!(sums(&home), there_sums, "mêmes sommes depuis PostgreSQL");
    assert_eq!(
        block(dump(&back)),
        before,
        "la base revenue est l'originale, ligne à ligne"
    );
    block(check_sqlite_copy(&back));

    // The copy is a working archive: the same articles, the sent edition whole.
    let moved = Workspace::new("", "");
    std::fs::copy(ws.config(), moved.config()).unwrap();
    std::fs::create_dir_all(moved.archive()).unwrap();
    std::fs::rename(&back, moved.archive().join("veille.sqlite")).unwrap();
    assert_eq!(moved.articles(), ws.articles());
    let shown = ok(&moved.run(&["edition", "show", "flash-info/1"]));
    assert!(shown.contains("envoyée"), "{shown}");
    assert!(shown.contains("[intro] Ligne 1"), "{shown}");
    assert!(
        shown.contains("Le « pacte » \"solidarités\" <script>alert(1)</script> l'été 🎉"),
        "{shown}"
    );

    // A filled SQLite file is refused as well.
    let refused = copy_output(
        &ws,
        None,
        &sqlite_url(&moved.archive().join("veille.sqlite")),
        false,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("n'est pas vide"));
}

/// In PostgreSQL: the sent edition kept its items and stays frozen, flags are booleans, the
/// hostile texts are intact and new rows get fresh ids.
async fn check_postgres(url: &str) {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let (status, items): (String, i64) = sqlx::query_as(
        "SELECT e.status, (SELECT COUNT(*) FROM edition_items i WHERE i.edition_id = e.id) \
         FROM editions e WHERE e.kind = 'flash-info' AND e.number = 1",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!((status.as_str(), items), ("sent", 3));
    let refused = sqlx::query("DELETE FROM edition_items")
        .execute(&mut c)
        .await;
    assert!(refused.unwrap_err().to_string().contains("édition envoyée"));
    let body: String = sqlx::query_scalar("SELECT body FROM edition_blocks")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(
        body, HOSTILE_BLOCK,
        "CR/LF, guillemets, balises et emoji intacts"
    );
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM sources")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(enabled);
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM articles ORDER BY id")
        .fetch_all(&mut c)
        .await
        .unwrap();
    assert!(
        titles.iter().any(|t| t.contains("🎉") && t.contains('"')),
        "{titles:?}"
    );
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sources (name, kind, url) VALUES ('Nouvelle', 'rss', 'http://n') RETURNING id",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(id, 2, "la séquence suit les lignes copiées");
    sqlx::query("DELETE FROM sources WHERE id = 2")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

/// In the SQLite copy: the triggers still freeze the sent edition.
async fn check_sqlite_copy(path: &Path) {
    let mut c = sqlite(path).await;
    let refused = sqlx::query("UPDATE editions SET updated_at = 'x' WHERE status = 'sent'")
        .execute(&mut c)
        .await;
    assert!(refused.unwrap_err().to_string().contains("édition envoyée"));
    c.close().await.unwrap();
}

/// A small fetched archive (no mail), and its database file.
fn fetched_archive(server: &TestServer) -> (Workspace, PathBuf) {
    let ws = Workspace::new("", &feed_source("Le Monde", &server.url("/feed.xml")));
    ws.fetch(&[]);
    let db = ws.archive().join("veille.sqlite");
    (ws, db)
}

#[test]
fn a_nul_in_a_text_stops_the_copy_naming_its_row_and_nothing_is_written() {
    let pg = Postgres::start();
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let (ws, db) = fetched_archive(&server);
    block(async {
        let mut c = sqlite(&db).await;
        sqlx::query("UPDATE articles SET title = $1 WHERE id = 2")
            .bind("avant\0après")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let url = pg.create_database("nul");
    let out = copy_output(&ws, None, &url, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("table articles, ligne id = 2, colonne title"),
        "{stderr}"
    );
    assert!(stderr.contains("caractère nul"), "{stderr}");
    let counts = block(postgres_counts(&url));
    assert!(
        counts.values().all(|n| *n == 0),
        "rien d'écrit : {counts:?}"
    );

    // SQLite holds it: a copy to SQLite keeps it, byte for byte.
    let lite = ws.dir.path().join("copie.sqlite");
    copy(&ws, None, &sqlite_url(&lite));
    assert_eq!(block(dump(&lite)), block(dump(&db)));

    // Corrected at the source, the copy goes through into the same, still empty, database.
    block(async {
        let mut c = sqlite(&db).await;
        sqlx::query("UPDATE articles SET title = 'avant après' WHERE id = 2")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let report = copy(&ws, None, &url);
    assert_eq!(sums(&report)["articles"].0, 3);
}

#[test]
fn every_table_is_copied_and_odd_sources_and_targets_are_refused_in_french() {
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let (ws, db) = fetched_archive(&server);
    // Every table of the schema is in the report, even empty ones.
    let target = ws.dir.path().join("copie/veille.sqlite");
    let report = copy(&ws, None, &sqlite_url(&target));
    let tables = block(async { table_names(&mut sqlite(&db).await).await });
    assert_eq!(sums(&report).keys().cloned().collect::<Vec<_>>(), tables);
    assert_eq!(report["search_index_copied"], false);

    // The archive onto itself, an unknown kind of target, no archive at all.
    let itself = copy_output(&ws, None, &sqlite_url(&db), false);
    assert!(String::from_utf8_lossy(&itself.stderr).contains("la même base"));
    let mysql = copy_output(&ws, None, "mysql://h/db", false);
    assert_eq!(mysql.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mysql.stderr).contains("inconnu « mysql »"));
    let empty = Workspace::new("", "");
    let none = copy_output(
        &empty,
        None,
        &sqlite_url(&ws.dir.path().join("x.sqlite")),
        false,
    );
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("aucune base à copier"));
    assert!(
        !ws.dir.path().join("x.sqlite").exists(),
        "aucun fichier créé"
    );

    // A source one migration behind: refused, naming what to run; nothing created.
    block(async {
        let mut c = sqlite(&db).await;
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let behind_target = ws.dir.path().join("retard.sqlite");
    let behind = copy_output(&ws, None, &sqlite_url(&behind_target), false);
    let stderr = String::from_utf8_lossy(&behind.stderr);
    assert_eq!(behind.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("mettez-la d'abord à jour"), "{stderr}");
    assert!(stderr.contains("veille sources"), "{stderr}");
    assert!(!behind_target.exists(), "aucun fichier créé");
}
