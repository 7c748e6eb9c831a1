//! One pass over the sources: fetch → ingest → dedup → tag → store, each source on its own, so
//! that one bad source never stops the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::dedup::{self, Fingerprint, StoryIndex};
use crate::fetch::{Fetched, Fetcher, next_attempt};
use crate::ingest::{self, IngestError};
use crate::model::{
    ArticleCandidate, PreparedArticle, Source, SourceKind, SourceReport, SourceStatus,
};
use crate::store::{CatchUp, FetchState, Lease, Store, Validators};
use crate::tag::Tagger;

/// A daemon pass's share of its slots: before fetching a source, the pass takes the source's
/// lease for its slot, so that the processes sharing the store fetch each source (by URL)
/// once per slot, and finish the slot of a process that died.
#[derive(Debug, Clone)]
pub(crate) struct SlotLeases {
    /// The slot of each source of the pass, by source name.
    pub(crate) slots: HashMap<String, DateTime<Utc>>,
    /// Who takes the leases (host, process, start), as other processes see it.
    pub(crate) holder: String,
    /// How long a lease lasts: past it, its holder is presumed dead and another takes over.
    pub(crate) ttl: chrono::Duration,
}

impl SlotLeases {
    /// The lease length for these settings: a whole request (`timeout_secs`) twice over, and
    /// time to parse and store; a live holder is never overtaken.
    pub(crate) fn ttl_for(settings: &crate::config::Settings) -> chrono::Duration {
        let timeout = i64::try_from(settings.timeout_secs).unwrap_or(i64::MAX / 4);
        chrono::Duration::seconds(timeout.saturating_mul(2).saturating_add(10))
    }

    /// A name for this process among those sharing the store.
    pub(crate) fn holder_name() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "machine".into());
        format!(
            "{host}:{}:{}",
            std::process::id(),
            Utc::now().timestamp_millis()
        )
    }
}

/// What every source of a pass shares besides the HTTP client.
struct PassContext<'a> {
    config: &'a Config,
    store: &'a Store,
    leases: Option<&'a SlotLeases>,
    fetcher: Fetcher,
    tagger: Arc<Tagger>,
    /// Held across each group's store transaction, so that two sources carrying the same
    /// story at the same moment still end up in one story.
    stories: Mutex<PassStories>,
    /// Prepared batches waiting for the next group commit: whoever takes `stories` next
    /// stores all of them in one transaction.
    queue: std::sync::Mutex<Vec<StoreJob>>,
}

/// A source's prepared items waiting for the pass's next group commit, and where to send its
/// counts (or the error, in words) once the group is committed.
struct StoreJob {
    source_id: i64,
    validators: Validators,
    items: Vec<PreparedArticle>,
    now: DateTime<Utc>,
    reply: tokio::sync::oneshot::Sender<Result<crate::store::Counts, String>>,
}

/// The story index of a pass, and the date from which it holds the store's articles: a source
/// bringing older items first loads the stored articles of their window, so that an item's
/// story does not depend on the wall clock or on the sources that answered before.
struct PassStories {
    index: StoryIndex,
    since: DateTime<Utc>,
    /// The highest article id the index has seen: what other processes store after it is
    /// learnt under the store's write lock, before this pass assigns stories.
    seen: i64,
}

impl PassStories {
    async fn load(config: &Config, store: &Store, now: DateTime<Utc>) -> anyhow::Result<Self> {
        // Read first: an article stored meanwhile is learnt twice (harmless), never missed.
        let seen = store.last_article_id().await?;
        let index = load_story_index(config, store, now).await?;
        let since = now - index.window();
        Ok(PassStories { index, since, seen })
    }

    /// Makes sure the index holds the stored articles from a window before `earliest`.
    async fn cover(&mut self, store: &Store, earliest: DateTime<Utc>) -> anyhow::Result<()> {
        let from = earliest - self.index.window();
        if from >= self.since {
            return Ok(());
        }
        for (story, at, text) in store.fingerprints_between(from, self.since).await? {
            if let Some(fp) = Fingerprint::from_text(&text) {
                self.index.insert(story, at, fp);
            }
        }
        self.since = from;
        Ok(())
    }
}

/// The story index over the configured window, loaded from the store.
async fn load_story_index(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<StoryIndex> {
    let window = chrono::Duration::days(i64::from(config.settings.story_window_days));
    let threshold = config
        .settings
        .story_threshold
        .unwrap_or(dedup::DEFAULT_THRESHOLD);
    let mut index = StoryIndex::new(window, threshold);
    for (story, at, text) in store.recent_fingerprints(now - window).await? {
        if let Some(fp) = Fingerprint::from_text(&text) {
            index.insert(story, at, fp);
        }
    }
    Ok(index)
}

/// Which sources a pass covers.
#[derive(Debug, Clone, Default)]
pub(crate) struct PassOptions {
    pub(crate) dossier: Option<String>,
    pub(crate) source: Option<String>,
    /// Fetch even the sources that are slowed down after errors or a `Retry-After`.
    pub(crate) force: bool,
}

/// The sources a pass would fetch, in configuration order. An explicitly named source is
/// taken even when disabled.
pub(crate) fn select_sources<'a>(config: &'a Config, options: &PassOptions) -> Vec<&'a Source> {
    config
        .sources
        .iter()
        .filter(|s| match &options.source {
            Some(name) => &s.name == name,
            None => s.enabled,
        })
        .filter(|s| {
            options
                .dossier
                .as_ref()
                .is_none_or(|d| s.dossiers.contains(d))
        })
        .collect()
}

/// Runs one pass over `sources`, tagging with `tagger` (the rules of `config`, compiled
/// once: `prepared::Prepared`). Once `stop` is set, the sources that have not started yet
/// are left for a later pass (reported `stopped`); those in flight go on.
pub(crate) async fn run_sources(
    config: &Config,
    tagger: &Arc<Tagger>,
    store: &Store,
    sources: &[&Source],
    (force, leases): (bool, Option<&SlotLeases>),
    stop: &AtomicBool,
    on_done: impl Fn(&SourceReport),
) -> anyhow::Result<Vec<SourceReport>> {
    let states = store.sync_sources(&config.sources).await?;
    let context = PassContext {
        config,
        store,
        leases,
        fetcher: Fetcher::new(&config.settings)?,
        tagger: tagger.clone(),
        stories: Mutex::new(PassStories::load(config, store, Utc::now()).await?),
        queue: std::sync::Mutex::new(Vec::new()),
    };
    let mut reports: Vec<SourceReport> = futures_util::stream::iter(sources.iter().copied())
        .map(|source| harvest_source(&context, source, &states, force, stop))
        // The fetcher's semaphores do the real limiting; this only bounds tasks in flight.
        .buffer_unordered(config.settings.concurrency.max(1) * 4)
        .inspect(|r| on_done(r))
        .collect()
        .await;
    if let Some(leases) = leases {
        settle_elsewhere(&context, leases, sources, &states, stop, &mut reports).await;
    }
    // New stories may belong in a dossier's "to check" band.
    if let Err(e) = crate::learning::refresh(store, Utc::now()).await {
        tracing::warn!(
            "bande « à vérifier » non mise à jour : {}",
            crate::wording::chain(&e)
        );
    }
    let order: HashMap<&str, usize> = config
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    reports.sort_by_key(|r| order.get(r.name.as_str()).copied().unwrap_or(usize::MAX));
    // Article pages come after the feeds are recorded, so they never delay them; a pass cut
    // by a stop skips them (they wait for the next pass).
    if !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let fetched: Vec<&Source> = sources
            .iter()
            .copied()
            .filter(|s| {
                reports
                    .iter()
                    .any(|r| r.name == s.name && r.status == SourceStatus::Ok)
            })
            .collect();
        if let Err(e) =
            crate::bodies::fetch_bodies(config, store, &context.fetcher, &context.tagger, &fetched)
                .await
        {
            tracing::warn!("texte intégral : {}", crate::wording::chain(&e));
        }
    }
    Ok(reports)
}

async fn harvest_source(
    context: &PassContext<'_>,
    source: &Source,
    states: &HashMap<String, FetchState>,
    force: bool,
    stop: &AtomicBool,
) -> SourceReport {
    let mut report = SourceReport {
        name: source.name.clone(),
        ..Default::default()
    };
    if stop.load(Ordering::Relaxed) {
        report.status = SourceStatus::Stopped;
        report.error = Some("arrêt demandé : source laissée pour la prochaine relève".into());
        return report;
    }
    let Some(state) = states.get(&source.name) else {
        report.status = SourceStatus::Error;
        report.error = Some("source absente de la base".into());
        return report;
    };
    let now = Utc::now();
    if !force && state.next_fetch.is_some_and(|t| t > now) {
        report.status = SourceStatus::Deferred;
        report.next_fetch = state.next_fetch;
        let n = state.consecutive_errors;
        report.error = Some(if n > 1 {
            format!("ralentie après {n} erreurs consécutives")
        } else {
            format!("ralentie après {n} erreur")
        });
        return report;
    }
    let (config, store) = (context.config, context.store);
    let lease = match take_lease(context, source, now).await {
        Ok(Some(lease)) => Some(lease),
        Ok(None) => None,
        Err(status_and_error) => {
            (report.status, report.error) = status_and_error;
            return report;
        }
    };
    let outcome = fetch_and_store(context, source, state).await;
    let now = Utc::now();
    if let Some((slot, holder)) = lease
        && let Err(e) = store.finish_lease(&source.url, slot, holder).await
    {
        tracing::warn!(
            "source « {} » : bail de relève non clos ({}) ; il expirera",
            source.name,
            crate::wording::chain(&e)
        );
    }
    match outcome {
        Ok(Outcome::NotModified) => {
            report.status = SourceStatus::NotModified;
            report.http_status = Some(304);
            if let Err(e) = store.record_not_modified(state.id, now).await {
                report.status = SourceStatus::Error;
                report.error = Some(format!("base de données : {}", crate::wording::chain(&e)));
            }
        }
        Ok(Outcome::Stored { status, counts }) => {
            report.status = SourceStatus::Ok;
            report.http_status = Some(status);
            report.new = counts.new;
            report.updated = counts.updated;
            report.unchanged = counts.unchanged;
        }
        Err(failure) => {
            let next = next_attempt(
                state.consecutive_errors + 1,
                &config.settings,
                failure.retry_after,
                now,
            );
            report.status = SourceStatus::Error;
            report.http_status = failure.status;
            report.error = Some(failure.message.clone());
            report.next_fetch = Some(next);
            if let Err(e) = store
                .record_failure(state.id, failure.status, &failure.message, next, now)
                .await
            {
                report.error = Some(format!(
                    "{} ; base de données : {}",
                    failure.message,
                    crate::wording::chain(&e)
                ));
            }
        }
    }
    report
}

/// Takes `source`'s lease for its slot in a daemon pass: `Ok(Some)` when held, `Ok(None)`
/// outside leased passes, `Err` with the report's status when another process has it.
async fn take_lease<'a>(
    context: &PassContext<'a>,
    source: &Source,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, &'a str)>, (SourceStatus, Option<String>)> {
    let Some(leases) = context.leases else {
        return Ok(None);
    };
    let Some(&slot) = leases.slots.get(&source.name) else {
        return Ok(None);
    };
    let expires = now + leases.ttl;
    match context
        .store
        .take_lease(&source.url, slot, &leases.holder, now, expires)
        .await
    {
        Ok(true) => Ok(Some((slot, leases.holder.as_str()))),
        Ok(false) => Err((SourceStatus::Elsewhere, None)),
        Err(e) => Err((
            SourceStatus::Error,
            Some(format!("base de données : {}", crate::wording::chain(&e))),
        )),
    }
}

/// After a leased pass: waits for the sources another process holds in their slot, and
/// takes over those whose holder died (lease expired), so the slot ends with every source
/// fetched once. Gives up after twice a lease's length, or at a stop.
async fn settle_elsewhere(
    context: &PassContext<'_>,
    leases: &SlotLeases,
    sources: &[&Source],
    states: &HashMap<String, FetchState>,
    stop: &AtomicBool,
    reports: &mut [SourceReport],
) {
    let deadline = Utc::now() + leases.ttl * 2;
    let mut settled = std::collections::HashSet::new();
    loop {
        let mut slots: HashMap<DateTime<Utc>, HashMap<String, Lease>> = HashMap::new();
        let mut waiting = false;
        for (i, report) in reports.iter_mut().enumerate() {
            if report.status != SourceStatus::Elsewhere || settled.contains(&i) {
                continue;
            }
            let Some(source) = sources.iter().find(|s| s.name == report.name) else {
                continue;
            };
            let Some(&slot) = leases.slots.get(&source.name) else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(e) = slots.entry(slot) {
                let Ok(rows) = context.store.slot_leases(slot).await else {
                    waiting = true;
                    continue;
                };
                e.insert(rows.into_iter().map(|l| (l.url.clone(), l)).collect());
            }
            match slots[&slot].get(&source.url) {
                Some(lease) if lease.done => {
                    settled.insert(i);
                }
                Some(lease)
                    if crate::store::parse_timestamp(Some(lease.expires.clone()))
                        .is_some_and(|t| t >= Utc::now()) =>
                {
                    waiting = true;
                }
                _ => {
                    *report = harvest_source(context, source, states, false, stop).await;
                    waiting |= report.status == SourceStatus::Elsewhere;
                }
            }
        }
        if !waiting || stop.load(Ordering::Relaxed) || Utc::now() > deadline {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

enum Outcome {
    NotModified,
    Stored {
        status: u16,
        counts: crate::store::Counts,
    },
}

async fn fetch_and_store(
    context: &PassContext<'_>,
    source: &Source,
    state: &FetchState,
) -> Result<Outcome, crate::fetch::FetchError> {
    let fetched = context
        .fetcher
        .get(
            &source.url,
            state.etag.as_deref(),
            state.last_modified.as_deref(),
            source.kind == SourceKind::Page,
        )
        .await?;
    let body = match fetched {
        Fetched::NotModified => return Ok(Outcome::NotModified),
        Fetched::Body(body) => body,
    };
    let status = body.status;
    let validators = Validators {
        etag: body.etag.clone(),
        last_modified: body.last_modified.clone(),
        status,
    };
    let source_for_parse = source.clone();
    let tagger = context.tagger.clone();
    // Parsing and analysis are CPU work, and scraper's documents are not Send: keep them
    // off the async workers.
    let items = tokio::task::spawn_blocking(move || {
        parse_body(&source_for_parse, &body).map(|items| prepare(&tagger, &source_for_parse, items))
    })
    .await
    .map_err(|e| plain_error(format!("analyse interrompue : {e}")))?
    .map_err(|e| plain_error(e.to_string()))?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    context.queue.lock().expect("store queue").push(StoreJob {
        source_id: state.id,
        validators,
        items,
        now: Utc::now(),
        reply,
    });
    // Group commit: whoever holds the index next stores every batch queued by then, ours
    // included unless an earlier holder already did; the sources answering meanwhile wait for
    // one transaction instead of one each.
    let mut stories = context.stories.lock().await;
    let jobs = std::mem::take(&mut *context.queue.lock().expect("store queue"));
    if !jobs.is_empty() {
        store_group(context, &mut stories, jobs).await;
    }
    drop(stories);
    let counts = answer
        .await
        .map_err(|_| plain_error("enregistrement interrompu".into()))?
        .map_err(plain_error)?;
    Ok(Outcome::Stored { status, counts })
}

/// Stores a group of batches in one transaction and answers each; when the group fails, each
/// batch is tried alone, so that one bad source never fails the others.
async fn store_group(context: &PassContext<'_>, stories: &mut PassStories, jobs: Vec<StoreJob>) {
    let failed = match try_store(context, stories, &jobs).await {
        Ok(counts) => {
            for (job, counts) in jobs.into_iter().zip(counts) {
                let _ = job.reply.send(Ok(counts));
            }
            return;
        }
        Err(e) => e,
    };
    // The index may hold stories of the rolled-back articles: reload it from the store.
    let reload = async |stories: &mut PassStories| {
        if let Ok(fresh) = PassStories::load(context.config, context.store, Utc::now()).await {
            *stories = fresh;
        }
    };
    reload(stories).await;
    let message = |e: &anyhow::Error| format!("base de données : {}", crate::wording::chain(e));
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().expect("one job");
        let _ = job.reply.send(Err(message(&failed)));
        return;
    }
    for job in jobs {
        let result = try_store(context, stories, std::slice::from_ref(&job)).await;
        if result.is_err() {
            reload(stories).await;
        }
        let _ = job
            .reply
            .send(result.map(|counts| counts[0]).map_err(|e| message(&e)));
    }
}

/// One group commit: the batches in queue order, each new article's story found by the
/// pass's index; then the "suite de" links of the group's new stories.
async fn try_store(
    context: &PassContext<'_>,
    stories: &mut PassStories,
    jobs: &[StoreJob],
) -> anyhow::Result<Vec<crate::store::Counts>> {
    let earliest = jobs
        .iter()
        .flat_map(|j| {
            j.items
                .iter()
                .map(|p| p.candidate.published.unwrap_or(j.now))
        })
        .min();
    if let Some(earliest) = earliest {
        stories.cover(context.store, earliest).await?;
    }
    // New stories that continue an earlier one: (story, previous, relatedness).
    let mut links: Vec<(i64, i64, f64)> = Vec::new();
    // Both callbacks run inside the store's call, one at a time; a mutex (never contended)
    // lets both reach the index and keeps the future Send.
    let shared = std::sync::Mutex::new(&mut *stories);
    let after = shared.lock().map(|s| s.seen).unwrap_or(i64::MAX);
    let mut learn = |id: i64, story: i64, at: DateTime<Utc>, text: &str| {
        if let (Some(fp), Ok(mut s)) = (Fingerprint::from_text(text), shared.lock()) {
            s.index.insert(story, at, fp);
            s.seen = s.seen.max(id);
        }
    };
    let catch_up = CatchUp {
        after,
        learn: &mut learn,
    };
    let batches: Vec<_> = jobs
        .iter()
        .map(|j| (j.source_id, &j.validators, j.items.as_slice(), j.now))
        .collect();
    let counts = context
        .store
        .record_successes_seeing(&batches, Some(catch_up), |n, prepared, id| {
            let Ok(mut stories) = shared.lock() else {
                return id;
            };
            stories.seen = stories.seen.max(id);
            let at = prepared.candidate.published.unwrap_or(jobs[n].now);
            let Some(fp) = Fingerprint::from_text(&prepared.fingerprint) else {
                return id;
            };
            let story = match stories.index.find(&fp, at) {
                Some(story) => story,
                None => {
                    if let Some((previous, s)) = stories.index.running(&fp, at) {
                        links.push((id, previous, s));
                    }
                    id
                }
            };
            stories.index.insert(story, at, fp);
            story
        })
        .await?;
    if let Err(e) = context.store.link_stories(&links).await {
        tracing::warn!(
            "liens « suite de » non enregistrés : {}",
            crate::wording::chain(&e)
        );
    }
    Ok(counts)
}

/// Fingerprints and tags each candidate.
pub(crate) fn prepare(
    tagger: &Tagger,
    source: &Source,
    items: Vec<ArticleCandidate>,
) -> Vec<PreparedArticle> {
    items
        .into_iter()
        .map(|candidate| PreparedArticle {
            fingerprint: dedup::fingerprint(&candidate.title, &candidate.summary_text).to_text(),
            tagging: tagger.tag(&candidate.title, &candidate.summary_text, &source.dossiers),
            candidate,
        })
        .collect()
}

fn plain_error(message: String) -> crate::fetch::FetchError {
    crate::fetch::FetchError {
        message,
        status: None,
        retry_after: None,
    }
}

/// Reads the items of a fetched body according to the kind of its source.
pub(crate) fn parse_body(
    source: &Source,
    body: &crate::fetch::Body,
) -> Result<Vec<ArticleCandidate>, IngestError> {
    let now = Utc::now();
    match (&source.kind, &source.select) {
        (SourceKind::Page, Some(select)) => ingest::parse_page(
            &body.bytes,
            body.content_type.as_deref(),
            &body.final_url,
            select,
            now,
        ),
        _ => {
            let feed = ingest::parse_feed(
                &body.bytes,
                body.content_type.as_deref(),
                &body.final_url,
                now,
            )?;
            if feed.items.is_empty() && feed.without_link > 0 {
                let n = feed.without_link;
                return Err(IngestError::Feed(if n > 1 {
                    format!("{n} entrées, aucune avec un lien")
                } else {
                    format!("{n} entrée, sans lien")
                }));
            }
            Ok(feed.items)
        }
    }
}
