//! The network edition through the real binary: several `veille run` processes, each with its
//! own archive folder, on one PostgreSQL (a throwaway cluster started here), polling the same
//! sources on a local HTTP server with random latencies, in compressed time. Each slot fetches
//! each source once across the processes (the server counts), no article is stored twice,
//! the stories are those of a single clean run, and a daemon killed mid-pass leaves its
//! leases to expire and the other finishes its slot.

mod faults;
mod support;

use std::time::Duration;

use support::Workspace;
use support::daemon::RunningDaemon;
use support::postgres::Postgres;

/// Hourly polling and nothing else, so the compressed clock only runs polling passes; a short
/// request timeout, so the lease of a killed daemon (twice the timeout, plus 10 s) expires soon.
const SCHEDULE: &str = "[schedule]\npoll = \"0 * * * *\"\npanoramas = []\n\n";
const SETTINGS: &str = "concurrency = 4\nper_host = 4\ntimeout_secs = 3";

/// Latencies drawn from `seed`, 0 to 150 ms per source.
fn latencies(seed: u64) -> impl Fn(usize) -> Duration {
    move |i| {
        let mut rng = fastrand::Rng::with_seed(seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
        Duration::from_millis(rng.u64(0..150))
    }
}

fn seed() -> u64 {
    let seed = std::env::var("VEILLE_NETWORK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("latences : graine {seed} (VEILLE_NETWORK_SEED={seed} pour la rejouer)");
    seed
}

fn daemon(ws: &Workspace, clock: &str) -> RunningDaemon {
    let mut command = ws.command(&["run"]);
    command.env("VEILLE_TEST_CLOCK", clock);
    RunningDaemon::start(command)
}

/// The same sources fetched once by a lone `veille fetch` in a fresh SQLite archive: the
/// stories every process sharing a store must agree with.
fn reference(sources: &str) -> Workspace {
    let reference = Workspace::new(SETTINGS, sources);
    faults::set_rules(&reference, faults::RULES_BEFORE);
    let out = reference.run(&["fetch", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    reference
}

fn sharing(url: &str, sources: &str) -> Workspace {
    let ws = Workspace::sharing(SETTINGS, &format!("{SCHEDULE}{sources}"), url);
    faults::set_rules(&ws, faults::RULES_BEFORE);
    ws
}

fn assert_same_store(ws: &Workspace, reference: &Workspace) {
    let articles = faults::articles(ws);
    let mut distinct = articles.clone();
    distinct.dedup();
    assert_eq!(
        articles.len(),
        distinct.len(),
        "article enregistré deux fois"
    );
    assert_eq!(articles, faults::articles(reference), "articles");
    assert_eq!(
        faults::stories(ws),
        faults::stories(reference),
        "histoires différentes de celles d'une relève seule"
    );
}

/// Sources a daemon's log says it fetched itself (ok or not modified), over its passes.
fn fetched_by(log: &str) -> usize {
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find("sources — ")? + "sources — ".len()..];
            let ok: usize = rest.split(' ').next()?.parse().ok()?;
            let rest = &rest[rest.find("ok, ")? + "ok, ".len()..];
            let unchanged: usize = rest.split(' ').next()?.parse().ok()?;
            Some(ok + unchanged)
        })
        .sum()
}

/// Stories as each process's `veille articles` shows them: the same partition.
fn stories_seen_by(ws: &Workspace) -> Vec<(String, i64)> {
    let mut seen: Vec<(String, i64)> = ws
        .articles()
        .iter()
        .map(|a| {
            (
                a["url"].as_str().unwrap().to_string(),
                a["story"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    seen
}

#[test]
fn two_daemons_fetch_every_source_once_per_slot_and_agree_on_stories() {
    let pg = Postgres::start();
    let url = pg.create_database("reseau");
    let (server, sources) = faults::feeds_delayed(latencies(seed()));
    let a = sharing(&url, &sources);
    let b = sharing(&url, &sources);
    // Monday 09:20 → Tuesday 04:10 in compressed time: a pass at start (for 09:00), then one
    // per hour from 10:00 to 04:00: 20 slots.
    let clock = "2025-06-02T09:20:00+02:00..2025-06-03T04:10:00+02:00";
    let mut da = daemon(&a, clock);
    let mut db = daemon(&b, clock);
    for d in [&da, &db] {
        d.wait_health(Duration::from_secs(240), |h| {
            h["poll_passes"] == 20 && h["clock"] == "2025-06-03T02:10:00Z"
        });
    }
    assert!(da.stop().success());
    assert!(db.stop().success());
    for i in 0..faults::SOURCES {
        assert_eq!(
            server.hits(&format!("/k{i}.xml")),
            20,
            "source {i} : une requête par créneau, pas plus, pas moins\n{}\n{}",
            da.log(),
            db.log()
        );
    }
    // Both did part of the work.
    for (name, d) in [("a", &da), ("b", &db)] {
        assert!(
            fetched_by(&d.log()) > 0,
            "le démon {name} n'a rien relevé :\n{}",
            d.log()
        );
    }
    assert_same_store(&a, &reference(&sources));
    assert_eq!(stories_seen_by(&a), stories_seen_by(&b));
}

#[test]
fn a_daemon_killed_mid_pass_leaves_its_slot_to_the_other() {
    let pg = Postgres::start();
    let url = pg.create_database("reseau");
    // Slow answers, so that the kill lands while the first daemon holds leases.
    let (server, sources) = faults::feeds_delayed(|_| Duration::from_millis(400));
    let a = sharing(&url, &sources);
    let b = sharing(&url, &sources);
    // One slot only: the pass at start, for 09:00.
    let clock = "2025-06-02T09:20:00+02:00..2025-06-02T09:30:00+02:00";
    let mut da = daemon(&a, clock);
    // Some of its requests answered: it holds leases and has stored part of the slot.
    let started = std::time::Instant::now();
    while (0..faults::SOURCES)
        .map(|i| server.hits(&format!("/k{i}.xml")))
        .sum::<usize>()
        < 8
    {
        assert!(started.elapsed() < Duration::from_secs(30), "{}", da.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    da.signal(libc::SIGKILL);
    let _ = da.wait_exit(Duration::from_secs(10));
    let mut db = daemon(&b, clock);
    db.wait_health(Duration::from_secs(120), |h| h["poll_passes"] == 1);
    assert!(db.stop().success());
    // Every source fetched in the slot: what the dead daemon had leased was taken over once
    // its leases expired (a request it had in flight may have been answered: at most one
    // more each).
    for i in 0..faults::SOURCES {
        let hits = server.hits(&format!("/k{i}.xml"));
        assert!(
            (1..=2).contains(&hits),
            "source {i} : {hits} requêtes\n{}",
            db.log()
        );
    }
    assert_same_store(&a, &reference(&sources));
    assert_eq!(stories_seen_by(&a), stories_seen_by(&b));
}
