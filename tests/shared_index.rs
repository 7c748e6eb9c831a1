//! One search index per archive folder, fed from a shared store: two archive folders on one
//! PostgreSQL (a throwaway cluster started here), each with its own index. Each one's
//! `veille search` finds what the other fetched once it has indexed itself, and a changed
//! feed text or a retag done by one reaches both indexes.

mod faults;
mod support;

use support::Workspace;
use support::postgres::Postgres;
use support::server::{Route, TestServer};

const HOUSING: &str = "Logement social : de nouvelles places à Albi";
const POVERTY: &str = "La pauvreté recule à Toulouse selon l'Insee";
const POVERTY_UPDATED: &str =
    "La pauvreté recule à Toulouse selon l'Insee, les maraudes continuent";

fn serve(server: &TestServer, poverty_title: &str) {
    let (one, two) = (server.url("/art/1"), server.url("/art/2"));
    let items = [
        (HOUSING, one.as_str(), "g-1"),
        (poverty_title, two.as_str(), "g-2"),
    ];
    server.route("/rss.xml", Route::rss(support::rss(&items)));
}

/// The titles `veille search` shows for `query` (options after it), one per story.
fn found(ws: &Workspace, query: &[&str]) -> Vec<String> {
    let mut args = vec!["search"];
    args.extend_from_slice(query);
    args.push("--json");
    let hits = ws.json(&args);
    let mut titles: Vec<String> = hits
        .as_array()
        .unwrap_or_else(|| panic!("{hits:#}"))
        .iter()
        .map(|h| {
            h["title"]
                .as_str()
                .unwrap_or_else(|| panic!("{h:#}"))
                .to_string()
        })
        .collect();
    titles.sort();
    titles
}

/// This folder's own indexing: a fetch indexes whatever its index lacks, whoever stored it.
fn index_own(ws: &Workspace) {
    ws.fetch(&[]);
    let (store, index) = faults::store_and_index_ids(ws);
    assert_eq!(
        store,
        index,
        "l'index de {} diffère de la base",
        ws.archive().display()
    );
}

#[test]
fn each_folder_indexes_what_the_other_stored_and_changes_reach_both() {
    let pg = Postgres::start();
    let url = pg.create_database("index");
    let server = TestServer::start();
    serve(&server, POVERTY);
    let sources = support::feed_source("Journal", &server.url("/rss.xml"));
    let (a, b) = (
        Workspace::sharing("", &sources, &url),
        Workspace::sharing("", &sources, &url),
    );
    for ws in [&a, &b] {
        faults::set_rules(ws, faults::RULES_BEFORE);
    }
    // B's index exists (and is empty) before A stores anything: it is not rebuilt later.
    assert!(found(&b, &["pauvreté"]).is_empty());
    a.fetch(&[]);
    assert_eq!(found(&a, &["pauvreté"]), [POVERTY]);
    index_own(&b);
    assert_eq!(found(&b, &["pauvreté"]), [POVERTY]);
    assert_eq!(found(&b, &["logement"]), [HOUSING]);
    let ids = |ws: &Workspace| {
        std::fs::read_to_string(ws.archive().join("search/veille-index-id")).unwrap()
    };
    assert_ne!(
        ids(&a),
        ids(&b),
        "chaque dossier d'archive a son propre index"
    );

    // B stores a new text of an article A had indexed: A takes it at its own indexing.
    serve(&server, POVERTY_UPDATED);
    b.fetch(&[]);
    assert_eq!(found(&b, &["maraudes"]), [POVERTY_UPDATED]);
    index_own(&a);
    assert_eq!(found(&a, &["maraudes"]), [POVERTY_UPDATED]);

    // A retags with a rule that now puts housing in the poverty dossier: B's index follows.
    assert!(found(&a, &["logement", "--dossier", "pauvrete"]).is_empty());
    faults::set_rules(&a, faults::RULES_AFTER);
    a.json(&["retag", "--json"]);
    assert_eq!(found(&a, &["logement", "--dossier", "pauvrete"]), [HOUSING]);
    index_own(&b);
    assert_eq!(found(&b, &["logement", "--dossier", "pauvrete"]), [HOUSING]);
    index_own(&a);
}
