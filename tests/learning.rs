//! End to end: tagging learns from curators. After 30 decisions in a dossier whose rules tag
//! nothing, a new story like the kept ones enters the dossier's "to check" band with the
//! learned words behind it; one like the rejected ones does not. And `veille eval tags
//! --train` on the development file.

mod support;

use chrono::{Duration, Utc};
use support::server::{Route, TestServer};
use support::{Workspace, feed_source};

const TOWNS: [&str; 15] = [
    "Albi", "Rodez", "Auch", "Foix", "Cahors", "Tarbes", "Mende", "Castres", "Millau", "Pamiers",
    "Figeac", "Lourdes", "Lodève", "Limoux", "Gaillac",
];

const KEPT: [&str; 5] = [
    "les habitants du quartier ouvrent un jardin partagé",
    "une épicerie solidaire pour les familles du quartier",
    "le centre social accompagne les habitants en précarité",
    "les associations du quartier lancent une aide alimentaire",
    "un jardin partagé et des repas solidaires pour les familles",
];

const REJECTED: [&str; 5] = [
    "le club de rugby s'impose à domicile",
    "la fête de la musique attire les foules",
    "travaux de voirie sur l'avenue principale",
    "le festival de cinéma dévoile son programme",
    "le marché de Noël ouvre ses portes",
];

fn rss(server: &TestServer, prefix: &str, titles: &[String]) -> String {
    let now = Utc::now();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for (i, title) in titles.iter().enumerate() {
        let at = now - Duration::hours(1 + i as i64);
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><pubDate>{}</pubDate></item>",
            server.url(&format!("/{prefix}/{i}.html")),
            at.format("%a, %d %b %Y %H:%M:%S +0000")
        ));
    }
    xml + "</channel></rss>"
}

#[test]
fn decisions_fill_the_to_check_band_with_a_why() {
    let server = TestServer::start();
    let mut first: Vec<String> = Vec::new();
    for (i, town) in TOWNS.iter().enumerate() {
        first.push(format!("{town} : {}", KEPT[i % KEPT.len()]));
        first.push(format!("{town} : {}", REJECTED[i % REJECTED.len()]));
    }
    server.route("/local.xml", Route::rss(rss(&server, "local", &first)));
    // The dossiers of the test workspace have no rules: only what is learned can file.
    let ws = Workspace::new("", &feed_source("Local", &server.url("/local.xml")));
    let doc = ws.fetch(&[]);
    assert_eq!(doc["totals"]["new"], 30, "{doc:#}");
    let articles = ws.articles();
    let stories: std::collections::BTreeSet<i64> = articles
        .iter()
        .map(|a| a["story"].as_i64().unwrap())
        .collect();
    assert_eq!(
        stories.len(),
        30,
        "thirty stories, none merged: {articles:#?}"
    );
    // Nothing decided yet: nothing to check.
    let band = ws.json(&["to-check", "pauvrete", "--json"]);
    assert_eq!(band.as_array().unwrap().len(), 0, "{band:#}");
    for a in &articles {
        let title = a["title"].as_str().unwrap();
        let action = if KEPT.iter().any(|k| title.ends_with(k)) {
            "keep"
        } else {
            "reject"
        };
        let story = a["story"].as_i64().unwrap().to_string();
        let out = ws.run(&["decide", &story, action, "--dossier", "pauvrete"]);
        assert!(out.status.success(), "{out:?}");
    }

    // A new pass brings one story like the kept ones and one like the rejected ones.
    let second = vec![
        "Moissac : un jardin partagé et une épicerie solidaire pour les habitants du quartier"
            .to_string(),
        "Moissac : le club de rugby s'impose face à Montauban".to_string(),
    ];
    server.route("/local.xml", Route::rss(rss(&server, "local2", &second)));
    ws.fetch(&[]);
    let band = ws.json(&["to-check", "pauvrete", "--json"]);
    let band = band.as_array().expect("array");
    assert_eq!(band.len(), 1, "{band:#?}");
    let entry = &band[0];
    assert_eq!(entry["title"], second[0].as_str());
    assert_eq!(entry["dossier"], "pauvrete");
    assert!(entry["probability"].as_f64().unwrap() >= 0.5, "{entry:#}");
    let words: Vec<&str> = entry["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w[0].as_str().unwrap())
        .collect();
    assert!(
        words.iter().any(
            |w| ["jardin", "partagé", "solidaire", "quartier", "habitants"]
                .iter()
                .any(|k| w.contains(k))
        ),
        "the why names the learned words: {words:?}"
    );
    // The people's view says the same in French.
    let out = ws.run(&["to-check", "pauvrete"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Moissac") && text.contains("appris :"),
        "{text}"
    );
    // Once decided, the story leaves the band.
    let story = entry["story"].as_i64().unwrap().to_string();
    assert!(
        ws.run(&["decide", &story, "keep", "--dossier", "pauvrete"])
            .status
            .success()
    );
    let band = ws.json(&["to-check", "pauvrete", "--json"]);
    assert_eq!(band.as_array().unwrap().len(), 0, "{band:#}");
    // An unknown dossier is a usage error, in French.
    let out = ws.run(&["to-check", "inconnu"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
#[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
fn eval_tags_train_on_the_development_file() {
    let labels = support::shared_fixtures().join("eval/dossier-labels-fr.tsv");
    let labels = labels.to_str().unwrap();
    let ws = Workspace::new("", "");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
            .arg("--config")
            .arg(&config)
            .arg("--archive")
            .arg(ws.archive())
            .args(args)
            .envs(ws.store_env())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let rules = run(&["eval", "tags", labels, "--json"]);
    // Trained on the file it is measured on: the fitted figure, at least the rules'.
    let fitted = run(&["eval", "tags", labels, "--train", labels, "--json"]);
    assert!(fitted["method"].as_str().unwrap().contains("apprentissage"));
    assert!(
        fitted["recall"].as_f64().unwrap() >= rules["recall"].as_f64().unwrap(),
        "{fitted:#} {rules:#}"
    );
    // The honest figure: each fold measured with a scorer trained on the others.
    let folded = run(&["eval", "tags", labels, "--folds", "5", "--json"]);
    assert!(folded["method"].as_str().unwrap().contains("5 plis"));
    assert_eq!(
        folded["dense_over"].as_array().unwrap().len(),
        7,
        "{folded:#}"
    );
    assert!(folded["dense"]["f1"].as_f64().unwrap() > 0.0);
}
