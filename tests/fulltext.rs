//! Full text end to end: a local server serves a feed of one-line items and their article
//! pages; `veille fetch` stores the extracted text after the feed pass, respects robots.txt,
//! leaves an item whose page is missing as the feed gave it, and does not fetch the page of
//! an item whose feed text is long enough. The stored text is then searched and tagged
//! (below title and summary), and public outputs keep showing title, summary and link only.

mod support;

use support::Workspace;
use support::server::{Route, TestServer};

fn article_page(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head><body>
<nav><a href="/">Accueil</a> <a href="/rubriques">Rubriques</a></nav>
<article><h1>{title}</h1>
{body}<div class="partage">Partager sur Facebook</div></article>
<footer>Mentions légales</footer></body></html>"#
    )
}

const P1: &str = "Le conseil départemental de la Haute-Garonne a voté jeudi une aide exceptionnelle de 2 millions d'euros pour les associations d'aide alimentaire, confrontées à une hausse de 25 % des demandes depuis janvier.";
const P2: &str = "« Nous n'avons jamais vu autant de familles monoparentales », explique la présidente du Secours populaire de Toulouse, qui distribue désormais des colis trois fois par semaine dans le quartier du Mirail.";
const P3: &str = "L'aide sera versée en deux fois, au printemps puis à l'automne, et s'ajoute aux crédits du pacte des solidarités signés avec l'État l'an dernier.";

fn feed(server: &TestServer) -> String {
    let long = "Un long résumé venu du flux lui-même, ".repeat(12);
    let item = |title: &str, path: &str, guid: &str, description: &str| {
        format!(
            "<item><title>{title}</title><link>{}</link><guid>{guid}</guid><pubDate>Fri, 27 Nov 2026 10:00:00 +0100</pubDate><description>{description}</description></item>\n",
            server.url(path)
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Journal</title><link>{}</link>\n{}{}{}{}{}</channel></rss>\n",
        server.url("/"),
        item(
            "Aide alimentaire : 2 millions d'euros votés",
            "/a/1.html",
            "g1",
            "Une ligne."
        ),
        item("Page disparue", "/a/2.html", "g2", "Une autre ligne."),
        item(
            "Page interdite aux robots",
            "/prive/3.html",
            "g3",
            "Encore une ligne."
        ),
        item("Un article déjà complet", "/a/4.html", "g4", &long),
        item("Fête de quartier au Mirail", "/a/5.html", "g5", &long),
    )
}

#[test]
fn bodies_are_fetched_after_the_feed_politely_and_failures_leave_items_alone() {
    let server = TestServer::start();
    server.route("/rss.xml", Route::rss(feed(&server)));
    server.route(
        "/robots.txt",
        Route::ok("User-agent: *\nDisallow: /prive/\n", "text/plain"),
    );
    server.route(
        "/a/1.html",
        Route::ok(
            article_page("Aide alimentaire : 2 millions d'euros votés", &[P1, P2, P3]),
            "text/html; charset=utf-8",
        ),
    );
    server.route("/a/2.html", Route::status(404));
    server.route(
        "/prive/3.html",
        Route::ok(article_page("Interdit", &[P1, P2]), "text/html"),
    );
    server.route(
        "/a/4.html",
        Route::ok(article_page("Complet", &[P1, P2]), "text/html"),
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[[sources]]\nname = \"Journal\"\nfeed = \"{}\"\ndossiers = [\"pauvrete\"]\n",
            server.url("/rss.xml")
        ),
    );
    // A rule with a word of the title and a word found only in the page.
    let text = std::fs::read_to_string(ws.config()).unwrap().replacen(
        "panorama = true\n",
        "panorama = true\nrules = '''\"aide alimentaire\" monoparentales'''\n",
        1,
    );
    std::fs::write(ws.config(), text).unwrap();
    let fetched = ws.fetch(&[]);
    assert_eq!(support::report(&fetched, "Journal")["status"], "ok");
    let articles = ws.articles();
    let by_guid = |title: &str| {
        articles
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("{title} absent"))
            .clone()
    };
    let first = by_guid("Aide alimentaire : 2 millions d'euros votés");
    let body = first["body"].as_str().expect("texte de l'article");
    assert!(
        body.contains("aide exceptionnelle de 2 millions d'euros"),
        "{body}"
    );
    assert!(body.contains("pacte des solidarités"), "{body}");
    assert!(
        !body.contains("Partager") && !body.contains("Accueil"),
        "{body}"
    );
    assert_eq!(first["summary"], "Une ligne.");

    let missing = by_guid("Page disparue");
    assert!(missing["body"].is_null());
    assert_eq!(missing["summary"], "Une autre ligne.");

    assert!(by_guid("Page interdite aux robots")["body"].is_null());
    assert_eq!(server.hits("/prive/3.html"), 0);
    assert!(by_guid("Un article déjà complet")["body"].is_null());
    assert_eq!(server.hits("/a/4.html"), 0);

    // Tagged on the feed's text, then again with the page's: the page's word counts, and the
    // why says where it was found.
    assert_eq!(first["dossiers"], serde_json::json!(["pauvrete"]));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (why, score): (String, f64) = runtime.block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_as("SELECT why, score FROM tags WHERE dossier = 'pauvrete'")
            .fetch_one(pool)
            .await
            .unwrap())
    });
    let why: Vec<veille::model::Match> = serde_json::from_str(&why).unwrap();
    let said: Vec<String> = why
        .iter()
        .map(|m| format!("{} ({})", m.term, m.field_fr()))
        .collect();
    assert!(
        said.contains(&"aide alimentaire (titre)".to_string()),
        "{said:?}"
    );
    assert!(
        said.contains(&"monoparentales (dans l'article)".to_string()),
        "{said:?}"
    );
    // Title 1.5 + page 0.4 + the source's hint 0.5.
    assert!((score - 2.4).abs() < 1e-9, "{score}");

    // A word only in the fetched page finds the article, whose snippet stays the feed's.
    let hits = ws.json(&["search", "monoparentales", "--json"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(
        hits[0]["title"],
        "Aide alimentaire : 2 millions d'euros votés"
    );
    assert!(!hits[0].to_string().contains("monoparentales"), "{hits:#?}");
    let only_page = ws.json(&["search", "article:monoparentales", "--json"]);
    assert_eq!(only_page.as_array().unwrap().len(), 1, "{only_page:#}");
    let in_title = ws.json(&["search", "titre:monoparentales", "--json"]);
    assert!(in_title.as_array().unwrap().is_empty(), "{in_title:#}");
    // In a title, the word counts more than deep in a page.
    let hits = ws.json(&["search", "Mirail", "--json"]);
    let titles: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Fête de quartier au Mirail",
            "Aide alimentaire : 2 millions d'euros votés"
        ]
    );

    // A second pass neither refetches the missing page nor the fetched one.
    ws.fetch(&["--force"]);
    assert_eq!(server.hits("/a/1.html"), 1);
    assert_eq!(server.hits("/a/2.html"), 1);
}

#[test]
fn content_selector_overrides_and_bad_settings_are_reported() {
    let server = TestServer::start();
    server.route(
        "/rss.xml",
        Route::rss(support::rss(&[(
            "Un article",
            &server.url("/b/1.html"),
            "b1",
        )])),
    );
    server.route(
        "/b/1.html",
        Route::ok(
            "<html><body><div class=\"chapo\">Chapeau ignoré</div><div class=\"texte\"><p>Premier paragraphe choisi.</p><p>Second paragraphe choisi.</p></div></body></html>",
            "text/html",
        ),
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[[sources]]\nname = \"Site\"\nfeed = \"{}\"\nfull_text = true\ncontent = \"div.texte\"\n",
            server.url("/rss.xml")
        ),
    );
    ws.fetch(&[]);
    let articles = ws.articles();
    assert_eq!(
        articles[0]["body"],
        "Premier paragraphe choisi.\nSecond paragraphe choisi."
    );

    let bad = Workspace::new(
        "",
        "[[sources]]\nname = \"Site\"\nfeed = \"https://exemple.fr/rss\"\nfull_text = \"souvent\"\ncontent = \"div[\"\n",
    );
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`full_text` de « Site » : \"auto\", true ou false"),
        "{err}"
    );
    assert!(err.contains("sélecteur CSS invalide `div[`"), "{err}");
}

#[test]
fn articles_whose_pages_tell_the_same_event_join_one_story() {
    let server = TestServer::start();
    let a = (
        "Toulouse : le département vote une aide aux associations d'aide alimentaire",
        "Vote jeudi.",
    );
    let b = (
        "Aide alimentaire : 2,5 millions d'euros pour les associations",
        "Enveloppe adoptée.",
    );
    let c = (
        "Toulouse : l'aide aux sans-abri renforcée pour l'hiver",
        "Reportage.",
    );
    // Titles and ledes alone do not make one story of the first two.
    let fp = |(t, s): (&str, &str)| veille::dedup::fingerprint(t, s);
    for (x, y) in [(a, b), (a, c), (b, c)] {
        let s = veille::dedup::similarity(&fp(x), &fp(y));
        assert!(
            s < veille::dedup::DEFAULT_THRESHOLD,
            "{} / {}: {s}",
            x.0,
            y.0
        );
    }
    let item = |(title, summary): (&str, &str), path: &str| {
        format!(
            "<item><title>{title}</title><link>{}</link><guid>{path}</guid><pubDate>Fri, 27 Nov 2026 10:00:00 +0100</pubDate><description>{summary}</description></item>\n",
            server.url(path)
        )
    };
    server.route(
        "/rss.xml",
        Route::rss(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Journal</title><link>{}</link>\n{}{}{}</channel></rss>\n",
            server.url("/"),
            item(a, "/c/1.html"),
            item(b, "/c/2.html"),
            item(c, "/c/3.html"),
        )),
    );
    let page = |title: &str, paragraphs: &[&str]| {
        Route::ok(article_page(title, paragraphs), "text/html; charset=utf-8")
    };
    server.route(
        "/c/1.html",
        page(a.0, &[
            "Le conseil départemental a voté jeudi une aide de 2,5 millions d'euros aux associations.",
            "« Nous n'avons jamais vu autant de familles monoparentales », explique Marie Dupont, présidente du Secours Populaire de Toulouse.",
            "Les demandes ont augmenté de 37 % depuis janvier, selon les associations du département.",
        ]),
    );
    server.route(
        "/c/2.html",
        page(b.0, &[
            "Jeudi, les élus ont adopté une enveloppe de 2,5 millions d'euros pour les associations.",
            "Pour Marie Dupont, du Secours Populaire, « nous n'avons jamais vu autant de familles monoparentales ».",
            "Les demandes ont bondi de 37 % en un an, et les bénévoles manquent dans tout le département.",
        ]),
    );
    server.route(
        "/c/3.html",
        page(c.0, &[
            "Dans les locaux de la Banque Alimentaire, les bénévoles préparent les colis de l'hiver.",
            "« Il faudra tenir jusqu'au printemps avec les mêmes moyens », soupire Jean Martin, responsable de l'entrepôt.",
            "Quelque 140 familles viennent chaque semaine chercher un colis.",
        ]),
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[[sources]]\nname = \"Journal\"\nfeed = \"{}\"\nfull_text = true\n",
            server.url("/rss.xml")
        ),
    );
    ws.fetch(&[]);
    let articles = ws.articles();
    let story = |title: &str| {
        let found = articles
            .iter()
            .find(|x| x["title"] == title)
            .unwrap_or_else(|| panic!("{title} absent : {articles:#?}"));
        assert!(found["body"].is_string(), "{found:#}");
        found["story"].as_i64().unwrap()
    };
    assert_eq!(story(a.0), story(b.0), "{articles:#?}");
    assert_ne!(story(a.0), story(c.0), "{articles:#?}");
    // One hit for the merged story.
    let hits = ws.json(&["search", "monoparentales", "--json"]);
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits:#}");
}
