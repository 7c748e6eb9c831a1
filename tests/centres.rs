//! Centres of the network through the real binary: two centres, each with its own archive
//! folder and `[centre]`, on one PostgreSQL (a throwaway cluster started here). Each decides
//! for itself on the same stories, and the panorama of each shows only its own choices; an
//! archive that starts naming its centre (SQLite, or PostgreSQL in the second pass) keeps
//! what it decided before.

mod support;

use support::server::{Route, TestServer};
use support::{Workspace, centres};

fn centre(url: &str, feed: &str, id: &str, name: &str) -> Workspace {
    centres::centre(id, name).feed(feed).on(url)
}

#[test]
fn two_centres_on_one_database_decide_each_for_itself() {
    let (_pg, url) = centres::shared_database("centres");
    let (_server, feed) = centres::recent_article_feed();
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

/// R&T and Labo Cités, whose pauvrete and securite dossiers tag by different rules: the
/// article ("… pacte des solidarités", "Présenté jeudi à Matignon.") is in R&T's pauvrete
/// dossier, and in none of Labo Cités's but securite.
fn rt_and_labo(url: &str, feed: &str) -> (Workspace, Workspace) {
    let centre = |(id, name): (&str, &str), pauvrete: &str, securite: &str| {
        centres::centre(id, name)
            .feed(feed)
            .rules("pauvrete", pauvrete)
            .rules("securite", securite)
            .on(url)
    };
    (
        centre(
            ("rt", "Ressources & Territoires"),
            "solidarités",
            "délinquance",
        ),
        centre(("labo", "Labo Cités"), "RSA", "Matignon"),
    )
}

/// How many stories `veille search pacte --dossier D` finds in this centre's index.
fn found_in(ws: &Workspace, dossier: &str) -> usize {
    let hits = ws.json(&["search", "pacte", "--dossier", dossier, "--json"]);
    hits.as_array().expect("array").len()
}

#[test]
fn each_centre_sees_the_shared_articles_tagged_by_its_own_rules() {
    let (_pg, url) = centres::shared_database("regles");
    let (server, feed) = centres::recent_article_feed();
    // One dossier name, two rules.
    let (rt, labo) = rt_and_labo(&url, &feed);
    // Labo Cités registers before R&T stores anything (its daemon runs elsewhere).
    assert!(labo.articles().is_empty());
    rt.json(&["fetch", "--json"]);
    assert_eq!(server.hits("/feed.xml"), 1, "fetched once, by R&T");
    // Labo Cités's pass finds the article unchanged (nothing stored again) and tags it by its
    // rules before its search index takes it.
    labo.json(&["fetch", "--json"]);
    assert_eq!(
        (found_in(&labo, "pauvrete"), found_in(&labo, "securite")),
        (0, 1)
    );
    let dossiers = |ws: &Workspace| {
        let articles = ws.articles();
        assert_eq!(articles.len(), 1, "{articles:#?}");
        articles[0]["dossiers"].clone()
    };
    assert_eq!(dossiers(&labo), serde_json::json!(["securite"]));
    assert_eq!(dossiers(&rt), serde_json::json!(["pauvrete"]));
    let listed = |ws: &Workspace, dossier: &str| {
        let rows = ws.json(&["articles", "--dossier", dossier, "--json"]);
        rows.as_array().expect("array").len()
    };
    assert_eq!(
        (listed(&labo, "pauvrete"), listed(&labo, "securite")),
        (0, 1)
    );
    assert_eq!((listed(&rt, "pauvrete"), listed(&rt, "securite")), (1, 0));
    // Each archive folder's search index carries its centre's dossiers.
    assert_eq!(
        (found_in(&rt, "pauvrete"), found_in(&rt, "securite")),
        (1, 0)
    );
    // A decision without --dossier goes to the centre's own dossiers of the story.
    let story = rt.articles()[0]["story"].as_i64().unwrap().to_string();
    let decided = labo.json(&["decide", &story, "garder", "--json"]);
    assert_eq!(
        decided["dossiers"],
        serde_json::json!(["securite"]),
        "{decided}"
    );
}

#[test]
fn a_daemon_tags_what_another_centre_stored_before_indexing_it() {
    let (_pg, url) = centres::shared_database("demon");
    let (_server, feed) = centres::recent_article_feed();
    let (rt, labo) = rt_and_labo(&url, &feed);
    rt.json(&["fetch", "--json"]);
    // Labo Cités's daemon: its first pass finds the article stored, unchanged, and tags it
    // by its own rules before indexing.
    let mut daemon = support::daemon::RunningDaemon::start(labo.command(&["run"]));
    daemon.wait_for_log(
        "1 article(s) d'autres centres marqué(s) selon nos règles",
        std::time::Duration::from_secs(60),
    );
    // Stopping indexes whatever the pass left: the index has Labo Cités's dossiers.
    assert!(daemon.stop().success(), "{}", daemon.log());
    assert_eq!(
        (found_in(&labo, "pauvrete"), found_in(&labo, "securite")),
        (0, 1)
    );
}
