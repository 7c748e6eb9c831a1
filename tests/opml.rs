//! OPML through the real binary: a round trip that loses nothing (pages and Google News
//! searches included), and imports of files written the way Miniflux and FreshRSS write
//! them into a `feeds.toml` whose comments and layout stay as they were.

mod support;

use support::Workspace;

const SOURCES: &str = r#"# Sources suivies par l'équipe — ne pas réordonner
[[sources]]
name = "Observatoire des inégalités"
feed = "https://www.inegalites.fr/spip.php?page=backend"
dossiers = ["pauvrete", "securite"]
schedule = ["0 9 * * 1-5", "0 14 * * 1-5"]

[[sources]]
name = "Google Actualités — pauvreté"
search = '("pacte des solidarités" OR RSA) & "quartiers" when:7d'
dossiers = ["pauvrete"]

[[sources]]
name = "Préfecture <Occitanie> & \"co\""
page = "https://www.occitanie.gouv.fr/actualites?page=1&tri=date"
enabled = false
dossiers = ["securite"]
[sources.select]
item = "div.fr-card"
title = "h3.fr-card__title"
link = "h3 a"
date = "p.fr-card__detail"

[[sources]]
name = "Sans dossier"
feed = "https://exemple.fr/rss.xml"
"#;

fn export(ws: &Workspace) -> String {
    let out = ws.run(&["sources", "export", "--opml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn outlines(opml: &str) -> Vec<String> {
    opml.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<outline") || l.starts_with("</outline"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn round_trip_export_import_export_keeps_every_outline() {
    let ws = Workspace::new("", SOURCES);
    let first = export(&ws);
    assert!(first.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\""));
    assert!(first.contains("xmlns:veille="), "{first}");
    // Grouped by dossier (the first one named), titles from feeds.toml.
    assert!(
        first.contains("<outline text=\"Stratégie Pauvreté et Pacte des Solidarités\""),
        "{first}"
    );
    // Other readers get the Google News feed; veille keeps its query.
    assert!(
        first.contains("xmlUrl=\"https://news.google.com/rss/search?"),
        "{first}"
    );
    assert!(first.contains("veille:search=\"(&quot;pacte des solidarités&quot; OR RSA) &amp; &quot;quartiers&quot; when:7d\""), "{first}");
    assert!(
        first.contains("veille:select.item=\"div.fr-card\""),
        "{first}"
    );
    assert!(
        first.contains("Préfecture &lt;Occitanie&gt; &amp; &quot;co&quot;"),
        "{first}"
    );
    let file = ws.dir.path().join("export.opml");
    std::fs::write(&file, &first).unwrap();

    let empty = Workspace::new("", "");
    let report = empty.json(&["sources", "import", file.to_str().unwrap(), "--json"]);
    assert_eq!(report["added"].as_array().unwrap().len(), 4, "{report}");
    let second = export(&empty);
    assert_eq!(outlines(&first), outlines(&second));
    assert_eq!(first, second);
    // The imported configuration is the same configuration.
    let sorted = |ws: &Workspace| {
        let mut s = ws.json(&["check", "--json"])["sources"]
            .as_array()
            .unwrap()
            .clone();
        s.sort_by_key(|v| v["name"].to_string());
        s
    };
    assert_eq!(sorted(&empty), sorted(&ws));
}

const MINIFLUX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
    <head>
        <title>Miniflux</title>
        <dateCreated>Sun, 06 Dec 2026 05:00:00 UTC</dateCreated>
    </head>
    <body>
        <outline text="Pauvreté">
            <outline title="Le Monde — Société" text="Le Monde — Société" xmlUrl="https://www.lemonde.fr/societe/rss_full.xml" htmlUrl="https://www.lemonde.fr/societe/" description=""></outline>
            <outline title="Observatoire des inégalités" text="Observatoire des inégalités" xmlUrl="https://www.inegalites.fr/spip.php?page=backend" htmlUrl="https://www.inegalites.fr/" description=""></outline>
        </outline>
        <outline text="Divers">
            <outline title="Blog &amp; notes" text="Blog &amp; notes" xmlUrl="https://blog.exemple.fr/feed/" htmlUrl="https://blog.exemple.fr/" description=""></outline>
        </outline>
    </body>
</opml>
"#;

const FRESHRSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0" xmlns:frss="https://freshrss.org/opml">
	<head>
		<title>FreshRSS</title>
		<dateCreated>Sun, 06 Dec 2026 05:00:00 +0000</dateCreated>
	</head>
	<body>
		<outline text="Sécurité et prévention de la délinquance">
			<outline text="Ouest-France Faits divers" type="rss" xmlUrl="https://www.ouest-france.fr/rss/faits-divers" htmlUrl="https://www.ouest-france.fr/" description="Les faits divers" frss:cssFullContent="article .content"/>
		</outline>
		<outline text="Sans catégorie">
			<outline text="Vie publique" type="rss" xmlUrl="https://www.vie-publique.fr/rss" htmlUrl="https://www.vie-publique.fr/"/>
		</outline>
	</body>
</opml>
"#;

#[test]
fn miniflux_import_keeps_comments_skips_present_and_reports() {
    let ws = Workspace::new("", SOURCES);
    let before = std::fs::read_to_string(ws.config()).unwrap();
    let file = ws.dir.path().join("miniflux.opml");
    std::fs::write(&file, MINIFLUX).unwrap();
    let out = ws.run(&["sources", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 source(s) ajoutée(s)"), "{said}");
    assert!(
        said.contains("+ Le Monde — Société") && said.contains("+ Blog & notes"),
        "{said}"
    );
    assert!(
        said.contains("= Observatoire des inégalités : déjà dans feeds.toml"),
        "{said}"
    );
    let after = std::fs::read_to_string(ws.config()).unwrap();
    assert!(
        after.starts_with(&before),
        "la configuration d'origine a changé :\n{after}"
    );
    let added = &after[before.len()..];
    // The category named like a dossier gives it; an unknown one gives none.
    assert!(
        added.contains("name = \"Le Monde — Société\"\nfeed = \"https://www.lemonde.fr/societe/rss_full.xml\"\ndossiers = [\"pauvrete\"]"),
        "{added}"
    );
    assert!(
        added.contains("name = \"Blog & notes\"\nfeed = \"https://blog.exemple.fr/feed/\"\n"),
        "{added}"
    );
    assert!(!added.contains("Divers"), "{added}");

    // A second import adds nothing and leaves the file as it is.
    let again = ws.json(&["sources", "import", file.to_str().unwrap(), "--json"]);
    assert_eq!(again["added"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["skipped"].as_array().unwrap().len(), 3, "{again}");
    assert_eq!(std::fs::read_to_string(ws.config()).unwrap(), after);
}

#[test]
fn freshrss_import_with_a_dossier() {
    let ws = Workspace::new("", "# aucune source encore\n");
    let file = ws.dir.path().join("freshrss.opml");
    std::fs::write(&file, FRESHRSS).unwrap();
    let report = ws.json(&[
        "sources",
        "import",
        file.to_str().unwrap(),
        "--dossier",
        "securite",
        "--json",
    ]);
    assert_eq!(
        report["added"],
        serde_json::json!(["Ouest-France Faits divers", "Vie publique"])
    );
    let check = ws.json(&["check", "--json"]);
    let sources = check["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{check}");
    for s in sources {
        assert_eq!(s["dossiers"], serde_json::json!(["securite"]), "{s}");
    }
    assert!(
        std::fs::read_to_string(ws.config())
            .unwrap()
            .contains("# aucune source encore\n")
    );
}

#[test]
fn bad_files_change_nothing_and_say_why_in_french() {
    let ws = Workspace::new("", SOURCES);
    let before = std::fs::read_to_string(ws.config()).unwrap();
    let file = ws.dir.path().join("cassé.opml");
    std::fs::write(&file, "<opml version=\"2.0\"><body><outline text=\"x\" xmlUrl=\"pas une adresse\"/></body></opml>").unwrap();
    let out = ws.run(&["sources", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("adresse de flux invalide") && err.contains("n'a pas été modifié"),
        "{err}"
    );

    std::fs::write(&file, "<html><body>pas un OPML</body></html>").unwrap();
    let out = ws.run(&["sources", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("n'est pas un OPML"));

    let out = ws.run(&[
        "sources",
        "import",
        file.to_str().unwrap(),
        "--dossier",
        "inconnu",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dossier inconnu « inconnu »"));
    assert_eq!(std::fs::read_to_string(ws.config()).unwrap(), before);
}
