//! `veille sources suggest|export|import`: selectors proposed for a listing page, and OPML
//! in and out of `feeds.toml`.

use std::path::Path;

use chrono::Utc;
use serde_json::json;

use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::config::{self, Config};
use crate::fetch::{Fetched, Fetcher};
use crate::ingest::parse_page;
use crate::prepared::Prepared;
use crate::sources::{opml, suggest};

/// Fetches a listing page (politely, robots.txt obeyed), proposes its `[sources.select]`
/// table and shows the first three items those selectors read.
pub async fn suggest(config: &Config, url: &str, json: bool) -> i32 {
    if url::Url::parse(url).is_err() {
        eprintln!(
            "erreur : {url} n'est pas une adresse valide (exemple : https://www.exemple.gouv.fr/actualites)"
        );
        return EXIT_USAGE;
    }
    let fetcher = match Fetcher::new(&config.settings) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("erreur : impossible de préparer la relève : {e}");
            return EXIT_FAILURE;
        }
    };
    let body = match fetcher.get(url, None, None, true).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => {
            eprintln!("erreur : téléchargement de {url} : réponse 304 inattendue");
            return EXIT_FAILURE;
        }
        Err(e) => {
            eprintln!("erreur : téléchargement de {url} : {e}");
            return EXIT_FAILURE;
        }
    };
    let content_type = body.content_type.clone();
    let bytes = body.bytes;
    let final_url = body.final_url;
    let found = tokio::task::spawn_blocking(move || {
        let suggestion = suggest::suggest(&bytes, content_type.as_deref())?;
        let items = parse_page(
            &bytes,
            content_type.as_deref(),
            &final_url,
            &suggestion.select,
            Utc::now(),
        )
        .unwrap_or_default();
        Some((suggestion, items))
    })
    .await
    .expect("suggestion task");
    let Some((suggestion, items)) = found else {
        eprintln!(
            "aucun bloc répété trouvé dans {url} : la page ne semble pas être une liste d'articles (écrivez les sélecteurs à la main, voir README)"
        );
        return EXIT_FAILURE;
    };
    let first: Vec<_> = items.iter().take(3).collect();
    if json {
        let out = json!({
            "url": url,
            "select": suggestion.select,
            "blocks": suggestion.blocks,
            "items": first.iter().map(|i| json!({
                "title": i.title,
                "url": i.url,
                "published": i.published.map(|d| d.to_rfc3339()),
                "summary": i.summary_text,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "# {} blocs d'article trouvés dans {url} ; à coller sous la source :",
            suggestion.blocks
        );
        print!("{}", suggest::to_toml(&suggestion.select));
        println!("\nLes trois premiers articles lus avec ces sélecteurs :");
        for item in &first {
            let date = item.published.map_or_else(
                || "sans date".to_owned(),
                |d| d.format("%d/%m/%Y").to_string(),
            );
            println!("- {} ({date})\n  {}", item.title, item.url);
        }
        if first.is_empty() {
            println!("(aucun : les sélecteurs proposés ne lisent rien, vérifiez-les à la main)");
        }
    }
    EXIT_OK
}

/// `veille sources export --opml`: OPML 2.0 on standard output.
pub fn export_opml(config: &Config) -> i32 {
    let text = match std::fs::read_to_string(&config.path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "erreur : impossible de lire {} : {e}",
                config.path.display()
            );
            return EXIT_FAILURE;
        }
    };
    match opml::export(config, &text) {
        Ok(xml) => {
            print!("{xml}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("erreur : export OPML de {} : {e}", config.path.display());
            EXIT_FAILURE
        }
    }
}

/// `veille sources import FILE.opml [--dossier ID]`: adds the feeds that are not there yet to
/// `feeds.toml`, keeping its comments and layout; the new file is validated before it
/// replaces the old one, so a bad import changes nothing.
pub fn import_opml(config: &Config, file: &Path, dossier: Option<&str>, json: bool) -> i32 {
    if let Some(d) = dossier
        && !config.dossiers.contains_key(d)
    {
        let known: Vec<&str> = config.dossiers.keys().map(String::as_str).collect();
        eprintln!(
            "erreur : dossier inconnu « {d} » (dossiers de feeds.toml : {})",
            known.join(", ")
        );
        return EXIT_USAGE;
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("erreur : impossible de lire {} : {e}", file.display());
            return EXIT_USAGE;
        }
    };
    let xml =
        crate::ingest::charset::decode(&bytes, crate::ingest::charset::xml_encoding(&bytes, None));
    let outlines = match opml::parse(&xml) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("erreur : lecture de {} : {e}", file.display());
            return EXIT_USAGE;
        }
    };
    let path = &config.path;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("erreur : impossible de lire {} : {e}", path.display());
            return EXIT_FAILURE;
        }
    };
    let dossiers: Vec<(String, String)> = config
        .dossiers
        .iter()
        .map(|(id, d)| (id.clone(), d.title.clone()))
        .collect();
    let (new_text, report) = match opml::import(&text, &outlines, &dossiers, dossier) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "erreur : import de {} : {e} ; feeds.toml n'a pas été modifié",
                file.display()
            );
            return EXIT_FAILURE;
        }
    };
    if let Err(errors) = config::parse(&new_text, &path.display().to_string()) {
        eprintln!("{errors}");
        eprintln!(
            "erreur : l'import de {} rendrait feeds.toml invalide ; rien n'a été modifié",
            file.display()
        );
        return EXIT_FAILURE;
    }
    if !report.added.is_empty()
        && let Err(e) = write_atomically(path, &new_text)
    {
        eprintln!(
            "erreur : impossible d'écrire {} : {e} ; rien n'a été modifié",
            path.display()
        );
        return EXIT_FAILURE;
    }
    if json {
        let out = json!({
            "added": report.added,
            "skipped": report.skipped.iter().map(|(n, why)| json!({"name": n, "reason": why})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "{} source(s) ajoutée(s) à {}, {} déjà présente(s)",
            report.added.len(),
            path.display(),
            report.skipped.len()
        );
        for name in &report.added {
            println!("  + {name}");
        }
        for (name, why) in &report.skipped {
            println!("  = {name} : {why}");
        }
    }
    EXIT_OK
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `veille check --fetch SOURCE`: what one source yields now (fetched, read and tagged as a
/// pass would, nothing stored).
pub async fn check_fetch(prepared: &Prepared, name: &str, json: bool) -> i32 {
    let config = &prepared.config;
    let Some(source) = config.sources.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        let hint = crate::config::suggest(name, &names)
            .map(|n| format!(" ; vouliez-vous dire « {n} » ?"))
            .unwrap_or_default();
        eprintln!("erreur : aucune source nommée « {name} » dans feeds.toml{hint}");
        return EXIT_USAGE;
    };
    let tagger = prepared.tagger.clone();
    let fetcher = match Fetcher::new(&config.settings) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("erreur : impossible de préparer la relève : {e}");
            return EXIT_FAILURE;
        }
    };
    let body = match fetcher
        .get(
            &source.url,
            None,
            None,
            source.kind == crate::model::SourceKind::Page,
        )
        .await
    {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => {
            eprintln!("erreur : relève de « {name} » : réponse 304 inattendue");
            return EXIT_FAILURE;
        }
        Err(e) => {
            eprintln!("erreur : relève de « {name} » ({}) : {e}", source.url);
            return EXIT_FAILURE;
        }
    };
    let source_for_parse = source.clone();
    let read = tokio::task::spawn_blocking(move || {
        crate::harvest::parse_body(&source_for_parse, &body)
            .map(|items| crate::harvest::prepare(&tagger, &source_for_parse, items))
    })
    .await
    .expect("parse task");
    let items = match read {
        Ok(items) => items,
        Err(e) => {
            eprintln!("erreur : lecture de « {name} » ({}) : {e}", source.url);
            return EXIT_FAILURE;
        }
    };
    if json {
        let out = json!({
            "source": name,
            "url": source.url,
            "items": items.iter().map(|p| json!({
                "title": p.candidate.title,
                "url": p.candidate.url,
                "published": p.candidate.published.map(|d| d.to_rfc3339()),
                "summary": p.candidate.summary_text,
                "dossiers": p.tagging.dossiers.iter().map(|d| &d.dossier).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!("« {name} » donne {} article(s) maintenant :", items.len());
        for p in &items {
            let date = p.candidate.published.map_or_else(
                || "sans date".to_owned(),
                |d| d.format("%d/%m/%Y").to_string(),
            );
            let dossiers: Vec<&str> = p
                .tagging
                .dossiers
                .iter()
                .map(|d| d.dossier.as_str())
                .collect();
            let dossiers = if dossiers.is_empty() {
                String::new()
            } else {
                format!(" [{}]", dossiers.join(", "))
            };
            println!(
                "- {} ({date}){dossiers}\n  {}",
                p.candidate.title, p.candidate.url
            );
        }
    }
    EXIT_OK
}
