//! Subscribers as the team's spreadsheets describe them, and addresses from everywhere:
//! `Nom;Prénom;Adresse e-mail;Structure;Commune` kept and greeted by first name, an
//! internationalised domain sent in punycode, `irène.vert@…` delivered by a server that
//! announces SMTPUTF8 and failed at once, in French, by one that does not — through the real
//! binary and a real SMTP server process (aiosmtpd).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use support::server::{Route, TestServer};
use support::smtp::{self, Sink};
use support::{Workspace, feed_source};

/// The per-message timeout of the sends: no send may wait longer than this for anything.
const TIMEOUT_SECS: u64 = 8;

fn feed(server: &TestServer) -> String {
    let date = (Utc::now() - chrono::Duration::hours(2)).to_rfc2822();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>\
         <item><title>Le pacte des solidarités présenté à Matignon</title><link>{}</link>\
         <description>Le pacte vise à réduire la pauvreté.</description><pubDate>{date}</pubDate></item>\
         </channel></rss>",
        server.url("/a/1.html")
    )
}

/// A workspace sending to `sink`, with a ready Flash Info n° 1 holding one story and an
/// intro block in Markdown.
fn setup(sink: &Sink) -> (TestServer, Workspace) {
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        // A 4 s retry leaves a wait of well over 1 s after the other sends, so the wait is
        // always announced (`announce_wait` is silent for shorter ones).
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             retry_secs = 4\nper_second = 200\nconnections = 2\ntimeout_secs = {TIMEOUT_SECS}\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n[lists.reseau]\ntitle = \"Réseau\"\n\n{}",
            templates.display(),
            sink.url(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    );
    ws.fetch(&[]);
    ws.json(&["edition", "new", "flash-info", "--json"]);
    let story = ws.articles()[0]["story"].as_i64().unwrap().to_string();
    ws.json(&[
        "decide",
        &story,
        "garder",
        "--dossier",
        "pauvrete",
        "--json",
    ]);
    ws.json(&["edition", "add", "flash-info/1", &story, "--json"]);
    let out = ws.run(&[
        "edition",
        "block",
        "flash-info/1",
        "intro",
        "--text",
        "**Flash Info** : lisez [le pacte](https://exemple.fr/pacte).",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        ws.run(&["edition", "ready", "flash-info/1"])
            .status
            .success()
    );
    (server, ws)
}

/// 20 recipients as recent Excel exports them (`;`, UTF-8 with BOM): the first has a first
/// name, the second none, `irène.vert@` has an accented local part, `marie@` an accented
/// domain.
fn contacts(ws: &Workspace) -> std::path::PathBuf {
    let mut lines = vec![
        "Nom;Prénom;Adresse e-mail;Structure;Commune;Téléphone".to_string(),
        "Durand;Hélène;helene.durand@exemple.fr;Mairie de Tarbes;Tarbes;0600000000".into(),
        "Martin;;paul.martin@exemple.fr;CCAS;Albi;".into(),
        "Vert;Irène;irène.vert@exemple.fr;Centre social;Rodez;".into(),
        "Roux;Marie;marie@mairie-béziers.fr;Mairie;Béziers;".into(),
    ];
    for i in 0..16 {
        lines.push(format!(
            "Nom{i};Prénom{i};contact{i}@exemple.fr;Asso {i};Castres;"
        ));
    }
    let path = ws.dir.path().join("contacts.csv");
    std::fs::write(&path, format!("\u{feff}{}\r\n", lines.join("\r\n"))).unwrap();
    path
}

fn import(ws: &Workspace, file: &Path) -> serde_json::Value {
    ws.json(&[
        "subscribers",
        "import",
        file.to_str().unwrap(),
        "--list",
        "flash-info",
        "--json",
    ])
}

/// Sends and returns (report, stderr, how long it took).
fn send(ws: &Workspace) -> (serde_json::Value, String, Duration) {
    let started = Instant::now();
    let out = ws.run(&["edition", "send", "flash-info/1", "--json"]);
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    )
}

fn message_to(sink: &Sink, recipient: &str) -> serde_json::Value {
    let (_, eml) = sink
        .messages()
        .into_iter()
        .find(|(meta, _)| meta["rcpt_tos"][0] == recipient)
        .unwrap_or_else(|| panic!("aucun message pour {recipient} : {:?}", sink.recipients()));
    smtp::inspect(&eml)
}

/// list and export show them.
fn list_and_export_show_every_column(ws: &Workspace) {
    let list = ws.json(&["subscribers", "list", "--json"]);
    let helene = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "helene.durand@exemple.fr")
        .unwrap();
    assert_eq!(helene["first_name"], "Hélène");
    assert_eq!(helene["last_name"], "Durand");
    assert_eq!(helene["organisation"], "Mairie de Tarbes");
    assert_eq!(helene["commune"], "Tarbes");
    assert_eq!(helene["name"], "Hélène Durand");
    let human = String::from_utf8(ws.run(&["subscribers", "list"]).stdout).unwrap();
    assert!(
        human.contains("helene.durand@exemple.fr") && human.contains("Mairie de Tarbes, Tarbes"),
        "{human}"
    );
    let export = String::from_utf8(ws.run(&["subscribers", "export"]).stdout).unwrap();
    assert!(
        export.contains("prénom;nom de famille;structure;commune"),
        "{export}"
    );
    assert!(
        export.contains(
            "helene.durand@exemple.fr;Hélène Durand;Hélène;Durand;Mairie de Tarbes;Tarbes;"
        ),
        "{export}"
    );
}

#[test]
fn the_import_keeps_every_column_and_flags_accented_local_parts() {
    let sink = Sink::start(&[]);
    let (_server, ws) = setup(&sink);
    let report = import(&ws, &contacts(&ws));
    assert_eq!(report["imported"], 20, "{report:#}");
    let fields: Vec<(&str, &str)> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["column"].as_str().unwrap(), c["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Nom", "nom de famille"),
            ("Prénom", "prénom"),
            ("Adresse e-mail", "adresse"),
            ("Structure", "structure"),
            ("Commune", "commune"),
        ]
    );
    assert_eq!(report["ignored_columns"], serde_json::json!(["Téléphone"]));
    assert_eq!(
        report["accented_local_parts"],
        serde_json::json!([{"line": 4, "email": "irène.vert@exemple.fr"}]),
        "{report:#}"
    );

    // The human report says the same in words.
    let again = ws.run(&[
        "subscribers",
        "import",
        contacts(&ws).to_str().unwrap(),
        "--list",
        "flash-info",
    ]);
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("colonnes lues : « Nom » (nom de famille), « Prénom » (prénom)"),
        "{text}"
    );
    assert!(text.contains("colonnes ignorées : « Téléphone »"), "{text}");
    assert!(text.contains("ligne 4 : irène.vert@exemple.fr"), "{text}");
    assert!(text.contains("SMTPUTF8"), "{text}");

    list_and_export_show_every_column(&ws);

    // Known from another list: a richer file fills what was missing, and changes nothing else.
    let bare = ws.dir.path().join("adresses.csv");
    std::fs::write(&bare, "anne@exemple.fr\nhelene.durand@exemple.fr\n").unwrap();
    let rich = ws.dir.path().join("reseau.csv");
    std::fs::write(
        &rich,
        "E-mail;Prénom;Commune\nanne@exemple.fr;Anne;Millau\nhelene.durand@exemple.fr;Léna;Auch\n",
    )
    .unwrap();
    import(&ws, &bare);
    let report = ws.json(&[
        "subscribers",
        "import",
        rich.to_str().unwrap(),
        "--list",
        "reseau",
        "--json",
    ]);
    assert_eq!(report["imported"], 2, "{report:#}");
    let list = ws.json(&["subscribers", "list", "--json"]);
    let person = |email: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["email"] == email)
            .unwrap()
            .clone()
    };
    assert_eq!(person("anne@exemple.fr")["first_name"], "Anne");
    assert_eq!(person("anne@exemple.fr")["commune"], "Millau");
    assert_eq!(person("helene.durand@exemple.fr")["first_name"], "Hélène");
    assert_eq!(person("helene.durand@exemple.fr")["commune"], "Tarbes");

    // An empty file and a header-only file are errors, not "0 imported".
    for (name, contents) in [
        ("vide.csv", "\r\n"),
        ("entete.csv", "Nom;Prénom;Adresse e-mail\r\n"),
    ] {
        let path = ws.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let out = ws.run(&[
            "subscribers",
            "import",
            path.to_str().unwrap(),
            "--list",
            "flash-info",
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("aucune adresse à importer") && err.contains(name),
            "{name} : {err}"
        );
    }
    let missing = ws.run(&[
        "subscribers",
        "import",
        "absent.csv",
        "--list",
        "flash-info",
    ]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("fichier ou dossier introuvable"), "{err}");
    assert!(!err.contains("No such file"), "{err}");
}

#[test]
fn a_server_without_smtputf8_fails_the_accented_address_at_once_and_sends_the_rest() {
    // One recipient refused temporarily once: the send must say that it waits, and until when.
    let sink = Sink::start(&["--no-smtputf8", "--tempfail-rcpt", "contact3@exemple.fr:1"]);
    let (_server, ws) = setup(&sink);
    import(&ws, &contacts(&ws));
    let (report, stderr, elapsed) = send(&ws);

    assert_eq!(report["sent"], 19, "{report:#}\n{stderr}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["email"], "irène.vert@exemple.fr");
    assert_eq!(failed[0]["state"], "failed_perm");
    let reason = failed[0]["reply"].as_str().unwrap();
    assert!(
        reason.contains("SMTPUTF8") && reason.contains("accentués"),
        "{reason}"
    );
    assert!(!reason.contains("internal client error"), "{reason}");
    assert!(
        elapsed < Duration::from_secs(TIMEOUT_SECS),
        "l'envoi a duré {elapsed:?}"
    );
    assert!(
        stderr.contains("envoi en attente") && stderr.contains("prochain essai à"),
        "{stderr} / {report:#} / {elapsed:?}"
    );

    // The accented domain went out in punycode; nobody got two messages.
    let recipients = sink.recipients();
    assert_eq!(recipients.len(), 19, "{recipients:?}");
    assert!(
        recipients.contains(&"marie@xn--mairie-bziers-ihb.fr".to_string()),
        "{recipients:?}"
    );
    assert!(!recipients.iter().any(|r| r.contains("irène")));

    // Greeted by first name when known, nothing otherwise; the text part is plain text.
    let helene = message_to(&sink, "helene.durand@exemple.fr");
    let text = helene["text"].as_str().unwrap();
    assert!(text.contains("Bonjour Hélène,"), "{text}");
    assert!(helene["html"].as_str().unwrap().contains("Bonjour Hélène,"));
    assert!(
        text.contains("Flash Info\u{202f}: lisez le pacte <https://exemple.fr/pacte>."),
        "{text}"
    );
    assert!(!text.contains("**") && !text.contains("]("), "{text}");
    let paul = message_to(&sink, "paul.martin@exemple.fr");
    let text = paul["text"].as_str().unwrap();
    assert!(
        !text.contains("Bonjour") && !text.contains("DESTINATAIRE"),
        "{text}"
    );
    let html = paul["html"].as_str().unwrap();
    assert!(
        !html.contains("Bonjour") && !html.contains("DESTINATAIRE"),
        "{html}"
    );

    // The human report of a resumed send names the recipient and the reason, in French.
    let out = ws.run(&["edition", "send", "flash-info/1"]);
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.contains(
            "irène.vert@exemple.fr — refus définitif : adresse avec des caractères accentués"
        ),
        "{human}"
    );
}

#[test]
fn a_server_with_smtputf8_receives_the_accented_address() {
    let sink = Sink::start(&[]);
    let (_server, ws) = setup(&sink);
    import(&ws, &contacts(&ws));
    let (report, _, elapsed) = send(&ws);
    assert_eq!(report["sent"], 20, "{report:#}");
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert!(elapsed < Duration::from_secs(TIMEOUT_SECS), "{elapsed:?}");
    let (meta, eml) = sink
        .messages()
        .into_iter()
        .find(|(m, _)| m["rcpt_tos"][0] == "irène.vert@exemple.fr")
        .expect("message à irène.vert@exemple.fr");
    assert!(
        meta["mail_options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "SMTPUTF8"),
        "{meta:#}"
    );
    let message = smtp::inspect(&eml);
    assert!(
        message["text"].as_str().unwrap().contains("Bonjour Irène,"),
        "{message:#}"
    );
}
