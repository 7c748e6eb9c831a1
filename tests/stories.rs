//! End to end: the same wire stories in three local feeds become one story each; a repeated
//! title template for different towns stays apart; decisions attach to stories; tags and
//! search work through the binary.

mod support;

use std::collections::{HashMap, HashSet};

use support::server::{Route, TestServer};
use support::{Workspace, feed_source};

fn feed(server: &TestServer, prefix: &str, items: &[(&str, &str)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for (i, (title, summary)) in items.iter().enumerate() {
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><description>{summary}</description><pubDate>Fri, 27 Nov 2026 1{i}:00:00 +0100</pubDate></item>",
            server.url(&format!("/{prefix}/{i}.html"))
        ));
    }
    xml + "</channel></rss>"
}

/// Search through the binary: accents and plurals folded, a phrase, a dossier filter;
/// one hit per story, with its other sources.
fn search_folds_words_and_groups_stories(ws: &Workspace) {
    let hits = ws.json(&["search", "solidarites", "--json"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["also"].as_array().unwrap().len(), 2, "{hits:#?}");
    for key in ["id", "story", "title", "url", "score"] {
        assert!(
            hits[0].get(key).is_some(),
            "champ {key} absent : {:#}",
            hits[0]
        );
    }
    let phrase = ws.json(&["search", "\"zone industrielle\" -Montaudran", "--json"]);
    assert_eq!(phrase.as_array().unwrap().len(), 0, "{phrase:#}");
    let incendie = ws.json(&["search", "incendies entrepot", "--json"]);
    assert_eq!(incendie.as_array().unwrap().len(), 1, "{incendie:#}");
    assert_eq!(
        incendie[0]["also"].as_array().unwrap().len(),
        2,
        "{incendie:#}"
    );
    let out = ws.run(&["search", "(pacte"]);
    assert_eq!(out.status.code(), Some(2), "requête invalide : code 2");
}

#[test]
fn the_same_story_in_three_feeds_is_one_story() {
    let server = TestServer::start();
    server.route(
        "/monde.xml",
        Route::rss(feed(&server, "monde", &[
            ("Pauvreté : le gouvernement présente son nouveau pacte des solidarités", "Le Premier ministre a présenté jeudi à Matignon le nouveau pacte des solidarités contre la pauvreté."),
            ("Toulouse : un incendie détruit un entrepôt de la zone industrielle de Montaudran", "Les pompiers de Haute-Garonne ont lutté toute la nuit contre l'incendie de l'entrepôt."),
            ("Rugby : le Stade toulousain s'impose face à Clermont", "Victoire nette des Toulousains au stade Ernest-Wallon."),
            ("Alerte orange aux orages dans le Gers", "Météo-France place le département en vigilance orange."),
        ])),
    );
    server.route(
        "/depeche.xml",
        Route::rss(feed(&server, "depeche", &[
            ("Le gouvernement présente le nouveau pacte des solidarités contre la pauvreté", "Présenté jeudi à Matignon par le Premier ministre, le pacte des solidarités vise à réduire la pauvreté."),
            ("Incendie à Toulouse : un entrepôt de la zone industrielle de Montaudran détruit", "Toute la nuit, les pompiers de Haute-Garonne ont combattu l'incendie de l'entrepôt de Montaudran."),
            ("Alerte orange aux orages dans le Tarn", "Météo-France place le département en vigilance orange."),
        ])),
    );
    server.route(
        "/franceinfo.xml",
        Route::rss(feed(&server, "franceinfo", &[
            ("Nouveau pacte des solidarités : le gouvernement présente son plan contre la pauvreté", "Le Premier ministre a dévoilé jeudi le nouveau pacte des solidarités."),
            ("Montaudran : un entrepôt détruit par un incendie dans la zone industrielle de Toulouse", "L'incendie de l'entrepôt a mobilisé les pompiers de Haute-Garonne toute la nuit."),
            ("Cinéma : les sorties de la semaine", "Notre sélection de films à voir en salle."),
        ])),
    );
    let ws = Workspace::new(
        "",
        &(feed_source("Le Monde", &server.url("/monde.xml"))
            + &feed_source("La Dépêche", &server.url("/depeche.xml"))
            + &feed_source("franceinfo", &server.url("/franceinfo.xml"))),
    );
    let doc = ws.fetch(&[]);
    assert_eq!(doc["totals"]["new"], 10, "{doc:#}");
    let articles = ws.articles();
    let mut stories: HashMap<i64, HashSet<String>> = HashMap::new();
    for a in &articles {
        stories
            .entry(a["story"].as_i64().unwrap())
            .or_default()
            .insert(a["source"].as_str().unwrap().to_string());
    }
    let multi: Vec<_> = stories
        .values()
        .filter(|sources| sources.len() > 1)
        .collect();
    let titles_by_story = |story: i64| -> Vec<String> {
        articles
            .iter()
            .filter(|a| a["story"] == story)
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        multi.len(),
        2,
        "histoires : {:#?}",
        stories
            .keys()
            .map(|s| titles_by_story(*s))
            .collect::<Vec<_>>()
    );
    assert!(multi.iter().all(|sources| sources.len() == 3));
    let gers = articles
        .iter()
        .find(|a| a["title"] == "Alerte orange aux orages dans le Gers")
        .unwrap();
    let tarn = articles
        .iter()
        .find(|a| a["title"] == "Alerte orange aux orages dans le Tarn")
        .unwrap();
    assert_ne!(
        gers["story"], tarn["story"],
        "deux départements, deux histoires"
    );
    assert_eq!(stories.len(), 6);

    // A second pass changes nothing: story ids are stable.
    ws.fetch(&["--force"]);
    let again = ws.articles();
    let ids = |list: &[serde_json::Value]| {
        let mut v: Vec<(i64, i64)> = list
            .iter()
            .map(|a| (a["id"].as_i64().unwrap(), a["story"].as_i64().unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&articles), ids(&again));

    // The listing shows one line per story with its other sources.
    let human = String::from_utf8(ws.run(&["articles"]).stdout).unwrap();
    assert_eq!(human.matches("+2 sources").count(), 2, "{human}");

    search_folds_words_and_groups_stories(&ws);

    // A decision attaches to the story: every article of it shows the state.
    let pacte = articles
        .iter()
        .find(|a| a["source"] == "Le Monde" && a["title"].as_str().unwrap().starts_with("Pauvreté"))
        .unwrap();
    let story = pacte["story"].as_i64().unwrap().to_string();
    let out = ws.run(&["decide", &story, "keep", "--dossier", "pauvrete"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decided = ws.articles();
    let states: HashSet<&str> = decided
        .iter()
        .filter(|a| a["story"].as_i64().unwrap().to_string() == story)
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, HashSet::from(["kept"]));
    let out = ws.run(&["decide", "999999", "keep"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("histoire inconnue"));
}
