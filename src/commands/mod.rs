//! The commands of the CLI, as library functions that give a report (French for people, one
//! JSON document with `--json`: `report`), printed by `dispatch` with the process exit code.

use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::config::{self, Config};
use crate::harvest::{self, PassOptions};
use crate::indexing::{self, IndexOutcome};
use crate::model::{DecisionState, SourceKind, SourceReport, SourceStatus};
use crate::prepared::Prepared;
use crate::publish::french::count as plural;
use crate::store::{ArticleFilter, Store};
use report::CommandError;

// Exit codes of the contract (ARCHITECTURE.md, "The contract outside checks rely on").
/// The command did what was asked.
pub(crate) const EXIT_OK: i32 = 0;
/// Something failed while running: whoever runs veille must look (the `main` uses it too).
pub const EXIT_FAILURE: i32 = 1;
/// The command line or the values it names are wrong: the user must correct them.
pub(crate) const EXIT_USAGE: i32 = 2;

/// Loads the configuration and compiles its tagging rules, or prints the errors and returns
/// the exit code 2.
pub(crate) fn load_config(path: &Path) -> Result<Prepared, i32> {
    let report = |errors: config::ConfigErrors| {
        eprintln!("{errors}");
        eprintln!(
            "{} dans {}",
            plural(errors.0.len(), "erreur", "erreurs"),
            path.display()
        );
        EXIT_USAGE
    };
    Prepared::load(path).map_err(report)
}

/// `veille retag`: the current rules over every stored article; decisions are kept.
pub(crate) async fn retag(prepared: &Prepared, archive: &Path) -> Result<Retagged, CommandError> {
    let (config, tagger) = (&prepared.config, &prepared.tagger);
    let store = Store::open(archive).await?;
    let inputs = store.tagging_inputs().await?;
    let changed = crate::retagging::retag(&store, tagger, &inputs).await?;
    let indexing = indexing::index_pending(&store, archive, timezone(config)).await;
    Ok(Retagged {
        articles: inputs.len(),
        changed,
        search_index: index_report_json(&indexing),
        index_text: index_report_text(&indexing),
    })
}

/// What `veille retag` did.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Retagged {
    /// Articles read again.
    pub(crate) articles: usize,
    /// Those whose tags changed.
    pub(crate) changed: usize,
    pub(crate) search_index: serde_json::Value,
    #[serde(skip)]
    index_text: String,
}

impl report::Report for Retagged {}

impl std::fmt::Display for Retagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} relu{}, {} dont le classement a changé ; décisions conservées",
            plural(self.articles, "article", "articles"),
            if self.articles > 1 { "s" } else { "" },
            self.changed
        )?;
        f.write_str(&self.index_text)
    }
}

fn kind_label(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Feed => "flux",
        SourceKind::Page => "page",
        SourceKind::Search => "recherche",
    }
}

/// One line per source of a pass, with its error and next try under it.
fn write_reports(out: &mut String, config: &Config, reports: &[SourceReport]) -> std::fmt::Result {
    use std::fmt::Write;
    writeln!(
        out,
        "{:<48} {:<14} {:>8} {:>10} {:>9}",
        "Source", "État", "Nouveaux", "Mis à jour", "Inchangés"
    )?;
    for r in reports {
        let state = match r.status {
            SourceStatus::Ok => "ok",
            SourceStatus::NotModified => "non modifiée",
            SourceStatus::Deferred => "différée",
            SourceStatus::Stopped => "non relevée",
            SourceStatus::Error => "erreur",
            SourceStatus::Elsewhere => "relevée ailleurs",
        };
        writeln!(
            out,
            "{:<48} {:<14} {:>8} {:>10} {:>9}",
            truncate(&r.name, 48),
            state,
            r.new,
            r.updated,
            r.unchanged
        )?;
        if let Some(e) = &r.error {
            let next = r
                .next_fetch
                .map(|t| format!(" — prochain essai après {}", local_time(config, t)))
                .unwrap_or_default();
            writeln!(out, "    ↳ {e}{next}")?;
        }
    }
    Ok(())
}

/// `veille fetch`: one pass with a progress bar on a terminal and a report per source.
pub(crate) async fn fetch<'a>(
    prepared: &'a Prepared,
    archive: &Path,
    options: &PassOptions,
    json: bool,
) -> Result<Fetched<'a>, CommandError> {
    let config = &prepared.config;
    if let Some(refusal) = dossier_refusal(config, options.dossier.as_deref()) {
        return Err(CommandError::Usage(refusal));
    }
    if let Some(name) = options
        .source
        .as_ref()
        .filter(|n| !config.sources.iter().any(|s| &s.name == *n))
    {
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        return Err(CommandError::Usage(format!(
            "source inconnue « {name} »{}",
            hint(name, &names)
        )));
    }
    let store = Store::open(archive).await?;
    let total = harvest::select_sources(config, options).len() as u64;
    // The bar goes to stderr, and only for a person: a `--json` reader wants the document.
    let bar = if !json && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} Relève [{bar:30}] {pos}/{len} sources {msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let interrupt = interrupt::Interrupt::listen(bar.clone());
    let sources = harvest::select_sources(config, options);
    let reports = harvest::run_sources(
        config,
        &prepared.tagger,
        &store,
        &sources,
        (options.force, None),
        &interrupt.stop,
        |r| {
            interrupt.saved(r);
            bar.set_message(r.name.clone());
            bar.inc(1);
        },
    )
    .await?;
    bar.finish_and_clear();
    let interrupted = interrupt.finish();
    if let Err(e) = store.record_fetch_stats(&reports).await {
        tracing::warn!(
            "compteurs de relève non enregistrés : {}",
            crate::wording::chain(&e)
        );
    }
    let pass_secs = started.elapsed().as_secs_f64();
    // Before the index: its documents carry this centre's dossiers.
    if let Err(e) = crate::retagging::catch_up(&store, &prepared.tagger).await {
        tracing::warn!(
            "marquage des articles d'autres centres selon nos règles : {}",
            crate::wording::chain(&e)
        );
    }
    let indexing = indexing::index_pending(&store, archive, timezone(config)).await;
    let index_secs = started.elapsed().as_secs_f64() - pass_secs;
    let sum = |f: fn(&SourceReport) -> u32| reports.iter().map(f).sum::<u32>();
    let with_status = |s: SourceStatus| reports.iter().filter(|r| r.status == s).count();
    Ok(Fetched {
        totals: FetchTotals {
            sources: reports.len(),
            ok: with_status(SourceStatus::Ok),
            not_modified: with_status(SourceStatus::NotModified),
            errors: with_status(SourceStatus::Error),
            deferred: with_status(SourceStatus::Deferred),
            new: sum(|r| r.new),
            updated: sum(|r| r.updated),
            unchanged: sum(|r| r.unchanged),
        },
        stopped: with_status(SourceStatus::Stopped),
        sources: reports,
        search_index: index_report_json(&indexing),
        seconds: FetchSeconds {
            pass: pass_secs,
            index: index_secs,
        },
        index_text: index_report_text(&indexing),
        interrupted,
        config,
    })
}

/// What a `veille fetch` pass did: a line per source, the totals, the search index.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Fetched<'a> {
    sources: Vec<SourceReport>,
    totals: FetchTotals,
    search_index: serde_json::Value,
    seconds: FetchSeconds,
    #[serde(skip)]
    index_text: String,
    /// Ctrl-C stopped the pass (the text says what was kept).
    #[serde(skip)]
    interrupted: bool,
    /// Sources the interruption left for the next pass.
    #[serde(skip)]
    stopped: usize,
    /// For the local times of the next tries.
    #[serde(skip)]
    config: &'a Config,
}

/// The sources of a pass by outcome, and their articles.
#[derive(Debug, serde::Serialize)]
struct FetchTotals {
    sources: usize,
    ok: usize,
    not_modified: usize,
    errors: usize,
    deferred: usize,
    new: u32,
    updated: u32,
    unchanged: u32,
}

/// How long the pass and the indexing after it took.
#[derive(Debug, serde::Serialize)]
struct FetchSeconds {
    pass: f64,
    index: f64,
}

impl report::Report for Fetched<'_> {
    const PRETTY: bool = true;
    const SORTED: bool = true;
}

impl std::fmt::Display for Fetched<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let t = &self.totals;
        report::lines(f, |out| {
            write_reports(out, self.config, &self.sources)?;
            writeln!(
                out,
                "\nTotal : {} sources — {} ok, {} non modifiées, {} en erreur, {} différées ; {} nouveaux articles, {} mis à jour, {} inchangés",
                t.sources,
                t.ok,
                t.not_modified,
                t.errors,
                t.deferred,
                t.new,
                t.updated,
                t.unchanged
            )?;
            writeln!(out, "{}", self.index_text)?;
            if self.interrupted {
                writeln!(
                    out,
                    "Relève interrompue (Ctrl-C) : {} source(s) relevée(s) et enregistrée(s), {} laissée(s) pour la prochaine relève",
                    t.sources - self.stopped,
                    self.stopped
                )?;
            }
            Ok(())
        })
    }
}

fn index_report_json(outcome: &anyhow::Result<IndexOutcome>) -> serde_json::Value {
    match outcome {
        Ok(IndexOutcome::Indexed { articles, rebuilt }) => {
            json!({"indexed": articles, "rebuilt": rebuilt})
        }
        Ok(IndexOutcome::Busy(why)) => json!({"indexed": 0, "deferred": why}),
        Err(e) => json!({"indexed": 0, "error": format!("{e:#}")}),
    }
}

fn index_report_text(outcome: &anyhow::Result<IndexOutcome>) -> String {
    match outcome {
        Ok(IndexOutcome::Indexed {
            articles,
            rebuilt: false,
        }) => format!(
            "Index de recherche : {} indexé{}",
            plural(*articles, "article", "articles"),
            if *articles > 1 { "s" } else { "" }
        ),
        Ok(IndexOutcome::Indexed {
            articles,
            rebuilt: true,
        }) => {
            format!(
                "Index de recherche créé ou reconstruit (absent ou d'une autre version) ; {} indexé{} ensuite",
                plural(*articles, "article", "articles"),
                if *articles > 1 { "s" } else { "" }
            )
        }
        Ok(IndexOutcome::Busy(why)) => format!("Index de recherche non mis à jour : {why}"),
        Err(e) => format!(
            "Index de recherche non mis à jour : {} (les articles sont enregistrés ; `veille reindex` le reconstruira)",
            crate::wording::chain(e)
        ),
    }
}

fn timezone(config: &Config) -> chrono_tz::Tz {
    config.tz()
}

/// `veille search QUERY`: full-text search with the French analyser.
pub(crate) async fn search<'a>(
    config: &'a Config,
    archive: &Path,
    query: &str,
    dossier: Option<&str>,
    limit: usize,
) -> Result<Searched<'a>, CommandError> {
    if let Some(refusal) = dossier_refusal(config, dossier) {
        return Err(CommandError::Usage(refusal));
    }
    let store = Store::open(archive).await?;
    let (index, _) = indexing::open(&store, archive, timezone(config)).await?;
    let hits = match index.search(query, dossier, searching::articles_for(limit)) {
        Ok(hits) => searching::by_story(&store, hits, limit).await?,
        Err(e) if e.downcast_ref::<crate::search::InvalidQuery>().is_some() => {
            return Err(CommandError::Usage(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let hints = if hits.is_empty() {
        searching::no_result_hint(&index, query, dossier)
    } else {
        Vec::new()
    };
    Ok(Searched {
        hits,
        bold: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        hints,
        config,
    })
}

/// The stories `veille search` found, best first: a JSON array, or three lines each.
#[derive(serde::Serialize)]
#[serde(transparent)]
pub(crate) struct Searched<'a> {
    hits: Vec<searching::StoryHit>,
    /// Matched words in bold (a terminal that takes colours) rather than in brackets.
    #[serde(skip)]
    bold: bool,
    /// Why nothing was found, and what to try, when nothing was.
    #[serde(skip)]
    hints: Vec<String>,
    /// For the local dates.
    #[serde(skip)]
    config: &'a Config,
}

impl report::Report for Searched<'_> {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Searched<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let (open, close) = if self.bold {
            ("\x1b[1m", "\x1b[0m")
        } else {
            ("[", "]")
        };
        report::lines(f, |out| {
            for found in &self.hits {
                let h = &found.hit;
                let when = h
                    .published
                    .map(|t| local_time(self.config, t))
                    .unwrap_or_else(|| "sans date".into());
                writeln!(
                    out,
                    "{:>6}  {when:<16}  {}  ({:.2})",
                    h.story, h.title, h.score
                )?;
                writeln!(out, "        {} — {}", h.source, h.url)?;
                if !h.snippet.is_empty() {
                    writeln!(
                        out,
                        "        {}",
                        crate::search::highlight(&h.snippet, &h.highlighted, open, close)
                    )?;
                }
                if !found.also.is_empty() {
                    let others: Vec<&str> = found.also.iter().map(|l| l.source.as_str()).collect();
                    writeln!(out, "        aussi dans : {}", others.join(", "))?;
                }
            }
            writeln!(out, "{} histoire(s)", self.hits.len())?;
            for line in &self.hints {
                writeln!(out, "{line}")?;
            }
            Ok(())
        })
    }
}

/// `veille reindex`: rebuilds the search index from the store.
pub(crate) async fn reindex(config: &Config, archive: &Path) -> Result<Reindexed, CommandError> {
    let store = Store::open(archive).await?;
    let (mut index, _) = crate::search::SearchIndex::open(&indexing::index_dir(archive))?;
    index.set_timezone(timezone(config));
    let indexed = indexing::rebuild(&store, &index).await?;
    Ok(Reindexed { indexed })
}

/// What `veille reindex` did.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Reindexed {
    pub(crate) indexed: u64,
}

impl report::Report for Reindexed {}

impl std::fmt::Display for Reindexed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Index de recherche reconstruit : {}",
            plural(self.indexed as usize, "article", "articles")
        )
    }
}

/// `veille articles`: stored articles, newest first; one line per story for people.
pub(crate) async fn articles<'a>(
    prepared: &'a Prepared,
    archive: &Path,
    filter: &ArticleFilter,
) -> Result<Articles<'a>, CommandError> {
    let config = &prepared.config;
    if let Some(refusal) = dossier_refusal(config, filter.dossier.as_deref()) {
        return Err(CommandError::Usage(refusal));
    }
    let store = Store::open(archive).await?;
    // The listing shows this centre's tags: the articles another centre's process stored
    // since this centre's last pass are tagged by its rules first.
    if let Err(e) = crate::retagging::catch_up(&store, &prepared.tagger).await {
        tracing::warn!(
            "marquage des articles d'autres centres selon nos règles : {}",
            crate::wording::chain(&e)
        );
    }
    let rows = store.articles(filter).await?;
    Ok(Articles { rows, config })
}

/// Stored articles: a JSON array of every article, or one line per story for people.
pub(crate) struct Articles<'a> {
    rows: Vec<crate::store::ArticleRow>,
    /// For the local dates.
    config: &'a Config,
}

impl serde::Serialize for Articles<'_> {
    // The contract's fields of each article, keys sorted as `json!` wrote them: the row has
    // more than the contract shows.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.rows.iter().map(|a| {
            json!({
                "id": a.id, "story": a.story, "title": a.title, "url": a.url, "source": a.source,
                "published": a.published, "dossiers": a.dossiers, "territories": a.territories,
                "state": a.state, "summary": a.summary, "language": a.language, "first_seen": a.first_seen,
                "body": a.body,
                "follows": a.follows,
            })
        }))
    }
}

impl report::Report for Articles<'_> {
    const PRETTY: bool = true;
}

impl std::fmt::Display for Articles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        let rows = &self.rows;
        // One line per story, led by its newest article, with its other sources.
        let mut order: Vec<i64> = Vec::new();
        let mut by_story: std::collections::HashMap<i64, Vec<&crate::store::ArticleRow>> =
            Default::default();
        for a in rows {
            by_story.entry(a.story).or_insert_with(|| {
                order.push(a.story);
                Vec::new()
            });
            by_story.get_mut(&a.story).expect("inserted").push(a);
        }
        report::lines(f, |out| {
            for story in &order {
                let articles = &by_story[story];
                let lead = articles[0];
                let when = lead
                    .published
                    .as_deref()
                    .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                    .map(|t| local_time(self.config, t))
                    .unwrap_or_else(|| "sans date".into());
                let mut sources: Vec<&str> = articles.iter().map(|a| a.source.as_str()).collect();
                sources.sort();
                sources.dedup();
                let others = if sources.len() > 1 {
                    format!("  +{}", plural(sources.len() - 1, "source", "sources"))
                } else {
                    String::new()
                };
                let tags = if lead.dossiers.is_empty() && lead.territories.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  [{}]",
                        lead.dossiers
                            .iter()
                            .chain(&lead.territories)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let state = match lead.state {
                    DecisionState::New => "",
                    DecisionState::Kept => "  (gardée)",
                    DecisionState::Rejected => "  (rejetée)",
                    DecisionState::Starred => "  (étoilée)",
                };
                let follows = lead
                    .follows
                    .map(|f| format!("  (suite de {f})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{story:>6}  {when:<16}  {}{others}{tags}{state}{follows}\n        {} — {}",
                    lead.title, lead.source, lead.url
                )?;
            }
            writeln!(
                out,
                "{}, {}",
                plural(order.len(), "histoire", "histoires"),
                plural(rows.len(), "article", "articles")
            )
        })
    }
}

/// Who decides: `VEILLE_CURATOR`, else the login name (`USER`, `LOGNAME`, else the account
/// of the process); None when nothing names the person, since a decision "par inconnu"
/// helps nobody.
pub(crate) fn known_curator() -> Option<String> {
    ["VEILLE_CURATOR", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .or_else(account_name)
}

/// The name of the process's account in the user database (a service or a container often
/// has no `USER`).
fn account_name() -> Option<String> {
    // SAFETY: getpwuid_r writes only into `entry` and `buffer`, which outlive the call; the
    // name is read from `buffer` before it is dropped.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 4096];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(
            libc::geteuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        if status != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(entry.pw_name)
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    }
}

/// Why a decision is refused without a curator's name, and how to give one.
pub(crate) const NO_CURATOR: &str = "décision refusée : veille ne sait pas qui décide (ni \
     VEILLE_CURATOR, ni nom de session) ; donnez votre nom, par exemple : export \
     VEILLE_CURATOR=marie";

/// The French refusal of a `dossier` that names no configured dossier, with the nearest one.
fn dossier_refusal(config: &Config, dossier: Option<&str>) -> Option<String> {
    let d = dossier.filter(|d| !config.dossiers.contains_key(*d))?;
    let ids: Vec<&str> = config.dossiers.keys().map(String::as_str).collect();
    Some(format!("dossier inconnu `{d}`{}", hint(d, &ids)))
}

fn hint(word: &str, candidates: &[&str]) -> String {
    config::suggest(word, candidates)
        .map(|s| format!(" (vouliez-vous dire « {s} » ?)"))
        .unwrap_or_default()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

/// `--listen` when given (said in French when it is not ADDRESS:PORT), else `[web] listen`.
fn listen_address(config: &Config, listen: Option<&str>) -> Option<std::net::SocketAddr> {
    let Some(text) = listen else {
        return Some(config.web.listen);
    };
    let parsed = text.parse().ok();
    if parsed.is_none() {
        eprintln!(
            "adresse d'écoute invalide « {text} » : attendu ADRESSE:PORT, par exemple 127.0.0.1:8080"
        );
    }
    parsed
}

fn local_time(config: &Config, t: DateTime<Utc>) -> String {
    local_time_in(config.tz(), t)
}

fn local_time_in(tz: chrono_tz::Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
}

mod backup;
mod bounces;
mod checking;
mod daemon;
mod deciding;
pub mod dispatch;
mod extract;
mod health;
mod interrupt;
mod mailing;
pub mod parser;
pub(crate) mod privacy;
mod publishing;
pub(crate) mod report;
mod searching;
mod store;
pub(crate) use bounces::{
    edition_report, fetch as bounces_fetch, parse as bounces_parse, subscriber_show,
};
pub(crate) mod quality;
mod sources_admin;
pub(crate) use backup::{backup, restore};
pub(crate) use checking::check;
pub(crate) use daemon::{run, schedule, status};
pub(crate) use deciding::decide;
pub(crate) use extract::extract;
pub(crate) use health::{failing, sources};
pub(crate) use mailing::{
    export as subscribers_export, forget as subscribers_forget, import as subscribers_import,
    list as subscribers_list, send as edition_send,
};
pub(crate) use publishing::{edition, panorama, serve};
pub(crate) use sources_admin::{check_fetch, export_opml, import_opml, suggest};
