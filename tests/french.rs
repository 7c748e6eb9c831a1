//! What a French-speaking curator reads at the command line, through the real binary: the
//! parser's messages and help for every subcommand, errors from libraries, decisions in
//! French words and never "par inconnu", sections of an edition matched without case or
//! accents, search by story, every draft listed by `status`, Ctrl-C during `fetch`.

mod support;

use std::time::Duration;

use support::server::{Route, TestServer};
use support::{Workspace, feed_source, rss};

/// Phrases of clap and of libraries that must never reach a user.
const ENGLISH: &[&str] = &[
    "error:",
    "Usage:",
    "invalid value",
    "possible values",
    "the following required arguments were not provided",
    "unexpected argument",
    "unrecognized subcommand",
    "For more information",
    "try '--help'",
    "tip:",
    "Print help",
    "Print version",
    "Commands:",
    "Options:",
    "Arguments:",
    "[default:",
    "[env:",
    "invalid digit",
    "cannot be used with",
    "requires a value",
    "No such file",
    "os error",
    "relative URL without a base",
    "invalid basic string",
    "unable to parse",
];

fn assert_french(what: &str, out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for phrase in ENGLISH {
        assert!(
            !text.contains(phrase),
            "{what} : « {phrase} » dans :\n{text}"
        );
    }
}

/// The subcommands listed under "Commandes :" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commandes :"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn workspace() -> Workspace {
    Workspace::new("", "")
}

#[test]
fn every_subcommand_answers_a_wrong_argument_in_french() {
    let ws = workspace();
    let help = ws.run(&["--help"]);
    assert!(help.status.success());
    assert_french("veille --help", &help);
    let top = subcommands(&String::from_utf8_lossy(&help.stdout));
    assert!(top.len() >= 15, "{top:?}");
    assert!(top.contains(&"decide".to_string()), "{top:?}");

    let mut paths: Vec<Vec<String>> = Vec::new();
    for command in &top {
        let out = ws.run(&[command, "--help"]);
        assert!(out.status.success(), "{command} --help");
        assert_french(&format!("{command} --help"), &out);
        let nested = subcommands(&String::from_utf8_lossy(&out.stdout));
        if nested.is_empty() {
            paths.push(vec![command.clone()]);
        }
        for sub in nested {
            let out = ws.run(&[command, &sub, "--help"]);
            assert!(out.status.success(), "{command} {sub} --help");
            assert_french(&format!("{command} {sub} --help"), &out);
            paths.push(vec![command.clone(), sub]);
        }
    }
    assert!(paths.len() >= 30, "{paths:?}");
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--pas-une-option");
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("erreur : argument inattendu « --pas-une-option »"),
            "{args:?} : {err}"
        );
        assert!(
            err.contains("Pour en savoir plus : veille"),
            "{args:?} : {err}"
        );
        assert_french(&format!("{args:?}"), &out);
    }

    // Missing arguments, a value out of a list, a number that is not one, an unknown command.
    let cases: &[(&[&str], &str)] = &[
        (&["decide"], "il manque : <HISTOIRE>, <ACTION>"),
        (
            &["decide", "12", "garderr"],
            "valeur « garderr » non reconnue pour <ACTION>",
        ),
        (
            &["decide", "12", "garderr"],
            "vouliez-vous dire « garder » ?",
        ),
        (
            &["decide", "douze", "garder"],
            "un nombre entier est attendu",
        ),
        (
            &["edition", "add", "flash-info/1"],
            "il manque : <HISTOIRE>",
        ),
        (
            &["subscribers", "import", "x.csv"],
            "il manque : --list <LISTE>",
        ),
        (
            &[
                "edition",
                "send",
                "flash-info/1",
                "--test",
                "a@b.fr",
                "--dry-run",
            ],
            "ne peut pas être donné avec",
        ),
        (
            &["--log-format", "xml", "check"],
            "valeurs acceptées : text, json",
        ),
        (
            &["decidre"],
            "commande inconnue « decidre » (vouliez-vous dire",
        ),
        (&["decidre"], "« decide »"),
        (
            &["check", "--archive", "a", "--archive", "b"],
            "--archive <DOSSIER> est donné deux fois",
        ),
        (&["edition"], "Utilisation :"),
    ];
    for (args, expected) in cases {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?} : {err}");
        assert_french(&format!("{args:?}"), &out);
    }
    let version = ws.run(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("veille "));
}

#[test]
fn library_errors_are_told_in_french_with_what_veille_was_doing() {
    let ws = workspace();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(["--config", "absent.toml", "check"])
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("impossible de lire le fichier : fichier ou dossier introuvable"),
        "{err}"
    );
    assert_french("config absente", &out);

    let bad = Workspace::new(
        "",
        "[[sources]]\nname = \"Sans schéma\"\nfeed = \"exemple.fr/flux.xml\"\ndossiers = [\"pauvrete\"]\n",
    );
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("adresse incomplète"), "{err}");
    assert_french("adresse relative", &out);

    let broken = Workspace::new("", "[dossiers.x]\ntitle = \"Laïcité\n");
    let out = broken.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("guillemet"), "{err}");
    assert_french("chaîne non fermée", &out);

    let out = ws.run(&["eval", "tags", "absent.tsv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fichier ou dossier introuvable"));
    assert_french("eval sans fichier", &out);

    // A JSON Feed cut short: the fetch report says it in French, not feed-rs's English.
    let server = TestServer::start();
    server.route(
        "/flux.json",
        Route::ok(
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [",
            "application/feed+json",
        ),
    );
    let ws = Workspace::new("", &feed_source("Coupé", &server.url("/flux.json")));
    let doc = ws.fetch(&[]);
    let error = support::report(&doc, "Coupé")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("flux illisible : JSON Feed illisible : JSON incomplet"),
        "{error}"
    );
    let out = ws.run(&["fetch"]);
    assert_french("JSON Feed coupé", &out);
}

/// The same command run as uid 4242, an account with no name in the user database: through
/// `setpriv` as root (as CI runs), else in a user namespace (`unshare --map-user`). The
/// workspace is made readable to that account.
fn nameless(command: std::process::Command) -> std::process::Command {
    use std::os::unix::fs::PermissionsExt;
    let config = std::path::PathBuf::from(
        command
            .get_args()
            .nth(1)
            .expect("--config FICHIER")
            .to_os_string(),
    );
    for path in [config.parent().unwrap(), config.as_path()] {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let (wrapper, prefix): (&str, &[&str]) = if unsafe { libc::geteuid() } == 0 {
        (
            "setpriv",
            &["--reuid", "4242", "--regid", "4242", "--clear-groups"],
        )
    } else {
        (
            "unshare",
            &["--user", "--map-user=4242", "--map-group=4242"],
        )
    };
    let mut wrapped = std::process::Command::new(wrapper);
    wrapped
        .args(prefix)
        .arg(command.get_program())
        .args(command.get_args());
    wrapped
}

/// Two sources carrying one story, and a third with another.
fn fetched() -> (TestServer, Workspace) {
    let server = TestServer::start();
    let title = "Pacte des solidarités : le gouvernement présente sa feuille de route";
    server.route(
        "/a.xml",
        Route::rss(rss(&[(title, "https://a.example.org/pacte", "a1")])),
    );
    server.route(
        "/b.xml",
        Route::rss(rss(&[
            (title, "https://b.example.org/pacte", "b1"),
            (
                "Sécurité : un nouveau commissariat à Albi",
                "https://b.example.org/albi",
                "b2",
            ),
        ])),
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\ntemplates = \"{}/templates\"\n\n{}{}",
            env!("CARGO_MANIFEST_DIR"),
            feed_source("Source A", &server.url("/a.xml")),
            feed_source("Source B", &server.url("/b.xml"))
        ),
    );
    ws.fetch(&[]);
    (server, ws)
}

#[test]
fn decisions_sections_search_and_drafts() {
    let (_server, ws) = fetched();
    let articles = ws.articles();
    let pacte = articles
        .iter()
        .find(|a| a["title"].as_str().unwrap().starts_with("Pacte"))
        .unwrap();
    let story = pacte["story"].as_i64().unwrap().to_string();

    decisions_name_the_curator(&ws, &story);
    sections_are_the_configured_ones(&ws, &story);
    drafts_are_listed(&ws);
    search_groups_by_story(&ws);
}

/// Decisions in French words; never "par inconnu".
fn decisions_name_the_curator(ws: &Workspace, story: &str) {
    let out = ws
        .command(&["decide", story, "etoiler"])
        .env("VEILLE_CURATOR", "marie")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("étoilée"));
    // Without VEILLE_CURATOR, USER nor LOGNAME, the account's name is the login name…
    let out = ws
        .command(&["decide", story, "garder", "--json"])
        .env_remove("VEILLE_CURATOR")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decided: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !decided["curator"].as_str().unwrap().is_empty() && decided["curator"] != "inconnu",
        "{decided}"
    );
    // …and an account without a name (uid 4242) is refused, with how to give a name.
    let out = nameless(ws.command(&["decide", story, "garder"]))
        .env_remove("VEILLE_CURATOR")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("décision refusée") && err.contains("export VEILLE_CURATOR="),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("inconnu"));
}

/// Sections: the configured ones only, whatever the case and accents.
fn sections_are_the_configured_ones(ws: &Workspace, story: &str) {
    ws.json(&["edition", "new", "flash-info", "--json"]);
    let added = ws.json(&[
        "edition",
        "add",
        "flash-info/1",
        story,
        "--section",
        "dans nos dossiers",
        "--json",
    ]);
    assert_eq!(added["section"], "Dans nos dossiers");
    for (asked, expected) in [
        (
            "Laïcité",
            "rubriques de ce genre : « À la une », « Dans nos dossiers »",
        ),
        (
            "Dans nos dosiers",
            "vouliez-vous dire « Dans nos dossiers » ?",
        ),
        (
            "Ressources",
            "rubrique inconnue « Ressources » pour flash-info",
        ),
    ] {
        let out = ws.run(&["edition", "add", "flash-info/1", story, "--section", asked]);
        assert_eq!(out.status.code(), Some(2), "{asked}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{asked} : {err}");
    }
    let out = ws.run(&[
        "edition",
        "add",
        "flash-info/1",
        story,
        "--section",
        "A LA UNE",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rubrique « À la une »"));
}

/// Every draft is listed by `status`, those made by hand included.
fn drafts_are_listed(ws: &Workspace) {
    ws.json(&["edition", "new", "lettre-pauvrete", "--json"]);
    let status = String::from_utf8(ws.run(&["status"]).stdout).unwrap();
    assert!(
        status.contains("édition à préparer : flash-info/1"),
        "{status}"
    );
    assert!(
        status.contains("édition à préparer : lettre-pauvrete/1"),
        "{status}"
    );
    let json = ws.json(&["status", "--json"]);
    assert_eq!(json["reminders"].as_array().unwrap().len(), 2, "{json:#}");
}

/// Search: one hit per story, with its other source.
fn search_groups_by_story(ws: &Workspace) {
    let hits = ws.json(&["search", "pacte", "--json"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["also"].as_array().unwrap().len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["matched"].as_array().unwrap().len(), 2, "{hits:#?}");
    let text = String::from_utf8(ws.run(&["search", "pacte"]).stdout).unwrap();
    assert!(text.contains("aussi dans : Source"), "{text}");
    assert!(text.contains("1 histoire(s)"), "{text}");
    let none = String::from_utf8(ws.run(&["search", "pacte commissariat"]).stdout).unwrap();
    assert!(none.contains("à la fois tous les mots"), "{none}");
    assert!(
        none.contains("« commissariat » seul : 1 histoire(s)"),
        "{none}"
    );
    assert!(
        none.contains("veille search \"pacte OU commissariat\""),
        "{none}"
    );
    let either = ws.json(&["search", "pacte OU commissariat", "--json"]);
    assert_eq!(either.as_array().unwrap().len(), 2, "{either:#}");
}

#[test]
fn ctrl_c_during_fetch_says_what_was_saved() {
    let server = TestServer::start();
    let mut sources = String::new();
    for n in 0..6 {
        let path = format!("/lent/{n}.xml");
        let title = format!("Zorglub {n} ouvre un centre social");
        let link = format!("https://s{n}.example.org/1");
        server.route(
            &path,
            Route::rss(rss(&[(&title, &link, "g1")])).delayed(Duration::from_millis(700)),
        );
        sources.push_str(&feed_source(&format!("Lente {n}"), &server.url(&path)));
    }
    let ws = Workspace::new("concurrency = 1\nper_host = 1", &sources);
    let child = ws
        .command(&["fetch"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first source was asked for, Ctrl-C.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while server.hits("/lent/0.xml") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "aucune relève commencée"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: a signal to the child this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("Interruption demandée"), "{stderr}");
    assert!(stdout.contains("Relève interrompue (Ctrl-C) :"), "{stdout}");
    let saved = ws.articles().len();
    assert!(
        stdout.contains(&format!("{saved} source(s) relevée(s) et enregistrée(s)")),
        "{saved} : {stdout}"
    );
    assert!(saved < 6, "{stdout}");
    assert!(stdout.contains("non relevée"), "{stdout}");
}

/// Values with a shape of their own are read once (clap value parsers, `EditionRef`, a socket
/// address) and their refusals keep veille's own words, alone on stderr, with exit code 2.
#[test]
fn typed_values_keep_their_french_refusals() {
    let ws = Workspace::new("", "");
    let cases: [(&[&str], &str); 7] = [
        (
            &["articles", "--state", "gardé"],
            "état inconnu « gardé » : attendu new, kept, rejected ou starred (--state)\n",
        ),
        (
            &["articles", "--since", "hier"],
            "date invalide « hier » : attendu AAAA-MM-JJ ou RFC 3339 (--since)\n",
        ),
        (
            &["edition", "new", "flash-info", "--to", "31/03/2026"],
            "date invalide « 31/03/2026 » : attendu AAAA-MM-JJ (--to)\n",
        ),
        (
            &["edition", "show", "flash-info"],
            "édition « flash-info » : attendu GENRE/NUMÉRO, par exemple flash-info/12 (genres : flash-info, lettre-pauvrete)\n",
        ),
        (
            &["edition", "ready", "flash-info/zéro"],
            "numéro d'édition invalide « zéro » : un entier à partir de 1\n",
        ),
        (
            &["edition", "send", "flash-infos/zéro"],
            "genre d'édition inconnu « flash-infos » (vouliez-vous dire « flash-info » ?)\n",
        ),
        (
            &["serve", "--listen", "partout"],
            "adresse d'écoute invalide « partout » : attendu ADRESSE:PORT, par exemple 127.0.0.1:8080\n",
        ),
    ];
    for (args, expected) in cases {
        let out = ws.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), expected, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// `edition list` gives its text and its JSON from one report; the period is read as dates.
#[test]
fn the_edition_list_is_one_report_in_two_forms() {
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\ntemplates = \"{}/templates\"\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    );
    let out = ws.run(&["edition", "list"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 édition\n");
    let created = ws.run(&[
        "edition",
        "new",
        "flash-info",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
    ]);
    assert!(created.status.success(), "{created:?}");
    let out = ws.run(&["edition", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "flash-info/1           brouillon  du 2026-03-01 au 2026-03-31\n1 édition\n"
    );
    let out = ws.run(&["edition", "list", "--json"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("[\n  {"), "indented, as before: {text}");
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list[0]["kind"], "flash-info");
    assert_eq!(list[0]["number"], 1);
    assert_eq!(list[0]["period_start"], "2026-03-01");
    assert_eq!(list[0]["period_end"], "2026-03-31");
    assert_eq!(list[0]["status"], "draft");
}
