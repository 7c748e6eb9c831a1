//! End-to-end tests of `veille fetch` through the real binary against a real HTTP server on
//! 127.0.0.1: politeness, conditional GET, failures, charsets, pages, hostile input, crashes.

mod support;

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use support::server::{Route, TestServer};
use support::{Workspace, feed_source, report, rss};

fn three_items(server: &TestServer, prefix: &str) -> String {
    let links: Vec<String> = (1..=3)
        .map(|i| server.url(&format!("/{prefix}/{i}.html")))
        .collect();
    rss(&[
        ("Premier article", &links[0], &format!("{prefix}-1")),
        ("Deuxième article", &links[1], &format!("{prefix}-2")),
        ("Troisième article", &links[2], &format!("{prefix}-3")),
    ])
}

#[test]
fn same_feed_twice_adds_nothing_and_an_edited_title_updates() {
    let server = TestServer::start();
    server.route("/rss.xml", Route::rss(three_items(&server, "a")));
    let ws = Workspace::new("", &feed_source("Flux A", &server.url("/rss.xml")));

    let first = ws.fetch(&[]);
    assert_eq!(report(&first, "Flux A")["new"], 3, "{first:#}");
    let second = ws.fetch(&[]);
    assert_eq!(
        (
            report(&second, "Flux A")["new"].as_u64(),
            report(&second, "Flux A")["unchanged"].as_u64()
        ),
        (Some(0), Some(3))
    );
    assert_eq!(ws.articles().len(), 3);

    let edited =
        three_items(&server, "a").replace("Deuxième article", "Deuxième article (corrigé)");
    server.route("/rss.xml", Route::rss(edited));
    let third = ws.fetch(&[]);
    assert_eq!(report(&third, "Flux A")["updated"], 1, "{third:#}");
    let articles = ws.articles();
    assert_eq!(articles.len(), 3);
    assert!(
        articles
            .iter()
            .any(|a| a["title"] == "Deuxième article (corrigé)")
    );
    // The contract fields (ARCHITECTURE.md, "The contract outside checks rely on").
    for key in [
        "id",
        "story",
        "title",
        "url",
        "source",
        "published",
        "dossiers",
        "territories",
        "state",
        "summary",
    ] {
        assert!(
            articles[0].get(key).is_some(),
            "champ {key} absent : {:#}",
            articles[0]
        );
    }
    assert_eq!(articles[0]["source"], "Flux A");
    assert_eq!(articles[0]["state"], "new");
}

#[test]
fn not_modified_answers_cost_no_parsing() {
    let server = TestServer::start();
    server.route(
        "/etag.xml",
        Route::rss(three_items(&server, "e")).with_etag("\"v1\""),
    );
    server.route(
        "/lm.xml",
        Route::rss(three_items(&server, "l")).with_last_modified("Fri, 27 Nov 2026 09:00:00 GMT"),
    );
    let ws = Workspace::new(
        "",
        &(feed_source("ETag", &server.url("/etag.xml"))
            + &feed_source("LM", &server.url("/lm.xml"))),
    );
    let first = ws.fetch(&[]);
    assert_eq!(report(&first, "ETag")["new"], 3);
    assert_eq!(report(&first, "LM")["new"], 3);
    // Same validators, broken bodies: a parser that ran would fail.
    server.route("/etag.xml", Route::rss("<rss><cassé").with_etag("\"v1\""));
    server.route(
        "/lm.xml",
        Route::rss("<rss><cassé").with_last_modified("Fri, 27 Nov 2026 09:00:00 GMT"),
    );
    let second = ws.fetch(&[]);
    for name in ["ETag", "LM"] {
        assert_eq!(
            report(&second, name)["status"],
            "not_modified",
            "{second:#}"
        );
        assert_eq!(report(&second, name)["http_status"], 304);
    }
    let etag_requests = server.requests("/etag.xml");
    assert_eq!(
        etag_requests[1].get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    let lm_requests = server.requests("/lm.xml");
    assert_eq!(
        lm_requests[1].get("if-modified-since").map(String::as_str),
        Some("Fri, 27 Nov 2026 09:00:00 GMT")
    );
    let ua = &etag_requests[0]["user-agent"];
    assert!(
        ua.contains("+https://example.org/contact"),
        "User-Agent sans contact : {ua}"
    );
    let health = ws.json(&["sources", "--json"]);
    let etag = health
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ETag")
        .unwrap();
    assert_eq!(etag["consecutive_errors"], 0);
    assert_eq!(etag["items"], 3);
}

#[test]
fn retry_after_is_honoured_and_a_failing_source_is_slowed_not_dropped() {
    let server = TestServer::start();
    server.route(
        "/busy.xml",
        Route::status(503).header("Retry-After", "7200"),
    );
    server.route(
        "/limit.xml",
        Route::status(429).header("Retry-After", "120"),
    );
    server.route("/ok.xml", Route::rss(three_items(&server, "ok")));
    let ws = Workspace::new(
        "",
        &(feed_source("Occupé", &server.url("/busy.xml"))
            + &feed_source("Limité", &server.url("/limit.xml"))
            + &feed_source("Sain", &server.url("/ok.xml"))),
    );
    let before = Utc::now();
    let first = ws.fetch(&[]);
    let busy = report(&first, "Occupé");
    assert_eq!(busy["status"], "error");
    assert_eq!(busy["http_status"], 503);
    let next: DateTime<Utc> = busy["next_fetch"].as_str().unwrap().parse().unwrap();
    assert!(
        next >= before + chrono::Duration::seconds(7200),
        "Retry-After ignoré : {next}"
    );
    let limited: DateTime<Utc> = report(&first, "Limité")["next_fetch"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(limited >= before + chrono::Duration::seconds(120));
    assert_eq!(report(&first, "Sain")["new"], 3);

    // Next pass: the slowed sources are reported as deferred and not requested.
    let second = ws.fetch(&[]);
    assert_eq!(report(&second, "Occupé")["status"], "deferred");
    assert_eq!(server.hits("/busy.xml"), 1);
    assert_eq!(server.hits("/limit.xml"), 1);
    assert_eq!(server.hits("/ok.xml"), 2);

    // Forced, it is fetched again and its error counter grows.
    ws.fetch(&["--force", "--source", "Occupé"]);
    let health = ws.json(&["sources", "--json"]);
    let busy = health
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Occupé")
        .unwrap();
    assert_eq!(busy["consecutive_errors"], 2);
    assert_eq!(busy["last_error"], "HTTP 503 Service Unavailable");
    let human = String::from_utf8(ws.run(&["sources"]).stdout).unwrap();
    assert!(
        human.contains("Occupé") && human.contains("HTTP 503"),
        "{human}"
    );
}

#[test]
fn timeouts_slow_drips_and_refused_connections_are_errors_of_their_source_only() {
    let server = TestServer::start();
    server.route(
        "/slow.xml",
        Route::rss(three_items(&server, "s")).delayed(Duration::from_secs(10)),
    );
    server.route(
        "/drip.xml",
        Route::rss(three_items(&server, "d")).dripping(Duration::from_millis(100)),
    );
    server.route("/ok.xml", Route::rss(three_items(&server, "ok")));
    // A listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let full = socket.local_addr().unwrap().as_socket().unwrap();
    let _queued: Vec<_> = (0..4)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&full, Duration::from_millis(200)).ok()
        })
        .collect();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap(); // dropped: refused

    let ws = Workspace::new(
        "timeout_secs = 2\nconnect_timeout_secs = 1",
        &(feed_source("Lent", &server.url("/slow.xml"))
            + &feed_source("Goutte à goutte", &server.url("/drip.xml"))
            + &feed_source("Injoignable", &format!("http://{full}/rss.xml"))
            + &feed_source("Fermé", &format!("http://{closed}/rss.xml"))
            + &feed_source("Sain", &server.url("/ok.xml"))),
    );
    let out = ws.run(&["fetch", "--json"]);
    assert!(
        out.status.success(),
        "fetch doit réussir même si des sources échouent"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report(&doc, "Lent")["error"], "délai dépassé (2 s)");
    assert_eq!(
        report(&doc, "Goutte à goutte")["error"],
        "délai dépassé (2 s)"
    );
    let unreachable = report(&doc, "Injoignable")["error"].as_str().unwrap();
    assert!(
        unreachable.starts_with("connexion impossible"),
        "{unreachable}"
    );
    let refused = report(&doc, "Fermé")["error"].as_str().unwrap();
    assert!(refused.starts_with("connexion impossible"), "{refused}");
    assert_eq!(report(&doc, "Sain")["new"], 3);
    assert_eq!(doc["totals"]["errors"], 4);
}

#[test]
fn oversized_bodies_gzip_bombs_and_redirect_loops_are_refused() {
    let server = TestServer::start();
    let big = format!(
        "{}{}",
        three_items(&server, "big"),
        " ".repeat(3 * 1024 * 1024)
    );
    server.route("/big.xml", Route::rss(big));
    // 64 MiB of XML whitespace compress to ~64 KiB: only the decompressed size tells.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(three_items(&server, "bomb").as_bytes())
        .unwrap();
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..64 {
        gz.write_all(&spaces).unwrap();
    }
    server.route(
        "/bomb.xml",
        Route::rss(gz.finish().unwrap()).header("Content-Encoding", "gzip"),
    );
    server.route("/loop-a", Route::status(302).header("Location", "/loop-b"));
    server.route("/loop-b", Route::status(302).header("Location", "/loop-a"));
    for i in 1..=5 {
        server.route(
            &format!("/hop{i}"),
            Route::status(301).header("Location", &format!("/hop{}", i + 1)),
        );
    }
    server.route("/hop6", Route::rss(three_items(&server, "hop")));
    let ws = Workspace::new(
        "max_body_mib = 1",
        &(feed_source("Trop gros", &server.url("/big.xml"))
            + &feed_source("Bombe", &server.url("/bomb.xml"))
            + &feed_source("Boucle", &server.url("/loop-a"))
            + &feed_source("Cinq sauts", &server.url("/hop1"))),
    );
    let doc = ws.fetch(&[]);
    assert_eq!(
        report(&doc, "Trop gros")["error"],
        "réponse trop volumineuse (plus de 1 Mio)"
    );
    assert_eq!(
        report(&doc, "Bombe")["error"],
        "réponse trop volumineuse (plus de 1 Mio)"
    );
    assert!(
        report(&doc, "Boucle")["error"]
            .as_str()
            .unwrap()
            .contains("redirections"),
        "{doc:#}"
    );
    assert_eq!(report(&doc, "Cinq sauts")["new"], 3, "{doc:#}");
    assert!(server.hits("/loop-a") <= 3 && server.hits("/loop-b") <= 3);
}

#[test]
fn malformed_xml_fails_alone() {
    let server = TestServer::start();
    server.route(
        "/broken.xml",
        Route::rss("<?xml version=\"1.0\"?><rss><channel><item><title>pas fermé"),
    );
    server.route(
        "/html.xml",
        Route::ok("<html><body>Pas un flux</body></html>", "text/html"),
    );
    server.route("/ok.xml", Route::rss(three_items(&server, "ok")));
    let ws = Workspace::new(
        "",
        &(feed_source("Cassé", &server.url("/broken.xml"))
            + &feed_source("HTML", &server.url("/html.xml"))
            + &feed_source("Sain", &server.url("/ok.xml"))),
    );
    let out = ws.run(&["fetch"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("flux illisible"), "{text}");
    assert!(text.contains("2 en erreur"), "{text}");
    let doc = ws.fetch(&["--force"]);
    assert_eq!(report(&doc, "Cassé")["status"], "error");
    assert_eq!(report(&doc, "Sain")["status"], "ok");
    assert_eq!(ws.articles().len(), 3);
}

#[test]
fn latin1_feed_without_declaration_reads_accents() {
    let server = TestServer::start();
    let xml = "<rss version=\"2.0\"><channel><title>Préfecture de l'Hérault</title><item><title>Sécurité : réunion à Béziers</title><link>https://herault.example/actu/1</link><description>Élus et préfète présents à la réunion.</description><pubDate>28 novembre 2026 à 14h05</pubDate></item></channel></rss>";
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(xml);
    server.route("/latin1.xml", Route::ok(latin1.into_owned(), "text/xml"));
    let ws = Workspace::new("", &feed_source("Latin-1", &server.url("/latin1.xml")));
    ws.fetch(&[]);
    let articles = ws.articles();
    assert_eq!(articles[0]["title"], "Sécurité : réunion à Béziers");
    assert_eq!(
        articles[0]["summary"],
        "Élus et préfète présents à la réunion."
    );
    assert_eq!(articles[0]["published"], "2026-11-28T13:05:00Z");
}

#[test]
fn hostile_titles_and_summaries_are_stored_inert() {
    let server = TestServer::start();
    let xml = r#"<rss version="2.0"><channel><title>X</title>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt; Ligne
Bcc: victime@example.org</title><link>https://ex.example/1</link>
<description>&lt;p&gt;Texte &lt;img src=x onerror=alert(1)&gt;&lt;a href="javascript:alert(2)"&gt;lien&lt;/a&gt;&lt;script&gt;alert(3)&lt;/script&gt;&lt;/p&gt;</description></item>
</channel></rss>"#;
    server.route("/xss.xml", Route::rss(xml));
    let ws = Workspace::new("", &feed_source("Hostile", &server.url("/xss.xml")));
    ws.fetch(&[]);
    let articles = ws.articles();
    // The title is text: shown literally later, on one line (no CR/LF to reach a header).
    assert_eq!(
        articles[0]["title"],
        "<script>alert(1)</script> Ligne Bcc: victime@example.org"
    );
    assert_eq!(articles[0]["summary"], "Texte lien");
    let html = stored_summary_html(&ws);
    assert!(html.contains("Texte"), "{html}");
    for bad in ["script", "onerror", "javascript:"] {
        assert!(!html.contains(bad), "{bad} dans {html}");
    }
}

fn stored_summary_html(ws: &Workspace) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_scalar::<_, String>("SELECT summary_html FROM articles")
            .fetch_one(pool)
            .await
            .unwrap())
    })
}

#[test]
fn page_sources_are_scraped_politely() {
    let server = TestServer::start();
    let html = r#"<!DOCTYPE html><html lang="fr"><head><meta charset="iso-8859-1"><title>Actualités</title></head><body>
<article class="news"><h3>Réunion du CLSPD à Montauban</h3><a href="/actualites/clspd">Lire</a><time datetime="2026-11-26">26 novembre 2026</time><p>Le conseil s'est réuni.</p></article>
<article class="news"><h3>Appel à projets FIPD</h3><a href="fipd.html">Lire</a><time>3 novembre 2026</time></article>
</body></html>"#;
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(html);
    server.route("/actualites/", Route::ok(latin1.into_owned(), "text/html"));
    server.route(
        "/vide",
        Route::ok("<html><body><p>Rien</p></body></html>", "text/html"),
    );
    let other = TestServer::start();
    other.route(
        "/robots.txt",
        Route::ok("User-agent: *\nDisallow: /prive/\n", "text/plain"),
    );
    other.route("/prive/liste", Route::ok(html, "text/html"));
    let page = |name: &str, url: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\npage = \"{url}\"\ndossiers = [\"securite\"]\n[sources.select]\nitem = \"article.news\"\ntitle = \"h3\"\nlink = \"a\"\ndate = \"time\"\nsummary = \"p\"\n\n"
        )
    };
    let ws = Workspace::new(
        "",
        &(page("Préfecture", &server.url("/actualites/"))
            + &page("Page vide", &server.url("/vide"))
            + &page("Privée", &other.url("/prive/liste"))),
    );
    let doc = ws.fetch(&[]);
    assert_eq!(report(&doc, "Préfecture")["new"], 2, "{doc:#}");
    assert_eq!(
        report(&doc, "Page vide")["error"],
        "0 élément : `article.news` ne correspond à rien dans la page"
    );
    assert_eq!(
        report(&doc, "Privée")["error"].as_str().unwrap(),
        format!("interdit par robots.txt de 127.0.0.1")
    );
    assert_eq!(other.hits("/prive/liste"), 0, "robots.txt ignoré");
    assert_eq!(
        server.hits("/robots.txt"),
        1,
        "robots.txt lu une fois par hôte"
    );
    let articles = ws.articles();
    let clspd = articles
        .iter()
        .find(|a| a["title"] == "Réunion du CLSPD à Montauban")
        .expect("accents lus");
    assert_eq!(clspd["url"], server.url("/actualites/clspd"));
    assert_eq!(clspd["published"], "2026-11-25T23:00:00Z");
    let fipd = articles
        .iter()
        .find(|a| a["title"] == "Appel à projets FIPD")
        .unwrap();
    assert_eq!(fipd["url"], server.url("/actualites/fipd.html"));
    assert_eq!(fipd["published"], "2026-11-02T23:00:00Z");
}

/// Eight slow feeds on one server, fetched with `settings`; returns the server.
fn eight_slow_feeds(settings: &str) -> TestServer {
    let server = TestServer::start();
    let mut sources = String::new();
    for i in 0..8 {
        let path = format!("/f{i}.xml");
        server.route(
            &path,
            Route::rss(three_items(&server, &format!("h{i}"))).delayed(Duration::from_millis(300)),
        );
        sources.push_str(&feed_source(&format!("Source {i}"), &server.url(&path)));
    }
    let doc = Workspace::new(settings, &sources).fetch(&[]);
    assert_eq!(doc["totals"]["new"], 24, "{doc:#}");
    server
}

#[test]
fn per_host_and_global_limits_hold() {
    assert_eq!(
        eight_slow_feeds("per_host = 2").max_in_flight(),
        2,
        "plus de 2 requêtes simultanées vers un même hôte"
    );
    assert_eq!(
        eight_slow_feeds("per_host = 8\nconcurrency = 3").max_in_flight(),
        3,
        "la limite globale n'est pas respectée"
    );
}

#[test]
fn kill_during_a_fetch_loses_nothing_and_the_next_fetch_completes() {
    let server = TestServer::start();
    let mut sources = String::new();
    let feeds = 60;
    for i in 0..feeds {
        let items: Vec<(String, String, String)> = (0..20)
            .map(|j| {
                (
                    format!("Article {j} de la source {i}"),
                    server.url(&format!("/art/{i}/{j}")),
                    format!("g-{i}-{j}"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str)> = items
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        server.route(
            &format!("/k{i}.xml"),
            Route::rss(rss(&refs)).delayed(Duration::from_millis(40 * (i % 10))),
        );
        sources.push_str(&feed_source(
            &format!("Source {i:02}"),
            &server.url(&format!("/k{i}.xml")),
        ));
    }
    let ws = Workspace::new("concurrency = 4\nper_host = 4", &sources);
    for delay_ms in [150, 400, 700] {
        let mut child = ws
            .command(&["fetch"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let doc = ws.fetch(&[]);
    assert_eq!(doc["totals"]["errors"], 0, "{doc:#}");
    let articles = ws.articles();
    assert_eq!(articles.len(), feeds as usize * 20);
    let mut urls: Vec<&str> = articles
        .iter()
        .map(|a| a["url"].as_str().unwrap())
        .collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), feeds as usize * 20, "articles en double");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // SQLite's own check of its file; PostgreSQL keeps its pages itself.
    let integrity = runtime.block_on(async {
        match ws.db().await {
            support::Db::Sqlite(pool) => sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
                .fetch_one(&pool)
                .await
                .unwrap(),
            support::Db::Postgres(_) => "ok".to_string(),
        }
    });
    assert_eq!(integrity, "ok");
}

#[test]
fn check_reports_mistakes_with_their_position() {
    let ws = Workspace::new(
        "",
        "[[sources]]\nname = \"A\"\nfeed = \"https://a.example/rss\"\ndosiers = [\"pauvrete\"]\n",
    );
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let line = ws.config().display().to_string();
    assert!(
        err.contains(&format!("{line}:")) && err.contains("clé inconnue `dosiers`"),
        "{err}"
    );
    assert!(err.contains("vouliez-vous dire `dossiers` ?"), "{err}");

    let ws = Workspace::new(
        "",
        "[[sources]]\nname = \"B\"\npage = \"https://b.example/\"\n[sources.select]\nitem = \"div[[\"\ntitle = \"h3\"\nlink = \"a\"\n",
    );
    let out = ws.run(&["fetch"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "une configuration invalide bloque aussi fetch"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("sélecteur CSS invalide"), "{err}");
    assert!(
        err.contains(":17:8:"),
        "position attendue ligne 17, colonne 8 : {err}"
    );
}

#[test]
fn shipped_feeds_toml_is_valid_and_complete() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .current_dir(root)
        .env_remove("VEILLE_CONFIG")
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dossiers = doc["dossiers"].as_array().unwrap();
    assert_eq!(dossiers.len(), 10);
    for d in dossiers {
        assert!(
            d["sources"].as_u64().unwrap() >= 5,
            "dossier {} : moins de 5 sources",
            d["id"]
        );
    }
    let sources = doc["sources"].as_array().unwrap();
    assert!(sources.len() >= 80, "{} sources", sources.len());
    assert!(sources.iter().filter(|s| s["kind"] == "page").count() >= 5);
    assert!(sources.iter().filter(|s| s["kind"] == "search").count() >= 10);
    let human = String::from_utf8(
        std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
            .current_dir(root)
            .arg("check")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(human.contains("10 dossiers"), "{human}");
}

/// Puts a trigger in the workspace's store that refuses any article whose address holds
/// `poison`: the source's batch then fails at store time, after fetching and parsing went well.
fn refuse_poisoned_articles(ws: &Workspace) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let statements: &[&str] = match ws.db().await {
            support::Db::Sqlite(_) => &["CREATE TRIGGER refuse_poison BEFORE INSERT ON articles
                 WHEN NEW.url LIKE '%poison%'
                 BEGIN SELECT RAISE(ABORT, 'article refusé par le test'); END"],
            support::Db::Postgres(_) => &[
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
                 BEGIN
                   IF NEW.url LIKE '%poison%' THEN RAISE EXCEPTION 'article refusé par le test'; END IF;
                   RETURN NEW;
                 END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON articles
                 FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
            ],
        };
        let db = ws.db().await;
        for sql in statements {
            crate::on_db!(db, pool => sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(pool)
                .await
                .map(|_| ())
                .unwrap());
        }
    });
}

#[test]
fn a_source_whose_batch_cannot_be_stored_fails_alone_in_its_group() {
    // Twelve sources answer together, so their batches share group commits; one of them
    // carries articles the store refuses. Its group is rolled back and retried batch by batch:
    // only that source is in error, every other source's articles are stored once.
    let server = TestServer::start();
    let mut sources = String::new();
    for n in 0..12 {
        let path = format!("/s{n}.xml");
        server.route(&path, Route::rss(rss(&[])));
        sources += &feed_source(&format!("Source {n}"), &server.url(&path));
    }
    let ws = Workspace::new("concurrency = 16\nper_host = 16", &sources);
    let first = ws.fetch(&[]);
    assert_eq!(report(&first, "Source 0")["status"], "ok", "{first:#}");
    refuse_poisoned_articles(&ws);

    for n in 0..12 {
        let prefix = if n == 5 { "poison" } else { "s" };
        let body = three_items(&server, &format!("{prefix}{n}"))
            .replace("article", &format!("article de la source {n}"));
        server.route(
            &format!("/s{n}.xml"),
            Route::rss(body).delayed(Duration::from_millis(30)),
        );
    }
    let doc = ws.fetch(&["--force"]);
    for n in 0..12 {
        let source = report(&doc, &format!("Source {n}"));
        if n == 5 {
            assert_eq!(source["status"], "error", "{doc:#}");
            let error = source["error"].as_str().unwrap_or_default();
            assert!(error.contains("base de données"), "{doc:#}");
        } else {
            assert_eq!(source["status"], "ok", "{doc:#}");
            assert_eq!(source["new"], 3, "{doc:#}");
        }
    }
    let articles = ws.articles();
    assert_eq!(articles.len(), 33, "{articles:#?}");
    assert!(
        articles
            .iter()
            .all(|a| !a["url"].as_str().unwrap_or_default().contains("poison"))
    );
    // Nothing was lost: the next pass finds every stored article unchanged.
    let again = ws.fetch(&["--force"]);
    assert_eq!(report(&again, "Source 0")["unchanged"], 3, "{again:#}");
    assert_eq!(report(&again, "Source 5")["status"], "error", "{again:#}");
}
