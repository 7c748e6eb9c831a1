//! `veille run`, `veille schedule` and `veille status` through the real binary: schedules
//! against Python croniter around the 2025 and 2026 clock changes, catch-up after a
//! downtime (injected clock, no waiting), SIGTERM during slow fetches, SIGHUP with a broken
//! file, a second instance, and `/metrics` read by the official Python parser.
//!
//! The clock is injected with the hidden `VEILLE_TEST_CLOCK` (see `schedule::clock`):
//! `START..END` compresses time (each wait for a slot ends at once, up to END), `START` shifts
//! the clock and lets it run at the real pace.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::daemon::RunningDaemon;
use support::server::{Route, TestServer};
use support::{Workspace, feed_source, rss};

fn python() -> std::path::PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} absent : lancez `make deps` (croniter et prometheus-client dans le venv)",
        python.display()
    );
    python
}

/// Runs a Python oracle of `tests/oracle/` with `input` on stdin; parses its JSON output.
fn oracle(script: &str, input: &str) -> Value {
    let mut child = Command::new(python())
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/oracle")
                .join(script),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} a échoué :\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

fn daemon(ws: &Workspace, clock: &str) -> RunningDaemon {
    let mut command = ws.command(&["run"]);
    command.env("VEILLE_TEST_CLOCK", clock);
    RunningDaemon::start(command)
}

/// The local wall-clock part of an RFC 3339 time with offset ("2025-10-26T02:30:00").
fn wall(t: &str) -> &str {
    &t[..19]
}

#[test]
fn schedules_match_croniter_around_the_clock_changes() {
    let ws = Workspace::new("", "");
    let exprs = ["0 2 * * *", "30 2 * * *", "*/15 * * * *", "0 7 * * 1-5"];
    // The four changes in Europe/Paris: spring forward (2:00 → 3:00) and fall back
    // (3:00 → 2:00), in 2025 and 2026.
    let days = [
        ("2025-03-30", "+01:00", "printemps"),
        ("2025-10-26", "+02:00", "automne"),
        ("2026-03-29", "+01:00", "printemps"),
        ("2026-10-25", "+02:00", "automne"),
    ];
    let mut cases = Vec::new();
    for (day, offset, season) in days {
        for expr in exprs {
            // Daily patterns: from two days before, over a week; every 15 minutes: from
            // 01:00 on the day, over three hours.
            let (from, count) = if expr.starts_with("*/15") {
                (format!("{day}T01:00:00{offset}"), 13)
            } else {
                let before = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
                    - chrono::Days::new(2);
                (format!("{before}T00:00:00{offset}"), 6)
            };
            cases.push((expr, from, count, season));
        }
    }
    let request = serde_json::json!({
        "timezone": "Europe/Paris",
        "cases": cases.iter().map(|(e, f, c, _)| serde_json::json!([e, f, c])).collect::<Vec<_>>(),
    });
    let croniter = oracle("croniter_oracle.py", &request.to_string());
    let mut identical = 0;
    let mut differences = Vec::new();
    for (i, (expr, from, count, season)) in cases.iter().enumerate() {
        let veille = ws.json(&[
            "schedule",
            expr,
            "--from",
            from,
            "--count",
            &count.to_string(),
            "--json",
        ]);
        let veille: Vec<&str> = veille
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let theirs: Vec<&str> = croniter[i]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if veille == theirs {
            identical += 1;
            continue;
        }
        // The one deliberate difference: in the repeated hour of autumn, a fixed-time job
        // (one minute, one hour) runs once, at the first of the two instants; croniter runs
        // it at both. Interval jobs run in both copies of the hour, in both libraries.
        let fixed = !expr.contains('*') || expr.split(' ').take(2).all(|f| !f.contains('*'));
        assert!(
            fixed && *season == "automne",
            "{expr} depuis {from} : veille {veille:?} ≠ croniter {theirs:?}"
        );
        let mut once: Vec<&str> = Vec::new();
        let mut dropped = Vec::new();
        for t in &theirs {
            match once.last() {
                Some(prev) if wall(prev) == wall(t) => dropped.push(*t),
                _ => once.push(t),
            }
        }
        // croniter's extra run is the second 02:xx, in winter time.
        assert_eq!(dropped.len(), 1, "{expr} depuis {from} : {theirs:?}");
        assert!(dropped[0].ends_with("+01:00"), "{dropped:?}");
        assert_eq!(
            veille[..once.len()],
            once,
            "{expr} depuis {from} : veille {veille:?}, croniter sans la 2e occurrence {once:?}"
        );
        differences.push(format!(
            "{expr} à l'{season} ({from}) : croniter ajoute {}",
            dropped[0]
        ));
    }
    println!(
        "DST : {} vecteurs, {identical} identiques à croniter, {} différence(s) voulue(s) :",
        cases.len(),
        differences.len()
    );
    for d in &differences {
        println!("  {d}");
    }
    // 0 2 and 30 2, at both autumn changes; nothing else.
    assert_eq!(differences.len(), 4, "{differences:#?}");
    // And the spring gap: both run at 03:00, right after it.
    let spring = ws.json(&[
        "schedule",
        "30 2 * * *",
        "--from",
        "2026-03-29T00:00:00+01:00",
        "--count",
        "1",
        "--json",
    ]);
    assert_eq!(spring[0], "2026-03-29T03:00:00+02:00");
}

#[test]
fn schedule_and_check_explain_mistakes() {
    let ws = Workspace::new("", "[schedule]\npoll = \"*/30 6-21 * * 1-5\"\n");
    let out = ws.run(&["schedule", "0 25 * * *"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("champ « heure » invalide"), "{stderr}");
    assert!(stderr.contains("aide : 5 champs"), "{stderr}");
    let check = ws.json(&["check", "--json"]);
    let jobs: Vec<&str> = check["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert!(jobs.contains(&"panorama:pauvrete"), "{jobs:?}");
    assert!(jobs.contains(&"draft:flash-info"), "{jobs:?}");

    let bad = Workspace::new("", "[schedule]\npanoramas = \"0 7 * * 8\"\n");
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = std::fs::read_to_string(bad.config())
        .unwrap()
        .lines()
        .position(|l| l.starts_with("panoramas"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("feeds.toml:{line}:22: expression de planification « 0 7 * * 8 » : champ « jour de la semaine » invalide")),
        "{stderr}"
    );
}

#[test]
fn a_downtime_is_caught_up_once_at_start() {
    let server = TestServer::start();
    server.route(
        "/a.xml",
        Route::rss(rss(&[("Premier", "https://a.example.org/1", "a1")])),
    );
    // Hourly polling; no panorama (no templates here); drafts on their default cadence.
    let ws = Workspace::new(
        "",
        &format!(
            "[schedule]\npoll = \"0 * * * *\"\npanoramas = []\n\n{}",
            feed_source("A", &server.url("/a.xml"))
        ),
    );

    // Monday 2 June 2025, 09:20 → 12:10 in compressed time: the first start polls at once,
    // then at 10:00, 11:00 and 12:00.
    let mut d = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T12:10:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| {
        h["poll_passes"] == 4 && h["clock"] == "2025-06-02T10:10:00Z"
    });
    assert!(d.stop().success());
    assert_eq!(server.hits("/a.xml"), 4);

    // Down until Tuesday 18:30: 30 hourly slots missed; one run at start, for 18:00, then
    // nothing before 19:00 (real pace from 18:30).
    let mut d = daemon(&ws, "2025-06-03T18:30:00+02:00");
    // `poll_passes` grows when the pass ends, `job_runs` once the run is recorded just after:
    // wait for the run to be counted before reading it.
    d.wait_health(Duration::from_secs(30), |h| {
        h["poll_passes"] == 1 && h["job_runs"] != 0
    });
    let health = d.health();
    assert_eq!(health["daemon"]["job_runs"], 1, "{health:#}");
    assert_eq!(health["daemon"]["next_wake"], "2025-06-03T17:00:00Z");
    assert!(
        d.log()
            .contains("rattrapage : « relève de 1 source » a manqué 30 passages"),
        "{}",
        d.log()
    );
    assert!(d.stop().success());
    assert_eq!(server.hits("/a.xml"), 5);
    let status = ws.json(&["status", "--json"]);
    let poll = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "poll:0 * * * *")
        .unwrap();
    assert_eq!(poll["runs"], 5);
    assert_eq!(poll["next_run"], "2025-06-03T17:00:00Z");
    assert!(status["reminders"].as_array().unwrap().is_empty());

    // Down over 1 July 08:00: each edition draft is created once, for its period, and the
    // curators are reminded.
    let mut d = daemon(&ws, "2025-07-02T10:00:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| h["job_runs"] == 3);
    d.wait_for_log(
        "édition à préparer : lettre-pauvrete/1",
        Duration::from_secs(5),
    );
    assert!(d.stop().success());
    let status = ws.json(&["status", "--json"]);
    let reminders: Vec<(String, String, String)> = status["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!("{}/{}", r["kind"].as_str().unwrap(), r["number"]),
                r["period_start"].as_str().unwrap().to_string(),
                r["period_end"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reminders,
        [
            (
                "flash-info/1".to_string(),
                "2025-07-01".to_string(),
                "2025-07-31".to_string()
            ),
            (
                "lettre-pauvrete/1".to_string(),
                "2025-07-01".to_string(),
                "2025-08-31".to_string()
            ),
        ]
    );
    let text = ws.run(&["status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Démon : arrêté"), "{text}");
    assert!(text.contains("édition à préparer : flash-info/1"), "{text}");
}

#[test]
fn sigterm_during_slow_fetches_exits_cleanly_within_ten_seconds() {
    let server = TestServer::start();
    let mut sources = String::new();
    // One source that never answers in time, then 29 that take 1.5 s each; 4 at a time.
    for n in 0..30 {
        let path = format!("/slow/{n}.xml");
        let items: Vec<(String, String, String)> = (0..5)
            .map(|i| {
                (
                    format!("Zorglub {n} nouvelle {i}"),
                    format!("https://s{n}.example.org/{i}"),
                    format!("s{n}-{i}"),
                )
            })
            .collect();
        let items: Vec<(&str, &str, &str)> = items
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        let delay = if n == 0 {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(1500)
        };
        server.route(&path, Route::rss(rss(&items)).delayed(delay));
        sources.push_str(&feed_source(&format!("Lente {n}"), &server.url(&path)));
    }
    let ws = Workspace::new(
        "concurrency = 4\nper_host = 4\ntimeout_secs = 120",
        &format!("[schedule]\npanoramas = []\n\n{sources}"),
    );
    let mut d = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T09:20:00+02:00");
    // Wait until the first fetches are in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (0..30)
        .map(|n| server.hits(&format!("/slow/{n}.xml")))
        .sum::<usize>()
        < 4
    {
        assert!(std::time::Instant::now() < deadline, "{}", d.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    d.signal(libc::SIGTERM);
    let (status, elapsed) = d.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}\n{}", d.log());
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let log = d.log();
    assert!(log.contains("SIGTERM reçu"), "{log}");
    assert!(log.contains("tâche interrompue après 5 s"), "{log}");
    assert!(log.contains("veille run arrêté"), "{log}");

    // The store is whole: each source has all of its articles or none; the slow ones in
    // flight finished, the hanging one and those not started have nothing.
    let articles = ws.articles();
    let mut per_source: HashMap<String, usize> = HashMap::new();
    for a in &articles {
        *per_source
            .entry(a["source"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(per_source.values().all(|&n| n == 5), "{per_source:?}");
    assert!(!per_source.contains_key("Lente 0"), "{per_source:?}");
    assert!(
        (3..29).contains(&per_source.len()),
        "{} sources enregistrées",
        per_source.len()
    );
    // …and the search index, which the daemon created and committed before leaving, holds
    // exactly them (`search` would rebuild a missing index, so check it is there first).
    assert!(log.contains("arrêt : index de recherche"), "{log}");
    assert!(ws.archive().join("search").is_dir());
    let found = ws.json(&["search", "zorglub", "--limit", "1000", "--json"]);
    let indexed: usize = found
        .as_array()
        .unwrap()
        .iter()
        .map(|story| story["matched"].as_array().unwrap().len())
        .sum();
    assert_eq!(indexed, articles.len(), "{log}");
    // The pass that was cut is not recorded: the next start catches it up.
    let status = ws.json(&["status", "--json"]);
    assert_eq!(status["jobs"][0]["runs"], 0, "{status:#}");
    assert_eq!(status["daemon"]["running"], false);
}

#[test]
fn sighup_reloads_and_a_broken_file_keeps_the_old_config() {
    let server = TestServer::start();
    server.route(
        "/a.xml",
        Route::rss(rss(&[("Un", "https://a.example.org/1", "a1")])),
    );
    let one = format!(
        "[schedule]\npanoramas = []\n\n{}",
        feed_source("A", &server.url("/a.xml"))
    );
    let ws = Workspace::new("", &one);
    let good = std::fs::read_to_string(ws.config()).unwrap();
    let mut d = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T09:20:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| h["poll_passes"] == 1);
    assert_eq!(d.health()["daemon"]["sources"], 1);

    // A mistake: an hour 25 in the polling schedule.
    let broken = good.replace("[schedule]\n", "[schedule]\npoll = \"0 25 * * *\"\n");
    std::fs::write(ws.config(), &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l.starts_with("poll = "))
        .unwrap()
        + 1;
    d.signal(libc::SIGHUP);
    let error = d.wait_for_log("champ « heure » invalide", Duration::from_secs(10));
    assert!(
        error.contains(&format!("feeds.toml:{line}:11:")),
        "{error}\n{}",
        d.log()
    );
    d.wait_for_log(
        "configuration non rechargée (1 erreur) : l'ancienne reste en service",
        Duration::from_secs(5),
    );
    let health = d.health();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["daemon"]["sources"], 1);
    assert_eq!(health["daemon"]["reloads_failed"], 1);
    assert!(
        health["daemon"]["last_reload_error"]
            .as_str()
            .unwrap()
            .contains(&format!("feeds.toml:{line}:11")),
        "{health:#}"
    );

    // Fixed, with a second source: taken at the next SIGHUP.
    server.route(
        "/b.xml",
        Route::rss(rss(&[("Deux", "https://b.example.org/1", "b1")])),
    );
    std::fs::write(
        ws.config(),
        format!("{good}\n{}", feed_source("B", &server.url("/b.xml"))),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for_log(
        "configuration rechargée : 2 sources",
        Duration::from_secs(10),
    );
    let health = d.health();
    assert_eq!(health["daemon"]["sources"], 2);
    assert_eq!(health["daemon"]["reloads_ok"], 1);
    assert!(health["daemon"]["last_reload_error"].is_null());
    assert!(d.stop().success());
}

#[test]
fn a_second_daemon_on_the_same_archive_is_refused() {
    let ws = Workspace::new("", "[schedule]\npanoramas = []\n");
    let mut first = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T09:20:00+02:00");
    let out = ws
        .command(&["run", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "un démon `veille run` tourne déjà sur cette archive (pid {})",
            first.pid()
        )),
        "{stderr}"
    );
    let status = String::from_utf8_lossy(&ws.run(&["status"]).stdout).into_owned();
    assert!(
        status.contains(&format!("Démon : en marche (pid {})", first.pid())),
        "{status}"
    );
    assert!(first.stop().success());
    // Once it is gone, a new one starts.
    let mut again = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T09:20:00+02:00");
    assert!(again.stop().success());
}

#[test]
fn metrics_parse_as_prometheus_text() {
    let server = TestServer::start();
    server.route(
        "/ok.xml",
        Route::rss(rss(&[
            ("Un", "https://ok.example.org/1", "o1"),
            ("Deux", "https://ok.example.org/2", "o2"),
        ])),
    );
    server.route("/ko.xml", Route::status(500));
    // Names that need escaping in label values.
    let tricky = r#"Le \"Quotidien\" \\ édition"#;
    let tricky_value = r#"Le "Quotidien" \ édition"#;
    let ws = Workspace::new(
        "",
        &format!(
            "[schedule]\npanoramas = []\n\n[[sources]]\nname = \"{tricky}\"\nfeed = \"{}\"\n\n{}",
            server.url("/ok.xml"),
            feed_source("En panne", &server.url("/ko.xml"))
        ),
    );
    let mut d = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T09:20:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| h["job_runs"] == 1);
    let response = support::http::request(&d.addr, "GET", "/metrics", &[], "");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let families = oracle("prometheus_parse.py", &response.text());
    let sample = |family: &str, label: &str, value: &str| -> f64 {
        families[family]["samples"]
            .as_array()
            .unwrap_or_else(|| panic!("{family} absent :\n{}", response.text()))
            .iter()
            .find(|s| s[1][label] == value)
            .unwrap_or_else(|| panic!("{family}{{{label}=\"{value}\"}} absent"))[2]
            .as_f64()
            .unwrap()
    };
    let single = |family: &str| families[family]["samples"][0][2].as_f64().unwrap();
    // Counters lose their `_total` in the family name, as the parser reads them.
    assert_eq!(families["veille_source_fetches"]["type"], "counter");
    assert_eq!(sample("veille_source_fetches", "source", tricky_value), 1.0);
    assert_eq!(sample("veille_source_fetches", "source", "En panne"), 1.0);
    assert_eq!(
        sample("veille_source_fetch_errors", "source", "En panne"),
        1.0
    );
    assert_eq!(
        sample("veille_source_fetch_errors", "source", tricky_value),
        0.0
    );
    assert_eq!(
        families["veille_source_last_success_age_seconds"]["type"],
        "gauge"
    );
    assert!(
        sample(
            "veille_source_last_success_age_seconds",
            "source",
            tricky_value
        ) < 60.0
    );
    assert_eq!(
        families["veille_source_last_success_age_seconds"]["samples"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "no age for a source that never succeeded"
    );
    assert_eq!(
        sample("veille_source_consecutive_errors", "source", "En panne"),
        1.0
    );
    assert_eq!(single("veille_articles_ingested"), 2.0);
    assert_eq!(single("veille_articles"), 2.0);
    assert_eq!(single("veille_stories"), 2.0);
    assert_eq!(families["veille_deliveries"]["type"], "gauge");
    assert_eq!(
        sample(
            "veille_job_runs",
            "job",
            "poll:*/30 6-21 * * 1-5 | 0 * * * *"
        ),
        1.0
    );
    assert_eq!(sample("veille_config_reloads", "result", "error"), 0.0);
    assert!(
        families["veille_daemon_start_time_seconds"]["help"]
            .as_str()
            .unwrap()
            .contains("démarrage")
    );

    // `veille status` says the same for a person.
    let status = ws.json(&["status", "--json"]);
    assert_eq!(status["daemon"]["running"], true);
    assert_eq!(status["totals"]["articles"], 2);
    let text = String::from_utf8_lossy(&ws.run(&["status"]).stdout).into_owned();
    assert!(text.contains("Sources : 2 dont 1 en erreur"), "{text}");
    assert!(text.contains("Articles : 2 ; histoires : 2"), "{text}");
    assert!(d.stop().success());
}
