//! Centres of a network for the end-to-end tests: one throwaway PostgreSQL database they all
//! share, a feed server with one recent article, and a builder of each centre's workspace
//! (its `[centre]`, the templates, its source, and what the test adds: `[mail]`, `[lists]`,
//! its dossiers' rules…).

use std::path::Path;

use super::Workspace;
use super::postgres::Postgres;
use super::server::{Route, TestServer};

/// A throwaway PostgreSQL cluster and the database `name` in it, where the centres meet.
pub(crate) fn shared_database(name: &str) -> (Postgres, String) {
    let pg = Postgres::start();
    let url = pg.create_database(name);
    (pg, url)
}

/// A feed server whose `/feed.xml` carries one recent article; the feed's URL.
pub(crate) fn recent_article_feed() -> (TestServer, String) {
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(super::one_recent_article_feed(&server)),
    );
    let feed = server.url("/feed.xml");
    (server, feed)
}

/// One centre's feeds.toml, built up, then written by `on` into a workspace on a shared
/// database.
pub(crate) struct Centre {
    id: String,
    name: String,
    region: Option<String>,
    publish: String,
    tables: String,
    sources: String,
    rules: Vec<(String, String)>,
}

/// A centre `id` named `name`, of the region "occitanie", with no source yet.
pub(crate) fn centre(id: &str, name: &str) -> Centre {
    Centre {
        id: id.into(),
        name: name.into(),
        region: Some("occitanie".into()),
        publish: String::new(),
        tables: String::new(),
        sources: String::new(),
        rules: Vec::new(),
    }
}

impl Centre {
    /// No `region` in `[centre]`.
    pub(crate) fn without_region(mut self) -> Centre {
        self.region = None;
        self
    }

    /// Lines of `[publish]` besides `templates` (`site_name`, `base_url`).
    pub(crate) fn publish(mut self, lines: &str) -> Centre {
        self.publish.push_str(lines);
        self
    }

    /// Whole tables (`[mail]`, `[lists.…]`, `[schedule]`, `[bounces]`, `[network]`, more
    /// `[dossiers.…]`), each ending with a blank line.
    pub(crate) fn tables(mut self, toml: &str) -> Centre {
        self.tables.push_str(toml);
        self
    }

    /// The source "Le Monde" at `feed`, in the pauvrete dossier.
    pub(crate) fn feed(self, feed: &str) -> Centre {
        let source = super::feed_source("Le Monde", feed);
        self.source(&source)
    }

    /// A `[[sources]]` entry of the test's own.
    pub(crate) fn source(mut self, toml: &str) -> Centre {
        self.sources.push_str(toml);
        self
    }

    /// The tagging rules of one of the workspace's dossiers (`[dossiers.<dossier>] rules`).
    pub(crate) fn rules(mut self, dossier: &str, rules: &str) -> Centre {
        self.rules.push((dossier.into(), rules.into()));
        self
    }

    /// The centre's workspace, its store the PostgreSQL database at `url`.
    pub(crate) fn on(self, url: &str) -> Workspace {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let region = self
            .region
            .map(|r| format!("region = \"{r}\"\n"))
            .unwrap_or_default();
        // Hostile names (quotes, ampersands, markup) must reach veille as they are.
        let name = toml::Value::String(self.name.clone());
        let ws = Workspace::sharing(
            "",
            &format!(
                "[centre]\nid = \"{}\"\nname = {name}\n{region}\n\
                 [publish]\n{}templates = \"{}\"\n\n{}{}",
                self.id,
                self.publish,
                templates.display(),
                self.tables,
                self.sources,
            ),
            url,
        );
        if !self.rules.is_empty() {
            let mut text = std::fs::read_to_string(ws.config()).unwrap();
            for (dossier, rules) in &self.rules {
                let header = format!("[dossiers.{dossier}]\n");
                let at = text
                    .find(&header)
                    .unwrap_or_else(|| panic!("pas de dossier {dossier} dans {text}"));
                text.insert_str(at + header.len(), &format!("rules = '''{rules}'''\n"));
            }
            std::fs::write(ws.config(), text).unwrap();
        }
        ws
    }
}
