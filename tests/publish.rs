//! End to end: feeds fetched from a local server, decisions taken, then panoramas and an
//! edition rendered by the real binary, checked by the W3C Nu HTML Checker, parsed back
//! with feed-rs, served by `veille serve` (headers, 304s, CORS, CSP, 404) and audited with
//! axe-core in headless Chromium.

mod support;

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use support::server::{Route, TestServer};
use support::web::{self, Served};
use support::{Workspace, feed_source};
use veille::publish::french::typography;

const HOSTILE: &str = "<img src=x onerror=alert(1)>";

/// The image the first story's feed carries (an `enclosure`), served by the test server.
const IMAGE_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"160\" viewBox=\"0 0 240 160\"><rect width=\"240\" height=\"160\" fill=\"#0b3d66\"/><circle cx=\"170\" cy=\"60\" r=\"34\" fill=\"#f2b705\"/><path d=\"M0 160 L80 80 L140 130 L180 100 L240 150 L240 160 Z\" fill=\"#4a90c2\"/></svg>";

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An RSS feed whose items are dated `hours` hours ago, so the panorama window holds them
/// whenever the test runs.
fn feed(server: &TestServer, prefix: &str, items: &[(&str, &str, i64)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for (i, (title, summary, hours)) in items.iter().enumerate() {
        let date = (Utc::now() - Duration::hours(*hours)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>{}</title><link>{}</link><description>{}</description><pubDate>{date}</pubDate></item>",
            xml_escape(title),
            server.url(&format!("/{prefix}/{i}.html")),
            xml_escape(summary),
        ));
    }
    xml + "</channel></rss>"
}

struct Fixture {
    _server: TestServer,
    ws: Workspace,
    port: u16,
    /// Story ids by a short name.
    pact: i64,
    hostile: i64,
    toulouse: i64,
}

fn story_of(articles: &[serde_json::Value], needle: &str) -> i64 {
    articles
        .iter()
        .find(|a| a["title"].as_str().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("pas d'article « {needle} »"))["story"]
        .as_i64()
        .expect("story")
}

fn fixture() -> Fixture {
    let server = TestServer::start();
    let hostile_title = format!("{HOSTILE} Hausse des demandes d'aide alimentaire & précarité");
    server.route("/images/pacte.svg", Route::ok(IMAGE_SVG, "image/svg+xml"));
    // The pact's article carries an image (RSS `enclosure`).
    let monde = feed(&server, "monde", &[
            ("Pauvreté : le gouvernement présente son nouveau pacte des solidarités", "Le Premier ministre a présenté jeudi à Matignon le nouveau pacte des solidarités contre la pauvreté.", 5),
            (&hostile_title, "Les Restos du cœur et le Secours populaire constatent une hausse des demandes <script>alert(2)</script>.", 30),
            ("Toulouse : la préfecture renforce les patrouilles dans le quartier du Mirail", "Des effectifs supplémentaires de police sont annoncés.", 50),
        ]).replacen(
        "</item>",
        &format!(
            "<enclosure url=\"{}\" type=\"image/svg+xml\" length=\"{}\"/></item>",
            server.url("/images/pacte.svg"),
            IMAGE_SVG.len()
        ),
        1,
    );
    server.route("/monde.xml", Route::rss(monde));
    server.route(
        "/depeche.xml",
        Route::rss(feed(&server, "depeche", &[
            ("Le gouvernement présente le nouveau pacte des solidarités contre la pauvreté", "Présenté jeudi à Matignon par le Premier ministre, le pacte des solidarités vise à réduire la pauvreté.", 4),
            ("Rugby : le Stade toulousain s'impose face à Clermont", "Victoire nette des Toulousains.", 6),
        ])),
    );
    let port = web::free_port();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Centre de ressources Occitanie\"\nbase_url = \"http://127.0.0.1:{port}\"\ntemplates = \"{}\"\n\n[web]\nsite_origins = [\"https://www.example.org\"]\n\n{}{}",
            templates.display(),
            feed_source("Le Monde", &server.url("/monde.xml")),
            feed_source("La Dépêche", &server.url("/depeche.xml")),
        ),
    );
    // The pauvrete dossier gets a description for readers (a line of its own, added here so
    // the shared workspace keeps its line numbers).
    let toml = std::fs::read_to_string(ws.config()).unwrap().replacen(
        "title = \"Stratégie Pauvreté et Pacte des Solidarités\"\n",
        "title = \"Stratégie Pauvreté et Pacte des Solidarités\"\ndescription = \"Les articles sur la pauvreté, la précarité et le Pacte des solidarités.\"\n",
        1,
    );
    std::fs::write(ws.config(), toml).unwrap();
    ws.fetch(&[]);
    let articles = ws.articles();
    let pact = story_of(&articles, "pacte des solidarités");
    let hostile = story_of(&articles, "aide alimentaire");
    let toulouse = story_of(&articles, "Mirail");
    for (story, dossier, action) in [
        (pact, "pauvrete", "keep"),
        (hostile, "pauvrete", "star"),
        (toulouse, "securite", "keep"),
    ] {
        ws.json(&[
            "decide",
            &story.to_string(),
            action,
            "--dossier",
            dossier,
            "--json",
        ]);
    }
    Fixture {
        _server: server,
        ws,
        port,
        pact,
        hostile,
        toulouse,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} : {e}", path.display()))
}

/// The hostile title never appears as markup, and does appear as text.
fn assert_escaped(path: &Path) {
    let text = read(path);
    assert!(
        !text.contains("<img src=x")
            && !text.contains("<img src=\"x\"")
            && !text.contains("<script"),
        "balise hostile non échappée dans {} :\n{text}",
        path.display()
    );
    assert!(
        text.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "le titre hostile devrait s'afficher comme du texte dans {}",
        path.display()
    );
}

/// An embeddable fragment, in the smallest page that would host it (for the checker).
fn host_page(fragment: &Path, out: &Path) -> PathBuf {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Page hôte</title></head><body><main>\n{}\n</main></body></html>\n",
        read(fragment)
    );
    std::fs::write(out, page).expect("write host page");
    out.to_path_buf()
}

fn render_all(f: &Fixture) -> (PathBuf, PathBuf) {
    let doc = f.ws.json(&["panorama", "--json"]);
    let reports = doc["panoramas"].as_array().expect("panoramas");
    assert_eq!(reports.len(), 1, "un seul dossier a un panorama : {doc:#}");
    assert_eq!(reports[0]["dossier"], "pauvrete");
    assert_eq!(reports[0]["stories"], 2, "{doc:#}");

    let created = f.ws.json(&["edition", "new", "flash-info", "--json"]);
    assert_eq!(
        created,
        serde_json::json!({"kind": "flash-info", "number": 1})
    );
    for (story, section) in [
        (f.pact, "À la une"),
        (f.hostile, "Dans nos dossiers"),
        (f.toulouse, "Dans nos dossiers"),
    ] {
        f.ws.json(&[
            "edition",
            "add",
            "flash-info/1",
            &story.to_string(),
            "--section",
            section,
            "--json",
        ]);
    }
    f.ws.json(&[
        "edition", "block", "flash-info/1", "intro", "--text",
        "Bonjour à toutes et à tous,\n\nce mois-ci, **le pacte des solidarités**. <script>alert(3)</script>",
        "--json",
    ]);
    f.ws.json(&[
        "edition",
        "block",
        "flash-info/1",
        "agenda",
        "--title",
        "Forum des acteurs de la politique de la ville",
        "--date",
        "2026-12-01",
        "--place",
        "Toulouse, Hôtel de région",
        "--text",
        "Inscription [sur le site](https://example.org/forum).",
        "--json",
    ]);
    let rendered = f.ws.json(&["edition", "render", "flash-info/1", "--json"]);
    assert_eq!(rendered["edition"]["items"], 3, "{rendered:#}");
    let published = f.ws.archive().join("published");
    (
        published.join("panoramas/pauvrete"),
        published.join("flash-info/1"),
    )
}

/// Feeds parse back with the same titles and links.
fn feeds_parse_back(panorama: &Path) {
    let atom =
        feed_rs::parser::parse(read(&panorama.join("feed.atom")).as_bytes()).expect("Atom valide");
    assert_eq!(atom.feed_type, feed_rs::model::FeedType::Atom);
    let json = feed_rs::parser::parse(read(&panorama.join("feed.json")).as_bytes())
        .expect("JSON Feed valide");
    assert_eq!(atom.entries.len(), 2);
    for (a, j) in atom.entries.iter().zip(&json.entries) {
        let title = |e: &feed_rs::model::Entry| e.title.as_ref().map(|t| t.content.clone());
        assert_eq!(title(a), title(j));
        assert_eq!(a.links[0].href, j.links[0].href);
    }
    assert!(
        atom.entries[0]
            .title
            .as_ref()
            .unwrap()
            .content
            .starts_with(HOSTILE)
    );
}

/// Served: content types, revalidation, CORS, CSP, 404, health.
fn served_as_readers_and_embedders_expect(served: &Served) {
    let page = served.get("/panoramas/pauvrete/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("frame-ancestors 'self' https://www.example.org"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let etag = page.header("etag").expect("ETag").to_string();
    let last_modified = page
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();
    assert_eq!(
        served
            .get("/panoramas/pauvrete/", &[("If-None-Match", &etag)])
            .status,
        304
    );
    let revalidated = served.get(
        "/panoramas/pauvrete/index.html",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(
        served
            .get("/panoramas/pauvrete/feed.atom", &[])
            .header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    assert_eq!(
        served
            .get("/panoramas/pauvrete/feed.json", &[])
            .header("content-type"),
        Some("application/feed+json; charset=utf-8")
    );
    let cors = served.get(
        "/panoramas/pauvrete/fragment.html",
        &[("Origin", "https://www.example.org")],
    );
    assert_eq!(
        cors.header("access-control-allow-origin"),
        Some("https://www.example.org")
    );
    let foreign = served.get(
        "/panoramas/pauvrete/fragment.html",
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(foreign.header("access-control-allow-origin"), None);
    let missing = served.get("/nulle-part.html", &[]);
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("Page introuvable"));
    assert!(missing.text().contains("href=\"/abonnement\""));
    assert_eq!(served.get("/../feeds.toml", &[]).status, 404);
    assert_eq!(served.get("/%2e%2e/feeds.toml", &[]).status, 404);
    let health = served.get("/healthz", &[]);
    assert_eq!(health.status, 200);
    assert!(health.text().contains("ok"));
    assert_eq!(served.get("/flash-info/1", &[]).status, 301);
    assert_eq!(
        served
            .get("/flash-info/1/email.txt", &[])
            .header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

/// The email: inlined CSS, @media kept, preheader, online version, unsubscribe placeholder.
fn email_and_text_part(f: &Fixture, edition: &Path, text: &str) {
    let email = read(&edition.join("email.html"));
    assert!(email.contains("style=\""), "CSS en ligne");
    assert!(email.contains("@media"), "@media conservé");
    assert!(email.contains("width=\"600\""));
    assert!(email.contains("Version en ligne"));
    assert!(
        email.contains("/flash-info/1/\""),
        "lien vers la version en ligne"
    );
    assert!(email.contains("/desabonnement/JETON-DESABONNEMENT"));
    // css-inline writes the no-break space as an entity.
    assert!(email.contains("Flash Info n°&nbsp;1"), "préheader");
    assert_eq!(
        email.matches("<img").count(),
        email.matches(" alt=").count(),
        "alt sur chaque image"
    );
    for page in [&email, &read(&edition.join("index.html"))] {
        assert!(!page.contains("<script"), "Markdown nettoyé");
        assert!(
            page.contains("<strong>le pacte des solidarités</strong>"),
            "Markdown rendu :\n{page}"
        );
        assert!(
            page.contains("<a href=\"https://example.org/forum\""),
            "lien du Markdown"
        );
    }
    // The text part names every item's title, source and link.
    for article in f.ws.articles() {
        let story = article["story"].as_i64().unwrap();
        if story == article["id"].as_i64().unwrap()
            && [f.pact, f.hostile, f.toulouse].contains(&story)
        {
            assert!(
                text.contains(&typography(article["title"].as_str().unwrap())),
                "titre absent du texte : {article}\n{text}"
            );
            assert!(
                text.contains(article["url"].as_str().unwrap()),
                "lien absent du texte"
            );
            assert!(text.contains(article["source"].as_str().unwrap()));
        }
    }
    assert!(
        text.contains("1er décembre 2026"),
        "date française :\n{text}"
    );
    assert!(text.contains("Se désinscrire\u{202F}: http://127.0.0.1:"));
}

/// Every path of the contract exists.
fn contract_paths_exist(panorama: &Path, edition: &Path, published: &Path) {
    for name in ["index.html", "fragment.html", "feed.atom", "feed.json"] {
        assert!(panorama.join(name).is_file(), "{name} manque");
    }
    for name in ["index.html", "email.html", "email.txt"] {
        assert!(edition.join(name).is_file(), "{name} manque");
    }
    assert!(published.join("index.html").is_file());
}

/// Counts printed in French: « +1 source », never « +1 sources ».
fn counts_in_french(ws: &Workspace) {
    let out = ws.run(&["articles"]);
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(human.contains("+1 source"), "{human}");
    assert!(
        !human.contains("+1 sources") && !human.contains("(s)"),
        "{human}"
    );
}

/// Every page links to the subscription page.
fn pages_link_to_subscription(pages: [PathBuf; 3], port: u16) {
    for path in pages {
        assert!(
            read(&path).contains(&format!("href=\"http://127.0.0.1:{port}/abonnement\"")),
            "pas de lien vers /abonnement dans {}",
            path.display()
        );
    }
}

#[test]
fn publications_are_rendered_valid_safe_and_served() {
    let f = fixture();
    let (panorama, edition) = render_all(&f);
    let published = f.ws.archive().join("published");

    counts_in_french(&f.ws);

    contract_paths_exist(&panorama, &edition, &published);

    // The hostile title is text everywhere.
    for path in [
        panorama.join("index.html"),
        panorama.join("fragment.html"),
        panorama.join("feed.atom"),
        edition.join("index.html"),
        edition.join("email.html"),
    ] {
        assert_escaped(&path);
    }
    let json_feed: serde_json::Value =
        serde_json::from_str(&read(&panorama.join("feed.json"))).unwrap();
    assert!(
        json_feed["items"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with(HOSTILE),
        "{json_feed:#}"
    );
    let text = read(&edition.join("email.txt"));
    assert!(
        !text.contains("&lt;"),
        "le texte brut n'est pas du HTML :\n{text}"
    );

    // The fragment embeds: no document, no script, styles scoped under one class.
    let fragment = read(&panorama.join("fragment.html"));
    assert!(
        !fragment.contains("<html") && !fragment.contains("<body") && !fragment.contains("<script")
    );
    assert!(fragment.contains("class=\"veille-panorama\""));
    let css = read(&published.join("panoramas/panorama.css"));
    for rule in css.lines().filter(|l| l.contains('{')) {
        assert!(
            rule.trim_start().starts_with(".veille-panorama"),
            "règle non confinée : {rule}"
        );
    }
    // Starred stories first (the older hostile one is starred), then newest first; with the
    // other source of the merged story.
    let pact_at = fragment.find("pacte des solidarités").expect("pacte");
    let hostile_at = fragment.find("aide alimentaire").expect("aide alimentaire");
    assert!(hostile_at < pact_at, "l'histoire étoilée d'abord");
    assert!(fragment.contains("Lu aussi dans\u{202F}: <a"), "{fragment}");
    assert!(
        !fragment.contains("Mirail"),
        "le panorama pauvreté ne montre que ses histoires"
    );
    assert!(
        !fragment.contains("Stade toulousain"),
        "une histoire non retenue n'est pas publiée"
    );

    // The panorama page names the dossier once (its <h1>; the fragment's own heading is for
    // the pages that embed it), says what the dossier is about (its `description`), shows
    // the image its feed gave (decorative, fixed size, lazy) and invites readers to follow it
    // in their feed reader.
    let page = read(&panorama.join("index.html"));
    let body = &page[page.find("<main").expect("<main>")..];
    let title = "Panorama de presse — Stratégie Pauvreté et Pacte des Solidarités";
    assert_eq!(body.matches(title).count(), 1, "{body}");
    assert!(
        !body.contains("<h2 class=\"veille-panorama__titre-bloc\""),
        "{body}"
    );
    assert!(fragment.contains(&format!(">{title}</h2>")), "{fragment}");
    let description =
        typography("Les articles sur la pauvreté, la précarité et le Pacte des solidarités.");
    for html in [&page, &fragment] {
        assert!(html.contains(&description), "{html}");
        assert!(
            html.contains(&format!(
                "<img class=\"veille-panorama__image\" src=\"{}\" alt=\"\" width=\"120\" height=\"80\" loading=\"lazy\"",
                f._server.url("/images/pacte.svg")
            )),
            "{html}"
        );
        assert_eq!(html.matches("<img").count(), 1, "une image, celle du pacte");
        assert!(html.contains("Suivre ce panorama dans un lecteur de flux"));
        assert!(!html.contains("S'abonner :"));
    }
    // French typography in what readers see, never in links. Checked on the page's own words:
    // which title leads a two-source story depends on which source was stored first.
    assert!(body.contains("Lu aussi dans\u{202F}:"), "{body}");
    assert!(!body.contains("Lu aussi dans :"), "{body}");
    assert!(body.contains("href=\"http://127.0.0.1:"), "liens intacts");
    // The image is in the web version of the edition, not in its email (`images` is off
    // for the Flash Info).
    assert!(read(&edition.join("index.html")).contains("pacte.svg"));
    assert!(!read(&edition.join("email.html")).contains("pacte.svg"));
    pages_link_to_subscription(
        [
            panorama.join("index.html"),
            edition.join("index.html"),
            published.join("index.html"),
        ],
        f.port,
    );

    feeds_parse_back(&panorama);

    email_and_text_part(&f, &edition, &text);

    // W3C Nu HTML Checker: 0 errors on every page (email: table attributes allowed).
    let host = host_page(
        &panorama.join("fragment.html"),
        &f.ws.dir.path().join("hote.html"),
    );
    let report = web::vnu(
        &[
            panorama.join("index.html"),
            host,
            edition.join("index.html"),
            published.join("index.html"),
        ],
        &[edition.join("email.html")],
    );
    assert_eq!(
        report["errors"], 0,
        "erreurs du validateur W3C :\n{report:#}"
    );

    let served = Served::start(&f.ws, f.port);
    served_as_readers_and_embedders_expect(&served);

    // axe-core: no violation on the panorama page and the edition's web version.
    let audit = web::axe(&[
        format!("{}/panoramas/pauvrete/", served.base),
        format!("{}/flash-info/1/", served.base),
        format!("{}/", served.base),
    ]);
    assert_eq!(
        audit["violations"], 0,
        "violations d'accessibilité :\n{audit:#}"
    );
}

#[test]
fn an_empty_panorama_says_so_and_editions_check_their_input() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!("[publish]\ntemplates = \"{}\"\n", templates.display()),
    );
    let doc = ws.json(&["panorama", "pauvrete", "--json"]);
    assert_eq!(doc["panoramas"][0]["stories"], 0);
    let page = read(&ws.archive().join("published/panoramas/pauvrete/index.html"));
    assert!(
        page.contains("Aucun article retenu dans ce dossier ces 30 derniers jours."),
        "{page}"
    );

    // A dossier without a panorama, an unknown kind, a bad address: exit 2, in French.
    let out = ws.run(&["panorama", "securite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("n'a pas de panorama"));
    let out = ws.run(&["edition", "new", "flash-infos"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vouliez-vous dire « flash-info »"));
    let out = ws.run(&["edition", "show", "flash-info"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GENRE/NUMÉRO"));
    let out = ws.run(&["edition", "add", "flash-info/9", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("édition introuvable : flash-info/9"));

    // Numbering per kind; an empty edition renders and says so.
    assert_eq!(
        ws.json(&["edition", "new", "lettre-pauvrete", "--json"])["number"],
        1
    );
    assert_eq!(
        ws.json(&["edition", "new", "lettre-pauvrete", "--json"])["number"],
        2
    );
    assert_eq!(
        ws.json(&["edition", "new", "flash-info", "--json"])["number"],
        1
    );
    let out = ws.run(&["edition", "add", "lettre-pauvrete/2", "12345"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("histoire inconnue : 12345"));
    ws.json(&["edition", "render", "lettre-pauvrete/2", "--json"]);
    let web = read(&ws.archive().join("published/lettre-pauvrete/2/index.html"));
    assert!(web.contains("Cette édition est encore vide."));
    let index = read(&ws.archive().join("published/index.html"));
    assert!(
        index.contains("Lettre d&#39;information Pauvreté n°\u{A0}2"),
        "{index}"
    );
    assert!(index.contains("Panoramas de presse"));
}

#[test]
fn the_root_serves_the_publications_index_before_anything_is_published() {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let port = web::free_port();
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nbase_url = \"http://127.0.0.1:{port}\"\ntemplates = \"{}\"\n",
            templates.display()
        ),
    );
    let served = Served::start(&ws, port);
    let root = served.get("/", &[]);
    assert_eq!(root.status, 200);
    let text = root.text();
    assert!(text.contains("Aucune publication pour l"), "{text}");
    assert!(
        text.contains(&format!("href=\"http://127.0.0.1:{port}/abonnement\"")),
        "{text}"
    );
    // The subscription page it links to is there.
    assert_eq!(served.get("/abonnement", &[]).status, 200);
    let index = ws.archive().join("published/index.html");
    let report = web::vnu(&[index], &[]);
    assert_eq!(report["errors"], 0, "{report:#}");
}

/// `make screenshots`: one PNG per publication, for the README (not part of `make test`).
#[test]
#[ignore = "lancé par `make screenshots`"]
fn screenshots() {
    let f = fixture();
    render_all(&f);
    let served = Served::start(&f.ws, f.port);
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    for (path, name, width) in [
        ("/panoramas/pauvrete/", "panorama.png", 1000),
        ("/flash-info/1/", "flash-info-web.png", 1000),
        ("/flash-info/1/email.html", "flash-info-email.png", 700),
        ("/", "archive.png", 1000),
    ] {
        web::screenshot(&format!("{}{path}", served.base), &out.join(name), width);
        println!("{}", out.join(name).display());
    }
}
