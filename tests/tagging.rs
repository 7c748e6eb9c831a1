//! End to end: dossier rules and territories through the binary — tags with their reasons,
//! rule errors located in feeds.toml, `retag` keeping decisions.

mod support;

use support::server::{Route, TestServer};
use support::{Workspace, rss};

fn workspace(server: &TestServer, pauvrete_rules: &str) -> Workspace {
    let feed = format!(
        "[[sources]]\nname = \"Presse\"\nfeed = \"{}\"\ndossiers = [\"securite\"]\n",
        server.url("/rss.xml")
    );
    let ws = Workspace::new("", &feed);
    // Add rules to the two dossiers of the test workspace.
    let path = ws.config();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            "panorama = true\n",
            &format!("panorama = true\nrules = '''{pauvrete_rules}'''\n"),
        )
        .replace(
            "title = \"Sécurité et prévention de la délinquance\"\n",
            "title = \"Sécurité et prévention de la délinquance\"\nrules = '''délinquance \"point de deal\"^2 narcotrafic'''\nthreshold = 1.5\n",
        );
    std::fs::write(&path, text).unwrap();
    ws
}

#[test]
fn articles_are_tagged_with_their_reasons_and_territories() {
    let server = TestServer::start();
    server.route(
        "/rss.xml",
        Route::rss(rss(&[
            (
                "Précarité : les Restos du cœur de Toulouse débordés",
                "https://ex.example/1",
                "1",
            ),
            (
                "Un point de deal démantelé au Grand Garros",
                "https://ex.example/2",
                "2",
            ),
            ("Rugby : victoire à domicile", "https://ex.example/3", "3"),
            ("La délinquance en baisse", "https://ex.example/4", "4"),
        ])),
    );
    let ws = workspace(&server, "précarité \"Restos du cœur\"^2 pauvreté");
    ws.fetch(&[]);
    let articles = ws.articles();
    let by_title = |t: &str| {
        articles
            .iter()
            .find(|a| a["title"].as_str().unwrap().starts_with(t))
            .unwrap()
            .clone()
    };
    let restos = by_title("Précarité");
    assert_eq!(restos["dossiers"], serde_json::json!(["pauvrete"]));
    assert_eq!(restos["territories"], serde_json::json!(["haute-garonne"]));
    let deal = by_title("Un point de deal");
    assert_eq!(deal["dossiers"], serde_json::json!(["securite"]));
    assert_eq!(deal["territories"], serde_json::json!(["gers"]));
    let rugby = by_title("Rugby");
    assert_eq!(rugby["dossiers"], serde_json::json!([]));
    // "délinquance" in the title scores 1.5 alone; the source's hint adds 0.5 but never tags
    // by itself (the rugby article has the same hint and no tag).
    let delinquance = by_title("La délinquance");
    assert_eq!(delinquance["dossiers"], serde_json::json!(["securite"]));
    let filtered = ws.json(&["articles", "--dossier", "pauvrete", "--json"]);
    assert_eq!(filtered.as_array().unwrap().len(), 1);

    // The reasons are stored with the tag.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let why: String = runtime.block_on(async {
        let db = ws.db().await;
        crate::on_db!(db, pool => sqlx::query_scalar("SELECT why FROM tags WHERE dossier = 'pauvrete'")
            .fetch_one(pool)
            .await
            .unwrap())
    });
    let why: serde_json::Value = serde_json::from_str(&why).unwrap();
    let terms: Vec<&str> = why
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["term"].as_str().unwrap())
        .collect();
    assert!(
        terms.contains(&"précarité") && terms.iter().any(|t| t.contains("Restos du cœur")),
        "{why:#}"
    );
    assert!(
        why.as_array()
            .unwrap()
            .iter()
            .all(|m| m["field"] == "title")
    );

    // Retag with a rule that no longer matches: the tag goes, the decision stays.
    let story = restos["story"].as_i64().unwrap().to_string();
    assert!(ws.run(&["decide", &story, "star"]).status.success());
    let text = std::fs::read_to_string(ws.config())
        .unwrap()
        .replace("précarité \"Restos du cœur\"^2 pauvreté", "misère");
    std::fs::write(ws.config(), text).unwrap();
    let out = ws.json(&["retag", "--json"]);
    assert_eq!(out["changed"], 1, "{out:#}");
    let after = ws.articles();
    let restos = after
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("Précarité"))
        .unwrap();
    assert_eq!(restos["dossiers"], serde_json::json!([]));
    assert_eq!(restos["state"], "starred");

    // Text and JSON come from one report: the same figures, in French for people.
    let n = out["articles"].as_u64().unwrap();
    assert!(n > 1, "{out:#}");
    let text = ws.run(&["retag"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "{n} articles relus, 0 dont le classement a changé ; décisions conservées\nIndex de recherche"
        )),
        "{text}"
    );
    let indexed = ws.json(&["reindex", "--json"]);
    let count = indexed["indexed"].as_u64().unwrap();
    assert_eq!(indexed, serde_json::json!({ "indexed": count }));
    let text = ws.run(&["reindex"]);
    let noun = if count > 1 { "articles" } else { "article" };
    assert_eq!(
        String::from_utf8(text.stdout).unwrap(),
        format!("Index de recherche reconstruit : {count} {noun}\n")
    );
}

#[test]
fn a_rule_syntax_error_names_the_dossier_and_the_column() {
    let server = TestServer::start();
    let ws = workspace(&server, "(précarité OR pauvreté");
    let out = ws.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("règle du dossier `pauvrete`"), "{err}");
    assert!(err.contains("parenthèse fermante manquante"), "{err}");
    // rules = '''( … on line 9 of the generated file; the parenthesis opens at column 12.
    assert!(err.contains("feeds.toml:9:12:"), "{err}");
    let out = ws.run(&["fetch"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "fetch refuses a broken rule too"
    );
}
