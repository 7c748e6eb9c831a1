//! The publication commands: `panorama`, `edition …`, `serve`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::report::{CommandError, Report, emit, sorted};
use super::{EXIT_OK, EXIT_USAGE, dossier_refusal, hint};
use crate::cli::EditionCommand;
use crate::config::Config;
use crate::model::{BlockKind, Edition, EditionItem, EditionRef, EditionRefError, EditionStatus};
use crate::publish::{PanoramaReport, Publisher};
use crate::store::{EditionError, NewBlock, Store};
use crate::web::{self, WebState};

/// `veille panorama [DOSSIER] [--reseau]`: renders the panoramas (the centre's own, or the
/// network's collective ones), then the archive index.
pub(crate) async fn panorama(
    config: &Config,
    archive: &Path,
    dossier: Option<&str>,
    network: bool,
) -> Result<Panoramas, CommandError> {
    if let Some(refusal) = dossier_refusal(config, dossier) {
        return Err(CommandError::Usage(refusal));
    }
    if network {
        return network_panorama(config, archive, dossier).await;
    }
    if let Some(d) = dossier
        && !config.dossiers[d].panorama
    {
        return Err(CommandError::Usage(format!(
            "le dossier `{d}` n'a pas de panorama (ajoutez panorama = true dans [dossiers.{d}])"
        )));
    }
    let store = Store::open(archive).await?;
    let publisher = Publisher::new(config, archive)?;
    let panoramas = publisher.panoramas(&store, dossier, Utc::now()).await?;
    let index = publisher.archive_index(&store).await?;
    Ok(Panoramas { index, panoramas })
}

/// `veille panorama --reseau [DOSSIER]`: the network's collective panoramas.
async fn network_panorama(
    config: &Config,
    archive: &Path,
    dossier: Option<&str>,
) -> Result<Panoramas, CommandError> {
    let shared = &config.network.shared_dossiers;
    if shared.is_empty() {
        return Err(CommandError::Usage(
            "aucun panorama du réseau : la configuration ne partage aucun dossier \
             (ajoutez [network] shared_dossiers = [\"politique-de-la-ville\"])"
                .into(),
        ));
    }
    if let Some(d) = dossier
        && !shared.iter().any(|s| s == d)
    {
        return Err(CommandError::Usage(format!(
            "le dossier `{d}` n'est pas partagé avec le réseau (dossiers partagés : {} ; \
             voir [network] shared_dossiers)",
            shared.join(", ")
        )));
    }
    let store = Store::open(archive).await?;
    let publisher = Publisher::new(config, archive)?;
    let panoramas = publisher
        .network_panoramas(&store, dossier, Utc::now())
        .await?;
    let index = publisher.archive_index(&store).await?;
    Ok(Panoramas { index, panoramas })
}

/// What `veille panorama` wrote: an indented JSON document, or a line per dossier and the
/// archive index.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Panoramas {
    index: PathBuf,
    #[serde(serialize_with = "sorted")]
    panoramas: Vec<PanoramaReport>,
}

impl Report for Panoramas {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Panoramas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for r in &self.panoramas {
            let what = match r.stories {
                0 => "vide".to_string(),
                1 => "1 histoire".to_string(),
                n => format!("{n} histoires"),
            };
            writeln!(
                f,
                "{:<24} {what:<14} {}",
                r.dossier,
                r.files
                    .first()
                    .and_then(|file| file.parent())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )?;
        }
        write!(
            f,
            "{} ; index : {}",
            crate::publish::french::count(self.panoramas.len(), "panorama", "panoramas"),
            self.index.display()
        )
    }
}

/// Reads `KIND/NUMBER`, checking the kind against the configuration; each mistake is said in
/// French with the known kinds.
pub(super) fn edition_ref(config: &Config, text: &str) -> Result<EditionRef, CommandError> {
    let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
    let unknown_kind = |kind: &str| {
        CommandError::Usage(format!(
            "genre d'édition inconnu « {kind} »{}",
            hint(kind, &kinds)
        ))
    };
    match text.parse::<EditionRef>() {
        Ok(address) if config.publications.contains_key(&address.kind) => Ok(address),
        Ok(address) => Err(unknown_kind(&address.kind)),
        Err(EditionRefError::Number(number)) => {
            // An unknown kind is the first thing to fix, whatever follows the slash.
            match text.trim().rsplit_once('/') {
                Some((kind, _)) if !config.publications.contains_key(kind) => {
                    Err(unknown_kind(kind))
                }
                _ => Err(CommandError::Usage(
                    EditionRefError::Number(number).to_string(),
                )),
            }
        }
        Err(e @ EditionRefError::Shape(_)) => Err(CommandError::Usage(format!(
            "édition {e} (genres : {})",
            kinds.join(", ")
        ))),
    }
}

/// What the store's refusal of an edition change means for the user.
fn refusal(e: EditionError) -> CommandError {
    match e {
        EditionError::Store(e) => CommandError::Runtime(e),
        EditionError::Unknown(address) => CommandError::Usage(format!(
            "édition introuvable : {address} (voir `veille edition list`)"
        )),
        EditionError::UnknownStory(story) => CommandError::Usage(format!(
            "histoire inconnue : {story} (voir `veille articles`)"
        )),
        other => CommandError::Usage(other.to_string()),
    }
}

/// What every `veille edition …` action needs besides its own arguments.
struct Ctx<'a> {
    config: &'a Config,
    archive: &'a Path,
    now: DateTime<Utc>,
}

/// `veille edition …` but `send` and `report` (the mail commands): the action's report,
/// printed, and the exit code.
pub(crate) async fn edition(
    config: &Config,
    archive: &Path,
    action: EditionCommand,
    json: bool,
) -> i32 {
    let ctx = Ctx {
        config,
        archive,
        now: Utc::now(),
    };
    match action {
        EditionCommand::New { kind, from, to } => {
            emit(new_edition(&ctx, &kind, from, to).await, json)
        }
        EditionCommand::Add {
            edition,
            story,
            section,
            title,
            lede,
        } => {
            let item = EditionItem {
                story,
                section: section.unwrap_or_default(),
                position: 0,
                title,
                lede,
            };
            emit(add_item(&ctx, &edition, item).await, json)
        }
        EditionCommand::Remove { edition, story } => say(remove_item(&ctx, &edition, story).await),
        EditionCommand::Up { edition, story } => say(move_item(&ctx, &edition, story, true).await),
        EditionCommand::Down { edition, story } => {
            say(move_item(&ctx, &edition, story, false).await)
        }
        EditionCommand::Block {
            edition,
            kind,
            title,
            text,
            file,
            date,
            place,
        } => {
            let block = BlockKind::parse(&kind)
                .ok_or_else(|| {
                    CommandError::Usage(format!(
                        "genre de bloc inconnu « {kind} » : intro, agenda, news ou text"
                    ))
                })
                .and_then(|kind| {
                    Ok(NewBlock {
                        kind,
                        title,
                        body: block_body(text, file)?,
                        event_date: date,
                        place,
                    })
                });
            emit(
                async {
                    let at = edition_ref(config, &edition)?;
                    add_block(&ctx, &at, block?).await
                }
                .await,
                json,
            )
        }
        EditionCommand::Ready { edition } => {
            say(set_status(&ctx, &edition, EditionStatus::Ready).await)
        }
        EditionCommand::Draft { edition } => {
            say(set_status(&ctx, &edition, EditionStatus::Draft).await)
        }
        EditionCommand::Show { edition } => emit(show(&ctx, &edition).await, json),
        EditionCommand::Render { edition } => emit(render(&ctx, &edition).await, json),
        EditionCommand::List => emit(list(archive).await, json),
        EditionCommand::Send { .. } | EditionCommand::Report { .. } => {
            unreachable!("mail commands, dispatched before")
        }
    }
}

async fn new_edition(
    ctx: &Ctx<'_>,
    kind: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<NewEdition, CommandError> {
    let config = ctx.config;
    let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
    if !config.publications.contains_key(kind) {
        return Err(CommandError::Usage(format!(
            "genre d'édition inconnu « {kind} »{}\n  genres : {}",
            hint(kind, &kinds),
            kinds.join(", ")
        )));
    }
    let publisher = Publisher::new(config, ctx.archive)?;
    let (default_from, default_to) = publisher.default_period(kind, ctx.now);
    let (from, to) = (from.unwrap_or(default_from), to.unwrap_or(default_to));
    if to < from {
        return Err(CommandError::Usage(format!(
            "période invalide : {to} est avant {from}"
        )));
    }
    let store = Store::open(ctx.archive).await?;
    let edition = store.create_edition(kind, from, to, ctx.now).await?;
    Ok(NewEdition(edition))
}

/// The edition `veille edition new` created: its kind and number for programs, a sentence
/// with its period for people.
#[derive(Debug)]
pub(crate) struct NewEdition(Edition);

impl serde::Serialize for NewEdition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("NewEdition", 2)?;
        doc.serialize_field("kind", &self.0.kind)?;
        doc.serialize_field("number", &self.0.number)?;
        doc.end()
    }
}

impl Report for NewEdition {}

impl std::fmt::Display for NewEdition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Édition {} créée (brouillon, du {} au {})",
            self.0.address(),
            self.0.period_start,
            self.0.period_end
        )
    }
}

/// Adds `item` (its section as asked, empty for the kind's first) at the end of its section.
async fn add_item(
    ctx: &Ctx<'_>,
    edition: &str,
    item: EditionItem,
) -> Result<ItemAdded, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let publication = &ctx.config.publications[&address.kind];
    let section = if item.section.is_empty() {
        publication.section_names().remove(0)
    } else {
        publication
            .section(&address.kind, &item.section)
            .map_err(CommandError::Usage)?
    };
    let story = item.story;
    let item = EditionItem {
        section: section.clone(),
        ..item
    };
    let store = Store::open(ctx.archive).await?;
    store
        .add_edition_item(&address.kind, address.number, &item, ctx.now)
        .await
        .map_err(refusal)?;
    Ok(ItemAdded {
        edition: address,
        section,
        story,
    })
}

/// A story `veille edition add` placed, and the section it went to.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ItemAdded {
    edition: EditionRef,
    section: String,
    story: i64,
}

impl Report for ItemAdded {}

impl std::fmt::Display for ItemAdded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Histoire {} ajoutée à {}, rubrique « {} »",
            self.story, self.edition, self.section
        )
    }
}

/// Prints the sentence of an action that has no JSON document (`remove`, `up`, `down`,
/// `ready`, `draft`: the same sentence with or without `--json`, as always), or its error.
fn say(result: Result<String, CommandError>) -> i32 {
    match result {
        Ok(sentence) => {
            println!("{sentence}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

async fn remove_item(ctx: &Ctx<'_>, edition: &str, story: i64) -> Result<String, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let store = Store::open(ctx.archive).await?;
    store
        .remove_edition_item(&address.kind, address.number, story, ctx.now)
        .await
        .map_err(refusal)?;
    Ok(format!("Histoire {story} retirée de {address}"))
}

async fn move_item(
    ctx: &Ctx<'_>,
    edition: &str,
    story: i64,
    up: bool,
) -> Result<String, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let store = Store::open(ctx.archive).await?;
    store
        .move_edition_item(&address.kind, address.number, story, up, ctx.now)
        .await
        .map_err(refusal)?;
    Ok(format!(
        "Histoire {story} {} dans {address}",
        if up { "remontée" } else { "descendue" }
    ))
}

/// The Markdown of a block, from `--text` or `--file`.
fn block_body(text: Option<String>, file: Option<PathBuf>) -> Result<String, CommandError> {
    match (text, file) {
        (Some(t), None) => Ok(t),
        (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
            CommandError::Usage(format!(
                "impossible de lire {} : {}",
                f.display(),
                crate::wording::io(&e)
            ))
        }),
        _ => Err(CommandError::Usage(
            "donnez le texte du bloc avec --text ou --file (Markdown)".into(),
        )),
    }
}

async fn add_block(
    ctx: &Ctx<'_>,
    address: &EditionRef,
    block: NewBlock,
) -> Result<BlockAdded, CommandError> {
    if let Some(d) = &block.event_date
        && crate::publish::french::local_date(d, chrono_tz::Europe::Paris).is_none()
    {
        return Err(CommandError::Usage(format!(
            "date illisible « {d} » : AAAA-MM-JJ, éventuellement suivie de l'heure"
        )));
    }
    let store = Store::open(ctx.archive).await?;
    let id = store
        .add_edition_block(&address.kind, address.number, &block, ctx.now)
        .await
        .map_err(refusal)?;
    Ok(BlockAdded {
        edition: address.clone(),
        block: id,
        kind: block.kind,
    })
}

/// The block `veille edition block` added, by its number.
#[derive(Debug, serde::Serialize)]
pub(crate) struct BlockAdded {
    block: i64,
    edition: EditionRef,
    #[serde(skip)]
    kind: BlockKind,
}

impl Report for BlockAdded {}

impl std::fmt::Display for BlockAdded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Bloc {} ajouté à {} (n° {})",
            self.kind.as_str(),
            self.edition,
            self.block
        )
    }
}

async fn set_status(
    ctx: &Ctx<'_>,
    edition: &str,
    status: EditionStatus,
) -> Result<String, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let store = Store::open(ctx.archive).await?;
    store
        .set_edition_status(&address.kind, address.number, status, ctx.now)
        .await
        .map_err(refusal)?;
    Ok(format!("Édition {address} : {}", status.label()))
}

/// The edition at `edition`, or the refusal of an unknown one.
async fn stored_edition(store: &Store, address: &EditionRef) -> Result<Edition, CommandError> {
    store
        .edition(&address.kind, address.number)
        .await?
        .ok_or_else(|| refusal(EditionError::Unknown(address.to_string())))
}

async fn show<'a>(ctx: &Ctx<'a>, edition: &str) -> Result<Shown<'a>, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let store = Store::open(ctx.archive).await?;
    let edition = stored_edition(&store, &address).await?;
    let stories: Vec<i64> = edition.items.iter().map(|i| i.story).collect();
    let cards = store.story_cards(&stories, None).await?;
    Ok(Shown {
        edition,
        cards,
        config: ctx.config,
    })
}

/// An edition as `veille edition show` gives it: its items completed by their stories' cards.
pub(crate) struct Shown<'a> {
    edition: Edition,
    cards: Vec<crate::model::StoryCard>,
    /// For the publication's title.
    config: &'a Config,
}

impl serde::Serialize for Shown<'_> {
    // The stored edition, whose items also carry the title, lede, link and source their
    // story shows (a retitled item keeps its own).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items: Vec<_> = self
            .edition
            .items
            .iter()
            .map(|i| {
                let card = self.cards.iter().find(|c| c.story == i.story);
                json!({
                    "story": i.story,
                    "section": i.section,
                    "position": i.position,
                    "title": i.title.clone().or(card.map(|c| c.title.clone())),
                    "lede": i.lede.clone().or(card.map(|c| c.lede.clone())),
                    "url": card.map(|c| c.url.clone()),
                    "source": card.map(|c| c.source.clone()),
                })
            })
            .collect();
        let mut value = serde_json::to_value(&self.edition).map_err(serde::ser::Error::custom)?;
        value["items"] = json!(items);
        value.serialize(s)
    }
}

impl Report for Shown<'_> {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::report::lines(f, |out| {
            write_edition(out, self.config, &self.edition, &self.cards)
        })
    }
}

async fn render(ctx: &Ctx<'_>, edition: &str) -> Result<Rendered, CommandError> {
    let address = edition_ref(ctx.config, edition)?;
    let store = Store::open(ctx.archive).await?;
    let ed = stored_edition(&store, &address).await?;
    let publisher = Publisher::new(ctx.config, ctx.archive)?;
    let written = publisher.edition(&store, &ed, ctx.now).await?;
    let index = publisher.archive_index(&store).await?;
    Ok(Rendered {
        edition: written,
        index,
        address,
    })
}

/// The files `veille edition render` wrote, and the archive index.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Rendered {
    edition: crate::publish::EditionReport,
    index: PathBuf,
    #[serde(skip)]
    address: EditionRef,
}

impl Report for Rendered {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in &self.edition.files {
            writeln!(f, "{}", file.display())?;
        }
        write!(
            f,
            "Édition {} : {} ; index : {}",
            self.address,
            crate::publish::french::count(self.edition.items, "article", "articles"),
            self.index.display()
        )
    }
}

/// `veille edition list`.
async fn list(archive: &Path) -> Result<Editions, CommandError> {
    let store = Store::open(archive).await?;
    Ok(Editions(store.editions().await?))
}

/// Every edition, oldest first: a JSON array, or one line each and their count.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Editions(Vec<Edition>);

impl Report for Editions {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Editions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(
                f,
                "{:<22} {:<10} du {} au {}",
                e.address(),
                e.status.label(),
                e.period_start,
                e.period_end
            )?;
        }
        f.write_str(&crate::publish::french::count(
            self.0.len(),
            "édition",
            "éditions",
        ))
    }
}

fn write_edition(
    out: &mut String,
    config: &Config,
    ed: &Edition,
    cards: &[crate::model::StoryCard],
) -> std::fmt::Result {
    use std::fmt::Write;
    let title = config
        .publications
        .get(&ed.kind)
        .map_or(ed.kind.as_str(), |p| p.title.as_str());
    writeln!(
        out,
        "{title} n° {} — du {} au {} — {}",
        ed.number,
        ed.period_start,
        ed.period_end,
        ed.status.label()
    )?;
    let mut section = "";
    for item in &ed.items {
        if item.section != section {
            section = &item.section;
            writeln!(out, "\n## {section}")?;
        }
        let card = cards.iter().find(|c| c.story == item.story);
        let shown = item
            .title
            .clone()
            .or(card.map(|c| c.title.clone()))
            .unwrap_or_else(|| "(histoire disparue)".into());
        let source = card.map_or("", |c| c.source.as_str());
        writeln!(out, "{:>6}  {shown} — {source}", item.story)?;
    }
    for block in &ed.blocks {
        let first_line = block.body.lines().next().unwrap_or("");
        writeln!(
            out,
            "\n[{}] {}{}",
            block.kind.as_str(),
            block
                .title
                .as_deref()
                .map(|t| format!("{t} : "))
                .unwrap_or_default(),
            first_line
        )?;
    }
    Ok(())
}

/// `veille serve [--listen ADDR:PORT]`.
pub(crate) async fn serve(
    config: &Config,
    archive: &Path,
    listen: Option<&str>,
) -> anyhow::Result<i32> {
    let Some(addr) = super::listen_address(config, listen) else {
        return Ok(EXIT_USAGE);
    };
    let store = Store::open(archive).await?;
    let app = web::app(config, archive, store)?;
    web::serve(app, &WebState::new(config, archive).root, addr).await?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additions_read_as_sentences_and_as_the_json_lines_of_the_contract() {
        let added = ItemAdded {
            edition: EditionRef::new("flash-info", 3),
            section: "À la une".into(),
            story: 42,
        };
        assert_eq!(
            added.to_string(),
            "Histoire 42 ajoutée à flash-info/3, rubrique « À la une »"
        );
        let before = json!({"edition": "flash-info/3", "story": 42, "section": "À la une"});
        assert_eq!(
            super::super::report::document(&added).unwrap(),
            before.to_string()
        );
        let block = BlockAdded {
            block: 7,
            edition: EditionRef::new("flash-info", 3),
            kind: BlockKind::Agenda,
        };
        assert_eq!(
            block.to_string(),
            "Bloc agenda ajouté à flash-info/3 (n° 7)"
        );
        let before = json!({"edition": "flash-info/3", "block": 7});
        assert_eq!(
            super::super::report::document(&block).unwrap(),
            before.to_string()
        );
    }

    #[test]
    fn panoramas_read_as_lines_and_as_the_sorted_json_document() {
        let report = |dossier: &str, stories| PanoramaReport {
            dossier: dossier.into(),
            stories,
            files: vec![PathBuf::from(format!(
                "/srv/archive/published/panoramas/{dossier}/index.html"
            ))],
        };
        let written = Panoramas {
            index: "/srv/archive/published/index.html".into(),
            panoramas: vec![report("logement", 0), report("pauvrete", 3)],
        };
        assert_eq!(
            written.to_string(),
            format!(
                "{:<24} {:<14} /srv/archive/published/panoramas/logement\n\
                 {:<24} {:<14} /srv/archive/published/panoramas/pauvrete\n\
                 2 panoramas ; index : /srv/archive/published/index.html",
                "logement", "vide", "pauvrete", "3 histoires"
            )
        );
        let before = serde_json::json!({"panoramas": written.panoramas, "index": written.index});
        assert_eq!(
            serde_json::to_string_pretty(&written).unwrap(),
            serde_json::to_string_pretty(&before).unwrap()
        );
    }
}
