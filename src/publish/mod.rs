//! Publications: panoramas (fragment, page, Atom, JSON Feed) — the centre's own, and the
//! network's collective ones (`[network]`) — editions (web version, email HTML with inlined
//! CSS, text part) and the archive index, rendered with the team's minijinja templates into
//! `archive/published/`.
//!
//! Files are written atomically (temporary file, then rename), so a reader or the web
//! server never sees half a page, and a crash leaves the previous version in place.

pub mod french;
pub(crate) mod markdown;
pub(crate) mod recipient;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde::Serialize;

use crate::config::Config;
use crate::model::{BlockKind, Edition, EditionStatus, StoryCard};
use crate::store::Store;

/// Folder of `archive/` where everything public is written.
pub(crate) const PUBLISHED_DIR: &str = "published";

/// Folder of `published/` holding the centre's own panoramas.
const PANORAMAS_DIR: &str = "panoramas";

/// Folder of `published/` holding the network's collective panoramas (issue 16).
pub(crate) const NETWORK_DIR: &str = "reseau";

/// Stands for the recipient's own unsubscribe token in rendered emails; the mail stage
/// replaces it for each recipient. Made of URL-safe characters, so the rendered page stays
/// valid HTML with working links.
pub(crate) const UNSUBSCRIBE_TOKEN_PLACEHOLDER: &str = "JETON-DESABONNEMENT";

/// The path of the unsubscribe page under the base URL; the token follows it.
pub(crate) const UNSUBSCRIBE_PATH: &str = "/desabonnement/";

/// Stands for the recipient's own preferences token ("gérer mon abonnement") in rendered
/// emails; replaced per recipient by the mail stage, and by the link-request page in the
/// public web copy.
pub(crate) const PREFERENCES_TOKEN_PLACEHOLDER: &str = "JETON-PREFERENCES";

/// The path of the preferences page under the base URL; the token follows it.
pub(crate) const PREFERENCES_PATH: &str = "/preferences/";

/// Where a reader without a personal link asks for one by e-mail.
pub(crate) const PREFERENCES_REQUEST_PATH: &str = "/abonnement/lien";

/// Renders publications for one configuration and archive.
pub(crate) struct Publisher<'c> {
    config: &'c Config,
    env: Environment<'static>,
    out: PathBuf,
    tz: Tz,
}

/// What `veille panorama` wrote for one dossier.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PanoramaReport {
    pub(crate) dossier: String,
    pub(crate) stories: usize,
    pub(crate) files: Vec<PathBuf>,
}

/// What `veille edition render` wrote.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EditionReport {
    pub(crate) kind: String,
    pub(crate) number: i64,
    pub(crate) items: usize,
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Site {
    name: String,
    base_url: String,
}

/// Whose choices a panorama shows: the centre's own, or every centre's of the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PanoramaKind {
    Centre,
    Network,
}

impl PanoramaKind {
    fn folder(self) -> &'static str {
        match self {
            PanoramaKind::Centre => PANORAMAS_DIR,
            PanoramaKind::Network => NETWORK_DIR,
        }
    }
}

#[derive(Serialize)]
struct PanoramaView<'a> {
    dossier: &'a str,
    /// Prefix of the element ids, so that a website embedding the centre's and the network's
    /// fragment of one dossier side by side gets no duplicate id.
    anchor: String,
    /// The network's collective panorama (its own title and wording, "repéré par").
    network: bool,
    title: &'a str,
    /// The dossier's `description` in `feeds.toml`, if any.
    description: Option<&'a str>,
    days: u32,
    page_url: String,
    fragment_url: String,
    atom_url: String,
    json_url: String,
    css_url: String,
    updated: String,
    stories: &'a [StoryCard],
}

#[derive(Serialize)]
struct SectionView {
    title: String,
    items: Vec<StoryCard>,
}

#[derive(Serialize)]
struct BlockView {
    kind: &'static str,
    title: Option<String>,
    /// The Markdown body: templates render it with the `markdown` filter (sanitised HTML)
    /// or show it as is in the text part.
    text: String,
    event_date: Option<String>,
    place: Option<String>,
}

#[derive(Serialize)]
struct EditionView {
    kind: String,
    number: i64,
    title: String,
    address: String,
    period: String,
    status: &'static str,
    web_url: String,
    preheader: String,
    intro: Vec<BlockView>,
    sections: Vec<SectionView>,
    agenda: Vec<BlockView>,
    news: Vec<BlockView>,
    texts: Vec<BlockView>,
    item_count: usize,
    /// The kind's `images` setting: whether the email shows the articles' images.
    images: bool,
}

#[derive(Serialize)]
struct ArchiveEntry {
    title: String,
    url: String,
    date: String,
    detail: String,
}

#[derive(Serialize)]
struct ArchiveGroup {
    title: String,
    entries: Vec<ArchiveEntry>,
}

fn template_error(name: &str, e: minijinja::Error) -> anyhow::Error {
    let mut message = format!("gabarit {name} : {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(&format!(" ({s})"));
        source = s.source();
    }
    anyhow::anyhow!(message)
}

/// HTML (and XML) escaping of text: `&`, `<`, `>`, `"` and `'`.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn to_value<T: Serialize>(data: T) -> Value {
    Value::from(minijinja::value::Serde(data))
}

/// Writes `contents` to `path` through a temporary file and a rename.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("impossible de créer le dossier {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("fichier"),
        std::process::id()
    ));
    std::fs::write(&tmp, contents)
        .with_context(|| format!("impossible d'écrire {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("impossible de remplacer {}", path.display()))?;
    Ok(())
}

impl<'c> Publisher<'c> {
    /// Loads the templates of `config` (from disk at each run: the team edits them without
    /// recompiling) and prepares `archive/published/`.
    pub(crate) fn new(config: &'c Config, archive: &Path) -> anyhow::Result<Self> {
        let dir = config.templates_dir();
        if !dir.is_dir() {
            anyhow::bail!(
                "dossier des gabarits introuvable : {} (réglage `templates` de [publish])",
                dir.display()
            );
        }
        let tz: Tz = config.tz();
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        // A misspelt variable is an error, not an empty string in a sent newsletter.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // `.html` and `.xml` (Atom) are escaped as HTML; `.txt` is plain text.
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        // minijinja's HTML escaping also turns `/` into `&#x2f;`, which makes every URL of
        // a fragment or an email unreadable for no safety gain: strings get the five
        // characters that matter escaped, everything else the default treatment.
        env.set_formatter(|out, state, value| {
            if matches!(state.auto_escape(), minijinja::AutoEscape::Html)
                && !value.is_safe()
                && let Some(text) = value.as_str()
            {
                return out
                    .write_str(&escape_html(text))
                    .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "écriture"));
            }
            minijinja::escape_formatter(out, state, value)
        });
        env.add_filter("date_fr", move |value: String, style: Option<String>| {
            let style = match style.as_deref() {
                None => french::DateStyle::Long,
                Some(s) => french::DateStyle::parse(s).ok_or_else(|| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("style de date inconnu « {s} » (long, jour, jour_mois, mois)"),
                    )
                })?,
            };
            french::local_date(&value, tz)
                .map(|d| french::format_date(d, style))
                .ok_or_else(|| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("date illisible « {value} »"),
                    )
                })
        });
        env.add_filter("date_iso", move |value: String| {
            french::local_date(&value, tz)
                .map(|d| d.to_string())
                .unwrap_or(value)
        });
        env.add_filter("abrege", |value: String, max: Option<usize>| {
            shorten(&value, max.unwrap_or(300))
        });
        env.add_filter("markdown_text", |value: String| markdown::to_text(&value));
        env.add_filter("markdown", |value: String| {
            Value::from_safe_string(markdown::to_html(&value))
        });
        env.add_filter("dossier_title", {
            let titles: BTreeMap<String, String> = config
                .dossiers
                .iter()
                .map(|(id, d)| (id.clone(), d.title.clone()))
                .collect();
            move |id: String| titles.get(&id).cloned().unwrap_or(id)
        });
        env.add_global(
            "site",
            to_value(Site {
                name: config.publish.site_name.clone(),
                base_url: config.base_url(),
            }),
        );
        Ok(Publisher {
            config,
            env,
            out: archive.join(PUBLISHED_DIR),
            tz,
        })
    }

    /// An article's image as the pages may show it: on a site served over HTTPS, an image
    /// from a plain HTTP address would be mixed content (blocked or upgraded to an address
    /// that may not exist), so it is left out.
    fn usable_image(&self, image: Option<String>) -> Option<String> {
        let secure = self.config.base_url().starts_with("https://");
        image.filter(|i| i.starts_with("https://") || (!secure && i.starts_with("http://")))
    }

    /// Where the published files go; the tests read the files back from there.
    #[cfg(test)]
    pub(crate) fn out_dir(&self) -> &Path {
        &self.out
    }

    /// Renders any template of the folder with `data` (the web pages of subscription, the
    /// confirmation mail).
    pub(crate) fn render_template(
        &self,
        name: &str,
        data: impl Serialize,
    ) -> anyhow::Result<String> {
        self.render(name, to_value(data))
    }

    fn render(&self, name: &str, ctx: Value) -> anyhow::Result<String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, e))?;
        let text = template.render(ctx).map_err(|e| template_error(name, e))?;
        // French typography on everything a reader sees: the templates' own words and the
        // data they show, never tags, attributes, entities or links.
        Ok(if name.ends_with(".html") || name.ends_with(".xml") {
            french::typography_html(&text)
        } else if name.ends_with(".txt") {
            french::typography(&text)
        } else {
            text
        })
    }

    /// Renders the panoramas of every dossier with `panorama = true` (or of one dossier).
    pub(crate) async fn panoramas(
        &self,
        store: &Store,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<PanoramaReport>> {
        let mut reports = Vec::new();
        for (id, dossier) in &self.config.dossiers {
            if only.is_some_and(|o| o != id) || !dossier.panorama {
                continue;
            }
            let settings = &self.config.publish;
            let since = now - Duration::days(i64::from(settings.panorama_days));
            let stories = store
                .panorama_stories(id, since, settings.panorama_max_items)
                .await?;
            reports.push(self.write_panorama(
                PanoramaKind::Centre,
                id,
                (&dossier.title, dossier.description.as_deref()),
                &stories,
                now,
            )?);
        }
        self.write_stylesheet()?;
        Ok(reports)
    }

    /// Renders the network's collective panoramas (`[network] shared_dossiers`, or one of
    /// them) to `published/reseau/<dossier>/`: what any centre kept or starred, with the
    /// same window, limit, order and files as the centre's own panoramas.
    pub(crate) async fn network_panoramas(
        &self,
        store: &Store,
        only: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<PanoramaReport>> {
        let mut reports = Vec::new();
        for id in &self.config.network.shared_dossiers {
            if only.is_some_and(|o| o != id) {
                continue;
            }
            // Checked when the configuration is read: a shared dossier is a declared one.
            let Some(dossier) = self.config.dossiers.get(id) else {
                continue;
            };
            let settings = &self.config.publish;
            let since = now - Duration::days(i64::from(settings.panorama_days));
            let stories = store
                .network_panorama_stories(id, since, settings.panorama_max_items)
                .await?;
            reports.push(self.write_panorama(
                PanoramaKind::Network,
                id,
                (&dossier.title, dossier.description.as_deref()),
                &stories,
                now,
            )?);
        }
        self.write_stylesheet()?;
        Ok(reports)
    }

    fn write_stylesheet(&self) -> anyhow::Result<()> {
        let css = self.render("panorama.css", Value::UNDEFINED)?;
        write_atomically(
            &self.out.join(PANORAMAS_DIR).join("panorama.css"),
            css.as_bytes(),
        )
    }

    fn write_panorama(
        &self,
        kind: PanoramaKind,
        dossier: &str,
        (title, description): (&str, Option<&str>),
        stories: &[StoryCard],
        now: DateTime<Utc>,
    ) -> anyhow::Result<PanoramaReport> {
        let base = self.config.base_url();
        let folder = kind.folder();
        let dir = self.out.join(folder).join(dossier);
        let page_url = format!("{base}/{folder}/{dossier}/");
        let updated = stories
            .iter()
            .map(|s| s.date.clone())
            .max()
            .unwrap_or_else(|| crate::store::timestamp(now));
        let stories: Vec<StoryCard> = stories
            .iter()
            .cloned()
            .map(|mut s| {
                s.image = self.usable_image(s.image);
                s
            })
            .collect();
        let stories = stories.as_slice();
        let view = PanoramaView {
            dossier,
            anchor: match kind {
                PanoramaKind::Centre => dossier.to_string(),
                PanoramaKind::Network => format!("{NETWORK_DIR}-{dossier}"),
            },
            network: kind == PanoramaKind::Network,
            title,
            description,
            days: self.config.publish.panorama_days,
            fragment_url: format!("{page_url}fragment.html"),
            atom_url: format!("{page_url}feed.atom"),
            json_url: format!("{page_url}feed.json"),
            css_url: format!("{base}/{PANORAMAS_DIR}/panorama.css"),
            page_url,
            updated,
            stories,
        };
        let ctx = to_value(&view);
        let fragment = self.render("panorama-fragment.html", ctx.clone())?;
        let page = self.render("panorama.html", ctx.clone())?;
        let atom = self.render("panorama.atom.xml", ctx)?;
        let json = json_feed(&view)?;
        let mut files = Vec::new();
        for (name, contents) in [
            ("fragment.html", fragment),
            ("index.html", page),
            ("feed.atom", atom),
            ("feed.json", json),
        ] {
            let path = dir.join(name);
            write_atomically(&path, contents.as_bytes())?;
            files.push(path);
        }
        Ok(PanoramaReport {
            dossier: dossier.to_string(),
            stories: stories.len(),
            files,
        })
    }

    /// Renders an edition: `index.html` (web version), `email.html` (CSS inlined, table
    /// layout, unsubscribe placeholder) and `email.txt`. A sent edition is not rewritten.
    pub(crate) async fn edition(
        &self,
        store: &Store,
        edition: &Edition,
        now: DateTime<Utc>,
    ) -> anyhow::Result<EditionReport> {
        let dir = self
            .out
            .join(&edition.kind)
            .join(edition.number.to_string());
        let files: Vec<PathBuf> = ["index.html", "email.html", "email.txt"]
            .iter()
            .map(|f| dir.join(f))
            .collect();
        if edition.status == EditionStatus::Sent && files.iter().all(|f| f.exists()) {
            return Ok(EditionReport {
                kind: edition.kind.clone(),
                number: edition.number,
                items: edition.items.len(),
                files,
            });
        }
        let view = self.edition_view(store, edition).await?;
        let item_count = view.item_count;
        let (template, ctx) = self.edition_context(edition, view);
        let web = self.render(&format!("{template}.html"), ctx.clone())?;
        // Only the email parts speak to a person: the mail stage fills these per recipient.
        let ctx = minijinja::context! { recipient => recipient::placeholders(), ..ctx };
        let email = inline_css(&self.render(&format!("{template}.email.html"), ctx.clone())?)?;
        let text = self.render(&format!("{template}.txt"), ctx)?;
        for (path, contents) in files.iter().zip([web, email, tidy_text(&text)]) {
            write_atomically(path, contents.as_bytes())?;
        }
        store
            .mark_edition_rendered(&edition.kind, edition.number, now)
            .await?;
        Ok(EditionReport {
            kind: edition.kind.clone(),
            number: edition.number,
            items: item_count,
            files,
        })
    }

    /// The template name of an edition's kind and the data its templates receive.
    fn edition_context(&self, edition: &Edition, view: EditionView) -> (String, Value) {
        let template = self
            .config
            .publications
            .get(&edition.kind)
            .map(|p| p.template_name(&edition.kind))
            .unwrap_or_else(|| edition.kind.clone());
        let unsubscribe_url = format!(
            "{}{UNSUBSCRIBE_PATH}{UNSUBSCRIBE_TOKEN_PLACEHOLDER}",
            self.config.base_url()
        );
        let preferences_url = format!(
            "{}{PREFERENCES_PATH}{PREFERENCES_TOKEN_PLACEHOLDER}",
            self.config.base_url()
        );
        let ctx = to_value(serde_json::json!({
            "edition": view,
            "unsubscribe_url": unsubscribe_url,
            "preferences_url": preferences_url,
        }));
        (template, ctx)
    }

    /// The text part of an edition as it stands (the composer's preview).
    pub(crate) async fn edition_text(
        &self,
        store: &Store,
        edition: &Edition,
    ) -> anyhow::Result<String> {
        let view = self.edition_view(store, edition).await?;
        let (template, ctx) = self.edition_context(edition, view);
        Ok(tidy_text(&self.render(&format!("{template}.txt"), ctx)?))
    }

    async fn edition_view(&self, store: &Store, edition: &Edition) -> anyhow::Result<EditionView> {
        let publication = self.config.publications.get(&edition.kind);
        let title = publication.map_or_else(|| edition.kind.clone(), |p| p.title.clone());
        // Sections in the configured order, then any other section in order of appearance.
        let mut order: Vec<String> = publication.map(|p| p.sections.clone()).unwrap_or_default();
        for item in &edition.items {
            if !order.contains(&item.section) {
                order.push(item.section.clone());
            }
        }
        let stories: Vec<i64> = edition.items.iter().map(|i| i.story).collect();
        let cards = store.story_cards(&stories, None).await?;
        let mut sections = Vec::new();
        for section in order {
            let items: Vec<StoryCard> = edition
                .items
                .iter()
                .filter(|i| i.section == section)
                .filter_map(|i| {
                    let mut card = cards.iter().find(|c| c.story == i.story)?.clone();
                    if let Some(t) = &i.title {
                        card.title = t.clone();
                    }
                    if let Some(l) = &i.lede {
                        card.lede = l.clone();
                    }
                    card.image = self.usable_image(card.image.take());
                    Some(card)
                })
                .collect();
            if !items.is_empty() {
                sections.push(SectionView {
                    title: section,
                    items,
                });
            }
        }
        let blocks = |kind: BlockKind| -> Vec<BlockView> {
            let mut list: Vec<&crate::model::Block> =
                edition.blocks.iter().filter(|b| b.kind == kind).collect();
            if kind == BlockKind::Agenda {
                list.sort_by(|a, b| {
                    a.event_date
                        .cmp(&b.event_date)
                        .then(a.position.cmp(&b.position))
                });
            }
            list.into_iter()
                .map(|b| BlockView {
                    kind: b.kind.as_str(),
                    title: b.title.clone(),
                    text: b.body.trim().to_string(),
                    event_date: b.event_date.clone(),
                    place: b.place.clone(),
                })
                .collect()
        };
        let period = french::period_label(edition.period_start, edition.period_end);
        let item_count = sections.iter().map(|s| s.items.len()).sum();
        let agenda = blocks(BlockKind::Agenda);
        let preheader = preheader(&title, edition.number, &period, item_count, agenda.len());
        Ok(EditionView {
            web_url: format!(
                "{}/{}/{}/",
                self.config.base_url(),
                edition.kind,
                edition.number
            ),
            kind: edition.kind.clone(),
            number: edition.number,
            address: edition.address(),
            title,
            period,
            status: edition.status.label(),
            preheader,
            intro: blocks(BlockKind::Intro),
            sections,
            agenda,
            news: blocks(BlockKind::News),
            texts: blocks(BlockKind::Text),
            item_count,
            images: publication.is_some_and(|p| p.images),
        })
    }

    /// `archive/published/index.html`: every rendered edition and panorama, by kind, newest
    /// first.
    pub(crate) async fn archive_index(&self, store: &Store) -> anyhow::Result<PathBuf> {
        let base = self.config.base_url();
        let mut groups = Vec::new();
        let mut panoramas = Vec::new();
        for (id, dossier) in &self.config.dossiers {
            let page = self.out.join("panoramas").join(id).join("index.html");
            let Ok(modified) = std::fs::metadata(&page).and_then(|m| m.modified()) else {
                continue;
            };
            let modified: DateTime<Utc> = modified.into();
            panoramas.push(ArchiveEntry {
                title: dossier.title.clone(),
                url: format!("{base}/panoramas/{id}/"),
                date: crate::store::timestamp(modified),
                detail: "panorama de presse".into(),
            });
        }
        if !panoramas.is_empty() {
            groups.push(ArchiveGroup {
                title: "Panoramas de presse".into(),
                entries: panoramas,
            });
        }
        let network = self.published_network_panoramas();
        if !network.is_empty() {
            groups.push(ArchiveGroup {
                title: "Panoramas du réseau".into(),
                entries: network,
            });
        }
        let mut by_kind: BTreeMap<String, Vec<Edition>> = BTreeMap::new();
        for edition in store.editions().await? {
            if edition.rendered_at.is_some()
                && self
                    .out
                    .join(&edition.kind)
                    .join(edition.number.to_string())
                    .join("index.html")
                    .exists()
            {
                by_kind
                    .entry(edition.kind.clone())
                    .or_default()
                    .push(edition);
            }
        }
        for (kind, mut editions) in by_kind {
            editions.sort_by_key(|e| std::cmp::Reverse(e.number));
            let title = self
                .config
                .publications
                .get(&kind)
                .map_or_else(|| kind.clone(), |p| p.title.clone());
            let entries = editions
                .iter()
                .map(|e| ArchiveEntry {
                    title: format!("{title} n° {}", e.number),
                    url: format!("{base}/{}/{}/", e.kind, e.number),
                    date: e
                        .sent_at
                        .clone()
                        .unwrap_or_else(|| e.period_start.to_string()),
                    detail: french::period_label(e.period_start, e.period_end),
                })
                .collect();
            groups.push(ArchiveGroup { title, entries });
        }
        let html = self.render(
            "archive.html",
            to_value(serde_json::json!({ "groups": groups })),
        )?;
        let path = self.out.join("index.html");
        write_atomically(&path, html.as_bytes())?;
        Ok(path)
    }

    /// The network's panoramas already written, for the archive index.
    fn published_network_panoramas(&self) -> Vec<ArchiveEntry> {
        let base = self.config.base_url();
        let mut entries = Vec::new();
        for id in &self.config.network.shared_dossiers {
            let page = self.out.join(NETWORK_DIR).join(id).join("index.html");
            let (Ok(modified), Some(dossier)) = (
                std::fs::metadata(&page).and_then(|m| m.modified()),
                self.config.dossiers.get(id),
            ) else {
                continue;
            };
            entries.push(ArchiveEntry {
                title: dossier.title.clone(),
                url: format!("{base}/{NETWORK_DIR}/{id}/"),
                date: crate::store::timestamp(modified.into()),
                detail: "panorama collectif du réseau".into(),
            });
        }
        entries
    }

    /// The default period of a new edition of `kind`: the month(s) starting with the
    /// current one, in the configured timezone.
    pub(crate) fn default_period(&self, kind: &str, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let months = self.config.publications.get(kind).map_or(1, |p| p.months);
        period_from(now.with_timezone(&self.tz).date_naive(), months)
    }
}

/// The period of `months` whole months starting with the month of `day`.
pub fn period_from(day: NaiveDate, months: u32) -> (NaiveDate, NaiveDate) {
    use chrono::Datelike;
    let start = day.with_day(1).expect("day 1 exists");
    let end = start
        .checked_add_months(chrono::Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(start);
    (start, end)
}

fn preheader(title: &str, number: i64, period: &str, items: usize, agenda: usize) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n > 1 {
            format!("{n} {many}")
        } else {
            format!("{n} {one}")
        }
    };
    let mut text = format!(
        "{title} n° {number}, {period} : {}",
        plural(items, "article", "articles")
    );
    if agenda > 0 {
        text.push_str(&format!(
            ", {}",
            plural(agenda, "rendez-vous", "rendez-vous")
        ));
    }
    text
}

/// Inlines the `<style>` of an email into `style` attributes, keeping `@media` rules (for
/// mobile layouts) in a `<style>` element; no remote stylesheet is fetched.
pub(crate) fn inline_css(html: &str) -> anyhow::Result<String> {
    let inliner = css_inline::CSSInliner::options()
        .keep_style_tags(false)
        .keep_at_rules(true)
        .load_remote_stylesheets(false)
        .build();
    inliner
        .inline(html)
        .map_err(|e| anyhow::anyhow!("mise en ligne du CSS de l'email impossible : {e}"))
}

/// At most `max` characters, cut at a word boundary, with an ellipsis when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:.-–".contains(c))
    )
}

/// The text part: no trailing spaces, at most one blank line in a row.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// JSON Feed 1.1, built with serde so that escaping is never a template's business.
fn json_feed(view: &PanoramaView<'_>) -> anyhow::Result<String> {
    let items: Vec<serde_json::Value> = view
        .stories
        .iter()
        .map(|s| {
            let mut text = s.lede.clone();
            if !s.also.is_empty() {
                let names: Vec<&str> = s.also.iter().map(|a| a.source.as_str()).collect();
                text.push_str(&format!("\n\nLu aussi dans : {}", names.join(", ")));
            }
            if !s.picked_by.is_empty() {
                text.push_str(&format!("\n\nRepéré par {}", s.picked_by.join(", ")));
            }
            let mut item = serde_json::json!({
                "id": format!("{}#{}-{}", view.page_url, view.dossier, s.story),
                "url": s.url,
                "title": french::typography(&s.title),
                "content_text": french::typography(&text),
                "summary": french::typography(&s.lede),
                "date_published": s.date,
                "authors": [{ "name": s.source }],
                "tags": s.dossiers,
            });
            if let Some(image) = &s.image {
                item["image"] = serde_json::Value::String(image.clone());
            }
            if view.network {
                // A JSON Feed extension (its keys start with `_`): the centres, as a list.
                item["_reseau"] = serde_json::json!({ "repere_par": s.picked_by });
            }
            item
        })
        .collect();
    let heading = if view.network {
        "Panorama du réseau"
    } else {
        "Panorama de presse"
    };
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": french::typography(&format!("{heading} — {}", view.title)),
        "home_page_url": view.page_url,
        "feed_url": view.json_url,
        "language": "fr",
        "items": items,
    });
    Ok(serde_json::to_string_pretty(&feed)? + "\n")
}

#[cfg(test)]
mod tests;
