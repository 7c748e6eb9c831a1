//! Centres of the network through the real binary: two centres, each with its own archive
//! folder and `[centre]`, on one PostgreSQL (a throwaway cluster started here). Each decides
//! for itself on the same stories, and the panorama of each shows only its own choices; an
//! archive that starts naming its centre (SQLite, or PostgreSQL in the second pass) keeps
//! what it decided before.

mod support;

use support::Workspace;
use support::postgres::Postgres;
use support::server::{Route, TestServer};

fn centre(url: &str, feed: &str, id: &str, name: &str) -> Workspace {
    Workspace::sharing(
        "",
        &format!(
            "[centre]\nid = \"{id}\"\nname = \"{name}\"\nregion = \"occitanie\"\n\n\
             [publish]\ntemplates = \"{}\"\n\n{}",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .display(),
            support::feed_source("Le Monde", feed)
        ),
        url,
    )
}

#[test]
fn two_centres_on_one_database_decide_each_for_itself() {
    let pg = Postgres::start();
    let url = pg.create_database("centres");
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(support::one_recent_article_feed(&server)),
    );
    let feed = server.url("/feed.xml");
    let rt = centre(&url, &feed, "rt", "Ressources & Territoires");
    let labo = centre(&url, &feed, "labo", "Labo Cités");
    rt.json(&["fetch", "--json"]);
    labo.json(&["fetch", "--json"]);
    // One article for both: sources and articles are shared.
    let articles = rt.articles();
    assert_eq!(articles.len(), 1);
    assert_eq!(labo.articles().len(), 1);
    let story = articles[0]["story"].as_i64().unwrap().to_string();

    rt.json(&[
        "decide",
        &story,
        "garder",
        "--dossier",
        "pauvrete",
        "--json",
    ]);
    labo.json(&[
        "decide",
        &story,
        "rejeter",
        "--dossier",
        "pauvrete",
        "--json",
    ]);
    let panorama = |ws: &Workspace| {
        ws.json(&["panorama", "pauvrete", "--json"]);
        std::fs::read_to_string(ws.archive().join("published/panoramas/pauvrete/feed.json"))
            .expect("feed.json du panorama")
    };
    let kept = panorama(&rt);
    assert!(kept.contains("pacte des solidarités"), "{kept}");
    let rejected = panorama(&labo);
    assert!(!rejected.contains("pacte des solidarités"), "{rejected}");
}

#[test]
fn an_archive_that_starts_naming_its_centre_keeps_its_decisions() {
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(support::one_recent_article_feed(&server)),
    );
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\ntemplates = \"{}\"\n\n{}",
            templates.display(),
            support::feed_source("Le Monde", &server.url("/feed.xml"))
        ),
    );
    ws.json(&["fetch", "--json"]);
    let story = ws.articles()[0]["story"].as_i64().unwrap().to_string();
    ws.json(&[
        "decide",
        &story,
        "garder",
        "--dossier",
        "pauvrete",
        "--json",
    ]);
    let mut text = std::fs::read_to_string(ws.config()).unwrap();
    text.push_str("\n[centre]\nid = \"rt\"\nname = \"R&T\"\n");
    std::fs::write(ws.config(), text).unwrap();
    // Twice: the adoption happens once, the second opening finds the centre registered.
    for _ in 0..2 {
        ws.json(&["panorama", "pauvrete", "--json"]);
        let feed =
            std::fs::read_to_string(ws.archive().join("published/panoramas/pauvrete/feed.json"))
                .expect("feed.json du panorama");
        assert!(feed.contains("pacte des solidarités"), "{feed}");
    }
}
