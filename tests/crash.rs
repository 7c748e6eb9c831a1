//! Crash campaigns through the real binary: SIGKILL at random moments (seeded, the seed is
//! printed) of a fetch pass over many sources, of `retag`, of `reindex` and of a send to
//! 1,000 recipients, restarting after each kill. Then nothing is lost or doubled against a
//! clean reference run, the database passes `PRAGMA integrity_check`, the search index holds
//! exactly the store's articles, and no recipient is mailed twice.
//!
//! `VEILLE_CRASH_KILLS` kills per command (3 by default, so `make test` stays short; 30 for
//! the full campaign), `VEILLE_CRASH_SEED` to replay one.

mod faults;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use faults::{RULES_AFTER, RULES_BEFORE};
use support::Workspace;
use support::server::TestServer;
use support::smtp::Sink;

fn kills() -> usize {
    std::env::var("VEILLE_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

fn seed(campaign: &str) -> u64 {
    let seed = std::env::var("VEILLE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("campagne {campaign} : graine {seed} (VEILLE_CRASH_SEED={seed} pour la rejouer)");
    seed
}

/// Runs `args` to the end and returns how long it took.
fn timed(ws: &Workspace, args: &[&str]) -> Duration {
    let began = Instant::now();
    let out = ws.run(args);
    assert!(
        out.status.success(),
        "veille {args:?} : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    began.elapsed()
}

/// What the kills of one campaign hit.
#[derive(Default)]
struct Tally {
    killed: usize,
    finished_first: usize,
}

/// Starts `args`, waits `delay`, then SIGKILL (unless it already ended).
fn kill_after(ws: &Workspace, args: &[&str], delay: Duration, tally: &mut Tally) {
    let mut child = ws
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    if child.try_wait().unwrap().is_some() {
        tally.finished_first += 1;
        return;
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    tally.killed += 1;
}

/// `n` kills of `args`, each at a random moment of the run, T being a clean run's length:
/// uniform over [0, T] for a command that starts over (fetch, retag, reindex); over
/// [0, 2·T/n] for one that resumes where the last stopped (a send), so the kills together
/// cover the whole send rather than piling up at its start.
fn campaign(
    ws: &Workspace,
    args: &[&str],
    clean: Duration,
    (n, seed): (usize, u64),
    resumes: bool,
) -> Tally {
    let mut rng = fastrand::Rng::with_seed(seed);
    let span = if resumes {
        (clean.as_secs_f64() * 2.0 / n as f64).max(0.05)
    } else {
        clean.as_secs_f64()
    };
    let mut tally = Tally::default();
    for _ in 0..n {
        let delay = Duration::from_secs_f64(rng.f64() * span);
        kill_after(ws, args, delay, &mut tally);
    }
    println!(
        "veille {args:?} : {n} SIGKILL (exécution propre {clean:?}), {} en cours, {} déjà finies",
        tally.killed, tally.finished_first
    );
    tally
}

fn same_articles(ws: &Workspace, reference: &Workspace, what: &str) {
    let got = faults::articles(ws);
    let want = faults::articles(reference);
    assert_eq!(
        got.len(),
        want.len(),
        "{what} : {} articles, {} attendus",
        got.len(),
        want.len()
    );
    assert_eq!(got, want, "{what} : articles différents de la référence");
    assert_eq!(
        faults::stories(ws),
        faults::stories(reference),
        "{what} : histoires différentes de la référence"
    );
}

/// Fetch, then `retag` after a change of rules, then `reindex`: each killed `kills()` times,
/// then compared with the same steps run cleanly in another archive.
#[test]
fn kills_during_fetch_retag_and_reindex_lose_and_double_nothing() {
    let n = kills();
    let seed = seed("relève/retag/reindex");
    let (_server, sources) = faults::feeds();
    let settings = "concurrency = 4\nper_host = 4";
    let reference = Workspace::new(settings, &sources);
    let ws = Workspace::new(settings, &sources);
    faults::set_rules(&reference, RULES_BEFORE);
    faults::set_rules(&ws, RULES_BEFORE);

    let clean = timed(&reference, &["fetch", "--json"]);
    campaign(&ws, &["fetch", "--json"], clean, (n, seed), false);
    timed(&ws, &["fetch", "--json"]);
    same_articles(&ws, &reference, "relève");
    assert_eq!(faults::articles(&ws).len(), faults::SOURCES * faults::ITEMS);
    faults::assert_consistent(&ws, "après la relève");

    faults::set_rules(&reference, RULES_AFTER);
    faults::set_rules(&ws, RULES_AFTER);
    let clean = timed(&reference, &["retag", "--json"]);
    campaign(&ws, &["retag", "--json"], clean, (n, seed ^ 1), false);
    timed(&ws, &["retag", "--json"]);
    let tags = faults::tags(&ws);
    assert!(
        tags.iter().any(|t| t.contains("/art/0/1|pauvrete")),
        "le retag n'a pas appliqué les nouvelles règles"
    );
    assert_eq!(
        tags,
        faults::tags(&reference),
        "retag : classement différent de la référence"
    );
    same_articles(&ws, &reference, "retag");
    faults::assert_consistent(&ws, "après retag");

    let clean = timed(&reference, &["reindex", "--json"]);
    campaign(&ws, &["reindex", "--json"], clean, (n, seed ^ 2), false);
    // Between kills the index may be old or half-rebuilt; a completed run makes it whole.
    timed(&ws, &["reindex", "--json"]);
    same_articles(&ws, &reference, "reindex");
    faults::assert_consistent(&ws, "après reindex");
    assert_eq!(faults::tags(&ws), faults::tags(&reference));
}

/// A workspace whose mail goes to `sink`, with Flash Info n° 1 ready and `n` subscribers.
fn send_setup(sink: &Sink, n: usize) -> (TestServer, Workspace) {
    let (server, ws) = support::mail_workspace(
        &sink.url(),
        "connections = 4\nper_second = 1000\nretry_secs = 1",
        "",
    );
    ws.ready_to_send(&faults::subscribers_csv(n));
    (server, ws)
}

/// Delivery states in the ledger, address → state.
fn ledger(ws: &Workspace) -> std::collections::BTreeMap<String, String> {
    faults::rows(ws, "SELECT email || '|' || state FROM deliveries")
        .into_iter()
        .map(|r| {
            let (email, state) = r.split_once('|').unwrap();
            (email.to_string(), state.to_string())
        })
        .collect()
}

/// A send to 1,000 recipients killed `kills()` times: nobody gets two messages; everyone is
/// sent (received exactly once) or reported uncertain (received at most once).
#[test]
fn kills_during_a_send_to_1000_never_mail_anyone_twice() {
    const RECIPIENTS: usize = 1_000;
    let n = kills();
    let seed = seed("envoi");
    let send = ["edition", "send", "flash-info/1", "--json"];

    // The clean reference: how long a whole send takes, and that it reaches everyone once.
    let reference_sink = Sink::start(&[]);
    let (_s1, reference) = send_setup(&reference_sink, RECIPIENTS);
    let clean = timed(&reference, &send);
    let received = faults::counts(&reference_sink.recipients());
    assert_eq!(received.len(), RECIPIENTS);
    assert!(received.values().all(|&c| c == 1));

    let sink = Sink::start(&[]);
    let (_s2, ws) = send_setup(&sink, RECIPIENTS);
    let tally = campaign(&ws, &send, clean, (n, seed), true);
    let report = ws.json(&send);
    let uncertain: Vec<String> = report["uncertain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let received = faults::counts(&sink.recipients());
    let twice: Vec<_> = received.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "reçus plusieurs fois : {twice:?}");
    let states = ledger(&ws);
    assert_eq!(states.len(), RECIPIENTS);
    for (email, state) in &states {
        let got = received.get(email).copied().unwrap_or(0);
        match state.as_str() {
            "sent" => assert_eq!(got, 1, "{email} marqué envoyé, reçu {got} fois"),
            "sending" => assert!(uncertain.contains(email), "{email} incertain non signalé"),
            other => panic!("{email} dans l'état {other} après la reprise"),
        }
    }
    assert_eq!(
        report["sent"].as_u64().unwrap() as usize + uncertain.len(),
        RECIPIENTS,
        "{report:#}"
    );
    // At most one message in flight per connection when a kill lands.
    assert!(
        uncertain.len() <= 4 * tally.killed,
        "{} incertains pour {} interruptions",
        uncertain.len(),
        tally.killed
    );
    assert_eq!(faults::integrity(&ws), "ok");
    println!(
        "envoi de {RECIPIENTS} : {} SIGKILL en cours d'envoi, {} reçus, {} incertains (reçus : {}), aucun en double",
        tally.killed,
        received.len(),
        uncertain.len(),
        uncertain
            .iter()
            .filter(|u| received.contains_key(*u))
            .count()
    );
}
