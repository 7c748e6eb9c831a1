//! `[alerts]` end to end: the daemon (`veille run`, real process, compressed clock) polls a
//! source that fails, then recovers; the curators get one French mail for each change of
//! state through a real SMTP server (aiosmtpd), and `veille sources --failing` agrees.

mod support;

use std::time::Duration;

use support::daemon::RunningDaemon;
use support::server::{Route, TestServer};
use support::smtp::{Sink, inspect};
use support::{Workspace, rss};

fn daemon(ws: &Workspace, clock: &str) -> RunningDaemon {
    let mut command = ws.command(&["run"]);
    command.env("VEILLE_TEST_CLOCK", clock);
    RunningDaemon::start(command)
}

#[test]
fn a_failing_source_is_mailed_once_then_its_recovery() {
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    server.route("/a.xml", Route::status(500));
    // A literal string: the name carries double quotes, as hostile names may.
    let source = format!(
        "[[sources]]\nname = 'Journal \"local\"'\nfeed = \"{}\"\n",
        server.url("/a.xml")
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[schedule]\npoll = \"0 * * * *\"\npanoramas = []\n\n[mail]\nfrom = \"Veille <veille@example.org>\"\nsmtp = \"{}\"\n\n[alerts]\nto = [\"curateurs@example.org\"]\nalert_after_hours = 0\n\n{source}",
            sink.url(),
        ),
    );

    // Two passes while it fails (at start and at 10:00): one mail.
    let mut d = daemon(&ws, "2025-06-02T09:20:00+02:00..2025-06-02T10:10:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| h["poll_passes"] == 2);
    assert!(d.stop().success());
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{}", d.log());
    assert_eq!(sink.recipients(), vec!["curateurs@example.org"]);
    let mail = inspect(&messages[0].1);
    assert_eq!(
        mail["headers"]["subject"][0],
        "veille : la source « Journal \"local\" » est en erreur"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("Erreur : "), "{text}");
    assert!(text.contains("500"), "{text}");
    assert!(
        text.contains("veille check --fetch \"Journal \\\"local\\\"\""),
        "{text}"
    );
    assert_eq!(mail["defects"], serde_json::json!([]));

    let failing = ws.json(&["sources", "--failing", "--json"]);
    assert_eq!(failing.as_array().unwrap().len(), 1, "{failing}");
    assert_eq!(failing[0]["state"], "failing");

    // It recovers: the next pass mails once more, and the list is empty.
    server.route(
        "/a.xml",
        Route::rss(rss(&[("Premier", "https://a.example.org/1", "a1")])),
    );
    let fetched = ws.fetch(&["--force"]);
    assert_eq!(
        support::report(&fetched, "Journal \"local\"")["status"],
        "ok"
    );
    let mut d = daemon(&ws, "2025-06-02T11:20:00+02:00..2025-06-02T12:10:00+02:00");
    d.wait_health(Duration::from_secs(30), |h| h["poll_passes"] == 2);
    assert!(d.stop().success());
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{}", d.log());
    let mail = inspect(&messages[1].1);
    assert_eq!(
        mail["headers"]["subject"][0],
        "veille : la source « Journal \"local\" » fonctionne de nouveau"
    );
    assert_eq!(
        ws.json(&["sources", "--failing", "--json"]),
        serde_json::json!([])
    );
    let out = ws.run(&["sources", "--failing"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Aucune source en difficulté.\n"
    );
}
