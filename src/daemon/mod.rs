//! `veille run`: one process that keeps the watch fresh — the schedules of `feeds.toml`
//! (polling, panoramas, edition drafts) driven by a small tokio loop over the pure
//! `schedule::Scheduler`, and the web server of `veille serve` with `/healthz` and
//! `/metrics`.
//!
//! Lifecycle: one daemon per archive (`lock`); SIGTERM/SIGINT stop scheduling, give the
//! fetches in flight `stop_grace_secs` to finish, commit the search index and exit 0 (a
//! second signal exits at once); SIGHUP reloads `feeds.toml`, and an invalid file keeps the
//! configuration in service.

pub(crate) mod alerts;
mod jobs;
// The archive lock lives below `backup`, which takes it too; its old path stays valid.
pub(crate) use crate::lock;
pub(crate) mod metrics;
pub(crate) mod nightly;

pub(crate) use jobs::jobs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::harvest;
use crate::indexing::{self, IndexOutcome};
use crate::model::{SourceReport, SourceStatus};
use crate::prepared::Prepared;
use crate::publish::french::count as plural;
use crate::publish::{self, Publisher};
use crate::schedule::clock::{Clock, Wake};
use crate::schedule::{Due, Scheduler, Task};
use crate::store::Store;
use crate::tag::Tagger;

/// The longest the search index commit may hold up a stop.
const STOP_INDEX_BOUND: Duration = Duration::from_secs(2);
/// The longest the web server may take to finish its requests at a stop.
const STOP_WEB_BOUND: Duration = Duration::from_secs(1);

/// What the daemon tells `/healthz` about itself.
#[derive(Debug, Clone, Serialize)]
struct Live {
    config_file: String,
    config_loaded_at: DateTime<Utc>,
    sources: usize,
    jobs: usize,
    reloads_ok: u64,
    reloads_failed: u64,
    last_reload_error: Option<String>,
    /// The scheduler's clock (differs from the real one only under `VEILLE_TEST_CLOCK`).
    clock: DateTime<Utc>,
    next_wake: Option<DateTime<Utc>>,
    job_runs: u64,
    poll_passes: u64,
    stopping: bool,
}

/// What the web handlers and the loop share.
struct Shared {
    store: Store,
    pid: u32,
    started_at: DateTime<Utc>,
    config: RwLock<Arc<Config>>,
    /// The rules of `config`, compiled with it (at start and at each reload).
    tagger: RwLock<Arc<Tagger>>,
    live: Mutex<Live>,
}

impl Shared {
    fn config(&self) -> Arc<Config> {
        self.config.read().expect("config lock").clone()
    }

    fn tagger(&self) -> Arc<Tagger> {
        self.tagger.read().expect("tagger lock").clone()
    }

    fn update(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.live.lock().expect("live lock"));
    }
}

fn local(config: &Config, t: DateTime<Utc>) -> String {
    t.with_timezone(&config.tz())
        .format("%d/%m/%Y %H:%M %:z")
        .to_string()
}

/// glibc gives each thread that allocates an arena of its own (up to eight per core) and
/// keeps what was freed in it: a daemon whose passes start short-lived threads (the search
/// index writer, blocking parses) sees its resident memory climb for hours without any leak
/// (50 → 127 MiB over 320 cycles of benches/daemon.rs). Two arenas keep it flat at no
/// measurable CPU cost. To call before any thread starts; `MALLOC_ARENA_MAX` set in the
/// environment wins.
pub(crate) fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only tunes the allocator; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Runs the daemon until a stop signal; `listener` is already bound, the lock already held.
pub(crate) async fn run(
    prepared: Prepared,
    archive: PathBuf,
    listener: tokio::net::TcpListener,
    clock: Box<dyn Clock>,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (hup_tx, hup_rx) = mpsc::unbounded_channel();
    spawn_signals(stop_tx, hup_tx)?;

    let Prepared { config, tagger } = prepared;
    let store = Store::open(&archive).await?;
    store.sync_sources(&config.sources).await?;
    let now = clock.now();
    let scheduler = build_scheduler(&config, &store, now).await?;
    let config = Arc::new(config);
    let shared = Arc::new(Shared {
        store: store.clone(),
        pid: std::process::id(),
        started_at: Utc::now(),
        config: RwLock::new(config.clone()),
        tagger: RwLock::new(tagger),
        live: Mutex::new(Live {
            config_file: config.path.display().to_string(),
            config_loaded_at: Utc::now(),
            sources: config.sources.len(),
            jobs: scheduler.jobs.len(),
            reloads_ok: 0,
            reloads_failed: 0,
            last_reload_error: None,
            clock: now,
            next_wake: scheduler.next_wake(),
            job_runs: 0,
            poll_passes: 0,
            stopping: false,
        }),
    });

    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_endpoint))
        .with_state(shared.clone())
        .merge(crate::web::app(&config, &archive, store.clone())?);
    let address = listener.local_addr()?;
    tokio::spawn(nightly::run(
        config.clone(),
        archive.clone(),
        store.clone(),
        stop_rx.clone(),
    ));
    let mut web_stop = stop_rx.clone();
    let web = tokio::spawn(crate::web::serve_on(listener, app, async move {
        let _ = web_stop.wait_for(|stop| *stop).await;
    }));

    info!(
        "veille run : {}, {} (fuseau {}, {}) ; web sur http://{address}/ ; pid {}",
        plural(config.sources.len(), "source", "sources"),
        plural(scheduler.jobs.len(), "tâche planifiée", "tâches planifiées"),
        config.settings.timezone,
        clock.describe(),
        shared.pid
    );
    log_jobs(&config, &scheduler);
    for reminder in store.edition_reminders().await? {
        info!("{}", reminder.message());
    }

    let mut daemon = Daemon {
        holder: harvest::SlotLeases::holder_name(),
        shared: shared.clone(),
        archive,
        clock,
        stop_rx,
        hup_rx,
        scheduler,
    };
    daemon.schedule_loop().await;
    shared.update(|l| l.stopping = true);

    // Whatever the passes left unindexed goes in before leaving.
    let config = shared.config();
    match tokio::time::timeout(
        STOP_INDEX_BOUND,
        indexing::index_pending(&store, &daemon.archive, config.tz()),
    )
    .await
    {
        Ok(outcome) => info!("arrêt : {}", index_text(&outcome)),
        Err(_) => warn!(
            "arrêt : index de recherche non validé à temps (il sera complété au prochain démarrage)"
        ),
    }
    match tokio::time::timeout(STOP_WEB_BOUND, web).await {
        Ok(Ok(Err(e))) => error!("serveur web : {e:#}"),
        Err(_) => warn!("arrêt : requêtes web en cours abandonnées"),
        _ => {}
    }
    info!("veille run arrêté");
    Ok(())
}

/// The job table of `config`, each job placed after its stored last run.
async fn build_scheduler(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<Scheduler> {
    let stored = store.job_slots().await?;
    let mut scheduler = Scheduler::new(jobs(config), |name| stored.get(name).copied());
    for index in scheduler.set_baselines(now) {
        store
            .set_job_baseline(&scheduler.jobs[index].job.name, now)
            .await?;
    }
    Ok(scheduler)
}

fn log_jobs(config: &Config, scheduler: &Scheduler) {
    for (index, state) in scheduler.jobs.iter().enumerate() {
        let next = match (state.last_slot, scheduler.next_run(index)) {
            (None, _) => "dès maintenant (première exécution)".to_string(),
            (_, Some(t)) => local(config, t),
            (_, None) => "jamais".to_string(),
        };
        info!(
            "tâche « {} » ({}) : prochaine exécution {next}",
            state.job.label,
            state.job.schedule.text()
        );
    }
}

fn spawn_signals(stop: watch::Sender<bool>, hup: mpsc::UnboundedSender<()>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let mut stops = 0;
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hangup.recv() => {
                    let _ = hup.send(());
                    continue;
                }
            };
            stops += 1;
            if stops == 1 {
                info!(
                    "{name} reçu : arrêt (plus de nouvelle tâche ; les relèves en cours finissent ou sont interrompues)"
                );
                let _ = stop.send(true);
            } else {
                warn!("{name} reçu une seconde fois : arrêt immédiat");
                std::process::exit(1);
            }
        }
    });
    Ok(())
}

struct Daemon {
    /// This process's name in the polling leases it takes in the store.
    holder: String,
    shared: Arc<Shared>,
    archive: PathBuf,
    clock: Box<dyn Clock>,
    stop_rx: watch::Receiver<bool>,
    hup_rx: mpsc::UnboundedReceiver<()>,
    scheduler: Scheduler,
}

/// How a job ended.
enum Finished<T> {
    /// Ran to its end; `stopping` when a stop came meanwhile.
    Done { output: T, stopping: bool },
    /// Cut at the end of the grace period.
    Cut,
}

impl Daemon {
    async fn schedule_loop(&mut self) {
        let mut exhausted = false;
        loop {
            if *self.stop_rx.borrow() {
                return;
            }
            let now = self.clock.now();
            let due = self.scheduler.due(now);
            if !due.is_empty() {
                if self.run_due(due, now).await {
                    return;
                }
                continue;
            }
            let wake = self.scheduler.next_wake();
            self.shared.update(|l| {
                l.clock = now;
                l.next_wake = wake;
            });
            let sleep = async {
                match wake {
                    Some(t) if !exhausted => self.clock.sleep_until(t).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                woke = sleep => exhausted = woke == Wake::Exhausted,
                _ = self.stop_rx.changed() => return,
                Some(()) = self.hup_rx.recv() => self.reload().await,
            }
        }
    }

    /// Runs `future`; once a stop comes, lets it go on for the grace period only.
    async fn with_grace<T>(
        &mut self,
        future: impl std::future::Future<Output = T>,
        cut: &AtomicBool,
        grace: Duration,
    ) -> Finished<T> {
        tokio::pin!(future);
        if !*self.stop_rx.borrow() {
            tokio::select! {
                output = &mut future => return Finished::Done { output, stopping: false },
                _ = self.stop_rx.changed() => {}
            }
        }
        cut.store(true, Ordering::Relaxed);
        info!(
            "arrêt : la tâche en cours a {} s pour finir",
            grace.as_secs()
        );
        match tokio::time::timeout(grace, &mut future).await {
            Ok(output) => Finished::Done {
                output,
                stopping: true,
            },
            Err(_) => {
                warn!(
                    "arrêt : tâche interrompue après {} s (chaque source est enregistrée entière ou pas du tout ; elle sera rattrapée au démarrage)",
                    grace.as_secs()
                );
                Finished::Cut
            }
        }
    }

    /// Runs the due jobs (all polling in one pass, then panoramas, then drafts); true when
    /// the daemon must stop.
    async fn run_due(&mut self, due: Vec<Due>, now: DateTime<Utc>) -> bool {
        let config = self.shared.config();
        let grace = Duration::from_secs(config.schedule.stop_grace_secs);
        for d in &due {
            let job = &self.scheduler.jobs[d.index].job;
            if d.missed > 0 {
                info!(
                    "rattrapage : « {} » a manqué {} ; exécutée une seule fois, pour {}",
                    job.label,
                    plural(d.missed as usize + 1, "passage", "passages"),
                    local(&config, d.slot)
                );
            }
        }
        let (polls, others): (Vec<Due>, Vec<Due>) = due
            .into_iter()
            .partition(|d| matches!(self.scheduler.jobs[d.index].job.task, Task::Poll { .. }));

        if !polls.is_empty() {
            // Each source's slot: the key of its lease among the processes sharing the store.
            let mut slots: HashMap<String, DateTime<Utc>> = HashMap::new();
            for d in &polls {
                if let Task::Poll { sources } = &self.scheduler.jobs[d.index].job.task {
                    for name in sources {
                        let slot = slots.entry(name.clone()).or_insert(d.slot);
                        *slot = (*slot).max(d.slot);
                    }
                }
            }
            let leases = harvest::SlotLeases {
                slots,
                holder: self.holder.clone(),
                ttl: harvest::SlotLeases::ttl_for(&config.settings),
            };
            let cut = AtomicBool::new(false);
            let started = Instant::now();
            let (store, archive) = (self.shared.store.clone(), self.archive.clone());
            let tagger = self.shared.tagger();
            let pass = poll(&config, &tagger, &store, &archive, &leases, &cut);
            match self.with_grace(pass, &cut, grace).await {
                Finished::Cut => return true,
                Finished::Done { output, stopping } => {
                    self.shared.update(|l| l.poll_passes += 1);
                    // A pass cut short by a stop is not recorded: it is caught up at start.
                    if stopping {
                        return true;
                    }
                    let outcome = output.map_err(|e| format!("{e:#}"));
                    for d in &polls {
                        self.finish(d, now, outcome.clone(), started).await;
                    }
                }
            }
        }
        for d in others {
            let cut = AtomicBool::new(false);
            let started = Instant::now();
            let task = self.scheduler.jobs[d.index].job.task.clone();
            let (store, archive) = (self.shared.store.clone(), self.archive.clone());
            let work = run_task(&config, &store, &archive, task, d.slot, now);
            match self.with_grace(work, &cut, grace).await {
                Finished::Cut => return true,
                Finished::Done { output, stopping } => {
                    self.finish(
                        &d,
                        now,
                        output.as_ref().map(|_| ()).map_err(|e| format!("{e:#}")),
                        started,
                    )
                    .await;
                    if stopping {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// Records a run in the store and the scheduler.
    async fn finish(
        &mut self,
        due: &Due,
        now: DateTime<Utc>,
        outcome: Result<(), String>,
        started: Instant,
    ) {
        let name = self.scheduler.jobs[due.index].job.name.clone();
        if let Err(e) = &outcome {
            error!(
                "tâche « {} » en échec : {e}",
                self.scheduler.jobs[due.index].job.label
            );
        }
        let elapsed = started.elapsed().as_millis() as i64;
        if let Err(e) = self
            .shared
            .store
            .record_job_run(
                &name,
                due.slot,
                now,
                outcome.as_ref().map(|_| ()).map_err(String::as_str),
                elapsed,
            )
            .await
        {
            error!("dernière exécution de « {name} » non enregistrée : {e:#}");
        }
        self.scheduler.mark_run(due.index, due.slot);
        self.shared.update(|l| l.job_runs += 1);
    }

    /// SIGHUP: reads `feeds.toml` again; an invalid file keeps the configuration in service.
    async fn reload(&mut self) {
        let current = self.shared.config();
        let path = current.path.clone();
        info!("SIGHUP reçu : relecture de {}", path.display());
        let (fresh, fresh_tagger) = match Prepared::load(&path) {
            Ok(Prepared { config, tagger }) => (config, tagger),
            Err(errors) => {
                for e in &errors.0 {
                    error!("{e}");
                }
                error!(
                    "configuration non rechargée ({}) : l'ancienne reste en service",
                    plural(errors.0.len(), "erreur", "erreurs")
                );
                let first = errors.0.first().map(|e| e.to_string());
                self.shared.update(|l| {
                    l.reloads_failed += 1;
                    l.last_reload_error = first;
                });
                return;
            }
        };
        let store = self.shared.store.clone();
        let rebuilt = async {
            store.sync_sources(&fresh.sources).await?;
            build_scheduler(&fresh, &store, self.clock.now()).await
        }
        .await;
        match rebuilt {
            Ok(scheduler) => {
                self.scheduler = scheduler;
                info!(
                    "configuration rechargée : {}, {} ([web] ne change qu'au redémarrage)",
                    plural(fresh.sources.len(), "source", "sources"),
                    plural(self.scheduler.jobs.len(), "tâche", "tâches")
                );
                log_jobs(&fresh, &self.scheduler);
                let (sources, jobs) = (fresh.sources.len(), self.scheduler.jobs.len());
                *self.shared.config.write().expect("config lock") = Arc::new(fresh);
                *self.shared.tagger.write().expect("tagger lock") = fresh_tagger;
                self.shared.update(|l| {
                    l.reloads_ok += 1;
                    l.last_reload_error = None;
                    l.config_loaded_at = Utc::now();
                    l.sources = sources;
                    l.jobs = jobs;
                });
            }
            Err(e) => {
                error!("configuration non rechargée : {e:#} ; l'ancienne reste en service");
                self.shared.update(|l| {
                    l.reloads_failed += 1;
                    l.last_reload_error = Some(format!("{e:#}"));
                });
            }
        }
    }
}

/// One polling pass over the named sources, then the search index.
async fn poll(
    config: &Config,
    tagger: &Arc<Tagger>,
    store: &Store,
    archive: &Path,
    leases: &harvest::SlotLeases,
    cut: &AtomicBool,
) -> anyhow::Result<()> {
    let sources: Vec<_> = config
        .sources
        .iter()
        .filter(|s| leases.slots.contains_key(&s.name))
        .collect();
    // Leases only matter while their slot runs: a day back is plenty.
    if let Some(oldest) = leases.slots.values().min() {
        store
            .prune_leases(*oldest - chrono::Duration::days(1))
            .await?;
    }
    let reports = harvest::run_sources(
        config,
        tagger,
        store,
        &sources,
        (false, Some(leases)),
        cut,
        |_| {},
    )
    .await?;
    store.record_fetch_stats(&reports).await?;
    for r in reports.iter().filter(|r| r.status == SourceStatus::Error) {
        warn!(
            "source « {} » : {}",
            r.name,
            r.error.as_deref().unwrap_or("erreur")
        );
    }
    // Before the index: its documents carry this centre's dossiers.
    match crate::retagging::catch_up(store, tagger).await {
        Ok(0) => {}
        Ok(n) => info!("{n} article(s) d'autres centres marqué(s) selon nos règles"),
        Err(e) => warn!("marquage des articles d'autres centres : {e:#}"),
    }
    let indexing = indexing::index_pending(store, archive, config.tz()).await;
    info!("{} ; {}", pass_text(&reports), index_text(&indexing));
    // A mail that cannot go out must not fail the pass; it is retried at the next one.
    match alerts::notify(config, store, chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(n) => info!("{n} alerte(s) sur les sources envoyée(s)"),
        Err(e) => warn!("alertes sur les sources : {e:#}"),
    }
    Ok(())
}

fn pass_text(reports: &[SourceReport]) -> String {
    let count = |s: SourceStatus| reports.iter().filter(|r| r.status == s).count();
    let (unchanged, deferred) = (
        count(SourceStatus::NotModified),
        count(SourceStatus::Deferred),
    );
    let new = reports.iter().map(|r| r.new).sum::<u32>() as usize;
    let s = |n: usize| if n > 1 { "s" } else { "" };
    // Only where another process shares the store and took some of the slot.
    let elsewhere = match count(SourceStatus::Elsewhere) {
        0 => String::new(),
        n => format!(", {n} relevée{} par un autre processus", s(n)),
    };
    format!(
        "relève : {} — {} ok, {unchanged} non modifiée{}, {} en erreur, {deferred} différée{}{elsewhere} ; {} article{} nouveau{}, {} mis à jour",
        plural(reports.len(), "source", "sources"),
        count(SourceStatus::Ok),
        s(unchanged),
        count(SourceStatus::Error),
        s(deferred),
        new,
        s(new),
        if new > 1 { "x" } else { "" },
        reports.iter().map(|r| r.updated).sum::<u32>()
    )
}

fn index_text(outcome: &anyhow::Result<IndexOutcome>) -> String {
    match outcome {
        Ok(IndexOutcome::Indexed {
            articles,
            rebuilt: false,
        }) => format!(
            "index de recherche : {} indexé{}",
            plural(*articles, "article", "articles"),
            if *articles > 1 { "s" } else { "" }
        ),
        Ok(IndexOutcome::Indexed {
            articles,
            rebuilt: true,
        }) => format!(
            "index de recherche créé ou reconstruit depuis la base, puis {} indexé{}",
            plural(*articles, "article", "articles"),
            if *articles > 1 { "s" } else { "" }
        ),
        Ok(IndexOutcome::Busy(why)) => format!("index de recherche non mis à jour : {why}"),
        Err(e) => format!("index de recherche non mis à jour : {e:#}"),
    }
}

/// A panorama or a draft.
async fn run_task(
    config: &Config,
    store: &Store,
    archive: &Path,
    task: Task,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    match task {
        Task::Poll { .. } => unreachable!("polling runs as one pass"),
        Task::Panorama { dossier } => {
            let publisher = Publisher::new(config, archive)?;
            let reports = publisher.panoramas(store, Some(&dossier), now).await?;
            publisher.archive_index(store).await?;
            let stories = reports.first().map_or(0, |r| r.stories);
            info!(
                "panorama « {dossier} » publié : {}",
                plural(stories, "histoire", "histoires")
            );
        }
        Task::NetworkPanorama { dossier } => {
            let publisher = Publisher::new(config, archive)?;
            let reports = publisher
                .network_panoramas(store, Some(&dossier), now)
                .await?;
            publisher.archive_index(store).await?;
            let stories = reports.first().map_or(0, |r| r.stories);
            info!(
                "panorama du réseau « {dossier} » publié : {}",
                plural(stories, "histoire", "histoires")
            );
        }
        Task::Draft { kind } => {
            let months = config.publications.get(&kind).map_or(1, |p| p.months);
            let day = slot.with_timezone(&config.tz()).date_naive();
            let (start, end) = publish::period_from(day, months);
            let draft = store.create_scheduled_draft(&kind, start, end, now).await?;
            let how = if draft.created {
                "brouillon créé"
            } else {
                "déjà créée à la main"
            };
            info!(
                "édition à préparer : {kind}/{} ({how}, période du {start} au {end})",
                draft.number
            );
        }
        Task::Bounces => {
            let settings = config
                .bounces
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("aucune section [bounces]"))?;
            let secret = crate::mail::token::Secret::load(archive)?;
            let ctx = crate::mail::bounce::Context {
                store,
                secret: &secret,
                bounce_address: config
                    .mail
                    .as_ref()
                    .and_then(|m| m.bounce_address.as_deref()),
                policy: settings.policy(),
            };
            let report = crate::mail::bounce::mailbox::fetch(&ctx, settings).await?;
            info!(
                "retours : {} message(s) lu(s), {} déjà traité(s), {} sans effet",
                report.messages,
                report.already,
                report.problems.len()
            );
        }
    }
    Ok(())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let live = shared.live.lock().expect("live lock").clone();
    let body = serde_json::json!({
        "status": if live.stopping { "stopping" } else { "ok" },
        "pid": shared.pid,
        "started_at": shared.started_at,
        "daemon": live,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

async fn metrics_endpoint(State(shared): State<Arc<Shared>>) -> Response {
    let config = shared.config();
    match metrics::snapshot(&shared.store, &config, Utc::now()).await {
        Ok(mut snapshot) => {
            let live = shared.live.lock().expect("live lock").clone();
            snapshot.process = Some(metrics::ProcessReport {
                pid: shared.pid,
                started_at: shared.started_at,
                reloads_ok: live.reloads_ok,
                reloads_failed: live.reloads_failed,
            });
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                metrics::prometheus(&snapshot),
            )
                .into_response()
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("mesures indisponibles : {e:#}\n"),
        )
            .into_response(),
    }
}
