//! The network's collective panorama through the real binary (issue 16 point 4): three
//! centres, each with its own archive folder and `[centre]`, on one PostgreSQL (a throwaway
//! cluster started here), deciding on the stories of a shared dossier. `veille panorama
//! --reseau` and the daemon's morning job (injected clock) publish what any centre kept or
//! starred, each item naming who picked it — a hostile centre name escaped everywhere — and
//! `veille serve` serves it.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::daemon::RunningDaemon;
use support::server::{Route, TestServer};
use support::web::{Served, free_port};
use support::{Workspace, centres};

const PDV: &str = "politique-de-la-ville";
const HOSTILE: &str = r#"<script>alert(1)</script> & "Cités""#;

/// (title, hours ago): distinct enough never to be one story.
const STORIES: [(&str, i64); 5] = [
    (
        "Contrat de ville signé à Toulouse pour les quartiers prioritaires",
        1,
    ),
    (
        "L'ANRU finance la rénovation urbaine de trois quartiers lillois",
        2,
    ),
    ("Un festival de jazz anime la place du Capitole", 3),
    ("Les demandes d'aide alimentaire augmentent cet hiver", 4),
    ("Emploi des jeunes, la mission locale ouvre une antenne", 5),
];

fn feed(server: &TestServer) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for (i, (title, hours)) in STORIES.iter().enumerate() {
        let date = (chrono::Utc::now() - chrono::Duration::hours(*hours)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><description>Résumé {i}.</description>\
             <pubDate>{date}</pubDate></item>",
            server.url(&format!("/a/{i}.html"))
        ));
    }
    xml + "</channel></rss>"
}

/// A centre's workspace: its `[centre]` (no region; a hostile name reaches veille as it is),
/// the shared dossier and `[network]`.
fn centre(url: &str, feed: &str, id: &str, name: &str) -> Workspace {
    centres::centre(id, name)
        .without_region()
        .tables(&format!(
            "[dossiers.{PDV}]\ntitle = \"La politique de la ville\"\n\n\
             [network]\nshared_dossiers = [\"{PDV}\"]\n\n"
        ))
        .source(&format!(
            "[[sources]]\nname = \"Le Monde\"\nfeed = \"{feed}\"\ndossiers = [\"{PDV}\"]\n"
        ))
        .on(url)
}

fn decide(ws: &Workspace, story: i64, action: &str, dossier: &str) {
    let story = story.to_string();
    ws.json(&["decide", &story, action, "--dossier", dossier, "--json"]);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} : {e}", path.display()))
}

#[test]
fn three_centres_make_one_collective_panorama() {
    let (_pg, url) = centres::shared_database("reseau");
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let feed = server.url("/feed.xml");
    let rt = centre(&url, &feed, "rt", "R&T");
    let labo = centre(&url, &feed, "labo", "Labo Cités");
    let nord = centre(&url, &feed, "nord", HOSTILE);
    // Sources and articles are shared: one centre's fetch feeds the three.
    rt.json(&["fetch", "--json"]);
    let story = |title: &str| -> i64 {
        let articles = nord.articles();
        let article = articles
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("« {title} » absent : {articles:#?}"));
        article["story"].as_i64().unwrap()
    };
    let ids: Vec<i64> = STORIES.iter().map(|(t, _)| story(t)).collect();
    // 0: kept by two centres; 1: starred by one, kept by another; 2: rejected by all;
    // 3: kept in a dossier the network does not share; 4: kept by one, rejected by another.
    decide(&rt, ids[0], "garder", PDV);
    decide(&labo, ids[0], "garder", PDV);
    decide(&nord, ids[1], "etoiler", PDV);
    decide(&rt, ids[1], "garder", PDV);
    for ws in [&rt, &labo, &nord] {
        decide(ws, ids[2], "rejeter", PDV);
    }
    decide(&labo, ids[3], "garder", "pauvrete");
    decide(&labo, ids[4], "garder", PDV);
    decide(&nord, ids[4], "rejeter", PDV);

    let written = rt.json(&["panorama", "--reseau", "--json"]);
    assert_eq!(written["panoramas"][0]["dossier"], PDV, "{written:#}");
    assert_eq!(written["panoramas"][0]["stories"], 3, "{written:#}");
    let dir = rt.archive().join("published/reseau").join(PDV);
    let expected = [
        (STORIES[1].0, vec![HOSTILE, "R&T"]),
        (STORIES[0].0, vec!["Labo Cités", "R&T"]),
        (STORIES[4].0, vec!["Labo Cités"]),
    ];
    json_feed_names_the_centres(&dir, &expected);
    atom_names_the_centres_escaped(&dir, &expected);
    pages_name_the_centres_escaped(&dir);

    // Any centre's `veille serve` serves it, and the publications index lists it.
    let served = Served::start(&rt, free_port());
    let page = served.get(&format!("/reseau/{PDV}/"), &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Repéré par Labo Cités, R&amp;T"));
    let fragment = served.get(&format!("/reseau/{PDV}/fragment.html"), &[]);
    assert_eq!(fragment.status, 200);
    assert_eq!(fragment.header("access-control-allow-origin"), Some("*"));
    let index = served.get("/", &[]).text();
    assert!(index.contains("Panoramas du réseau"), "{index}");
    assert!(index.contains(&format!("/reseau/{PDV}/")), "{index}");

    // A centre's own panorama is still its own choices only.
    rt.json(&["panorama", "pauvrete", "--json"]);
    let own = read(&rt.archive().join("published/panoramas/pauvrete/feed.json"));
    assert!(!own.contains(STORIES[3].0), "{own}");

    the_daemon_refreshes_it_every_morning(&labo);
    refusals_are_said_in_french(&rt);
}

/// The JSON Feed parses (serde and feed-rs), in the panorama's order, with the centres in
/// `_reseau.repere_par` exactly as named, and in the text.
fn json_feed_names_the_centres(dir: &Path, expected: &[(&str, Vec<&str>)]) {
    let text = read(&dir.join("feed.json"));
    feed_rs::parser::parse(text.as_bytes()).expect("JSON Feed valide");
    let feed: Value = serde_json::from_str(&text).expect("JSON valide");
    assert_eq!(
        feed["title"],
        "Panorama du réseau — La politique de la ville"
    );
    let items = feed["items"].as_array().unwrap();
    let got: Vec<(&str, Vec<&str>)> = items
        .iter()
        .map(|i| {
            let names = i["_reseau"]["repere_par"].as_array().unwrap();
            let names = names.iter().map(|n| n.as_str().unwrap()).collect();
            (i["title"].as_str().unwrap(), names)
        })
        .collect();
    assert_eq!(got, expected, "{text}");
    let content = items[1]["content_text"].as_str().unwrap();
    assert!(content.ends_with("Repéré par Labo Cités, R&T"), "{content}");
}

/// The Atom feed parses, and its summaries name the centres; the hostile name comes out as
/// text, never as markup.
fn atom_names_the_centres_escaped(dir: &Path, expected: &[(&str, Vec<&str>)]) {
    let text = read(&dir.join("feed.atom"));
    let atom = feed_rs::parser::parse(text.as_bytes()).expect("Atom valide");
    assert_eq!(atom.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(atom.entries.len(), expected.len());
    for (entry, (title, names)) in atom.entries.iter().zip(expected) {
        assert_eq!(entry.title.as_ref().unwrap().content, *title);
        let summary = &entry.summary.as_ref().unwrap().content;
        assert!(
            summary.ends_with(&format!("Repéré par {}", names.join(", "))),
            "{summary}"
        );
    }
    assert!(!text.contains("<script>"), "{text}");
    assert!(text.contains("&lt;script&gt;alert(1)"), "{text}");
    assert!(
        atom.title
            .unwrap()
            .content
            .starts_with("Panorama du réseau")
    );
}

/// Page and fragment: "repéré par" on each item, the hostile name escaped, the network's own
/// heading and element ids.
fn pages_name_the_centres_escaped(dir: &Path) {
    for name in ["index.html", "fragment.html"] {
        let html = read(&dir.join(name));
        assert!(!html.contains("<script>"), "{name} : {html}");
        assert!(
            html.contains(
                "Repéré par &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Cités&quot;, R&amp;T"
            ),
            "{name} : {html}"
        );
        assert!(html.contains("Repéré par Labo Cités, R&amp;T"), "{name}");
        assert_eq!(html.matches("Repéré par").count(), 3, "{name} : {html}");
        assert!(!html.contains(STORIES[2].0), "{name}");
        assert!(!html.contains(STORIES[3].0), "{name}");
        assert!(html.contains("Panorama du réseau"), "{name}");
        assert!(
            html.contains(&format!("id=\"veille-panorama-reseau-{PDV}\"")),
            "{name}"
        );
        // Starred by one centre: first, and marked.
        assert!(html.contains("(à la une)"), "{name}");
    }
}

/// The daemon of another centre, on a compressed clock through the next morning, publishes
/// the collective panorama in its own archive folder and serves it.
fn the_daemon_refreshes_it_every_morning(ws: &Workspace) {
    let now = chrono::Utc::now();
    let clock = format!(
        "{}..{}",
        now.to_rfc3339(),
        (now + chrono::Duration::days(1)).to_rfc3339()
    );
    let mut command = ws.command(&["run"]);
    command.env("VEILLE_TEST_CLOCK", clock);
    let mut daemon = RunningDaemon::start(command);
    daemon.wait_for_log(
        &format!("panorama du réseau « {PDV} » publié : 3 histoires"),
        Duration::from_secs(60),
    );
    let feed = read(
        &ws.archive()
            .join("published/reseau")
            .join(PDV)
            .join("feed.json"),
    );
    assert!(feed.contains(STORIES[1].0), "{feed}");
    let page = support::http::request(&daemon.addr, "GET", &format!("/reseau/{PDV}/"), &[], "");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Repéré par"));
    daemon.stop();
}

fn refusals_are_said_in_french(ws: &Workspace) {
    let out = ws.run(&["panorama", "--reseau", "pauvrete"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("n'est pas partagé avec le réseau"), "{err}");
    // A centre that shares no dossier is told how to share one; nothing is written.
    let alone = Workspace::new("", "");
    let out = alone.run(&["panorama", "--reseau"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ajoutez [network] shared_dossiers"), "{err}");
    assert!(!alone.archive().join("published/reseau").exists());
}
