//! Shared helpers of the end-to-end tests: a real HTTP server, a temporary workspace with
//! its feeds.toml, and runs of the real `veille` binary.
#![allow(dead_code)]

pub(crate) mod bounce_parse;
pub(crate) mod centres;
pub(crate) mod daemon;
pub(crate) mod dovecot;
pub(crate) mod http;
pub(crate) mod postgres;
pub(crate) mod server;
pub(crate) mod smtp;
pub(crate) mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary folder with a `feeds.toml` and an `archive/`; in the PostgreSQL pass of the
/// tests (`tests/with-postgres`), also a fresh database of the shared test cluster, which every
/// run of veille from this workspace uses as its store.
pub(crate) struct Workspace {
    pub(crate) dir: tempfile::TempDir,
    database: Option<String>,
}

/// The store of a workspace, for the few checks no command shows: its SQLite file or its
/// PostgreSQL database. `on_db!(db, pool => …)` runs a query on either.
pub(crate) enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the workspace database's pool, once per backend.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db {
            $crate::support::Db::Sqlite($pool) => $body,
            $crate::support::Db::Postgres($pool) => $body,
        }
    };
}

impl Workspace {
    /// `settings` is the body of the `[settings]` table; `rest` the dossiers and sources.
    pub(crate) fn new(settings: &str, rest: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = format!(
            "[settings]\nuser_agent = \"veille-test/0.1 (+https://example.org/contact)\"\nretry_base_secs = 60\n{settings}\n\n{DOSSIERS}\n{rest}"
        );
        std::fs::write(dir.path().join("feeds.toml"), text).expect("write feeds.toml");
        let database = postgres::shared_cluster().map(|admin| postgres::fresh_database(&admin));
        Workspace { dir, database }
    }

    /// A workspace whose store is the PostgreSQL database at `url`, shared with others (several
    /// archive folders serving one centre, or several centres).
    pub(crate) fn sharing(settings: &str, rest: &str, url: &str) -> Workspace {
        let mut ws = Workspace::new(settings, rest);
        ws.database = Some(url.to_string());
        ws
    }

    /// The PostgreSQL database this workspace's store lives in, in the PostgreSQL pass.
    pub(crate) fn database_url(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The environment a run of veille needs to reach this workspace's store.
    pub(crate) fn store_env(&self) -> Vec<(&'static str, String)> {
        self.database
            .iter()
            .map(|url| ("VEILLE_DATABASE_URL", url.clone()))
            .collect()
    }

    /// Opens this workspace's store in process, as veille itself would.
    pub(crate) async fn open_store(&self) -> veille::store::Store {
        match &self.database {
            Some(url) => veille::store::Store::open_postgres(url).await,
            None => veille::store::Store::open_sqlite(&self.archive()).await,
        }
        .expect("ouvrir la base de l'espace de test")
    }

    /// A pool on this workspace's store, for direct checks (`on_db!`).
    pub(crate) async fn db(&self) -> Db {
        match &self.database {
            Some(url) => Db::Postgres(sqlx::PgPool::connect(url).await.expect("PostgreSQL")),
            None => {
                let store = self.open_store().await;
                Db::Sqlite(store.sqlite_pool().expect("SQLite").clone())
            }
        }
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("feeds.toml")
    }

    pub(crate) fn archive(&self) -> PathBuf {
        self.dir.path().join("archive")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_veille"));
        command
            .arg("--config")
            .arg(self.config())
            .arg("--archive")
            .arg(self.archive())
            .args(args)
            .env_remove("VEILLE_CONFIG")
            .env_remove("VEILLE_ARCHIVE")
            .env_remove("VEILLE_DATABASE_URL")
            .envs(self.store_env());
        command
    }

    /// Runs veille and returns its output, whatever the exit code.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run veille")
    }

    /// Runs a `--json` command that must succeed and parses its stdout.
    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "veille {args:?} a échoué ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout n'est pas du JSON ({e}) :\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `veille fetch --json`, with the reports keyed by source name.
    pub(crate) fn fetch(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["fetch", "--json"];
        args.extend_from_slice(extra);
        self.json(&args)
    }

    pub(crate) fn articles(&self) -> Vec<serde_json::Value> {
        self.json(&["articles", "--json"])
            .as_array()
            .expect("array")
            .clone()
    }

    /// Flash Info n° 1 with these stories kept in the pauvreté dossier, marked ready to send.
    pub(crate) fn ready_flash_info(&self, stories: &[String]) {
        self.json(&["edition", "new", "flash-info", "--json"]);
        for story in stories {
            self.json(&["decide", story, "keep", "--dossier", "pauvrete", "--json"]);
            self.json(&["edition", "add", "flash-info/1", story, "--json"]);
        }
        let out = self.run(&["edition", "ready", "flash-info/1"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Fetches, makes Flash Info n° 1 of every story ready, and imports `csv` (a CSV text with
    /// an `email` header) into the `flash-info` list.
    pub(crate) fn ready_to_send(&self, csv: &str) {
        self.fetch(&[]);
        let stories: Vec<String> = self
            .articles()
            .iter()
            .map(|a| a["story"].as_i64().expect("story").to_string())
            .collect();
        self.ready_flash_info(&stories);
        self.import_subscribers(csv);
    }

    /// Imports `csv` (a CSV text, header first) into the `flash-info` list; its JSON report.
    pub(crate) fn import_subscribers(&self, csv: &str) -> serde_json::Value {
        let path = self.dir.path().join("abonnes.csv");
        std::fs::write(&path, csv).expect("abonnes.csv");
        self.json(&[
            "subscribers",
            "import",
            path.to_str().expect("utf-8"),
            "--list",
            "flash-info",
            "--json",
        ])
    }
}

/// A feed server carrying one article, and a workspace that mails through `smtp` with the
/// repository's templates: `mail_lines` are added to `[mail]`, `rest` follows it, then the
/// `flash-info` list and the source.
pub(crate) fn mail_workspace(
    smtp: &str,
    mail_lines: &str,
    rest: &str,
) -> (server::TestServer, Workspace) {
    let server = server::TestServer::start();
    server.route(
        "/feed.xml",
        server::Route::rss(rss(&[(
            "La pauvreté recule à Toulouse",
            &server.url("/a/1"),
            "g1",
        )])),
    );
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"http://127.0.0.1:9\"\n\
             templates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{smtp}\"\n\
             {mail_lines}\n\n{rest}\n\n[lists.flash-info]\ntitle = \"Flash Info\"\n\n{}",
            templates.display(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    );
    (server, ws)
}

/// The report of one source in a `fetch --json` document.
pub(crate) fn report<'a>(fetch: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    fetch["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("pas de rapport pour {name} dans {fetch:#}"))
}

/// address → status of the workspace's subscribers, as `veille subscribers list` shows them.
pub(crate) fn subscriber_statuses(ws: &Workspace) -> std::collections::BTreeMap<String, String> {
    ws.json(&["subscribers", "list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A source entry for feeds.toml.
pub(crate) fn feed_source(name: &str, url: &str) -> String {
    format!("[[sources]]\nname = \"{name}\"\nfeed = \"{url}\"\ndossiers = [\"pauvrete\"]\n\n")
}

/// An RSS feed of one article published two hours ago (so inside every "recent" window),
/// linking to `/a/1.html` on `server`: what the mailing tests send.
pub(crate) fn one_recent_article_feed(server: &server::TestServer) -> String {
    let date = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc2822();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>\
         <item><title>Le gouvernement présente le nouveau pacte des solidarités</title><link>{}</link>\
         <description>Présenté jeudi à Matignon.</description><pubDate>{date}</pubDate></item></channel></rss>",
        server.url("/a/1.html")
    )
}

/// An RSS 2.0 document with `(title, link, guid)` items.
pub(crate) fn rss(items: &[(&str, &str, &str)]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Flux de test</title><link>http://example.org/</link>\n",
    );
    for (title, link, guid) in items {
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid><pubDate>Fri, 27 Nov 2026 10:00:00 +0100</pubDate><description>Résumé de {guid}</description></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

/// Fixtures written by others, read in place. A test that calls it carries
/// `#[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]` (set by `build.rs`),
/// so it shows as ignored, not passed, where `../shared` is absent.
pub(crate) fn shared_fixtures() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    assert!(path.is_dir(), "{} absent", path.display());
    path
}

const DOSSIERS: &str = "[dossiers.pauvrete]\ntitle = \"Stratégie Pauvreté et Pacte des Solidarités\"\npanorama = true\n\n[dossiers.securite]\ntitle = \"Sécurité et prévention de la délinquance\"\n";
