//! The optional anonymous click count (`[mail] count_clicks`) end to end: an edition sent
//! through aiosmtpd carries counting redirects instead of its outside links, the same for
//! every recipient; following one from the received mail against `veille serve` gives a 302
//! to the original address and counts one click; `veille edition report` and `rapport.html`
//! show the clicks per link; a forged link is a 404 that counts nothing. Off by default.

mod support;

use std::path::Path;

use support::server::{Route, TestServer};
use support::smtp::{self, Sink};
use support::web::{self, Served};
use support::{Workspace, feed_source};

/// An edition sent to two subscribers; `count_clicks` as given.
fn sent(count_clicks: bool) -> (Workspace, Sink, TestServer, u16) {
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(support::one_recent_article_feed(&server)),
    );
    let port = web::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"{base}\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             per_second = 500\ncount_clicks = {count_clicks}\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n{}",
            templates.display(),
            sink.url(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    );
    ws.fetch(&[]);
    let story = ws.articles()[0]["story"].as_i64().unwrap().to_string();
    ws.ready_flash_info(std::slice::from_ref(&story));
    ws.import_subscribers("Nom;Courriel\nHélène;helene@exemple.fr\nPaul;paul@exemple.fr\n");
    let report = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(report["sent"], 2, "{report:#}");
    let start = std::time::Instant::now();
    while sink.messages().len() < 2 {
        assert!(start.elapsed().as_secs() < 20, "messages jamais arrivés");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (ws, sink, server, port)
}

/// Every `/c/…` link of a text, as paths.
fn click_links(text: &str, base: &str) -> Vec<String> {
    let prefix = format!("{base}/c/");
    let mut links: Vec<String> = text
        .match_indices(&prefix)
        .map(|(at, _)| {
            text[at + base.len()..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | '"' | ')' | '<'))
                .collect()
        })
        .collect();
    links.sort();
    links.dedup();
    links
}

#[test]
fn clicks_are_counted_per_link_without_knowing_who() {
    let (ws, sink, server, port) = sent(true);
    let base = format!("http://127.0.0.1:{port}");
    let article = server.url("/a/1.html");
    let messages = sink.messages();
    let parts: Vec<serde_json::Value> =
        messages.iter().map(|(_, eml)| smtp::inspect(eml)).collect();
    // The article's address is nowhere in the mail: only its redirect, the same for both
    // recipients, which names no one.
    let mut per_person = Vec::new();
    for p in &parts {
        let (html, text) = (p["html"].as_str().unwrap(), p["text"].as_str().unwrap());
        assert!(
            !html.contains(&article) && !text.contains(&article),
            "{text}"
        );
        let links = click_links(text, &base);
        assert!(!links.is_empty(), "pas de lien compté :\n{text}");
        assert_eq!(click_links(html, &base), links);
        for l in &links {
            assert!(!l.contains("helene") && !l.contains("paul"), "{l}");
            assert!(l.starts_with("/c/flash-info/1/"), "{l}");
        }
        // The reader's own links stay personal and uncounted.
        assert!(text.contains(&format!("{base}/desabonnement/")), "{text}");
        per_person.push(links);
    }
    assert_eq!(per_person[0], per_person[1]);

    let served = Served::start(&ws, port);
    let report = ws.json(&["edition", "report", "flash-info/1", "--json"]);
    let clicks = report["clicks"].as_array().expect("clics").clone();
    let target = clicks
        .iter()
        .find(|c| c["url"] == article.as_str())
        .unwrap_or_else(|| panic!("lien de l'article absent : {report:#}"));
    assert_eq!(target["clicks"], 0);
    let path = format!("/c/flash-info/1/{}", target["link"]);
    assert!(
        per_person[0].contains(&path),
        "{path} ∉ {:?}",
        per_person[0]
    );

    // Followed twice (two readers, or one twice: the count cannot tell, by design).
    for _ in 0..2 {
        let r = served.get(&path, &[]);
        assert_eq!(r.status, 302);
        assert_eq!(r.header("location"), Some(article.as_str()));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    // Forged or unknown: 404, nothing counted.
    for forged in [
        "/c/flash-info/1/999",
        "/c/flash-info/2/1",
        "/c/autre/1/1",
        "/c/flash-info/1/abc",
        "/c/flash-info/1/1%27%20OR%201=1",
    ] {
        let r = served.get(forged, &[]);
        assert_eq!(r.status, 404, "{forged}");
        assert!(r.text().contains("Lien inconnu"), "{forged}");
    }
    let report = ws.json(&["edition", "report", "flash-info/1", "--json"]);
    let total: i64 = report["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clicks"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2, "{report:#}");
    let again = report["clicks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["url"] == article.as_str())
        .unwrap()
        .clone();
    assert_eq!(again["clicks"], 2);

    let out = ws
        .command(&["edition", "report", "flash-info/1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Clics par lien (anonymes"), "{text}");
    assert!(text.contains(&format!("     2  {article}")), "{text}");
    let page =
        std::fs::read_to_string(ws.archive().join("published/flash-info/1/rapport.html")).unwrap();
    assert!(page.contains("Clics par lien"), "{page}");
    assert!(page.contains(&article), "{page}");
    assert!(!page.contains("Aucune ouverture ni aucun clic n'est suivi"));
}

#[test]
fn without_count_clicks_links_are_left_alone() {
    let (ws, sink, server, port) = sent(false);
    let base = format!("http://127.0.0.1:{port}");
    let article = server.url("/a/1.html");
    for (_, eml) in sink.messages() {
        let p = smtp::inspect(&eml);
        let text = p["text"].as_str().unwrap();
        assert!(text.contains(&article), "{text}");
        assert!(click_links(text, &base).is_empty(), "{text}");
    }
    let report = ws.json(&["edition", "report", "flash-info/1", "--json"]);
    assert!(report.get("clicks").is_none(), "{report:#}");
    let page =
        std::fs::read_to_string(ws.archive().join("published/flash-info/1/rapport.html")).unwrap();
    assert!(page.contains("Aucune ouverture ni aucun clic n'est suivi"));
}
