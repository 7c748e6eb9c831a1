//! `veille edition send`: one message per active subscriber of the edition's list, over a
//! bounded number of SMTP connections, throttled per second and per hour, each message under
//! its own timeout. The delivery ledger in the store is the truth: a recipient is marked
//! `sending` before any SMTP command and `sent` after the server's 250, so an interrupted
//! send resumes without sending twice; the few left `sending` are reported, not resent
//! (unless asked), because the server may have accepted their message.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use governor::{Quota, RateLimiter};
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::Mutex;

use super::message::{Formatted, Letter, dkim_config, parse_mailbox};
use super::token::{Purpose, Secret};
use crate::config::{Config, MailSettings};
use crate::model::EditionStatus;
use crate::publish::{PUBLISHED_DIR, Publisher};
use crate::store::{Claim, ClaimedDelivery, DeliveryOutcome, ReservedStep, SendError, Store};

/// How one `veille send` runs; the default sends the edition to its whole list for real.
#[derive(Debug, Clone, Default)]
pub(crate) struct SendOptions {
    /// Send one copy, marked `[TEST]`, to this address only (no ledger, any status).
    pub(crate) test: Option<String>,
    /// Build and sign every message, send nothing, change nothing.
    pub(crate) dry_run: bool,
    /// Put the recipients left `sending` by a crash back in the queue.
    pub(crate) resend_uncertain: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct SendReport {
    pub(crate) edition: String,
    pub(crate) list: String,
    /// Recipients queued by this run (0 when resuming).
    pub(crate) queued: u64,
    pub(crate) sent: i64,
    pub(crate) failed: Vec<Failure>,
    pub(crate) skipped: i64,
    /// Recipients whose message the server may or may not have accepted (crash or timeout
    /// during the transaction): not resent without `--resend-uncertain`.
    pub(crate) uncertain: Vec<String>,
    /// Temporarily refused on every try of this run; the next `send` tries them again.
    pub(crate) pending_retry: i64,
    /// `--dry-run`: messages built and signed.
    pub(crate) built: usize,
    pub(crate) bytes: usize,
    pub(crate) test: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failure {
    pub(crate) email: String,
    pub(crate) state: String,
    pub(crate) reply: Option<String>,
}

/// Errors a person can act on (exit code 2) versus the rest.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendFailure {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<SendError> for SendFailure {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Store(e) => SendFailure::Other(e),
            other => SendFailure::Usage(other.to_string()),
        }
    }
}

fn usage(message: impl Into<String>) -> SendFailure {
    SendFailure::Usage(message.into())
}

/// The domain of the From address: List-Id and Message-IDs live under it.
fn sender_domain(settings: &MailSettings) -> anyhow::Result<String> {
    let from = parse_mailbox(&settings.from, "d'expédition (from)")?;
    Ok(from.email.domain().to_string())
}

/// Everything one send needs, prepared before any message goes out.
struct Prepared {
    letter: Letter,
    list: String,
    address: String,
    domain: String,
}

async fn prepare(
    config: &Config,
    store: &Store,
    archive: &Path,
    kind: &str,
    number: i64,
    render: bool,
) -> Result<Prepared, SendFailure> {
    let settings = config.mail.as_ref().ok_or_else(|| {
        usage(
            "aucun serveur d'envoi : ajoutez la section [mail] à feeds.toml (from, smtp, base_url)",
        )
    })?;
    let publication = config
        .publications
        .get(kind)
        .ok_or_else(|| usage(format!("genre d'édition inconnu « {kind} »")))?;
    let list = publication.list_name(kind);
    let list_title = config
        .lists
        .get(&list)
        .map(|l| l.title.clone())
        .ok_or_else(|| {
            usage(format!(
                "la liste « {list} » n'est pas déclarée : ajoutez [lists.{list}] à feeds.toml"
            ))
        })?;
    let address = format!("{kind}/{number}");
    let edition = store
        .edition(kind, number)
        .await?
        .ok_or_else(|| usage(format!("édition introuvable : {address}")))?;
    let dir = archive
        .join(PUBLISHED_DIR)
        .join(kind)
        .join(number.to_string());
    if render && edition.status != EditionStatus::Sent {
        Publisher::new(config, archive)?
            .edition(store, &edition, Utc::now())
            .await?;
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|e| {
            usage(format!(
                "{} illisible ({}) : lancez `veille edition render {address}`",
                dir.join(name).display(),
                crate::wording::io(&e)
            ))
        })
    };
    let (html, text) = (read("email.html")?, read("email.txt")?);
    let (html, text) = if settings.count_clicks {
        super::clicks::count_links(store, &config.base_url(), kind, number, html, text).await?
    } else {
        (html, text)
    };
    let domain = sender_domain(settings)?;
    let period = crate::publish::french::period_label(edition.period_start, edition.period_end);
    let from = parse_mailbox(&settings.from, "d'expédition (from)")?;
    let letter = Letter {
        reply_to: settings
            .reply_to
            .as_deref()
            .map(|r| parse_mailbox(r, "de réponse (reply_to)"))
            .transpose()?,
        subject: format!("{} n° {number} — {period}", publication.title),
        list_id: format!("{list}.{domain}"),
        list_title,
        unsubscribe_mailto: settings
            .unsubscribe_mailto
            .clone()
            .unwrap_or_else(|| from.email.to_string()),
        from,
        base_url: config.base_url(),
        html,
        text,
        dkim: dkim_config(settings)?,
        encoded: std::sync::OnceLock::new(),
        frame: std::sync::OnceLock::new(),
    };
    Ok(Prepared {
        letter,
        list,
        address,
        domain,
    })
}

/// Sends (or tests, or rehearses) an edition; see the module documentation.
pub(crate) async fn send_edition(
    config: &Config,
    store: &Store,
    archive: &Path,
    kind: &str,
    number: i64,
    options: &SendOptions,
    progress: Option<ProgressBar>,
) -> Result<SendReport, SendFailure> {
    let settings = config.mail.clone().ok_or_else(|| {
        usage(
            "aucun serveur d'envoi : ajoutez la section [mail] à feeds.toml (from, smtp, base_url)",
        )
    })?;
    let secret = Secret::load(archive)?;
    let prepared = prepare(config, store, archive, kind, number, true).await?;
    let mut report = SendReport {
        edition: prepared.address.clone(),
        list: prepared.list.clone(),
        ..SendReport::default()
    };

    if let Some(to) = &options.test {
        return send_test(&settings, &prepared, &secret, kind, number, to, report).await;
    }

    if options.dry_run {
        return rehearse(store, &prepared, &secret, report).await;
    }

    let (edition, queued) = store
        .start_sending(kind, number, &prepared.list, &prepared.domain, Utc::now())
        .await?;
    report.queued = queued;
    // A new run gives the recipients temporarily refused on every try a new series.
    store.requeue_exhausted(edition, Utc::now()).await?;
    if options.resend_uncertain {
        store.requeue_uncertain(edition, Utc::now()).await?;
    }
    if let Some(bar) = &progress {
        let counts = store.delivery_counts(edition).await?;
        let total: i64 = counts.values().sum();
        let done: i64 = ["sent", "failed_perm", "skipped"]
            .iter()
            .filter_map(|s| counts.get(*s))
            .sum();
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }

    let people = store.subscriber_details(&prepared.list).await?;
    let (desk, requests) = tokio::sync::mpsc::unbounded_channel();
    let connections = settings.connections.max(1);
    let working = Arc::new(AtomicUsize::new(connections));
    let clerk = tokio::spawn(keep_ledger(
        store.clone(),
        edition,
        prepared.list.clone(),
        settings.bounce_limit,
        working.clone(),
        requests,
    ));
    let shared = Arc::new(Shared {
        people,
        store: store.clone(),
        desk,
        working,
        signing: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        ),
        letter: prepared.letter,
        list: prepared.list.clone(),
        secret,
        settings: settings.clone(),
        edition,
        limiter: RateLimiter::direct(Quota::per_second(
            NonZeroU32::new(settings.per_second).unwrap_or(NonZeroU32::MIN),
        )),
        hourly: Mutex::new(HourlyWindow::new(
            settings.per_hour,
            store
                .sent_since(Utc::now() - chrono::Duration::hours(1))
                .await? as usize,
        )),
        progress,
        reserve: Mutex::new(Reserve::default()),
        timezone: config.tz(),
        announced: std::sync::Mutex::new(None),
        rounds: Rounds::default(),
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let shared = shared.clone();
        workers.spawn(async move { shared.work().await });
    }
    // Without a progress bar (not a terminal), a line every so often: never a silent minute.
    let ticker = shared.progress.is_none().then(|| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.tell_progress().await })
    });
    while let Some(result) = workers.join_next().await {
        result.map_err(|e| anyhow::anyhow!("tâche d'envoi interrompue : {e}"))??;
    }
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    shared.rounds.tell();
    // Every connection has had its last step answered: the clerk has nothing left to commit.
    clerk.abort();
    if let Some(bar) = &shared.progress {
        bar.finish_and_clear();
    }

    let counts = store.delivery_counts(edition).await?;
    report.sent = counts.get("sent").copied().unwrap_or(0);
    report.skipped = counts.get("skipped").copied().unwrap_or(0);
    report.uncertain = store.uncertain_deliveries(edition).await?;
    for (email, state, reply) in store.failed_deliveries(edition).await? {
        if state == "failed_temp" {
            report.pending_retry += 1;
        }
        report.failed.push(Failure {
            email,
            state,
            reply,
        });
    }
    Ok(report)
}

/// One copy marked `[TEST]` to one address: no ledger, any status.
async fn send_test(
    settings: &MailSettings,
    prepared: &Prepared,
    secret: &Secret,
    kind: &str,
    number: i64,
    to: &str,
    mut report: SendReport,
) -> Result<SendReport, SendFailure> {
    let to = super::normalise_address(to)
        .ok_or_else(|| usage(format!("adresse de test invalide « {to} »")))?;
    // Subscriber 0 exists nowhere: the test copy's unsubscribe link changes nothing.
    let token = secret.sign(Purpose::Unsubscribe, 0, &prepared.list, None);
    let message_id = format!(
        "<veille.test.{kind}.{number}.{}@{}>",
        Utc::now().timestamp_millis(),
        prepared.domain
    );
    let message =
        prepared
            .letter
            .message(&to, &token, &message_id, SystemTime::now(), "[TEST] ")?;
    let mut session = super::SmtpSession::new(settings)?;
    let result = tokio::time::timeout(
        Duration::from_secs(settings.timeout_secs),
        session.send(&message),
    )
    .await;
    session.quit().await;
    let refusal = match &result {
        Ok(Err(e)) => super::idn::client_refusal(&to, e),
        _ => None,
    };
    match result {
        Ok(Ok(_)) => report.sent = 1,
        Ok(Err(e)) if e.is_reply_lost() => report.uncertain.push(to.clone()),
        Ok(Err(_)) if refusal.is_some() => report.failed.push(Failure {
            email: to.clone(),
            state: "failed_perm".into(),
            reply: refusal,
        }),
        Ok(Err(e)) => report.failed.push(Failure {
            email: to.clone(),
            state: if e.is_permanent() {
                "failed_perm"
            } else {
                "failed_temp"
            }
            .into(),
            reply: Some(e.to_string()),
        }),
        Err(_) => report.uncertain.push(to.clone()),
    }
    report.test = Some(to);
    Ok(report)
}

/// Every message built and signed, nothing sent, nothing changed.
async fn rehearse(
    store: &Store,
    prepared: &Prepared,
    secret: &Secret,
    mut report: SendReport,
) -> Result<SendReport, SendFailure> {
    for row in store.subscriber_rows(Some(&prepared.list)).await? {
        if !row.lists.contains(&prepared.list) {
            continue;
        }
        let token = secret.sign(Purpose::Unsubscribe, 0, &prepared.list, None);
        let message_id = format!("<veille.essai.{}@{}>", report.built, prepared.domain);
        let recipient = super::message::Recipient {
            person: &row.details,
            to: &row.email,
            token: &token,
            message_id: &message_id,
            date: SystemTime::now(),
        };
        let message =
            prepared
                .letter
                .message_for(recipient, "", super::message::Delivery::default())?;
        report.bytes += message.formatted().len();
        report.built += 1;
    }
    Ok(report)
}

/// The sliding hour of the hourly cap.
struct HourlyWindow {
    cap: usize,
    sent: VecDeque<Instant>,
}

impl HourlyWindow {
    /// `already`: messages sent in the last hour before this run (counted as just sent,
    /// which errs on the side of the cap).
    fn new(cap: u32, already: usize) -> Self {
        let now = Instant::now();
        HourlyWindow {
            cap: cap as usize,
            sent: std::iter::repeat_n(now, already.min(cap as usize)).collect(),
        }
    }

    /// How long to wait before one more message fits, after recording it when it does.
    fn take(&mut self) -> Option<Duration> {
        if self.cap == 0 {
            return None;
        }
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= hour)
        {
            self.sent.pop_front();
        }
        if self.sent.len() < self.cap {
            self.sent.push_back(now);
            None
        } else {
            Some(hour - now.duration_since(self.sent[0]))
        }
    }
}

/// A connection's step, and where the ledger answers it.
type LedgerRequest = (
    ReservedStep,
    tokio::sync::oneshot::Sender<Result<Option<ClaimedDelivery>, String>>,
);

/// The ledger's clerk: takes every step waiting (one per connection at most) and commits
/// them together, so that 8 connections pay for one synced commit where they paid for 16.
/// A connection waits for its step's commit before its next SMTP transaction: the ledger
/// says `sending` before a message goes, and at most one recipient per connection is ever
/// uncertain after a crash, as with one commit per step.
///
/// A commit costs a disk sync (milliseconds), so its size is what the send's speed is made
/// of: a clerk committing at the first step that arrives would alternate a commit of one
/// and a commit of the rest. It waits a little (`gather`) for the connections still in
/// an SMTP exchange, never longer than half its last commit took.
async fn keep_ledger(
    store: Store,
    edition: i64,
    list: String,
    bounce_limit: u32,
    working: Arc<AtomicUsize>,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<LedgerRequest>,
) {
    let mut desk = store.ledger_desk().await;
    let mut batch = Vec::new();
    let mut last_commit = Duration::ZERO;
    while requests.recv_many(&mut batch, 64).await > 0 {
        gather(&mut requests, &mut batch, &working, last_commit / 2).await;
        let (steps, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let started = Instant::now();
        let result = match &mut desk {
            Ok(desk) => {
                desk.advance_reserved(edition, &list, &steps, bounce_limit, Utc::now())
                    .await
            }
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        last_commit = started.elapsed();
        match result {
            Ok(claimed) => {
                for (reply, delivery) in replies.into_iter().zip(claimed) {
                    let _ = reply.send(Ok(delivery));
                }
            }
            Err(e) => {
                let message = format!("registre des envois : {}", crate::wording::chain(&e));
                for reply in replies {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}

/// Adds to `batch` the steps of the connections still at work, until each has given one or
/// `patience` has passed (the longest a step waits for others; capped, so that a connection
/// waiting for a slow server delays nobody much).
async fn gather(
    requests: &mut tokio::sync::mpsc::UnboundedReceiver<LedgerRequest>,
    batch: &mut Vec<LedgerRequest>,
    working: &AtomicUsize,
    patience: Duration,
) {
    let deadline = tokio::time::Instant::now() + patience.min(Duration::from_millis(5));
    while batch.len() < working.load(Ordering::Acquire) {
        match tokio::time::timeout_at(deadline, requests.recv_many(batch, 64)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

struct Shared {
    /// What is known of each subscriber of the list, for the templates' placeholders.
    people: std::collections::HashMap<i64, crate::model::SubscriberDetails>,
    store: Store,
    /// To the ledger's clerk (`keep_ledger`).
    desk: tokio::sync::mpsc::UnboundedSender<LedgerRequest>,
    /// Connections that will come back to the clerk soon (not ended, not waiting for a
    /// retry): how many steps the clerk waits for before committing.
    working: Arc<AtomicUsize>,
    /// One permit per core for building and signing messages.
    signing: tokio::sync::Semaphore,
    letter: Letter,
    list: String,
    secret: Secret,
    settings: MailSettings,
    edition: i64,
    limiter: governor::DefaultDirectRateLimiter,
    hourly: Mutex<HourlyWindow>,
    progress: Option<ProgressBar>,
    /// The next queued recipients, read ahead so that messages are signed during commits.
    reserve: Mutex<Reserve>,
    /// For the times said to the person waiting.
    timezone: chrono_tz::Tz,
    /// The end of the last wait announced, so that connections waiting for the same thing
    /// say it once.
    announced: std::sync::Mutex<Option<DateTime<Utc>>>,
    rounds: Rounds,
}

/// Queued recipients read ahead of their claims (`Store::reserve_queued`), handed out once each.
#[derive(Default)]
struct Reserve {
    waiting: VecDeque<ClaimedDelivery>,
    /// The last address read: the next read starts after it.
    after: Option<String>,
    /// No queued recipient left after `after`: claims take any due recipient.
    exhausted: bool,
}

/// How many recipients one read of the reserve takes: one query per this many messages.
const RESERVE_READ: usize = 256;

/// A message being built and signed, with the recipient it is for; the outer error is the
/// task's, the inner one the message's (a permanent refusal of this recipient).
type Building = tokio::task::JoinHandle<anyhow::Result<anyhow::Result<Formatted>>>;

/// Where the connections' rounds go, summed over the send (said at `VEILLE_LOG=debug`): what
/// the profile cannot show, since a connection mostly waits.
#[derive(Default)]
struct Rounds {
    count: AtomicU64,
    /// From the step handed to the ledger to its answer (the synced commit).
    commit: AtomicU64,
    /// From the step to the message built and signed.
    build: AtomicU64,
    /// From the ledger's answer to the server's reply to the final dot.
    after_commit: AtomicU64,
    /// The whole round.
    round: AtomicU64,
}

impl Rounds {
    fn add(slot: &AtomicU64, from: Instant, to: Instant) {
        let nanos = u64::try_from(to.saturating_duration_since(from).as_nanos()).unwrap_or(0);
        slot.fetch_add(nanos, Ordering::Relaxed);
    }

    fn tell(&self) {
        let n = self.count.load(Ordering::Relaxed).max(1) as f64;
        let ms = |slot: &AtomicU64| slot.load(Ordering::Relaxed) as f64 / n / 1e6;
        tracing::debug!(
            "tours des connexions : {n} ; en moyenne {:.2} ms, dont commit du registre {:.2} ms, \
             construction {:.2} ms, après le commit {:.2} ms",
            ms(&self.round),
            ms(&self.commit),
            ms(&self.build),
            ms(&self.after_commit)
        );
    }
}

/// The ledger's answer to a connection's step, once its commit is synced.
type Answer = tokio::sync::oneshot::Receiver<Result<Option<ClaimedDelivery>, String>>;

/// How often a send without a progress bar says where it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

impl Shared {
    /// One connection's loop: claim a recipient, send, record; wait for retries when only
    /// temporarily refused recipients are left.
    async fn work(self: Arc<Self>) -> anyhow::Result<()> {
        let session = super::SmtpSession::new(&self.settings);
        let result = match session {
            Ok(mut session) => {
                let result = self.work_with(&mut session).await;
                session.quit().await;
                result
            }
            Err(e) => Err(e),
        };
        self.working.fetch_sub(1, Ordering::AcqRel);
        result
    }

    async fn work_with(self: &Arc<Self>, session: &mut super::SmtpSession) -> anyhow::Result<()> {
        // The answer for the previous recipient goes to the ledger with the claim of the next.
        let mut finished: Option<(ClaimedDelivery, DeliveryOutcome)> = None;
        loop {
            let counted = finished.as_ref().is_some_and(|(_, outcome)| {
                !matches!(
                    outcome,
                    DeliveryOutcome::Temporary {
                        retry_at: Some(_),
                        ..
                    }
                )
            });
            // The next recipient's message is built, signed and transmitted while the commit
            // that marks it `sending` is synced; its final dot waits for that commit.
            let round = Instant::now();
            let reserved = self.reserved().await?;
            let building = reserved.clone().map(|d| self.build_soon(d));
            let claim = reserved.clone().map_or(Claim::Any, Claim::Reserved);
            let answer = self.ask(finished.take(), claim)?;
            let (claimed, early) = match (reserved, building) {
                (Some(reserved), Some((_, building))) => {
                    self.send_reserved(session, reserved, building, answer)
                        .await?
                }
                _ => (Self::answered(answer).await?, None),
            };
            if counted && let Some(bar) = &self.progress {
                bar.inc(1);
            }
            let Some(delivery) = claimed else {
                match self.store.next_retry(self.edition).await? {
                    Some(at) => {
                        let wait = (at - Utc::now()).to_std().unwrap_or_default();
                        if wait >= Duration::from_secs(1) {
                            self.announce_wait("refus temporaires, nouvel essai prévu", at);
                        }
                        self.working.fetch_sub(1, Ordering::AcqRel);
                        tokio::time::sleep(wait.max(Duration::from_millis(20))).await;
                        self.working.fetch_add(1, Ordering::AcqRel);
                        continue;
                    }
                    None => return Ok(()),
                }
            };
            let outcome = match early {
                Some(outcome) => outcome,
                None => {
                    // A reservation lost (taken by another sender, reader gone), or none:
                    // built now, sent after the commit that is already done.
                    let built = self.build_soon(delivery.clone()).1.await.map_err(|e| {
                        anyhow::anyhow!("construction du message interrompue : {e}")
                    })??;
                    self.limiter.until_ready().await;
                    self.wait_for_hourly_cap().await;
                    self.send_one(session, &delivery, built, std::future::ready(true))
                        .await?
                        .flatten()
                }
            };
            Rounds::add(&self.rounds.round, round, Instant::now());
            self.rounds.count.fetch_add(1, Ordering::Relaxed);
            match outcome {
                Some(outcome) => finished = Some((delivery, outcome)),
                None => {
                    if let Some(bar) = &self.progress {
                        bar.inc(1);
                    }
                }
            }
        }
    }

    /// Sends the reserved recipient's message while the commit claiming it is synced, its
    /// final dot withheld until that commit says the recipient is this connection's. Returns
    /// the recipient claimed, and the reserved one's outcome when it was claimed and sent
    /// (`Some(None)`: unknown, uncertain); None when the transaction was dropped undelivered.
    async fn send_reserved(
        self: &Arc<Self>,
        session: &mut super::SmtpSession,
        reserved: ClaimedDelivery,
        building: Building,
        answer: Answer,
    ) -> anyhow::Result<(Option<ClaimedDelivery>, Option<Option<DeliveryOutcome>>)> {
        let asked = Instant::now();
        let built = building.await;
        Rounds::add(&self.rounds.build, asked, Instant::now());
        let built = match built {
            Ok(Ok(built)) => built,
            Ok(Err(e)) => Err(e),
            Err(e) => {
                // The commit is under way: its answer is still awaited, so the ledger stays
                // in step with what this connection was told.
                let _ = Self::answered(answer).await;
                anyhow::bail!("construction du message interrompue : {e}");
            }
        };
        self.limiter.until_ready().await;
        self.wait_for_hourly_cap().await;
        let mut claimed = None;
        let mut committed = asked;
        let durable = async {
            let answer = Self::answered(answer).await;
            committed = Instant::now();
            let ours = matches!(&answer, Ok(Some(d)) if d.email == reserved.email);
            claimed = Some(answer);
            ours
        };
        let outcome = self.send_one(session, &reserved, built, durable).await?;
        Rounds::add(&self.rounds.commit, asked, committed);
        Rounds::add(&self.rounds.after_commit, committed, Instant::now());
        let claimed =
            claimed.unwrap_or_else(|| Err(anyhow::anyhow!("registre des envois sans réponse")))?;
        Ok((claimed, outcome))
    }

    /// The next queued recipient not yet handed to a connection, read ahead by batches;
    /// None once none is left (then claims take any due recipient: retries, stragglers).
    async fn reserved(&self) -> anyhow::Result<Option<ClaimedDelivery>> {
        let mut reserve = self.reserve.lock().await;
        if reserve.waiting.is_empty() && !reserve.exhausted {
            let read = self
                .store
                .reserve_queued(self.edition, reserve.after.as_deref(), RESERVE_READ)
                .await?;
            reserve.exhausted = read.len() < RESERVE_READ;
            if let Some(last) = read.last() {
                reserve.after = Some(last.email.clone());
            }
            reserve.waiting.extend(read);
        }
        Ok(reserve.waiting.pop_front())
    }

    /// Builds and signs `delivery`'s message on the blocking threads, at most one per core at
    /// a time, so the async threads keep answering the other connections' SMTP replies.
    fn build_soon(self: &Arc<Self>, delivery: ClaimedDelivery) -> (String, Building) {
        let shared = self.clone();
        let email = delivery.email.clone();
        let task = tokio::spawn(async move {
            let permit = shared.signing.acquire().await?;
            let builder = shared.clone();
            let built = tokio::task::spawn_blocking(move || builder.build(&delivery))
                .await
                .map_err(|e| anyhow::anyhow!("construction du message interrompue : {e}"))?;
            drop(permit);
            Ok(built)
        });
        (email, task)
    }

    /// Records `finished` and claims the next recipient, in the clerk's next commit; the
    /// answer comes once that commit is synced (`answered`).
    fn ask(
        &self,
        finished: Option<(ClaimedDelivery, DeliveryOutcome)>,
        claim: Claim,
    ) -> anyhow::Result<Answer> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let step = ReservedStep { finished, claim };
        self.desk
            .send((step, reply))
            .map_err(|_| anyhow::anyhow!("registre des envois fermé"))?;
        Ok(answer)
    }

    async fn answered(answer: Answer) -> anyhow::Result<Option<ClaimedDelivery>> {
        answer
            .await
            .map_err(|_| anyhow::anyhow!("registre des envois interrompu"))?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Waits while the hourly cap is reached, saying until when.
    async fn wait_for_hourly_cap(&self) {
        loop {
            let wait = self.hourly.lock().await.take();
            let Some(wait) = wait else { return };
            let until =
                Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::zero());
            self.announce_wait(
                &format!(
                    "plafond de {} messages par heure atteint",
                    self.settings.per_hour
                ),
                until,
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// The server's answer for one recipient; `Some(None)` when it is unknown (timeout
    /// during the transaction, connection broken once the message started to leave): the ledger keeps it `sending`, reported as uncertain. The
    /// message is delivered only once `durable` says yes; on no, None: nothing went.
    async fn send_one(
        self: &Arc<Self>,
        session: &mut super::SmtpSession,
        delivery: &ClaimedDelivery,
        built: anyhow::Result<Formatted>,
        durable: impl std::future::Future<Output = bool>,
    ) -> anyhow::Result<Option<Option<DeliveryOutcome>>> {
        let message = match built {
            Ok(m) => m,
            Err(e) => {
                return Ok(durable.await.then(|| {
                    Some(DeliveryOutcome::Permanent {
                        reply: format!("message impossible à construire : {e}"),
                    })
                }));
            }
        };
        let timeout = Duration::from_secs(self.settings.timeout_secs);
        let Some(result) = session
            .send_when(&message.envelope, &message.bytes, timeout, durable)
            .await
        else {
            return Ok(None);
        };
        // Refused by veille's own client (no SMTPUTF8 for `irène@…`): it would fail the same
        // way on every try, so it is final now, not a 4xx to retry for minutes.
        if let Ok(Err(e)) = &result
            && let Some(reason) = super::idn::client_refusal(&delivery.email, e)
        {
            return Ok(Some(Some(DeliveryOutcome::Permanent { reply: reason })));
        }
        Ok(Some(match result {
            Ok(Ok(response)) => Some(DeliveryOutcome::Sent {
                reply: format!(
                    "{} {}",
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Ok(Err(e)) if e.is_permanent() => Some(DeliveryOutcome::Permanent {
                reply: e.to_string(),
            }),
            Ok(Err(e)) if e.is_timeout() => {
                tracing::warn!("{} : délai dépassé pendant l'envoi ({e})", delivery.email);
                None
            }
            Ok(Err(e)) if e.is_reply_lost() => {
                tracing::warn!(
                    "{} : connexion rompue après l'envoi du message, sans réponse du serveur \
                     ({e}) ; le message a pu être remis : envoi incertain, pas de nouvel essai \
                     automatique",
                    delivery.email
                );
                None
            }
            Ok(Err(e)) => Some(DeliveryOutcome::Temporary {
                reply: e.to_string(),
                retry_at: self.retry_at(delivery.attempts),
            }),
            Err(_) => {
                tracing::warn!(
                    "{} : délai de {} s dépassé",
                    delivery.email,
                    timeout.as_secs()
                );
                None
            }
        }))
    }

    /// The signed message for one recipient, with its own links.
    fn build(&self, delivery: &ClaimedDelivery) -> anyhow::Result<Formatted> {
        let token = self
            .secret
            .sign(Purpose::Unsubscribe, delivery.subscriber, &self.list, None);
        let envelope_from = self.settings.bounce_address.as_deref().and_then(|address| {
            super::bounce::verp::envelope_sender(
                &self.secret,
                address,
                self.edition,
                delivery.subscriber,
            )
        });
        let preferences = self
            .secret
            .sign(Purpose::Preferences, delivery.subscriber, "", None);
        let nobody = crate::model::SubscriberDetails::default();
        let person = self.people.get(&delivery.subscriber).unwrap_or(&nobody);
        let recipient = super::message::Recipient {
            person,
            to: &delivery.email,
            token: &token,
            message_id: &delivery.message_id,
            date: SystemTime::now(),
        };
        self.letter.formatted_for(
            recipient,
            super::message::Delivery {
                envelope_from: envelope_from.as_deref(),
                preferences_token: Some(&preferences),
            },
        )
    }

    /// Says why the send waits and until when, above the progress bar or on stderr.
    fn announce_wait(&self, why: &str, until: DateTime<Utc>) {
        {
            let mut last = self.announced.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| (t - until).num_seconds().abs() < 2) {
                return;
            }
            *last = Some(until);
        }
        let line = format!(
            "envoi en attente ({why}) : prochain essai à {}",
            until.with_timezone(&self.timezone).format("%H:%M:%S")
        );
        match &self.progress {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Every `PROGRESS_EVERY`, where the send stands (until aborted when it ends).
    async fn tell_progress(&self) {
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let Ok(counts) = self.store.delivery_counts(self.edition).await else {
                continue;
            };
            let count = |s: &str| counts.get(s).copied().unwrap_or(0);
            let total: i64 = counts.values().sum();
            eprintln!(
                "envoi en cours : {} envoyé(s), {} échec(s), {} en attente sur {total}",
                count("sent"),
                count("failed_perm"),
                count("queued") + count("sending") + count("failed_temp"),
            );
        }
    }

    fn retry_at(&self, attempts: i64) -> Option<DateTime<Utc>> {
        if attempts >= i64::from(self.settings.max_attempts) {
            return None;
        }
        let factor = 1u64 << (attempts - 1).clamp(0, 16);
        let wait = self.settings.retry_secs.saturating_mul(factor);
        Some(Utc::now() + chrono::Duration::seconds(wait as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hourly_cap_waits_when_full() {
        let mut window = HourlyWindow::new(3, 1);
        assert_eq!(window.take(), None);
        assert_eq!(window.take(), None);
        let wait = window.take().expect("plafond atteint");
        assert!(wait > Duration::from_secs(3590), "{wait:?}");
        let mut unlimited = HourlyWindow::new(0, 0);
        assert!((0..10_000).all(|_| unlimited.take().is_none()));
    }
}
