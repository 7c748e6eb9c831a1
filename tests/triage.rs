//! End to end: the real `veille triage` in tmux (`send-keys`, `capture-pane`), on a store
//! filled by `veille fetch`; then the store is read back through the CLI. A second test runs
//! two TUIs on one store and checks that a decision in one shows up in the other.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::server::{Route, TestServer};
use support::{Workspace, feed_source};

/// A tmux server of its own (socket named after the test), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        let available = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            available,
            "tmux absent : installez le paquet Debian tmux (make deps le fait en root)"
        );
        Tmux {
            socket: format!("veille-{name}-{}", std::process::id()),
        }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `veille triage` in a 120×32 window named `name`.
    fn start(&self, name: &str, ws: &Workspace, curator: &str) {
        let command = format!(
            "env VEILLE_CURATOR={curator} TERM=xterm-256color NO_COLOR=1 {} --config {} --archive {} triage",
            env!("CARGO_BIN_EXE_veille"),
            ws.config().display(),
            ws.archive().display()
        );
        let args = [
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "32",
            "-s",
            name,
            &command,
        ];
        self.tmux(&args);
    }

    fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn screen(&self, name: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", name])
    }

    /// Waits until the screen shows `text`; panics with the screen after 20 s.
    fn wait_for(&self, name: &str, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen(name);
            if screen.contains(text) {
                return screen;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("« {text} » n'apparaît pas :\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn workspace(server: &TestServer, stories: usize) -> Workspace {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    let subjects = [
        "Le pacte des solidarités présenté à Matignon",
        "Toulouse : la médiathèque du Mirail rouvre",
        "Aide alimentaire : hausse des demandes dans le Gers",
        "Rixe au collège : deux élèves exclus à Nîmes",
        "Égalité salariale : un rapport pointe les écarts",
        "Apprentissage du français : les cours affichent complet",
        "Laïcité : une formation pour les agents municipaux",
        "Décrochage scolaire : un dispositif testé à Albi",
    ];
    for (i, subject) in subjects.iter().take(stories).enumerate() {
        let date = (chrono::Utc::now() - chrono::Duration::hours(i as i64 + 1)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>{subject}</title><link>{}</link><description>Résumé {i}.</description><pubDate>{date}</pubDate></item>",
            server.url(&format!("/a/{i}.html"))
        ));
    }
    server.route("/feed.xml", Route::rss(xml + "</channel></rss>"));
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\ntemplates = \"{}\"\n\n{}",
            templates.display(),
            feed_source("Le Monde", &server.url("/feed.xml"))
        ),
    );
    ws.fetch(&[]);
    ws
}

/// The story number in a message « Histoire N … » (or « … histoire N … »).
fn story_in(screen: &str, after: &str) -> i64 {
    let line = screen.lines().find(|l| l.contains(after)).expect("message");
    line.split_whitespace()
        .skip_while(|w| !w.eq_ignore_ascii_case("histoire"))
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("pas de numéro dans « {line} »"))
}

#[test]
fn keep_reject_undo_edit_and_compose_in_tmux() {
    let server = TestServer::start();
    let ws = workspace(&server, 6);
    ws.json(&["edition", "new", "flash-info", "--json"]);
    let tmux = Tmux::new("tri");
    tmux.start("t", &ws, "testeur");
    tmux.wait_for("t", "Histoires 1/6");

    for n in 1..=3 {
        tmux.keys("t", &["g"]);
        tmux.wait_for("t", &format!("Histoires 1/{}", 6 - n));
    }
    tmux.keys("t", &["r"]);
    tmux.wait_for("t", "Histoires 1/2");
    tmux.keys("t", &["r"]);
    tmux.wait_for("t", "Histoires 1/1");
    tmux.keys("t", &["u"]);
    let screen = tmux.wait_for("t", "Annulé");
    let restored = story_in(&screen, "Annulé");

    // Edit the title of the story back in the inbox.
    tmux.keys("t", &["e"]);
    tmux.wait_for("t", "Modifier l'histoire");
    let backspaces = vec!["BSpace"; 80];
    tmux.keys("t", &backspaces);
    tmux.keys("t", &["-l", "Titre retouché par tmux"]);
    tmux.keys("t", &["Enter"]);
    tmux.wait_for("t", "modifiée (l'original est gardé)");

    // Add it and then the undecided one to Flash Info n° 1 (first section), then reorder.
    tmux.keys("t", &["a"]);
    tmux.wait_for("t", "Choisir l'édition");
    tmux.keys("t", &["Enter"]);
    tmux.wait_for("t", "Rubrique dans flash-info/1");
    tmux.keys("t", &["Enter"]);
    let first_added = story_in(&tmux.wait_for("t", "ajoutée à flash-info/1"), "ajoutée");
    assert_eq!(first_added, restored);
    tmux.keys("t", &["c"]);
    tmux.wait_for("t", "Choisir l'édition");
    tmux.keys("t", &["Escape"]);
    // The other story left in the inbox: the second kept one is not there; use the list.
    tmux.keys("t", &["f"]);
    tmux.wait_for("t", "Filtres");
    tmux.keys("t", &["Tab", "Tab", "Tab", "Tab"]);
    tmux.keys("t", &["-l", "kept"]);
    tmux.keys("t", &["Enter"]);
    tmux.wait_for("t", "avec ces filtres");
    tmux.keys("t", &["a"]);
    tmux.wait_for("t", "Choisir l'édition");
    tmux.keys("t", &["Enter"]);
    tmux.wait_for("t", "Rubrique dans flash-info/1");
    tmux.keys("t", &["Enter"]);
    let screen = tmux.wait_for("t", "ajoutée à flash-info/1, rubrique");
    let second_added = story_in(
        screen.lines().rfind(|l| l.contains("ajoutée")).unwrap(),
        "ajoutée",
    );
    assert_ne!(second_added, first_added);
    tmux.keys("t", &["c"]);
    tmux.wait_for("t", "Choisir l'édition");
    tmux.keys("t", &["Enter"]);
    tmux.wait_for("t", "Composition : Flash Info n° 1");
    tmux.keys("t", &["j", "K"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux.keys("t", &["Escape"]);
    tmux.wait_for("t", "Histoires");
    tmux.keys("t", &["q"]);
    let start = Instant::now();
    while tmux.tmux(&["list-sessions"]).contains("t:") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "la TUI ne s'arrête pas"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The store holds exactly those decisions and that order.
    let articles = ws.articles();
    let state = |s: &str| articles.iter().filter(|a| a["state"] == s).count();
    assert_eq!(state("kept"), 3, "{articles:#?}");
    assert_eq!(state("rejected"), 1);
    assert_eq!(state("new"), 2);
    let restored_state = articles.iter().find(|a| a["story"] == restored).unwrap();
    assert_eq!(restored_state["state"], "new", "le rejet annulé");
    let edition = ws.json(&["edition", "show", "flash-info/1", "--json"]);
    let items: Vec<i64> = edition["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["story"].as_i64().unwrap())
        .collect();
    assert_eq!(items, vec![second_added, first_added], "{edition:#}");
    let first = &edition["items"][1];
    assert_eq!(
        first["title"], "Titre retouché par tmux",
        "le titre retouché est celui de la décision"
    );
    let original = articles.iter().find(|a| a["story"] == restored).unwrap();
    assert_ne!(
        original["title"], "Titre retouché par tmux",
        "l'article d'origine est gardé"
    );
}

#[test]
fn two_curators_see_each_others_decisions() {
    let server = TestServer::start();
    let ws = workspace(&server, 4);
    let tmux = Tmux::new("deux");
    tmux.start("a", &ws, "camille");
    tmux.start("b", &ws, "dominique");
    tmux.wait_for("a", "(4 à trier)");
    tmux.wait_for("b", "(4 à trier)");
    tmux.keys("a", &["g"]);
    tmux.wait_for("a", "(3 à trier)");
    // B picks it up by itself (it polls the store).
    let screen = tmux.wait_for("b", "(3 à trier)");
    assert!(screen.contains("Histoires 1/3"), "{screen}");
    tmux.keys("b", &["r"]);
    tmux.wait_for("a", "(2 à trier)");
    tmux.keys("a", &["q"]);
    tmux.keys("b", &["q"]);
}
