//! The publication commands: `panorama`, `edition …`, `serve`.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use serde_json::json;

use super::{EXIT_OK, EXIT_USAGE, hint, unknown_dossier};
use crate::config::Config;
use crate::model::{BlockKind, Edition, EditionItem, EditionStatus};
use crate::publish::Publisher;
use crate::store::{EditionError, NewBlock, Store};
use crate::web::{self, WebState};

/// `veille panorama [DOSSIER]`: renders the panoramas, then the archive index.
pub async fn panorama(
    config: &Config,
    archive: &Path,
    dossier: Option<&str>,
    json: bool,
) -> anyhow::Result<i32> {
    if unknown_dossier(config, dossier) {
        return Ok(EXIT_USAGE);
    }
    if let Some(d) = dossier
        && !config.dossiers[d].panorama
    {
        eprintln!(
            "le dossier `{d}` n'a pas de panorama (ajoutez panorama = true dans [dossiers.{d}])"
        );
        return Ok(EXIT_USAGE);
    }
    let store = Store::open(archive).await?;
    let publisher = Publisher::new(config, archive)?;
    let now = Utc::now();
    let reports = publisher.panoramas(&store, dossier, now).await?;
    let index = publisher.archive_index(&store).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"panoramas": reports, "index": index}))?
        );
    } else {
        for r in &reports {
            let what = match r.stories {
                0 => "vide".to_string(),
                1 => "1 histoire".to_string(),
                n => format!("{n} histoires"),
            };
            println!(
                "{:<24} {what:<14} {}",
                r.dossier,
                r.files[0]
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
        }
        println!(
            "{} ; index : {}",
            crate::publish::french::count(reports.len(), "panorama", "panoramas"),
            index.display()
        );
    }
    Ok(EXIT_OK)
}

/// `veille edition …`.
pub enum EditionAction {
    New {
        kind: String,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
    Add {
        edition: String,
        story: i64,
        section: Option<String>,
        title: Option<String>,
        lede: Option<String>,
    },
    Remove {
        edition: String,
        story: i64,
    },
    Move {
        edition: String,
        story: i64,
        up: bool,
    },
    Block {
        edition: String,
        kind: String,
        title: Option<String>,
        text: Option<String>,
        file: Option<PathBuf>,
        date: Option<String>,
        place: Option<String>,
    },
    Status {
        edition: String,
        status: EditionStatus,
    },
    Show {
        edition: String,
    },
    Render {
        edition: String,
    },
    List,
}

impl EditionAction {
    fn address(&self) -> Option<&str> {
        match self {
            EditionAction::New { .. } | EditionAction::List => None,
            EditionAction::Add { edition, .. }
            | EditionAction::Remove { edition, .. }
            | EditionAction::Move { edition, .. }
            | EditionAction::Block { edition, .. }
            | EditionAction::Status { edition, .. }
            | EditionAction::Show { edition }
            | EditionAction::Render { edition } => Some(edition),
        }
    }
}

/// Reads `KIND/NUMBER`, checking the kind against the configuration.
pub(super) fn parse_address(config: &Config, text: &str) -> Result<(String, i64), i32> {
    let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
    let Some((kind, number)) = text.rsplit_once('/') else {
        eprintln!(
            "édition « {text} » : attendu GENRE/NUMÉRO, par exemple flash-info/12 (genres : {})",
            kinds.join(", ")
        );
        return Err(EXIT_USAGE);
    };
    if !config.publications.contains_key(kind) {
        eprintln!("genre d'édition inconnu « {kind} »{}", hint(kind, &kinds));
        return Err(EXIT_USAGE);
    }
    match number.parse::<i64>() {
        Ok(n) if n >= 1 => Ok((kind.to_string(), n)),
        _ => {
            eprintln!("numéro d'édition invalide « {number} » : un entier à partir de 1");
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

pub async fn edition(
    config: &Config,
    archive: &Path,
    action: EditionAction,
    json: bool,
) -> anyhow::Result<i32> {
    let now = Utc::now();
    // Every action but `new` and `list` names an edition: read its address once, here.
    let target = match action.address() {
        Some(text) => match parse_address(config, text) {
            Ok(a) => Some(a),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    match action {
        EditionAction::New { kind, from, to } => {
            let kinds: Vec<&str> = config.publications.keys().map(String::as_str).collect();
            if !config.publications.contains_key(&kind) {
                eprintln!("genre d'édition inconnu « {kind} »{}", hint(&kind, &kinds));
                eprintln!("  genres : {}", kinds.join(", "));
                return Ok(EXIT_USAGE);
            }
            let publisher = Publisher::new(config, archive)?;
            let (default_from, default_to) = publisher.default_period(&kind, now);
            let (from, to) = (from.unwrap_or(default_from), to.unwrap_or(default_to));
            if to < from {
                eprintln!("période invalide : {to} est avant {from}");
                return Ok(EXIT_USAGE);
            }
            let store = Store::open(archive).await?;
            let edition = store.create_edition(&kind, from, to, now).await?;
            if json {
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
        EditionAction::Add {
            edition,
            story,
            section,
            title,
            lede,
        } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let publication = &config.publications[&kind];
            let section = match section {
                None => publication.section_names().remove(0),
                Some(asked) => match publication.section(&kind, &asked) {
                    Ok(s) => s,
                    Err(message) => {
                        eprintln!("{message}");
                        return Ok(EXIT_USAGE);
                    }
                },
            };
            let store = Store::open(archive).await?;
            let item = EditionItem {
                story,
                section: section.clone(),
                position: 0,
                title,
                lede,
            };
            if let Err(e) = store.add_edition_item(&kind, number, &item, now).await {
                return report_error(e);
            }
            if json {
                println!(
                    "{}",
                    json!({"edition": edition, "story": story, "section": section})
                );
            } else {
                println!("Histoire {story} ajoutée à {edition}, rubrique « {section} »");
            }
            Ok(EXIT_OK)
        }
        EditionAction::Remove { edition, story } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let store = Store::open(archive).await?;
            if let Err(e) = store.remove_edition_item(&kind, number, story, now).await {
                return report_error(e);
            }
            println!("Histoire {story} retirée de {edition}");
            Ok(EXIT_OK)
        }
        EditionAction::Move { edition, story, up } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let store = Store::open(archive).await?;
            if let Err(e) = store.move_edition_item(&kind, number, story, up, now).await {
                return report_error(e);
            }
            println!(
                "Histoire {story} {} dans {edition}",
                if up { "remontée" } else { "descendue" }
            );
            Ok(EXIT_OK)
        }
        EditionAction::Block {
            edition,
            kind: block_kind,
            title,
            text,
            file,
            date,
            place,
        } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let Some(block_kind) = BlockKind::parse(&block_kind) else {
                eprintln!("genre de bloc inconnu « {block_kind} » : intro, agenda, news ou text");
                return Ok(EXIT_USAGE);
            };
            let body = match (text, file) {
                (Some(t), None) => t,
                (None, Some(f)) => match std::fs::read_to_string(&f) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!(
                            "impossible de lire {} : {}",
                            f.display(),
                            crate::wording::io(&e)
                        );
                        return Ok(EXIT_USAGE);
                    }
                },
                _ => {
                    eprintln!("donnez le texte du bloc avec --text ou --file (Markdown)");
                    return Ok(EXIT_USAGE);
                }
            };
            if let Some(d) = &date
                && crate::publish::french::local_date(d, chrono_tz::Europe::Paris).is_none()
            {
                eprintln!("date illisible « {d} » : AAAA-MM-JJ, éventuellement suivie de l'heure");
                return Ok(EXIT_USAGE);
            }
            let store = Store::open(archive).await?;
            let block = NewBlock {
                kind: block_kind,
                title,
                body,
                event_date: date,
                place,
            };
            match store.add_edition_block(&kind, number, &block, now).await {
                Ok(id) => {
                    if json {
                        println!("{}", json!({"edition": edition, "block": id}));
                    } else {
                        println!("Bloc {} ajouté à {edition} (n° {id})", block_kind.as_str());
                    }
                    Ok(EXIT_OK)
                }
                Err(e) => report_error(e),
            }
        }
        EditionAction::Status { edition, status } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let store = Store::open(archive).await?;
            if let Err(e) = store.set_edition_status(&kind, number, status, now).await {
                return report_error(e);
            }
            println!("Édition {edition} : {}", status.label());
            Ok(EXIT_OK)
        }
        EditionAction::Show { edition } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let store = Store::open(archive).await?;
            let Some(ed) = store.edition(&kind, number).await? else {
                return report_error(EditionError::Unknown(edition));
            };
            let stories: Vec<i64> = ed.items.iter().map(|i| i.story).collect();
            let cards = store.story_cards(&stories, None).await?;
            if json {
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
                print_edition(config, &ed, &cards);
            }
            Ok(EXIT_OK)
        }
        EditionAction::Render { edition } => {
            let (kind, number) = target.clone().expect("address parsed above");
            let store = Store::open(archive).await?;
            let Some(ed) = store.edition(&kind, number).await? else {
                return report_error(EditionError::Unknown(edition));
            };
            let publisher = Publisher::new(config, archive)?;
            let report = publisher.edition(&store, &ed, now).await?;
            let index = publisher.archive_index(&store).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"edition": report, "index": index}))?
                );
            } else {
                for f in &report.files {
                    println!("{}", f.display());
                }
                println!(
                    "Édition {edition} : {} ; index : {}",
                    crate::publish::french::count(report.items, "article", "articles"),
                    index.display()
                );
            }
            Ok(EXIT_OK)
        }
        EditionAction::List => {
            let store = Store::open(archive).await?;
            let editions = store.editions().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&editions)?);
            } else {
                for e in &editions {
                    println!(
                        "{:<22} {:<10} du {} au {}",
                        e.address(),
                        e.status.label(),
                        e.period_start,
                        e.period_end
                    );
                }
                println!(
                    "{}",
                    crate::publish::french::count(editions.len(), "édition", "éditions")
                );
            }
            Ok(EXIT_OK)
        }
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
    let listen = listen.unwrap_or(&config.web.listen);
    let Ok(addr) = listen.parse() else {
        eprintln!(
            "adresse d'écoute invalide « {listen} » : attendu ADRESSE:PORT, par exemple 127.0.0.1:8080"
        );
        return Ok(EXIT_USAGE);
    };
    let store = Store::open(archive).await?;
    let app = web::app(config, archive, store)?;
    web::serve(app, &WebState::new(config, archive).root, addr).await?;
    Ok(EXIT_OK)
}
