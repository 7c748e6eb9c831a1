//! The people of two centres on one PostgreSQL, through the real binary, the real SMTP sink
//! and two `veille serve`: each centre imports, lists and exports only its own subscribers
//! (one address is on both lists), A's edition goes to A's audience only, A's erasure and
//! A's bounces touch A's subscriber only, and a signed link of A's subscriber opened on B's
//! `veille serve` changes nothing (the French "lien non valable" page, 400) while it works
//! on A's. Both centres sign with the same secret here, the hardest case: the link itself
//! verifies on B, and only the centre of its subscriber stops it.

mod support;

use std::collections::BTreeMap;

use support::dovecot::{self, Dovecot};
use support::smtp::{self, Sink};
use support::web::{self, Served};
use support::{Workspace, centres, subscriber_statuses as statuses};

const SHARED: &str = "partage@exemple.fr";

/// A centre's workspace on the database at `url`: its site served at `base`, mailing
/// through `sink`, reading its bounces from `bounces` (a `[bounces]` line), else from its own
/// maildir.
fn centre(
    url: &str,
    (sink, bounces): (&Sink, Option<&str>),
    feed: &str,
    (id, name): (&str, &str),
    base: &str,
) -> Workspace {
    let ws = centres::centre(id, name)
        .publish(&format!("site_name = \"{name}\"\nbase_url = \"{base}\"\n"))
        .tables(&format!(
            "[mail]\nfrom = \"{name} <lettre@{id}.example>\"\nsmtp = \"{}\"\n\
             bounce_address = \"retours@{id}.example\"\nper_second = 500\n\n\
             [bounces]\n{}\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n",
            sink.url(),
            bounces.unwrap_or("maildir = \"MAILDIR\"")
        ))
        .feed(feed)
        .on(url);
    let maildir = ws.dir.path().join("retours");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let config = std::fs::read_to_string(ws.config()).unwrap();
    std::fs::write(
        ws.config(),
        config.replace("MAILDIR", maildir.to_str().unwrap()),
    )
    .unwrap();
    ws
}

/// One signing secret for both archives (`archive/secret.key`, owner-only).
fn share_secret(centres: &[&Workspace]) {
    use std::os::unix::fs::PermissionsExt;
    let key = [0x5au8; 48];
    for ws in centres {
        std::fs::create_dir_all(ws.archive()).unwrap();
        let path = ws.archive().join("secret.key");
        std::fs::write(&path, key).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(e, s)| (e.to_string(), s.to_string()))
        .collect()
}

/// The addresses of `veille subscribers export`'s CSV.
fn exported(ws: &Workspace) -> Vec<String> {
    let out = ws.run(&["subscribers", "export"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(';').next().unwrap().to_string())
        .collect()
}

/// The web links of A's message to `to`: (unsubscribe path, preferences path).
fn links_of(sink: &Sink, to: &str, base: &str) -> (String, String) {
    let (_, eml) = sink
        .messages()
        .into_iter()
        .find(|(m, _)| m["rcpt_tos"][0].as_str() == Some(to))
        .unwrap_or_else(|| panic!("pas de message à {to}"));
    let m = smtp::inspect(&eml);
    let header = m["headers"]["list-unsubscribe"][0].as_str().unwrap();
    let unsubscribe = header
        .split(['<', '>'])
        .find(|p| p.starts_with(base))
        .unwrap()[base.len()..]
        .to_string();
    let text = m["text"].as_str().unwrap();
    let start = text
        .find(&format!("{base}/preferences/"))
        .expect("lien de préférences");
    let preferences: String = text[start + base.len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    (unsubscribe, preferences)
}

fn one_click(served: &Served, path: &str) -> support::http::Response {
    let body = "List-Unsubscribe=One-Click";
    web::request(
        &served.addr,
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &body.len().to_string()),
        ],
        body,
    )
}

/// A's links opened on B's serve: the French refusal, nothing changed anywhere; the same
/// links work on A's serve.
fn links_stay_with_their_centre(a: &Workspace, b: &Workspace, sink: &Sink, bases: (&str, &str)) {
    let served_a = Served::start(a, bases.0.rsplit(':').next().unwrap().parse().unwrap());
    let served_b = Served::start(b, bases.1.rsplit(':').next().unwrap().parse().unwrap());
    let (a_before, b_before) = (statuses(a), statuses(b));
    for to in [SHARED, "anne@exemple.fr"] {
        let (unsubscribe, preferences) = links_of(sink, to, bases.0);
        for page in [
            served_b.get(&unsubscribe, &[]),
            served_b.get(&preferences, &[]),
        ] {
            assert_eq!(page.status, 400, "{}", page.text());
            assert!(page.text().contains("Lien non valable"), "{}", page.text());
        }
        let refused = one_click(&served_b, &unsubscribe);
        assert_eq!(refused.status, 400, "{}", refused.text());
        assert!(refused.text().contains("Lien non valable"));
        // The link is refused before the form is even looked at.
        let leave = web::post_raw(&served_b.addr, &preferences, "action=tout");
        assert_eq!(leave.status, 400, "{}", leave.text());
    }
    assert_eq!(statuses(a), a_before);
    assert_eq!(statuses(b), b_before);
    // On A's serve, Anne's own link works.
    let (unsubscribe, preferences) = links_of(sink, "anne@exemple.fr", bases.0);
    let page = served_a.get(&preferences, &[]);
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("anne@exemple.fr"));
    let done = one_click(&served_a, &unsubscribe);
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Désinscription faite"));
    assert_eq!(statuses(a)["anne@exemple.fr"], "unsubscribed");
    assert_eq!(statuses(b), b_before);
}

/// An abuse complaint about the shared address, in A's mailbox.
fn complaint_about_shared(a: &Workspace) {
    let arf = format!(
        "From: feedback@fai.exemple\r\nTo: retours@rt.example\r\nSubject: Abuse report\r\n\
         Message-Id: <arf-1@fai.exemple>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
         --F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n\
         --F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n\
         User-Agent: fai/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: {SHARED}\r\n\r\n\
         --F\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: lettre@rt.example\r\n\
         To: {SHARED}\r\nSubject: Flash Info\r\n\r\n--F--\r\n"
    );
    std::fs::write(a.dir.path().join("retours/new/1.eml"), arf).unwrap();
    let report = a.json(&["bounces", "fetch", "--json"]);
    assert_eq!(report["messages"], 1, "{report:#}");
}

#[test]
fn each_centre_reaches_and_manages_only_its_own_subscribers() {
    let (_pg, url) = centres::shared_database("centres_people");
    let sink = Sink::start(&[]);
    let (_server, feed) = centres::recent_article_feed();
    let base_a = format!("http://127.0.0.1:{}", web::free_port());
    let base_b = format!("http://127.0.0.1:{}", web::free_port());
    let a = centre(
        &url,
        (&sink, None),
        &feed,
        ("rt", "Ressources & Territoires"),
        &base_a,
    );
    let b = centre(&url, (&sink, None), &feed, ("labo", "Labo Cités"), &base_b);
    share_secret(&[&a, &b]);

    let imported = a.import_subscribers(&format!(
        "Courriel\n{SHARED}\nanne@exemple.fr\nalix@exemple.fr\n"
    ));
    assert_eq!(imported["imported"], 3, "{imported:#}");
    let imported = b.import_subscribers(&format!("Courriel\n{SHARED}\nbruno@exemple.fr\n"));
    assert_eq!(imported["imported"], 2, "{imported:#}");
    let active = |emails: &[&str]| map(&emails.iter().map(|e| (*e, "active")).collect::<Vec<_>>());
    assert_eq!(
        statuses(&a),
        active(&["alix@exemple.fr", "anne@exemple.fr", SHARED])
    );
    assert_eq!(statuses(&b), active(&["bruno@exemple.fr", SHARED]));
    assert_eq!(exported(&a), ["alix@exemple.fr", "anne@exemple.fr", SHARED]);
    assert_eq!(exported(&b), ["bruno@exemple.fr", SHARED]);

    // A sends its Flash Info: exactly A's audience, the shared address once.
    a.fetch(&[]);
    let story = a.articles()[0]["story"].as_i64().unwrap().to_string();
    a.ready_flash_info(&[story]);
    let sent = a.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 3, "{sent:#}");
    let mut recipients = sink.recipients();
    recipients.sort();
    assert_eq!(recipients, ["alix@exemple.fr", "anne@exemple.fr", SHARED]);
    for (meta, _) in sink.messages() {
        assert!(
            meta["mail_from"].as_str().unwrap().ends_with("@rt.example"),
            "{meta:#}"
        );
    }

    links_stay_with_their_centre(&a, &b, &sink, (&base_a, &base_b));

    // A complaint heard by A: A's subscriber complained, B's of the same address untouched.
    complaint_about_shared(&a);
    assert_eq!(statuses(&a)[SHARED], "complained");
    assert_eq!(statuses(&b)[SHARED], "active");
    let shown = b.json(&["subscribers", "show", SHARED, "--json"]);
    assert_eq!(shown["events"], serde_json::json!([]), "{shown:#}");
    // `veille status`: the messages of A's mailbox are A's figures only (B has no sent
    // edition either).
    let status_a = a.json(&["status", "--json"]);
    assert_eq!(status_a["bounces"]["mailbox"]["applied"], 1, "{status_a:#}");
    let status_b = b.json(&["status", "--json"]);
    assert_eq!(
        status_b["bounces"]["mailbox"],
        serde_json::json!({}),
        "{status_b:#}"
    );
    assert_eq!(
        status_b["bounces"]["last_edition"],
        serde_json::Value::Null,
        "{status_b:#}"
    );

    // A erases the shared address: B keeps its subscriber; only A refuses it from now on.
    let forgotten = a.json(&["subscribers", "forget", SHARED, "--json"]);
    assert_eq!(forgotten["known"], true, "{forgotten:#}");
    assert!(!statuses(&a).contains_key(SHARED));
    assert_eq!(statuses(&b), active(&["bruno@exemple.fr", SHARED]));
    let again = a.import_subscribers(&format!("Courriel\n{SHARED}\n"));
    assert_eq!(again["imported"], 0, "{again:#}");
    assert_eq!(again["suppressed"], serde_json::json!([2]), "{again:#}");
    assert!(!statuses(&a).contains_key(SHARED));
    let report_a = a.json(&["privacy", "report", "--json"]);
    let report_b = b.json(&["privacy", "report", "--json"]);
    assert_eq!(report_a["data"]["subscribers"], 2, "{report_a:#}");
    assert_eq!(report_b["data"]["subscribers"], 2, "{report_b:#}");
    assert_eq!(report_b["data"]["suppressions"], 0, "{report_b:#}");
    assert_eq!(
        report_b["data"]["deliveries_with_address"], 0,
        "{report_b:#}"
    );
}

/// A hard bounce about `recipient`, without a VERP token (the shared mailbox's address only):
/// each centre finds its subscriber of that address.
fn hard_bounce(recipient: &str) -> String {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.exemple.fr (Mail Delivery System)\r\n\
         To: retours@reseau.example\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-Id: <dsn-partage@mx.exemple.fr>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\n<{recipient}>: host mx.exemple.fr said: \
         550 5.1.1 user unknown\r\n\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exemple.fr\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--B--\r\n"
    )
}

/// Two centres reading one Dovecot mailbox: a bounce about an address both have is applied
/// by each centre to its own subscriber, once; the message stays in the folder for the other
/// centre; reading again, or the same message delivered twice, applies nothing twice.
#[test]
fn one_bounce_mailbox_is_read_by_each_centre_for_its_own_subscribers() {
    let (_pg, url) = centres::shared_database("centres_bounces");
    let imap = Dovecot::start();
    let sink = Sink::start(&[]);
    let (_server, feed) = centres::recent_article_feed();
    // Both centres read the one mailbox.
    let bounces = format!("imap = \"{}\"", imap.url());
    let mailbox = (&sink, Some(bounces.as_str()));
    let base = "http://127.0.0.1:9";
    let a = centre(
        &url,
        mailbox,
        &feed,
        ("rt", "Ressources & Territoires"),
        base,
    );
    let b = centre(&url, mailbox, &feed, ("labo", "Labo Cités"), base);
    let imported = a.import_subscribers(&format!("Courriel\n{SHARED}\nanne@exemple.fr\n"));
    assert_eq!(imported["imported"], 2, "{imported:#}");
    let imported = b.import_subscribers(&format!("Courriel\n{SHARED}\nbruno@exemple.fr\n"));
    assert_eq!(imported["imported"], 2, "{imported:#}");
    let message = a.dir.path().join("dsn.eml");
    std::fs::write(&message, hard_bounce(SHARED)).unwrap();
    imap.append(std::slice::from_ref(&message));

    // (messages read, of which already processed) and the addresses bounced, by centre.
    let read = |ws: &Workspace| {
        let read = dovecot::fetch(ws);
        let counts = (read["messages"].as_i64(), read["already"].as_i64());
        (counts, read["effects"]["bounced"].as_i64())
    };
    assert_eq!(read(&a), ((Some(1), Some(0)), Some(1)));
    assert_eq!(statuses(&a)[SHARED], "bounced");
    assert_eq!(statuses(&b)[SHARED], "active");
    // A left the message where B reads it.
    assert_eq!(imap.count("INBOX"), 1);
    assert_eq!(read(&b), ((Some(1), Some(0)), Some(1)));
    assert_eq!(statuses(&b)[SHARED], "bounced");
    assert_eq!(statuses(&a)["anne@exemple.fr"], "active");
    assert_eq!(statuses(&b)["bruno@exemple.fr"], "active");

    // Read again: nothing new for either. The same message delivered a second time is
    // recognised by each centre and applies nothing.
    for ws in [&a, &b] {
        assert_eq!(read(ws), ((Some(0), Some(0)), None));
    }
    imap.append(std::slice::from_ref(&message));
    for ws in [&a, &b] {
        assert_eq!(read(ws), ((Some(1), Some(1)), None));
        let shown = ws.json(&["subscribers", "show", SHARED, "--json"]);
        assert_eq!(shown["events"].as_array().unwrap().len(), 1, "{shown:#}");
        let status = ws.json(&["status", "--json"]);
        assert_eq!(status["bounces"]["mailbox"]["applied"], 1, "{status:#}");
    }
}
