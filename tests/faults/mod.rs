//! What the crash and full-disk tests check after a fault: the database's integrity, the
//! articles against a clean reference run, the search index against the store, and the
//! delivery ledger against what the SMTP sink received.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::server::{Route, TestServer};
use crate::support::{Workspace, feed_source};

/// Sources of the fetch campaigns and articles per source.
pub(crate) const SOURCES: usize = 60;
pub(crate) const ITEMS: usize = 20;

/// A current-thread tokio runtime for the in-process looks at the store and the index.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `PRAGMA integrity_check` of the workspace's SQLite file; "ok" on PostgreSQL, which keeps
/// its pages itself (a killed veille is only a dropped client there).
pub(crate) fn integrity(ws: &Workspace) -> String {
    runtime().block_on(async {
        match ws.db().await {
            crate::support::Db::Sqlite(pool) => {
                sqlx::query_scalar::<_, String>("PRAGMA integrity_check")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
            crate::support::Db::Postgres(_) => "ok".to_string(),
        }
    })
}

/// Removes the `filler` file (space is back), then counts the stored articles: opening the
/// base needs a little room (its WAL index).
pub(crate) fn rows_after_space(ws: &Workspace, filler: &Path) -> usize {
    std::fs::remove_file(filler).unwrap();
    articles(ws).len()
}

/// Rows of one query as text tuples, for comparisons between two archives.
pub(crate) fn rows(ws: &Workspace, sql: &'static str) -> Vec<String> {
    runtime().block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_scalar::<_, String>(sql)
            .fetch_all(pool)
            .await
            .unwrap())
    })
}

/// Every article as `source|url|title`, sorted, duplicates kept (a duplicate must show).
pub(crate) fn articles(ws: &Workspace) -> Vec<String> {
    let mut found = rows(
        ws,
        "SELECT s.name || '|' || a.url || '|' || a.title FROM articles a \
         JOIN sources s ON s.id = a.source_id",
    );
    found.sort();
    found
}

/// Every tag as `url|dossier|score`, sorted.
pub(crate) fn tags(ws: &Workspace) -> Vec<String> {
    let scored: Vec<(String, String, f64)> = runtime().block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_as(
            "SELECT a.url, t.dossier, t.score FROM tags t JOIN articles a ON a.id = t.article_id",
        )
        .fetch_all(pool)
        .await
        .unwrap())
    });
    let mut found: Vec<String> = scored
        .into_iter()
        .map(|(url, dossier, score)| format!("{url}|{dossier}|{score:.6}"))
        .collect();
    found.sort();
    found
}

/// The stories as sets of article URLs: the partition, whatever the ids (a NULL story is
/// an article that is a story of its own).
pub(crate) fn stories(ws: &Workspace) -> BTreeSet<BTreeSet<String>> {
    let mut by_story: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows(
        ws,
        "SELECT CAST(COALESCE(story, id) AS TEXT) || '|' || url FROM articles",
    ) {
        let (story, url) = row.split_once('|').unwrap();
        by_story
            .entry(story.to_string())
            .or_default()
            .insert(url.to_string());
    }
    by_story.into_values().collect()
}

/// Ids of the articles in the store and in the search index (alive documents).
pub(crate) fn store_and_index_ids(ws: &Workspace) -> (Vec<i64>, Vec<i64>) {
    let archive = ws.archive();
    let mut store: Vec<i64> = rows(ws, "SELECT CAST(id AS TEXT) FROM articles")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    store.sort_unstable();
    let (index, _) =
        veille::search::SearchIndex::open(&veille::indexing::index_dir(&archive)).unwrap();
    let reader = index.index().reader().unwrap();
    let searcher = reader.searcher();
    let mut indexed = Vec::new();
    for segment in searcher.segment_readers() {
        let ids = segment.fast_fields().i64("id").unwrap();
        for doc in segment.doc_ids_alive() {
            indexed.push(ids.first(doc).unwrap());
        }
    }
    indexed.sort_unstable();
    (store, indexed)
}

/// Checks integrity and that the index holds exactly the store's articles, once each.
pub(crate) fn assert_consistent(ws: &Workspace, what: &str) {
    assert_eq!(integrity(ws), "ok", "{what} : intégrité");
    let (store, index) = store_and_index_ids(ws);
    assert_eq!(
        store.len(),
        index.len(),
        "{what} : {} articles dans la base, {} dans l'index",
        store.len(),
        index.len()
    );
    assert_eq!(store, index, "{what} : l'index diffère de la base");
}

/// Headlines with a place: the same headline in sources `i` and `i + 30` is one story (two
/// articles), two places are a hard veto, two headlines share few words. Some say pauvreté
/// (tagged before and after the change of rules), some logement (after only), some neither,
/// so a `retag` has work to do.
const HEADLINES: [&str; ITEMS] = [
    "La pauvreté recule à {} selon l'Insee",
    "Logement social : de nouvelles places à {}",
    "Le club de rugby de {} remporte la finale",
    "Précarité : les associations de {} tirent la sonnette d'alarme",
    "Expulsions locatives en hausse dans le parc privé de {}",
    "Festival de jazz : {} accueille trois mille spectateurs",
    "Aide alimentaire : file d'attente record aux Restos du cœur de {}",
    "Rénovation thermique des logements anciens engagée à {}",
    "Marché de Noël : ouverture des chalets à {}",
    "Minima sociaux : les bénéficiaires du RSA témoignent à {}",
    "Le conseil municipal de {} vote son budget",
    "Hébergement d'urgence saturé : le 115 débordé à {}",
    "Travaux de voirie sur le boulevard principal de {}",
    "Pauvreté des enfants : un rapport alarmant sur {}",
    "Collecte de jouets pour les familles modestes de {}",
    "Le nouveau cinéma de {} ouvre ses portes",
    "Logement étudiant : pénurie de chambres à {}",
    "Fermeture d'une usine textile près de {}",
    "Les épiceries solidaires se multiplient autour de {}",
    "Inondations : les pompiers mobilisés à {}",
];
const PLACES: [&str; 30] = [
    "Toulouse",
    "Montpellier",
    "Nîmes",
    "Perpignan",
    "Béziers",
    "Montauban",
    "Narbonne",
    "Albi",
    "Carcassonne",
    "Castres",
    "Sète",
    "Tarbes",
    "Rodez",
    "Agde",
    "Lunel",
    "Millau",
    "Colomiers",
    "Auch",
    "Cahors",
    "Alès",
    "Mende",
    "Foix",
    "Pamiers",
    "Lourdes",
    "Figeac",
    "Lodève",
    "Gaillac",
    "Muret",
    "Lézignan-Corbières",
    "Villefranche-de-Rouergue",
];

fn title(i: usize, j: usize) -> String {
    HEADLINES[j].replace("{}", PLACES[i % PLACES.len()])
}

/// A server with `SOURCES` feeds of `ITEMS` articles, slow enough for kills to land mid-pass,
/// and the `[[sources]]` entries naming them.
pub(crate) fn feeds() -> (TestServer, String) {
    feeds_delayed(|i| std::time::Duration::from_millis(20 * (i as u64 % 10)))
}

/// `feeds()` with the answer of source `i` delayed by `delay(i)`.
pub(crate) fn feeds_delayed(delay: impl Fn(usize) -> std::time::Duration) -> (TestServer, String) {
    let server = TestServer::start();
    let mut sources = String::new();
    for i in 0..SOURCES {
        let items: Vec<(String, String, String)> = (0..ITEMS)
            .map(|j| {
                (
                    title(i, j),
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
            Route::rss(crate::support::rss(&refs)).delayed(delay(i)),
        );
        sources.push_str(&feed_source(
            &format!("Source {i:02}"),
            &server.url(&format!("/k{i}.xml")),
        ));
    }
    (server, sources)
}

/// The dossier rules before and after the change that `retag` applies.
pub(crate) const RULES_BEFORE: &str = "rules = '\"pauvreté\"'";
pub(crate) const RULES_AFTER: &str = "rules = '\"pauvreté\" OR logement'";

/// Gives the pauvreté dossier `rules` (replacing any earlier rules line).
pub(crate) fn set_rules(ws: &Workspace, rules: &str) {
    let text = std::fs::read_to_string(ws.config()).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("rules = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let with = kept.replacen(
        "[dossiers.pauvrete]\n",
        &format!("[dossiers.pauvrete]\n{rules}\n"),
        1,
    );
    std::fs::write(ws.config(), with).unwrap();
}

/// Messages received per address.
pub(crate) fn counts(recipients: &[String]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for r in recipients {
        *map.entry(r.clone()).or_insert(0) += 1;
    }
    map
}

/// The CSV of `n` subscribers.
pub(crate) fn subscribers_csv(n: usize) -> String {
    let mut text = String::from("email\n");
    for i in 0..n {
        text.push_str(&format!("abonne{i:04}@exemple.fr\n"));
    }
    text
}
