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

/// `veille panorama [DOSSIER]`: renders the panoramas, then the archive index.
pub async fn panorama(
    config: &Config,
    archive: &Path,
    dossier: Option<&str>,
) -> Result<Panoramas, CommandError> {
    if let Some(refusal) = dossier_refusal(config, dossier) {
        return Err(CommandError::Usage(refusal));
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

/// What `veille panorama` wrote: an indented JSON document, or a line per dossier and the
/// archive index.
#[derive(Debug, serde::Serialize)]
pub struct Panoramas {
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
pub(super) fn edition_ref(config: &Config, text: &str) -> Result<EditionRef, i32> {
    let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
    let unknown_kind = |kind: &str| {
        eprintln!("genre d'édition inconnu « {kind} »{}", hint(kind, &kinds));
        EXIT_USAGE
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
                _ => {
                    eprintln!("{}", EditionRefError::Number(number));
                    Err(EXIT_USAGE)
                }
            }
        }
        Err(e @ EditionRefError::Shape(_)) => {
            eprintln!("édition {e} (genres : {})", kinds.join(", "));
            Err(EXIT_USAGE)
        }
    }
}

fn report_error(e: EditionError) -> anyhow::Result<i32> {
    match e {
        EditionError::Store(e) => Err(e),
        EditionError::Unknown(address) => {
            eprintln!("édition inconnue : {address} (voir `veille edition list`)");
            Ok(EXIT_USAGE)
        }
        EditionError::UnknownStory(story) => {
            eprintln!("histoire inconnue : {story} (voir `veille articles`)");
            Ok(EXIT_USAGE)
        }
        other => {
            eprintln!("{other}");
            Ok(EXIT_USAGE)
        }
    }
}

/// What every `veille edition …` action needs besides its own arguments.
struct Ctx<'a> {
    config: &'a Config,
    archive: &'a Path,
    json: bool,
    now: DateTime<Utc>,
}

/// The edition an action names (all but `new` and `list`).
fn address(action: &EditionCommand) -> Option<&str> {
    match action {
        EditionCommand::New { .. } | EditionCommand::List => None,
        EditionCommand::Add { edition, .. }
        | EditionCommand::Remove { edition, .. }
        | EditionCommand::Up { edition, .. }
        | EditionCommand::Down { edition, .. }
        | EditionCommand::Block { edition, .. }
        | EditionCommand::Ready { edition }
        | EditionCommand::Draft { edition }
        | EditionCommand::Show { edition }
        | EditionCommand::Render { edition }
        | EditionCommand::Report { edition }
        | EditionCommand::Send { edition, .. } => Some(edition),
    }
}

/// `veille edition …` but `send` and `report` (the mail commands).
pub async fn edition(
    config: &Config,
    archive: &Path,
    action: EditionCommand,
    json: bool,
) -> anyhow::Result<i32> {
    let ctx = Ctx {
        config,
        archive,
        json,
        now: Utc::now(),
    };
    // Every action but `new` and `list` names an edition: read its address once, here.
    let target = match address(&action).map(|text| edition_ref(config, text)) {
        Some(Ok(address)) => Some(address),
        Some(Err(code)) => return Ok(code),
        None => None,
    };
    let at = || target.clone().expect("address parsed above");
    let now = ctx.now;
    match action {
        EditionCommand::New { kind, from, to } => new_edition(&ctx, &kind, from, to).await,
        EditionCommand::Add {
            story,
            section,
            title,
            lede,
            ..
        } => {
            let item = EditionItem {
                story,
                section: section.unwrap_or_default(),
                position: 0,
                title,
                lede,
            };
            add_item(&ctx, &at(), item).await
        }
        EditionCommand::Remove { story, .. } => {
            let address = at();
            let store = Store::open(archive).await?;
            if let Err(e) = store
                .remove_edition_item(&address.kind, address.number, story, now)
                .await
            {
                return report_error(e);
            }
            println!("Histoire {story} retirée de {address}");
            Ok(EXIT_OK)
        }
        EditionCommand::Up { story, .. } => move_item(&ctx, &at(), story, true).await,
        EditionCommand::Down { story, .. } => move_item(&ctx, &at(), story, false).await,
        EditionCommand::Block {
            kind,
            title,
            text,
            file,
            date,
            place,
            ..
        } => {
            let Some(block_kind) = BlockKind::parse(&kind) else {
                eprintln!("genre de bloc inconnu « {kind} » : intro, agenda, news ou text");
                return Ok(EXIT_USAGE);
            };
            let Some(body) = block_body(text, file) else {
                return Ok(EXIT_USAGE);
            };
            let block = NewBlock {
                kind: block_kind,
                title,
                body,
                event_date: date,
                place,
            };
            add_block(&ctx, &at(), block).await
        }
        EditionCommand::Ready { .. } => set_status(&ctx, &at(), EditionStatus::Ready).await,
        EditionCommand::Draft { .. } => set_status(&ctx, &at(), EditionStatus::Draft).await,
        EditionCommand::Show { .. } => show(&ctx, &at()).await,
        EditionCommand::Render { .. } => render(&ctx, &at()).await,
        EditionCommand::List => Ok(emit(list(archive).await, json)),
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
) -> anyhow::Result<i32> {
    let config = ctx.config;
    let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
    if !config.publications.contains_key(kind) {
        eprintln!("genre d'édition inconnu « {kind} »{}", hint(kind, &kinds));
        eprintln!("  genres : {}", kinds.join(", "));
        return Ok(EXIT_USAGE);
    }
    let publisher = Publisher::new(config, ctx.archive)?;
    let (default_from, default_to) = publisher.default_period(kind, ctx.now);
    let (from, to) = (from.unwrap_or(default_from), to.unwrap_or(default_to));
    if to < from {
        eprintln!("période invalide : {to} est avant {from}");
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(ctx.archive).await?;
    let edition = store.create_edition(kind, from, to, ctx.now).await?;
    if ctx.json {
        println!(
            "{}",
            json!({"kind": edition.kind, "number": edition.number})
        );
    } else {
        println!(
            "Édition {} créée (brouillon, du {} au {})",
            edition.address(),
            edition.period_start,
            edition.period_end
        );
    }
    Ok(EXIT_OK)
}

/// Adds `item` (its section as asked, empty for the kind's first) at the end of its section.
async fn add_item(ctx: &Ctx<'_>, address: &EditionRef, item: EditionItem) -> anyhow::Result<i32> {
    let publication = &ctx.config.publications[&address.kind];
    let section = if item.section.is_empty() {
        publication.section_names().remove(0)
    } else {
        match publication.section(&address.kind, &item.section) {
            Ok(s) => s,
            Err(message) => {
                eprintln!("{message}");
                return Ok(EXIT_USAGE);
            }
        }
    };
    let story = item.story;
    let item = EditionItem {
        section: section.clone(),
        ..item
    };
    let store = Store::open(ctx.archive).await?;
    if let Err(e) = store
        .add_edition_item(&address.kind, address.number, &item, ctx.now)
        .await
    {
        return report_error(e);
    }
    if ctx.json {
        println!(
            "{}",
            json!({"edition": address, "story": story, "section": section})
        );
    } else {
        println!("Histoire {story} ajoutée à {address}, rubrique « {section} »");
    }
    Ok(EXIT_OK)
}

async fn move_item(
    ctx: &Ctx<'_>,
    address: &EditionRef,
    story: i64,
    up: bool,
) -> anyhow::Result<i32> {
    let store = Store::open(ctx.archive).await?;
    if let Err(e) = store
        .move_edition_item(&address.kind, address.number, story, up, ctx.now)
        .await
    {
        return report_error(e);
    }
    println!(
        "Histoire {story} {} dans {address}",
        if up { "remontée" } else { "descendue" }
    );
    Ok(EXIT_OK)
}

/// The Markdown of a block, from `--text` or `--file`; None once the mistake is said.
fn block_body(text: Option<String>, file: Option<PathBuf>) -> Option<String> {
    match (text, file) {
        (Some(t), None) => Some(t),
        (None, Some(f)) => match std::fs::read_to_string(&f) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!(
                    "impossible de lire {} : {}",
                    f.display(),
                    crate::wording::io(&e)
                );
                None
            }
        },
        _ => {
            eprintln!("donnez le texte du bloc avec --text ou --file (Markdown)");
            None
        }
    }
}

async fn add_block(ctx: &Ctx<'_>, address: &EditionRef, block: NewBlock) -> anyhow::Result<i32> {
    if let Some(d) = &block.event_date
        && crate::publish::french::local_date(d, chrono_tz::Europe::Paris).is_none()
    {
        eprintln!("date illisible « {d} » : AAAA-MM-JJ, éventuellement suivie de l'heure");
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(ctx.archive).await?;
    match store
        .add_edition_block(&address.kind, address.number, &block, ctx.now)
        .await
    {
        Ok(id) => {
            if ctx.json {
                println!("{}", json!({"edition": address, "block": id}));
            } else {
                println!("Bloc {} ajouté à {address} (n° {id})", block.kind.as_str());
            }
            Ok(EXIT_OK)
        }
        Err(e) => report_error(e),
    }
}

async fn set_status(
    ctx: &Ctx<'_>,
    address: &EditionRef,
    status: EditionStatus,
) -> anyhow::Result<i32> {
    let store = Store::open(ctx.archive).await?;
    if let Err(e) = store
        .set_edition_status(&address.kind, address.number, status, ctx.now)
        .await
    {
        return report_error(e);
    }
    println!("Édition {address} : {}", status.label());
    Ok(EXIT_OK)
}

async fn show(ctx: &Ctx<'_>, address: &EditionRef) -> anyhow::Result<i32> {
    let store = Store::open(ctx.archive).await?;
    let Some(ed) = store.edition(&address.kind, address.number).await? else {
        return report_error(EditionError::Unknown(address.to_string()));
    };
    let stories: Vec<i64> = ed.items.iter().map(|i| i.story).collect();
    let cards = store.story_cards(&stories, None).await?;
    if ctx.json {
        let items: Vec<_> = ed
            .items
            .iter()
            .map(|i| {
                let card = cards.iter().find(|c| c.story == i.story);
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
        let mut value = serde_json::to_value(&ed)?;
        value["items"] = json!(items);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_edition(ctx.config, &ed, &cards);
    }
    Ok(EXIT_OK)
}

async fn render(ctx: &Ctx<'_>, address: &EditionRef) -> anyhow::Result<i32> {
    let store = Store::open(ctx.archive).await?;
    let Some(ed) = store.edition(&address.kind, address.number).await? else {
        return report_error(EditionError::Unknown(address.to_string()));
    };
    let publisher = Publisher::new(ctx.config, ctx.archive)?;
    let report = publisher.edition(&store, &ed, ctx.now).await?;
    let index = publisher.archive_index(&store).await?;
    if ctx.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"edition": report, "index": index}))?
        );
    } else {
        for f in &report.files {
            println!("{}", f.display());
        }
        println!(
            "Édition {address} : {} ; index : {}",
            crate::publish::french::count(report.items, "article", "articles"),
            index.display()
        );
    }
    Ok(EXIT_OK)
}

/// `veille edition list`.
async fn list(archive: &Path) -> Result<Editions, CommandError> {
    let store = Store::open(archive).await?;
    Ok(Editions(store.editions().await?))
}

/// Every edition, oldest first: a JSON array, or one line each and their count.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct Editions(Vec<Edition>);

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

fn print_edition(config: &Config, ed: &Edition, cards: &[crate::model::StoryCard]) {
    let title = config
        .publications
        .get(&ed.kind)
        .map_or(ed.kind.as_str(), |p| p.title.as_str());
    println!(
        "{title} n° {} — du {} au {} — {}",
        ed.number,
        ed.period_start,
        ed.period_end,
        ed.status.label()
    );
    let mut section = "";
    for item in &ed.items {
        if item.section != section {
            section = &item.section;
            println!("\n## {section}");
        }
        let card = cards.iter().find(|c| c.story == item.story);
        let shown = item
            .title
            .clone()
            .or(card.map(|c| c.title.clone()))
            .unwrap_or_else(|| "(histoire disparue)".into());
        let source = card.map_or("", |c| c.source.as_str());
        println!("{:>6}  {shown} — {source}", item.story);
    }
    for block in &ed.blocks {
        let first_line = block.body.lines().next().unwrap_or("");
        println!(
            "\n[{}] {}{}",
            block.kind.as_str(),
            block
                .title
                .as_deref()
                .map(|t| format!("{t} : "))
                .unwrap_or_default(),
            first_line
        );
    }
}

/// `veille serve [--listen ADDR:PORT]`.
pub async fn serve(config: &Config, archive: &Path, listen: Option<&str>) -> anyhow::Result<i32> {
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
