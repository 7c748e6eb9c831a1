//! End to end: the stories of a pass do not depend on the order in which sources answer, nor
//! on how old their items are. Two agency feeds carry the same 20 articles dated months ago,
//! two local feeds carry recent news; each of 20 passes fetches them into a fresh archive with
//! random server delays, so sources finish in a different order, and the stories must be the
//! same every time.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{Duration as Days, Utc};
use support::server::{Route, TestServer};
use support::{Workspace, feed_source};

/// Twenty unrelated old stories, each carried word for word by both agencies.
const OLD: [&str; 20] = [
    "Le Conseil constitutionnel censure l'article sur les loyers des étudiants",
    "Grève des contrôleurs aériens : 40 % des vols annulés à Orly",
    "Un ours brun aperçu près d'un refuge des Pyrénées ariégeoises",
    "La cathédrale de Rodez rouvre après trois ans de restauration",
    "Le prix du gazole repasse sous la barre des deux euros le litre",
    "Tennis : la joueuse française se qualifie pour les demi-finales à Melbourne",
    "Un chalutier sétois saisi pour pêche illégale de thon rouge",
    "Vaccination contre la grippe : la campagne prolongée jusqu'en mars",
    "Le musée Soulages accueille une exposition de vitraux médiévaux",
    "Sécheresse : arrêtés de restriction d'eau dans quatre communes du Larzac",
    "Un collège de Castres évacué après une fuite de gaz",
    "La ligne de train de nuit Paris-Latour-de-Carol suspendue pour travaux",
    "Festival de bande dessinée : le grand prix décerné à une autrice belge",
    "Les agriculteurs bloquent l'autoroute A61 près de Carcassonne",
    "Nouvelle découverte archéologique sur le chantier du tramway de Nîmes",
    "La mairie de Perpignan vote la gratuité des bus le samedi",
    "Un incendie de forêt maîtrisé dans les Corbières après deux jours",
    "Le planétarium de Montpellier fête ses vingt ans",
    "Football : l'entraîneur du club de Ligue 2 limogé après cinq défaites",
    "Une étude sur le moustique tigre lancée dans les écoles du Gard",
];

/// Recent local news, one feed each.
const LOCAL_A: [&str; 3] = [
    "Toulouse : le marché de Noël ouvre ses portes place du Capitole",
    "Albi : la piscine municipale fermée pour une semaine de vidange",
    "Montauban : concert gratuit de l'orchestre d'harmonie dimanche",
];
const LOCAL_B: [&str; 3] = [
    "Tarbes : un nouveau centre de santé ouvre dans le quartier de Laubadère",
    "Foix : la fête de la châtaigne attire des milliers de visiteurs",
    "Auch : travaux de nuit sur la rocade jusqu'à vendredi",
];

fn rfc2822(at: chrono::DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

fn feed(server: &TestServer, prefix: &str, items: &[(&str, chrono::DateTime<Utc>)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for (i, (title, at)) in items.iter().enumerate() {
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{}</link><pubDate>{}</pubDate></item>",
            server.url(&format!("/{prefix}/{i}.html")),
            rfc2822(*at)
        ));
    }
    xml + "</channel></rss>"
}

/// The stories of an archive as sets of article URLs (story ids are article ids, which
/// depend on the insertion order; the grouping must not).
fn stories(ws: &Workspace) -> BTreeSet<BTreeSet<String>> {
    let mut by_story: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for a in ws.articles() {
        let url = a["url"].as_str().expect("url");
        // Strip the server's port, which changes from pass to pass.
        let host_and_path = url.split_once("//").map_or(url, |(_, rest)| rest);
        let path = host_and_path.split_once('/').map_or(url, |(_, p)| p);
        by_story
            .entry(a["story"].as_i64().expect("story"))
            .or_default()
            .insert(path.to_string());
    }
    by_story.into_values().collect()
}

#[test]
fn stories_do_not_depend_on_fetch_order_or_age() {
    let now = Utc::now();
    // Months old, one hour apart; the local news of the last hours.
    let old: Vec<(&str, chrono::DateTime<Utc>)> = OLD
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, now - Days::days(120) + Days::hours(i as i64)))
        .collect();
    let local = |titles: &[&'static str]| -> Vec<(&'static str, chrono::DateTime<Utc>)> {
        titles
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, now - Days::hours(1 + i as i64)))
            .collect()
    };
    let mut rng = fastrand::Rng::with_seed(11);
    let mut first: Option<BTreeSet<BTreeSet<String>>> = None;
    for pass in 0..20 {
        let server = TestServer::start();
        let mut delay = || Duration::from_millis(rng.u64(0..400));
        server.route(
            "/agence-a.xml",
            Route::rss(feed(&server, "agence-a", &old)).delayed(delay()),
        );
        server.route(
            "/agence-b.xml",
            Route::rss(feed(&server, "agence-b", &old)).delayed(delay()),
        );
        server.route(
            "/local-a.xml",
            Route::rss(feed(&server, "local-a", &local(&LOCAL_A))).delayed(delay()),
        );
        server.route(
            "/local-b.xml",
            Route::rss(feed(&server, "local-b", &local(&LOCAL_B))).delayed(delay()),
        );
        let ws = Workspace::new(
            "",
            &(feed_source("Agence A", &server.url("/agence-a.xml"))
                + &feed_source("Local A", &server.url("/local-a.xml"))
                + &feed_source("Agence B", &server.url("/agence-b.xml"))
                + &feed_source("Local B", &server.url("/local-b.xml"))),
        );
        let doc = ws.fetch(&[]);
        assert_eq!(doc["totals"]["new"], 46, "pass {pass}: {doc:#}");
        let got = stories(&ws);
        let pairs = got.iter().filter(|s| s.len() == 2).count();
        assert_eq!(
            pairs, 20,
            "pass {pass}: each old article is one story of two: {got:#?}"
        );
        assert_eq!(got.len(), 26, "pass {pass}: {got:#?}");
        match &first {
            None => first = Some(got),
            Some(first) => assert_eq!(&got, first, "pass {pass} differs from the first"),
        }
    }
}

#[test]
fn a_running_story_is_linked_not_merged() {
    let server = TestServer::start();
    let now = Utc::now();
    let arrest = [(
        "Meurtre à Albi : le suspect interpellé lundi",
        now - Days::days(2),
    )];
    server.route("/local.xml", Route::rss(feed(&server, "local", &arrest)));
    let ws = Workspace::new("", &feed_source("Local", &server.url("/local.xml")));
    ws.fetch(&[]);
    let charge = [
        (
            "Meurtre à Albi : le suspect mis en examen mercredi",
            now - Days::hours(2),
        ),
        (
            "Toulouse : le marché de Noël ouvre ses portes",
            now - Days::hours(1),
        ),
    ];
    server.route("/local.xml", Route::rss(feed(&server, "suite", &charge)));
    ws.fetch(&[]);
    let articles = ws.articles();
    let by_title = |t: &str| {
        articles
            .iter()
            .find(|a| a["title"] == t)
            .unwrap_or_else(|| panic!("{t} in {articles:#?}"))
    };
    let first = by_title(arrest[0].0);
    let second = by_title(charge[0].0);
    assert_ne!(first["story"], second["story"], "two stories");
    assert_eq!(second["follows"], first["story"]);
    assert!(first["follows"].is_null());
    assert!(by_title(charge[1].0)["follows"].is_null());
    let out = ws.run(&["articles"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("(suite de {})", first["story"])),
        "{text}"
    );
}
