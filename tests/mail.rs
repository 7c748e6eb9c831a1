//! End to end through the binary and a real SMTP server process (aiosmtpd on 127.0.0.1):
//! imports from Excel files, one DKIM-signed message per active subscriber, one-click
//! unsubscribe through `veille serve`, `kill -9` then resume, temporary and permanent
//! refusals, double opt-in on the web form, SpamAssassin's verdict.

#[path = "smtp/held_sink.rs"]
mod held_sink;
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::server::{Route, TestServer};
use support::smtp::{self, Sink};
use support::web::{self, Served};
use support::{Workspace, feed_source};

fn feed(server: &TestServer) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    let items = [
        (
            "Le gouvernement présente le nouveau pacte des solidarités",
            "Présenté jeudi à Matignon, le pacte vise à réduire la pauvreté.",
        ),
        (
            "Toulouse : l'aide alimentaire face à une hausse des demandes",
            "Les associations du Mirail constatent une forte hausse.",
        ),
    ];
    for (i, (title, summary)) in items.iter().enumerate() {
        let date = (Utc::now() - chrono::Duration::hours(3 + i as i64)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><description>{summary}</description><pubDate>{date}</pubDate></item>",
            server.url(&format!("/a/{i}.html"))
        ));
    }
    xml + "</channel></rss>"
}

struct Setup {
    _server: TestServer,
    ws: Workspace,
    port: u16,
    public_key: std::path::PathBuf,
}

/// A workspace whose mail goes to `sink`, with a fetched store and a ready Flash Info n° 1.
fn setup(sink: &Sink, mail_extra: &str) -> Setup {
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let port = web::free_port();
    let keys = tempfile::tempdir().unwrap().keep();
    let (private_key, public_key) = smtp::dkim_keys(&keys);
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"http://127.0.0.1:{port}\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             dkim_key = \"{}\"\ndkim_selector = \"veille\"\ndkim_domain = \"ressources.example\"\n\
             retry_secs = 1\n{mail_extra}\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n[lists.lettre-pauvrete]\ntitle = \"Lettre d'information Pauvreté\"\n\n{}",
            templates.display(),
            sink.url(),
            private_key.display(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    );
    ws.fetch(&[]);
    let stories: Vec<String> = ws
        .articles()
        .iter()
        .map(|a| a["story"].as_i64().unwrap().to_string())
        .collect();
    ws.ready_flash_info(&stories);
    Setup {
        _server: server,
        ws,
        port,
        public_key,
    }
}

fn write_csv_1252(path: &Path, lines: &[&str]) {
    let text = lines.join("\r\n") + "\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    std::fs::write(path, bytes).unwrap();
}

fn subscribers(ws: &Workspace) -> HashMap<String, serde_json::Value> {
    ws.json(&["subscribers", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["email"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

/// `veille subscribers import FILE --list flash-info --json`.
fn import(ws: &Workspace, file: &Path) -> serde_json::Value {
    ws.json(&[
        "subscribers",
        "import",
        file.to_str().unwrap(),
        "--list",
        "flash-info",
        "--json",
    ])
}

fn counts(recipients: &[String]) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for r in recipients {
        *map.entry(r.clone()).or_insert(0) += 1;
    }
    map
}

/// The recipients a send report calls uncertain.
fn uncertain_in(report: &serde_json::Value) -> Vec<String> {
    report["uncertain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// After a crash and a resumed send of `abonne0000`…: every recipient got exactly one copy,
/// except the uncertain ones, which got at most one; and the resumed send accounts for all.
fn each_once_and_the_uncertain_at_most_once(
    received: &HashMap<String, usize>,
    uncertain: &[String],
    total: usize,
    resumed: &serde_json::Value,
) {
    for i in 0..total {
        let address = format!("abonne{i:04}@exemple.fr");
        let n = received.get(&address).copied().unwrap_or(0);
        if uncertain.contains(&address) {
            assert!(n <= 1, "{address} reçu {n} fois");
        } else {
            assert_eq!(n, 1, "{address} reçu {n} fois");
        }
    }
    assert_eq!(
        resumed["sent"].as_i64().unwrap() + uncertain.len() as i64,
        total as i64,
        "{resumed:#}"
    );
}

/// One message of a send: MIME structure, RFC 2047 subject, the list headers, the
/// recipient's own unsubscribe link in both parts, DKIM relaxed/relaxed over the headers
/// RFC 8058 needs. Returns that link.
fn check_message(eml: &Path, public_key: &Path) -> String {
    let m = smtp::inspect(eml);
    let h = &m["headers"];
    assert_eq!(m["content_type"], "multipart/alternative", "{m:#}");
    assert_eq!(m["parts"], serde_json::json!(["text/plain", "text/html"]));
    assert_eq!(m["defects"], serde_json::json!([]));
    assert_eq!(
        h["subject"][0],
        "Flash Info n° 1 — novembre 2026".replace(
            "novembre 2026",
            &veille::publish::french::period_label(
                veille::publish::period_from(Utc::now().date_naive(), 1).0,
                veille::publish::period_from(Utc::now().date_naive(), 1).1,
            ),
        )
    );
    let raw_headers = m["raw_headers"].as_str().unwrap();
    let subject_line = raw_headers
        .lines()
        .find(|l| l.starts_with("Subject: "))
        .unwrap();
    assert!(
        subject_line.contains("=?utf-8?") && subject_line.is_ascii(),
        "sujet RFC 2047 : {subject_line}"
    );
    for name in [
        "from",
        "to",
        "date",
        "message-id",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "mime-version",
        "dkim-signature",
    ] {
        assert!(h[name].is_array(), "en-tête {name} absent : {m:#}");
    }
    assert_eq!(h["list-unsubscribe-post"][0], "List-Unsubscribe=One-Click");
    let list_unsubscribe = h["list-unsubscribe"][0].as_str().unwrap();
    assert!(
        list_unsubscribe.contains("mailto:lettre@ressources.example"),
        "{list_unsubscribe}"
    );
    let url = list_unsubscribe
        .split(['<', '>'])
        .find(|p| p.starts_with("http"))
        .unwrap()
        .to_string();
    // The recipient's own link is in both parts.
    assert!(
        m["html"].as_str().unwrap().contains(&url),
        "lien personnel dans le HTML"
    );
    assert!(
        m["text"].as_str().unwrap().contains(&url),
        "lien personnel dans le texte"
    );
    assert!(!m["html"].as_str().unwrap().contains("JETON-DESABONNEMENT"));
    let dkim = smtp::dkim_verify(eml, public_key);
    assert_eq!(dkim["ok"], true, "DKIM : {dkim:#}");
    assert_eq!(dkim["canonicalization"], "relaxed/relaxed");
    let signed: Vec<String> = dkim["signed_headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_lowercase())
        .collect();
    for name in [
        "from",
        "subject",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(
            signed.contains(&name.to_string()),
            "{name} non signé : {signed:?}"
        );
    }
    url
}

/// Excel CSV: Windows-1252, `;`, a header, an invalid address, a duplicate, a CR/LF name.
/// Then an XLSX written by openpyxl. Returns the CSV, imported again later.
fn import_excel_files(ws: &Workspace) -> PathBuf {
    let csv = ws.dir.path().join("contacts.csv");
    write_csv_1252(
        &csv,
        &[
            "Nom;Courriel;Structure",
            "Hélène Durand;helene.durand@exemple.fr;Mairie de Tarbes",
            "Paul Martin;PAUL.MARTIN@exemple.fr;CCAS",
            "Zoé;pas-une-adresse;Centre social",
            "Paul bis;paul.martin@exemple.fr;doublon",
            "Éric;eric@exemple.fr;\"Association; Albi\"",
        ],
    );
    let report = import(ws, &csv);
    assert_eq!(report["imported"], 3, "{report:#}");
    assert_eq!(report["duplicates"], serde_json::json!([5]), "{report:#}");
    assert_eq!(report["invalid"][0]["line"], 4, "{report:#}");
    // XLSX written by openpyxl (as Excel would).
    let xlsx = ws.dir.path().join("reseau.xlsx");
    let status = std::process::Command::new(smtp::python())
        .args(["-c", "import openpyxl,sys\nwb=openpyxl.Workbook();ws=wb.active\nws.append(['E-mail','Nom'])\nws.append(['anne@exemple.fr','Anne'])\nws.append(['bruno@exemple.fr','Bruno'])\nwb.save(sys.argv[1])"])
        .arg(&xlsx)
        .status()
        .unwrap();
    assert!(status.success(), "openpyxl (make deps)");
    let report = import(ws, &xlsx);
    assert_eq!(report["imported"], 2, "{report:#}");
    let all = subscribers(ws);
    assert_eq!(all.len(), 5);
    assert_eq!(all["helene.durand@exemple.fr"]["status"], "active");
    assert_eq!(all["helene.durand@exemple.fr"]["name"], "Hélène Durand");
    csv
}

/// One-click unsubscribe (RFC 8058) through the web server.
fn one_click_unsubscribes(served: &Served, ws: &Workspace, unsubscribe_url: &str) {
    let path = unsubscribe_url
        .strip_prefix(&served.base)
        .expect("lien vers veille serve");
    let page = served.get(path, &[]);
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("Me désinscrire"),
        "une page avec un bouton"
    );
    assert_eq!(
        subscribers(ws)["paul.martin@exemple.fr"]["status"],
        "active",
        "GET ne désinscrit pas"
    );
    // The page's button needs its CSRF token; one-click (RFC 8058) needs none.
    let button = web::post_raw(&served.addr, path, "");
    assert_eq!(button.status, 403, "{}", button.text());
    assert_eq!(
        subscribers(ws)["paul.martin@exemple.fr"]["status"],
        "active",
        "a refused button changes nothing"
    );
    let body = "List-Unsubscribe=One-Click";
    let one_click = web::request(
        &served.addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &body.len().to_string()),
        ],
        body,
    );
    assert_eq!(one_click.status, 200, "{}", one_click.text());
    assert_eq!(
        subscribers(ws)["paul.martin@exemple.fr"]["status"],
        "unsubscribed"
    );
    // The page's button, with the token of its form, answers the same (it is idempotent).
    let button = served.submit(path, path, "");
    assert_eq!(button.status, 200, "{}", button.text());
    assert!(button.text().contains("Désinscription faite"));
    let forged = web::request(
        &served.addr,
        "POST",
        &format!("{path}x"),
        &[("Content-Length", "0")],
        "",
    );
    assert_eq!(forged.status, 400);
}

#[test]
fn each_subscriber_gets_one_signed_message_and_one_click_unsubscribes() {
    // Pipelined, so that dkimpy checks the messages as veille's own transparency wrote them.
    let sink = Sink::start(&["--pipelining"]);
    let s = setup(&sink, "per_second = 500");
    let ws = &s.ws;

    let csv = import_excel_files(ws);

    // A rehearsal sends nothing; a test copy goes to one address only.
    let dry = ws.json(&["edition", "send", "flash-info/1", "--dry-run", "--json"]);
    assert_eq!(dry["built"], 5, "{dry:#}");
    assert!(sink.messages().is_empty());
    let test = ws.json(&[
        "edition",
        "send",
        "flash-info/1",
        "--test",
        "relecture@exemple.fr",
        "--json",
    ]);
    assert_eq!(test["sent"], 1, "{test:#}");
    let (_, eml) = &sink.messages()[0];
    let subject = &smtp::inspect(eml)["headers"]["subject"][0];
    assert!(
        subject
            .as_str()
            .unwrap()
            .starts_with("[TEST] Flash Info n° 1"),
        "{subject}"
    );
    std::fs::remove_dir_all(sink.dir.path()).ok();
    std::fs::create_dir_all(sink.dir.path()).unwrap();

    // The real send: one message each.
    let sent = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 5, "{sent:#}");
    assert_eq!(sent["failed"], serde_json::json!([]));
    let received = counts(&sink.recipients());
    assert_eq!(received.len(), 5);
    assert!(received.values().all(|&n| n == 1), "{received:?}");

    let mut unsubscribe_url = String::new();
    for (meta, eml) in sink.messages() {
        assert_eq!(meta["pipelined"], true, "{meta}");
        let url = check_message(&eml, &s.public_key);
        if meta["rcpt_tos"][0] == "paul.martin@exemple.fr" {
            unsubscribe_url = url;
        }
    }

    // SpamAssassin, offline, on a real Flash Info.
    let (_, eml) = &sink.messages()[0];
    let spam = smtp::spam_score(eml);
    println!(
        "SpamAssassin : {} points ; règles : {}",
        spam["score"], spam["rules"]
    );
    assert!(spam["score"].as_f64().unwrap() < 1.0, "{spam:#}");

    let served = Served::start(ws, s.port);
    one_click_unsubscribes(&served, ws, &unsubscribe_url);

    // The next edition skips that address; a re-import does not bring it back.
    let report = import(ws, &csv);
    assert_eq!(report["imported"], 0, "{report:#}");
    assert_eq!(
        report["suppressed"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    ws.json(&["edition", "new", "flash-info", "--json"]);
    let story = ws.articles()[0]["story"].as_i64().unwrap().to_string();
    ws.json(&["edition", "add", "flash-info/2", &story, "--json"]);
    assert_eq!(
        ws.run(&["edition", "send", "flash-info/2"]).status.code(),
        Some(2),
        "un brouillon ne part pas"
    );
    ws.run(&["edition", "ready", "flash-info/2"]);
    std::fs::remove_dir_all(sink.dir.path()).ok();
    std::fs::create_dir_all(sink.dir.path()).unwrap();
    let sent = ws.json(&["edition", "send", "flash-info/2", "--json"]);
    assert_eq!(sent["sent"], 4, "{sent:#}");
    assert!(
        !sink
            .recipients()
            .contains(&"paul.martin@exemple.fr".to_string())
    );

    // A sent edition is frozen; sending it again sends nothing more.
    let out = ws.run(&["edition", "add", "flash-info/2", &story]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("envoyée"));
    let again = ws.json(&["edition", "send", "flash-info/2", "--json"]);
    assert_eq!(again["queued"], 0);
    assert_eq!(sink.recipients().len(), 4);

    // Erasure: the address goes, its hash stays, an import cannot bring it back.
    ws.json(&["subscribers", "forget", "eric@exemple.fr", "--json"]);
    assert!(!subscribers(ws).contains_key("eric@exemple.fr"));
    let report = import(ws, &csv);
    assert_eq!(report["imported"], 0, "{report:#}");
    assert_eq!(
        report["suppressed"].as_array().unwrap().len(),
        2,
        "{report:#}"
    );
    let left = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE email LIKE '%eric@%')
                  + (SELECT COUNT(*) FROM subscribers WHERE email LIKE '%eric@%')",
        )
        .fetch_one(pool)
        .await
        .unwrap())
    });
    assert_eq!(left, 0, "l'adresse effacée reste dans la base");
    let export = String::from_utf8(ws.run(&["subscribers", "export"]).stdout).unwrap();
    assert!(!export.contains("eric@exemple.fr"), "{export}");
}

fn csv_of(n: usize) -> String {
    let mut text = String::from("email\n");
    for i in 0..n {
        text.push_str(&format!("abonne{i:04}@exemple.fr\n"));
    }
    text
}

#[test]
fn a_killed_send_resumes_without_sending_twice() {
    // A server announcing PIPELINING, as Postfix does: the path of a real send.
    let sink = Sink::start(&["--pipelining"]);
    let s = setup(&sink, "connections = 4\nper_second = 150");
    let ws = &s.ws;
    let csv = ws.dir.path().join("liste.csv");
    std::fs::write(&csv, csv_of(400)).unwrap();
    import(ws, &csv);

    let mut child = ws
        .command(&["edition", "send", "flash-info/1", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while sink.messages().len() < 100 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "l'envoi n'avance pas"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "l'envoi a fini avant d'être tué"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let before = sink.recipients().len();
    assert!((100..400).contains(&before), "{before}");
    assert!(sink.messages().iter().all(|(m, _)| m["pipelined"] == true));

    let resumed = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    let uncertain = uncertain_in(&resumed);
    println!("tués après {before} messages ; incertains : {uncertain:?}");
    assert!(
        uncertain.len() <= 4,
        "au plus un incertain par connexion : {uncertain:?}"
    );
    let received = counts(&sink.recipients());
    each_once_and_the_uncertain_at_most_once(&received, &uncertain, 400, &resumed);
}

#[test]
fn a_kill_while_the_final_dot_waits_for_the_ledger_delivers_nothing() {
    // With PIPELINING (pipeline.rs) and without (lettre's own exchange): the same hold.
    for pipelining in [true, false] {
        kill_while_the_dot_waits(pipelining);
    }
}

/// Holds the ledger (a write transaction of the test's own) during a send: every connection
/// transmits its next message but keeps the final dot until the ledger's commit is synced.
/// Killed then, veille has delivered none of them; the resumed send delivers each once.
fn kill_while_the_dot_waits(pipelining: bool) {
    let sink = held_sink::HeldSink::start(pipelining);
    // The send stands still at 20 messages until the ledger is held: on a fast machine it
    // could otherwise end before the test's transaction begins.
    sink.pause_after(20);
    let (_server, ws) =
        support::mail_workspace(&sink.url(), "connections = 4\nper_second = 1000", "");
    ws.ready_to_send(&csv_of(200));
    let mut child = ws
        .command(&["edition", "send", "flash-info/1", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, done: &dyn Fn(&held_sink::Seen) -> bool| {
        let start = Instant::now();
        while !sink.seen(done) {
            assert!(start.elapsed() < Duration::from_secs(60), "{what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for("l'envoi n'avance pas", &|s| s.delivered.len() >= 20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The pool's connections are dropped in the runtime, even when an assertion fails.
    let _entered = runtime.enter();
    let db = runtime.block_on(ws.db());
    let hold = runtime.block_on(hold_the_ledger(&db));
    sink.resume();
    // The commit under way when the lock was taken lets its dots go: then all four wait.
    let mut delivered = usize::MAX;
    let start = Instant::now();
    while sink.seen(|s| (s.delivered.len(), s.open)) != (delivered, 4) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "les connexions n'attendent pas le registre"
        );
        delivered = sink.seen(|s| s.delivered.len());
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sink.seen(|s| (s.delivered.len(), s.open)),
        (delivered, 4),
        "un message est parti sans que le registre le sache"
    );
    // SIGKILL: the four transactions end without their dot.
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for("transactions non closes", &|s| s.dropped.len() == 4);
    runtime.block_on(release_the_ledger(&db, hold));
    let dropped = sink.seen(|s| s.dropped.clone());
    assert_eq!(sink.seen(|s| s.delivered.len()), delivered);

    let resumed = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    let uncertain = uncertain_in(&resumed);
    assert!(uncertain.len() <= 4, "{uncertain:?}");
    let received = counts(&sink.seen(|s| s.delivered.clone()));
    for address in &dropped {
        assert!(!uncertain.contains(address), "{address} : jamais livré");
        assert_eq!(received.get(address), Some(&1), "{address}");
    }
    each_once_and_the_uncertain_at_most_once(&received, &uncertain, 200, &resumed);
}

/// A write transaction on the deliveries, open until `release_the_ledger`: veille's next
/// ledger commit waits for it (SQLite: the write lock; PostgreSQL: a table lock that lets
/// reads through, as SQLite's WAL does).
async fn hold_the_ledger(db: &support::Db) -> Held {
    match db {
        support::Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
            Held::Sqlite(conn)
        }
        support::Db::Postgres(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
            sqlx::query("LOCK TABLE deliveries IN EXCLUSIVE MODE")
                .execute(&mut *conn)
                .await
                .unwrap();
            Held::Postgres(conn)
        }
    }
}

enum Held {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

async fn release_the_ledger(_db: &support::Db, held: Held) {
    match held {
        Held::Sqlite(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
        }
        Held::Postgres(mut conn) => {
            sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
        }
    }
}

#[test]
fn temporary_refusals_are_retried_and_a_permanent_one_fails_alone() {
    // Once one command per round trip, once MAIL, RCPT and DATA together (RFC 2920): the
    // replies must be read and classified alike.
    for pipelining in [false, true] {
        refusals_are_classified(pipelining);
    }
}

fn refusals_are_classified(pipelining: bool) {
    let mut args = vec!["--tempfail-first", "6", "--reject", "inconnu@exemple.fr"];
    if pipelining {
        args.push("--pipelining");
    }
    let sink = Sink::start(&args);
    let s = setup(&sink, "connections = 2\nper_second = 500");
    let ws = &s.ws;
    let csv = ws.dir.path().join("liste.csv");
    std::fs::write(&csv, csv_of(20) + "inconnu@exemple.fr\n").unwrap();
    import(ws, &csv);
    let report = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(report["sent"], 20, "{report:#}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["email"], "inconnu@exemple.fr");
    assert_eq!(failed[0]["state"], "failed_perm");
    assert!(
        failed[0]["reply"].as_str().unwrap().contains("550"),
        "{report:#}"
    );
    let received = counts(&sink.recipients());
    assert_eq!(received.len(), 20);
    assert!(received.values().all(|&n| n == 1));
    assert!(
        sink.messages()
            .iter()
            .all(|(m, _)| m["pipelined"] == pipelining),
        "pipelining {pipelining}"
    );
    // The text report names the failure and the server's reply.
    let out = ws.run(&["edition", "send", "flash-info/1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("inconnu@exemple.fr — refus définitif : ") && text.contains("550"),
        "{text}"
    );
}

#[test]
fn a_connection_broken_after_the_final_dot_is_uncertain_not_retried() {
    // Without PIPELINING (one command per round trip) and with it: the same conclusions.
    for pipelining in [false, true] {
        broken_connections(pipelining);
    }
}

/// The addresses of a send's JSON report under `key`.
fn addresses(report: &serde_json::Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} absent : {report:#}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// One connection breaks after the server took a message (final dot received, no reply):
/// that recipient may have it, so it is uncertain, not retried, resent only on demand.
/// Another breaks at a RCPT TO: nothing went, so it is retried and delivered once.
fn broken_connections(pipelining: bool) {
    let lost = "abonne0003@exemple.fr";
    let cut = "abonne0007@exemple.fr";
    let sink = held_sink::HeldSink::start_with(
        pipelining,
        held_sink::Faults {
            silent_after_dot: vec![lost.into()],
            hang_up_at_rcpt: vec![cut.into()],
        },
    );
    let (_server, ws) = support::mail_workspace(
        &sink.url(),
        "connections = 2\nper_second = 1000\nretry_secs = 1",
        "",
    );
    ws.ready_to_send(&csv_of(20));
    let every = |n_lost: usize| {
        let received = counts(&sink.seen(|s| s.delivered.clone()));
        assert_eq!(received.len(), 20, "pipelining {pipelining}");
        for (address, n) in received {
            let expected = if address == lost { n_lost } else { 1 };
            assert_eq!(
                n, expected,
                "{address} reçu {n} fois (pipelining {pipelining})"
            );
        }
    };

    let report = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    let mut faults_struck = sink.seen(|s| s.cut.clone());
    faults_struck.sort();
    assert_eq!(faults_struck, [lost, cut], "{report:#}");
    assert_eq!(addresses(&report, "uncertain"), [lost], "{report:#}");
    assert_eq!(report["sent"], 19, "{report:#}");
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["pending_retry"], 0, "{report:#}");
    every(1);
    // The text report tells the curator, in French, how to resend.
    let out = ws.run(&["edition", "send", "flash-info/1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 envoi(s) incertain(s)") && text.contains(lost),
        "{text}"
    );
    assert!(text.contains("--resend-uncertain"), "{text}");

    // A second send leaves the uncertain recipient alone.
    let again = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(addresses(&again, "uncertain"), [lost], "{again:#}");
    assert_eq!(again["sent"], 19, "{again:#}");
    every(1);

    // Asked for, it goes again (the curator accepts the risk of a second copy).
    let resent = ws.json(&[
        "edition",
        "send",
        "flash-info/1",
        "--resend-uncertain",
        "--json",
    ]);
    assert_eq!(addresses(&resent, "uncertain"), Vec::<String>::new());
    assert_eq!(resent["sent"], 20, "{resent:#}");
    every(2);
}

#[test]
fn a_test_copy_whose_reply_is_lost_is_reported_uncertain() {
    let lost = "relecture@exemple.fr";
    let cut = "relecture-bis@exemple.fr";
    let sink = held_sink::HeldSink::start_with(
        false,
        held_sink::Faults {
            // Twice: once for the text report, once for the JSON one.
            silent_after_dot: vec![lost.into(), lost.into()],
            hang_up_at_rcpt: vec![cut.into()],
        },
    );
    let (_server, ws) = support::mail_workspace(&sink.url(), "", "");
    ws.ready_to_send(&csv_of(1));
    // A test copy that did not surely go is a failure (exit 1), with its JSON report.
    let test = |to: &str, json: bool| {
        let mut args = vec!["edition", "send", "flash-info/1", "--test", to];
        if json {
            args.push("--json");
        }
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let report = |to: &str| -> serde_json::Value { serde_json::from_str(&test(to, true)).unwrap() };
    // Taken by the server, but its reply never came: the curator is told it may have gone.
    let text = test(lost, false);
    assert!(
        text.contains("issue incertaine") && text.contains("la copie a pu arriver"),
        "{text}"
    );
    let report = report(lost);
    assert_eq!(addresses(&report, "uncertain"), [lost], "{report:#}");
    assert_eq!(report["sent"], 0, "{report:#}");
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    // Cut before the message: it did not go, a temporary failure.
    let report: serde_json::Value = serde_json::from_str(&test(cut, true)).unwrap();
    assert_eq!(addresses(&report, "uncertain"), Vec::<String>::new());
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["email"], cut);
    assert_eq!(failed[0]["state"], "failed_temp", "{report:#}");
    assert_eq!(sink.seen(|s| s.delivered.clone()), [lost, lost]);
}

#[test]
fn the_web_form_asks_for_confirmation_and_answers_alike() {
    let sink = Sink::start(&[]);
    let s = setup(&sink, "");
    let ws = &s.ws;
    let served = Served::start(ws, s.port);
    let form = served.get("/abonnement?liste=lettre-pauvrete", &[]);
    assert_eq!(form.status, 200);
    assert!(
        form.text().contains("<label for=\"adresse\">"),
        "formulaire accessible"
    );
    assert!(form.header("content-security-policy").is_some());

    let post = |email: &str| {
        let body = format!("email={}&liste=lettre-pauvrete", email.replace('@', "%40"));
        served.submit("/abonnement", "/abonnement", &body)
    };
    let first = post("nouvelle@exemple.fr");
    assert_eq!(first.status, 200);
    // The confirmation mail arrives; the subscriber stays pending until confirmed.
    let start = Instant::now();
    while sink.messages().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "pas de message de confirmation"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(subscribers(ws)["nouvelle@exemple.fr"]["status"], "pending");
    let mail = smtp::inspect(&sink.messages()[0].1);
    let text = mail["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/confirmation/"))
        .expect("lien de confirmation");
    let path = link.strip_prefix(&served.base).unwrap();
    assert!(
        served
            .get(path, &[])
            .text()
            .contains("Confirmer mon abonnement")
    );
    assert_eq!(
        subscribers(ws)["nouvelle@exemple.fr"]["status"],
        "pending",
        "GET ne confirme pas"
    );
    let unconfirmed = web::post_raw(&served.addr, path, "");
    assert_eq!(
        unconfirmed.status, 403,
        "the button's CSRF token is required"
    );
    assert_eq!(subscribers(ws)["nouvelle@exemple.fr"]["status"], "pending");
    let confirmed = served.submit(path, path, "");
    assert_eq!(confirmed.status, 200);
    assert_eq!(
        subscribers(ws)["nouvelle@exemple.fr"]["lists"],
        serde_json::json!(["lettre-pauvrete"])
    );
    assert_eq!(
        web::request(
            &served.addr,
            "POST",
            &format!("{path}0"),
            &[("Content-Length", "0")],
            ""
        )
        .status,
        400,
        "lien altéré"
    );

    // Known, unknown: the same answer.
    let again = post("nouvelle@exemple.fr");
    let other = post("inconnue@exemple.fr");
    assert_eq!(again.status, other.status);
    assert_eq!(again.text(), other.text());
    // Rate limit per IP (5 a minute by default; 3 posts so far).
    for extra in ["encore@exemple.fr", "toujours@exemple.fr"] {
        assert_eq!(post(extra).status, 200);
    }
    let sixth = post("de-trop@exemple.fr");
    assert_eq!(sixth.status, 429, "{}", sixth.text());
    assert!(sixth.text().contains("Trop de demandes"));
}
