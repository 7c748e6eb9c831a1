//! `veille sources suggest|export|import`: selectors proposed for a listing page, and OPML
//! in and out of `feeds.toml`.

use std::path::Path;

use chrono::Utc;
use serde_json::json;

use super::report::{CommandError, Report};
use super::{EXIT_FAILURE, EXIT_OK};
use crate::config::{self, Config};
use crate::fetch::{Fetched, Fetcher};
use crate::ingest::parse_page;
use crate::prepared::Prepared;
use crate::sources::{opml, suggest};

/// Fetches a listing page (politely, robots.txt obeyed), proposes its `[sources.select]`
/// table and shows the first three items those selectors read.
pub(crate) async fn suggest(config: &Config, url: &str) -> Result<Suggested, CommandError> {
    if url::Url::parse(url).is_err() {
        return Err(CommandError::Usage(format!(
            "erreur : {url} n'est pas une adresse valide (exemple : https://www.exemple.gouv.fr/actualites)"
        )));
    }
    let fetcher = Fetcher::new(&config.settings).map_err(|e| {
        CommandError::Failed(format!("erreur : impossible de préparer la relève : {e}"))
    })?;
    let body = match fetcher.get(url, None, None, true).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => {
            return Err(CommandError::Failed(format!(
                "erreur : téléchargement de {url} : réponse 304 inattendue"
            )));
        }
        Err(e) => {
            return Err(CommandError::Failed(format!(
                "erreur : téléchargement de {url} : {e}"
            )));
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
    let Some((suggestion, mut items)) = found else {
        return Err(CommandError::Failed(format!(
            "aucun bloc répété trouvé dans {url} : la page ne semble pas être une liste d'articles (écrivez les sélecteurs à la main, voir README)"
        )));
    };
    items.truncate(3);
    Ok(Suggested {
        url: url.to_string(),
        suggestion,
        items,
    })
}

/// The selectors proposed for a listing page, and the first three items they read.
pub(crate) struct Suggested {
    url: String,
    suggestion: suggest::Suggestion,
    items: Vec<crate::model::ArticleCandidate>,
}

impl serde::Serialize for Suggested {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({
            "url": self.url,
            "select": self.suggestion.select,
            "blocks": self.suggestion.blocks,
            "items": self.items.iter().map(|i| json!({
                "title": i.title,
                "url": i.url,
                "published": i.published.map(|d| d.to_rfc3339()),
                "summary": i.summary_text,
            })).collect::<Vec<_>>(),
        })
        .serialize(s)
    }
}

impl Report for Suggested {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Suggested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        super::report::lines(f, |out| {
            writeln!(
                out,
                "# {} blocs d'article trouvés dans {} ; à coller sous la source :",
                self.suggestion.blocks, self.url
            )?;
            write!(out, "{}", suggest::to_toml(&self.suggestion.select))?;
            writeln!(
                out,
                "\nLes trois premiers articles lus avec ces sélecteurs :"
            )?;
            for item in &self.items {
                let date = item.published.map_or_else(
                    || "sans date".to_owned(),
                    |d| d.format("%d/%m/%Y").to_string(),
                );
                writeln!(out, "- {} ({date})\n  {}", item.title, item.url)?;
            }
            if self.items.is_empty() {
                writeln!(
                    out,
                    "(aucun : les sélecteurs proposés ne lisent rien, vérifiez-les à la main)"
                )?;
            }
            Ok(())
        })
    }
}

/// `veille sources export --opml`: OPML 2.0 on standard output.
pub(crate) fn export_opml(config: &Config) -> i32 {
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
pub(crate) fn import_opml(
    config: &Config,
    file: &Path,
    dossier: Option<&str>,
) -> Result<OpmlImported, CommandError> {
    if let Some(d) = dossier
        && !config.dossiers.contains_key(d)
    {
        let known: Vec<&str> = config.dossiers.keys().map(String::as_str).collect();
        return Err(CommandError::Usage(format!(
            "erreur : dossier inconnu « {d} » (dossiers de feeds.toml : {})",
            known.join(", ")
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| {
        CommandError::Usage(format!(
            "erreur : impossible de lire {} : {e}",
            file.display()
        ))
    })?;
    let xml =
        crate::ingest::charset::decode(&bytes, crate::ingest::charset::xml_encoding(&bytes, None));
    let outlines = opml::parse(&xml).map_err(|e| {
        CommandError::Usage(format!("erreur : lecture de {} : {e}", file.display()))
    })?;
    let path = &config.path;
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::Failed(format!(
            "erreur : impossible de lire {} : {e}",
            path.display()
        ))
    })?;
    let dossiers: Vec<(String, String)> = config
        .dossiers
        .iter()
        .map(|(id, d)| (id.clone(), d.title.clone()))
        .collect();
    let (new_text, report) = opml::import(&text, &outlines, &dossiers, dossier).map_err(|e| {
        CommandError::Failed(format!(
            "erreur : import de {} : {e} ; feeds.toml n'a pas été modifié",
            file.display()
        ))
    })?;
    if let Err(errors) = config::parse(&new_text, &path.display().to_string()) {
        return Err(CommandError::Failed(format!(
            "{errors}\nerreur : l'import de {} rendrait feeds.toml invalide ; rien n'a été modifié",
            file.display()
        )));
    }
    if !report.added.is_empty()
        && let Err(e) = write_atomically(path, &new_text)
    {
        return Err(CommandError::Failed(format!(
            "erreur : impossible d'écrire {} : {e} ; rien n'a été modifié",
            path.display()
        )));
    }
    Ok(OpmlImported {
        report,
        path: path.clone(),
    })
}

/// The feeds an OPML import added to `feeds.toml`, and those it left (already there).
pub(crate) struct OpmlImported {
    report: opml::ImportReport,
    path: std::path::PathBuf,
}

impl serde::Serialize for OpmlImported {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({
            "added": self.report.added,
            "skipped": self.report.skipped.iter().map(|(n, why)| json!({"name": n, "reason": why})).collect::<Vec<_>>(),
        })
        .serialize(s)
    }
}

impl Report for OpmlImported {
    const PRETTY: bool = true;
}

impl std::fmt::Display for OpmlImported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = &self.report;
        write!(
            f,
            "{} source(s) ajoutée(s) à {}, {} déjà présente(s)",
            report.added.len(),
            self.path.display(),
            report.skipped.len()
        )?;
        for name in &report.added {
            write!(f, "\n  + {name}")?;
        }
        for (name, why) in &report.skipped {
            write!(f, "\n  = {name} : {why}")?;
        }
        Ok(())
    }
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
pub(crate) async fn check_fetch(prepared: &Prepared, name: &str) -> Result<Tried, CommandError> {
    let config = &prepared.config;
    let Some(source) = config.sources.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        let hint = crate::config::suggest(name, &names)
            .map(|n| format!(" ; vouliez-vous dire « {n} » ?"))
            .unwrap_or_default();
        return Err(CommandError::Usage(format!(
            "erreur : aucune source nommée « {name} » dans feeds.toml{hint}"
        )));
    };
    let tagger = prepared.tagger.clone();
    let fetcher = Fetcher::new(&config.settings).map_err(|e| {
        CommandError::Failed(format!("erreur : impossible de préparer la relève : {e}"))
    })?;
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
            return Err(CommandError::Failed(format!(
                "erreur : relève de « {name} » : réponse 304 inattendue"
            )));
        }
        Err(e) => {
            return Err(CommandError::Failed(format!(
                "erreur : relève de « {name} » ({}) : {e}",
                source.url
            )));
        }
    };
    let source_for_parse = source.clone();
    let read = tokio::task::spawn_blocking(move || {
        crate::harvest::parse_body(&source_for_parse, &body)
            .map(|items| crate::harvest::prepare(&tagger, &source_for_parse, items))
    })
    .await
    .expect("parse task");
    let items = read.map_err(|e| {
        CommandError::Failed(format!(
            "erreur : lecture de « {name} » ({}) : {e}",
            source.url
        ))
    })?;
    Ok(Tried {
        source: name.to_string(),
        url: source.url.clone(),
        items,
    })
}

/// What one source yields now, read and tagged as a pass would.
pub(crate) struct Tried {
    source: String,
    url: String,
    items: Vec<crate::model::PreparedArticle>,
}

impl serde::Serialize for Tried {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({
            "source": self.source,
            "url": self.url,
            "items": self.items.iter().map(|p| json!({
                "title": p.candidate.title,
                "url": p.candidate.url,
                "published": p.candidate.published.map(|d| d.to_rfc3339()),
                "summary": p.candidate.summary_text,
                "dossiers": p.tagging.dossiers.iter().map(|d| &d.dossier).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
        .serialize(s)
    }
}

impl Report for Tried {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Tried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "« {} » donne {} article(s) maintenant :",
            self.source,
            self.items.len()
        )?;
        for p in &self.items {
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
            write!(
                f,
                "\n- {} ({date}){dossiers}\n  {}",
                p.candidate.title, p.candidate.url
            )?;
        }
        Ok(())
    }
}
