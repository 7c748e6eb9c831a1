//! `veille serve` under abuse, as a real process: 500 slowloris connections holding
//! half-sent requests while `/healthz` still answers; security headers on real responses;
//! an oversized form refused; forms without a valid CSRF token refused.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::Workspace;
use support::web::{Served, form_token, free_port, post_form, post_raw, request};

#[test]
fn healthz_answers_while_500_connections_hold_half_sent_requests() {
    let ws = Workspace::new("", "");
    let served = Served::start(&ws, free_port());
    let mut idle = Vec::new();
    for _ in 0..500 {
        let mut s = TcpStream::connect(&served.addr).expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Lent: ")
            .expect("write");
        idle.push(s);
    }
    let began = Instant::now();
    let health = served.get("/healthz", &[]);
    let took = began.elapsed();
    println!("/healthz avec 500 connexions lentes ouvertes : {took:?}");
    assert_eq!(health.status, 200);
    // The issue asks for 1 s; the margin absorbs a loaded test machine.
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
    assert!(health.header("content-security-policy").is_some());
    assert!(health.header("referrer-policy").is_some());
    drop(idle);
}

#[test]
fn an_oversized_form_is_refused_and_every_answer_is_guarded() {
    let ws = Workspace::new("", "[lists.lettre]\ntitle = \"Lettre\"\n");
    let served = Served::start(&ws, free_port());
    let big = format!("email={}", "a".repeat(20_000));
    let length = big.len().to_string();
    let refused = request(
        &served.addr,
        "POST",
        "/abonnement",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &length),
        ],
        &big,
    );
    assert_eq!(refused.status, 413);
    assert!(String::from_utf8_lossy(&refused.body).contains("trop volumineuse"));
    let missing = served.get("/absente.html", &[("X-Forwarded-Proto", "https")]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-content-type-options"), Some("nosniff"));
    assert!(missing.header("strict-transport-security").is_some());
}

#[test]
fn the_subscription_form_has_a_global_cap_whatever_the_addresses() {
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Essai\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [web]\nsubscribe_per_minute = 100\nsubscribe_per_hour = 2\n\n[lists.lettre]\ntitle = \"Lettre\"\n",
            templates.display()
        ),
    );
    // Its own process with stderr to a file: `Served` closes the pipe after the first line,
    // and the rejected requests of this test are logged.
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(ws.dir.path().join("serve.log")).unwrap();
    let mut child = ws
        .command(&["serve", "--listen", &addr])
        .stderr(log)
        .spawn()
        .unwrap();
    let began = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "veille serve ne répond pas"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let post = |email: &str| {
        post_form(
            &addr,
            "/abonnement",
            "/abonnement",
            &format!("email={email}&liste=lettre"),
        )
    };
    // Invalid addresses do not use up the budget of real readers.
    // Invalid addresses do not use up the budget of real readers.
    assert_eq!(post("pas-une-adresse").status, 422);
    assert_eq!(post("un%40example.org").status, 200);
    assert_eq!(post("deux%40example.org").status, 200);
    // The per-IP limit (100) is far; the global one (2 an hour) is reached.
    let third = post("trois%40example.org");
    assert_eq!(third.status, 429);
    assert!(String::from_utf8_lossy(&third.body).contains("Trop de demandes"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn veille_serve_outlives_a_closed_stderr() {
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Essai\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [lists.lettre]\ntitle = \"Lettre\"\n",
            templates.display()
        ),
    );
    // `Served` reads the first line of stderr, then closes the pipe.
    let served = Served::start(&ws, free_port());
    let answer = served.submit(
        "/abonnement",
        "/abonnement",
        "email=un%40example.org&liste=lettre",
    );
    assert_eq!(answer.status, 200);
    // The confirmation fails without [mail] and is logged to the closed pipe.
    std::thread::sleep(Duration::from_millis(500));
    // A line logged inside a handler (a refused form) still gets its answer.
    assert_eq!(post_raw(&served.addr, "/abonnement", "email=x").status, 403);
    assert_eq!(served.get("/healthz", &[]).status, 200);
}

/// A `veille serve` with the team's templates and one list, logging to a file.
fn serve_with_templates(ws: &Workspace) -> (std::process::Child, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(ws.dir.path().join("serve.log")).unwrap();
    let child = ws
        .command(&["serve", "--listen", &addr])
        .stderr(log)
        .spawn()
        .unwrap();
    let began = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "veille serve ne répond pas"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

#[test]
fn forms_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let ws = Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Essai\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [lists.lettre]\ntitle = \"Lettre\"\n",
            templates.display()
        ),
    );
    let (mut child, addr) = serve_with_templates(&ws);
    let body = "email=un%40example.org&liste=lettre";
    let refused = |answer: support::http::Response, what: &str| {
        assert_eq!(answer.status, 403, "{what} : {}", answer.text());
        let text = answer.text();
        assert!(text.contains("Formulaire refusé"), "{what} : {text}");
        assert!(
            text.contains("href=\"/abonnement\""),
            "{what} : a fresh form"
        );
        assert!(
            text.contains("<html lang=\"fr\""),
            "{what} : the site's page"
        );
    };
    refused(post_raw(&addr, "/abonnement", body), "sans jeton");
    refused(
        post_raw(&addr, "/abonnement", &format!("{body}&csrf=")),
        "jeton vide",
    );
    let token = form_token(&addr, "/abonnement");
    let (issued, mac) = token.split_once('.').unwrap();
    let mut altered = mac.to_string();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    refused(
        post_raw(
            &addr,
            "/abonnement",
            &format!("{body}&csrf={issued}.{altered}"),
        ),
        "jeton altéré",
    );
    // Moving the date of a real token forward breaks its signature.
    let later: i64 = issued.parse::<i64>().unwrap() + 3600;
    refused(
        post_raw(&addr, "/abonnement", &format!("{body}&csrf={later}.{mac}")),
        "date du jeton changée",
    );
    // A token of another form.
    let other = form_token(&addr, "/abonnement/lien");
    refused(
        post_raw(&addr, "/abonnement", &format!("{body}&csrf={other}")),
        "jeton d'un autre formulaire",
    );
    // An expired token, signed with the archive's own secret five hours ago.
    let secret = veille::mail::token::Secret::load(&ws.archive()).unwrap();
    let old = veille::web::csrf::issue(
        &secret,
        "/abonnement",
        chrono::Utc::now() - chrono::Duration::hours(5),
    );
    refused(
        post_raw(&addr, "/abonnement", &format!("{body}&csrf={old}")),
        "jeton expiré",
    );
    // A valid token, but the browser says the form came from another site.
    let cross = format!("{body}&csrf={token}");
    let length = cross.len().to_string();
    refused(
        request(
            &addr,
            "POST",
            "/abonnement",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Content-Length", &length),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            &cross,
        ),
        "autre site",
    );
    let listed = ws.json(&["subscribers", "list", "--json"]);
    assert_eq!(listed, serde_json::json!([]), "nothing recorded");
    // The round trip of a real form works, and its token can be used again within its
    // window (a reader who corrects a typo).
    assert_eq!(post_raw(&addr, "/abonnement", &cross).status, 200);
    assert_eq!(
        post_form(&addr, "/abonnement", "/abonnement", body).status,
        200
    );
    let log = std::fs::read_to_string(ws.dir.path().join("serve.log")).unwrap();
    assert!(log.contains("jeton anti-CSRF expiré"), "{log}");
    let _ = child.kill();
    let _ = child.wait();
}
