//! The deliverability loop end to end: the JSON contract of `veille bounces parse`, and an
//! edition sent through aiosmtpd whose refusals come back through a real Dovecot and `veille
//! bounces fetch` (the agreement with Sisimai is in `tests/sisimai.rs`).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use support::bounce_parse::{assert_contract, parse, veille};
use support::dovecot::{self, Dovecot, fetch};
use support::server::{Route, TestServer};
use support::smtp::Sink;
use support::{Workspace, feed_source, subscriber_statuses as statuses};

/// A delivery status notification (RFC 3464) for `recipient`, sent back to `to`.
fn dsn(to: &str, recipient: &str, status: &str, diagnostic: &str, n: usize) -> String {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.exemple.fr (Mail Delivery System)\r\n\
         To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-Id: <dsn-{n}@mx.exemple.fr>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B{n}\"\r\n\r\n\
         --B{n}\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.exemple.fr.\r\n\r\n\
         <{recipient}>: host mx.exemple.fr said: {diagnostic} (in reply to RCPT TO command)\r\n\r\n\
         --B{n}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exemple.fr\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n\
         Diagnostic-Code: smtp; {diagnostic}\r\n\r\n--B{n}--\r\n"
    )
}

/// An ARF complaint (RFC 5965) about the message sent to `recipient`.
fn arf(to: &str, recipient: &str) -> String {
    format!(
        "From: feedback@fai.exemple\r\nTo: {to}\r\nSubject: Abuse report\r\nMessage-Id: <arf-1@fai.exemple>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"F\"\r\n\r\n\
         --F\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n\r\n\
         --F\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: fai/1.0\r\n\
         Version: 1\r\nOriginal-Rcpt-To: {recipient}\r\n\r\n\
         --F\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <{to}>\r\nFrom: lettre@ressources.example\r\n\
         To: {recipient}\r\nSubject: Flash Info\r\n\r\n--F--\r\n"
    )
}

/// A vacation message (RFC 3834) from `from`.
fn auto_reply(to: &str, from: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Absence du bureau\r\nAuto-Submitted: auto-replied\r\n\
         Message-Id: <vac-1@exemple.fr>\r\n\r\nJe suis absente jusqu'au 5 janvier.\r\n"
    )
}

#[test]
fn the_json_contract_of_bounces_parse() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    write(
        "1-hard.eml",
        &dsn(
            "bounces@x.fr",
            "Inconnu@Exemple.fr",
            "5.1.1",
            "550 5.1.1 <inconnu@exemple.fr>: Recipient address rejected: User unknown",
            1,
        ),
    );
    write(
        "2-soft.eml",
        &dsn(
            "bounces@x.fr",
            "pleine@exemple.fr",
            "4.2.2",
            "452 4.2.2 Mailbox full",
            2,
        ),
    );
    write("3-arf.eml", &arf("bounces@x.fr", "plainte@exemple.fr"));
    write(
        "4-vacances.eml",
        &auto_reply("bounces@x.fr", "Absente <absente@exemple.fr>"),
    );
    write(
        "5-rien.eml",
        "From: a@exemple.fr\r\nTo: b@exemple.fr\r\nSubject: Bonjour\r\n\r\nUn message ordinaire.\r\n",
    );
    write("6-cassé.eml", "\u{0}\u{1}pas un message <script>");
    let parsed = parse(&[dir.path()], dir.path());
    for entry in parsed.values() {
        assert_contract(entry);
    }
    let get = |n: &str| &parsed[n];
    assert_eq!(get("1-hard.eml")["kind"], "hard");
    assert_eq!(
        get("1-hard.eml")["recipients"],
        serde_json::json!(["inconnu@exemple.fr"])
    );
    assert_eq!(get("1-hard.eml")["status"], "5.1.1");
    assert_eq!(get("1-hard.eml")["reason"], "userunknown");
    assert_eq!(get("2-soft.eml")["kind"], "soft");
    assert_eq!(get("2-soft.eml")["reason"], "mailboxfull");
    assert_eq!(get("3-arf.eml")["kind"], "complaint");
    assert_eq!(
        get("3-arf.eml")["recipients"],
        serde_json::json!(["plainte@exemple.fr"])
    );
    assert_eq!(get("4-vacances.eml")["kind"], "auto-reply");
    assert_eq!(
        get("4-vacances.eml")["recipients"],
        serde_json::json!(["absente@exemple.fr"])
    );
    assert_eq!(get("5-rien.eml")["kind"], "none");
    assert_eq!(get("5-rien.eml")["status"], serde_json::Value::Null);
    assert_eq!(get("6-cassé.eml")["kind"], "none");

    // A missing file: a French error, the others still read.
    let out = veille(&[
        "bounces",
        "parse",
        "--json",
        dir.path().join("absent.eml").to_str().unwrap(),
        dir.path().join("1-hard.eml").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("illisible"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc.as_array().unwrap().len(), 1);
}

fn events(ws: &Workspace, email: &str) -> Vec<serde_json::Value> {
    ws.json(&["subscribers", "show", email, "--json"])["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// A workspace mailing through `sink`, reading its bounces from `imap`, with one feed.
fn dovecot_workspace(sink: &Sink, server: &TestServer, imap: &Dovecot) -> Workspace {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"http://127.0.0.1:9\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             bounce_address = \"retours@ressources.example\"\nper_second = 500\n\n\
             [bounces]\nimap = \"{}\"\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n{}",
            templates.display(),
            sink.url(),
            imap.url(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    )
}

/// The first Flash Info sent to 20 subscribers; their addresses.
fn send_to_twenty_subscribers(ws: &Workspace) -> Vec<String> {
    let mut lines = vec!["Nom;Courriel".to_string()];
    let addresses: Vec<String> = (1..=20)
        .map(|i| format!("abonne{i:02}@exemple.fr"))
        .collect();
    for (i, a) in addresses.iter().enumerate() {
        lines.push(format!("Personne {i};{a}"));
    }
    ws.ready_to_send(&lines.join("\n"));
    let sent = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 20, "{sent:#}");
    addresses
}

/// Each message left with its own VERP envelope sender: recipient → sender.
fn verp_senders(sink: &Sink) -> HashMap<String, String> {
    let mut verp: HashMap<String, String> = HashMap::new();
    for (meta, _) in sink.messages() {
        let rcpt = meta["rcpt_tos"][0].as_str().unwrap().to_lowercase();
        let from = meta["mail_from"].as_str().unwrap().to_string();
        assert!(
            from.starts_with("retours+") && from.ends_with("@ressources.example"),
            "{from}"
        );
        verp.insert(rcpt, from);
    }
    assert_eq!(verp.len(), 20);
    let unique: std::collections::HashSet<_> = verp.values().collect();
    assert_eq!(unique.len(), 20, "one envelope sender per delivery");
    verp
}

/// 3 hard, 2 soft, 1 complaint, 1 auto-reply and a forged one, written in `dir`; the
/// reports name the address the relay saw, but the VERP token is what veille trusts.
fn write_first_returns(
    dir: &Path,
    addresses: &[String],
    verp: &HashMap<String, String>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut put = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        files.push(path);
    };
    let a = |i: usize| addresses[i - 1].clone();
    for (n, i) in [1, 2, 3].into_iter().enumerate() {
        put(
            &format!("hard{i}.eml"),
            dsn(&verp[&a(i)], &a(i), "5.1.1", "550 5.1.1 User unknown", n),
        );
    }
    for (n, i) in [4, 5].into_iter().enumerate() {
        put(
            &format!("soft{i}.eml"),
            dsn(
                &verp[&a(i)],
                &a(i),
                "4.2.2",
                "452 4.2.2 Mailbox full",
                10 + n,
            ),
        );
    }
    put("arf6.eml", arf(&verp[&a(6)], &a(6)));
    put("vacances7.eml", auto_reply(&verp[&a(7)], &a(7)));
    // An altered token: the MAC of subscriber 8's delivery, moved onto subscriber 9's.
    let forged = {
        let v8 = &verp[&a(8)];
        let v9 = &verp[&a(9)];
        let mac8 = v8.rsplit_once('-').unwrap().1;
        let (head9, _) = v9.rsplit_once('-').unwrap();
        format!("{head9}-{mac8}")
    };
    put(
        "forge9.eml",
        dsn(&forged, &a(9), "5.1.1", "550 5.1.1 User unknown", 20),
    );
    files
}

/// The first reading: the policy applied to each subscriber, the forged report refused,
/// every message filed. Returns the statuses after it.
fn the_first_reading_applies_the_policy(
    ws: &Workspace,
    imap: &Dovecot,
    addresses: &[String],
) -> BTreeMap<String, String> {
    let a = |i: usize| addresses[i - 1].clone();
    let report = fetch(ws);
    assert_eq!(report["messages"], 8, "{report:#}");
    assert_eq!(
        report["problems"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert_eq!(report["problems"][0]["outcome"], "forged", "{report:#}");
    let after = statuses(ws);
    for (i, address) in addresses.iter().enumerate() {
        let expected = match i + 1 {
            1..=3 => "bounced",
            6 => "complained",
            _ => "active",
        };
        assert_eq!(after[address], expected, "{address} : {after:#?}");
    }
    assert_eq!(imap.count("INBOX"), 0);
    assert_eq!(imap.count("veille-traites"), 8);
    let e1 = events(ws, &a(1));
    assert_eq!(e1.len(), 1);
    assert_eq!(e1[0]["kind"], "hard");
    assert_eq!(e1[0]["edition"], "flash-info/1");
    assert_eq!(e1[0]["status"], "5.1.1");
    assert_eq!(events(ws, &a(4))[0]["effect"], "counted");
    assert_eq!(events(ws, &a(7))[0]["kind"], "auto-reply");
    assert!(
        events(ws, &a(9)).is_empty(),
        "a forged bounce changes nothing"
    );
    let shown = String::from_utf8(ws.run(&["subscribers", "show", &a(1)]).stdout).unwrap();
    assert!(
        shown.contains("flash-info/1") && shown.contains("échec définitif"),
        "{shown}"
    );
    after
}

/// The edition's report, its page and `veille status` count the returns.
fn the_edition_report_counts_the_returns(ws: &Workspace) {
    let r = ws.json(&["edition", "report", "flash-info/1", "--json"]);
    assert_eq!(r["sent"], 20, "{r:#}");
    assert_eq!(r["bounced_hard"], 3, "{r:#}");
    assert_eq!(r["bounced_soft"], 2, "{r:#}");
    assert_eq!(r["complaints"], 1, "{r:#}");
    let page =
        std::fs::read_to_string(ws.archive().join("published/flash-info/1/rapport.html")).unwrap();
    assert!(
        page.contains("Rapport d'envoi") && page.contains("<td>3</td>"),
        "{page}"
    );
    let status = ws.json(&["status", "--json"]);
    assert_eq!(
        status["bounces"]["last_edition"]["bounced_hard"], 3,
        "{status:#}"
    );
    assert_eq!(status["bounces"]["mailbox"]["forged"], 1, "{status:#}");
    let text = String::from_utf8(ws.run(&["status"]).stdout).unwrap();
    assert!(text.contains("Dernier envoi, flash-info/1"), "{text}");
}

/// 200 soft bounces for the subscribers still `active`; `kill -9` in the middle of the
/// reading, then a new reading: each message counted once.
fn a_killed_reading_counts_each_message_once(
    ws: &Workspace,
    imap: &Dovecot,
    dir: &Path,
    verp: &HashMap<String, String>,
    active: &[String],
) {
    let mut many = Vec::new();
    for n in 0..200 {
        let who = &active[n % active.len()];
        let path = dir.join(format!("lot-{n:03}.eml"));
        std::fs::write(
            &path,
            dsn(&verp[who], who, "4.2.2", "452 4.2.2 Mailbox full", 100 + n),
        )
        .unwrap();
        many.push(path);
    }
    let before: usize = active.iter().map(|a| events(ws, a).len()).sum();
    imap.append(&many);
    let mut child = ws
        .command(&["bounces", "fetch", "--json"])
        .env("VEILLE_BOUNCES_PASSWORD", dovecot::PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    imap.wait_for("veille-traites", 8 + 30);
    // SAFETY: our own child, by its id.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    let left = imap.count("INBOX");
    assert!(left > 0 && left < 200, "killed mid-run: {left} left");
    let resumed = fetch(ws);
    assert_eq!(imap.count("INBOX"), 0);
    assert_eq!(imap.count("veille-traites"), 208);
    let total: usize = active.iter().map(|a| events(ws, a).len()).sum();
    assert_eq!(
        total - before,
        200,
        "each message counted once: {resumed:#}"
    );
    println!(
        "Dovecot : 8 retours puis 200 ; {left} restaient après kill -9, {} relus dont {} déjà traités",
        resumed["messages"], resumed["already"]
    );
}

#[test]
fn bounces_come_back_through_dovecot_and_the_policy_applies_once() {
    let imap = Dovecot::start();
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(support::one_recent_article_feed(&server)),
    );
    let ws = dovecot_workspace(&sink, &server, &imap);
    let addresses = send_to_twenty_subscribers(&ws);
    let verp = verp_senders(&sink);

    let dir = ws.dir.path().join("retours");
    std::fs::create_dir_all(&dir).unwrap();
    let files = write_first_returns(&dir, &addresses, &verp);
    imap.append(&files);
    let after = the_first_reading_applies_the_policy(&ws, &imap, &addresses);

    // Again: nothing new, nothing changes.
    let again = fetch(&ws);
    assert_eq!(again["messages"], 0, "{again:#}");
    assert_eq!(statuses(&ws), after);

    the_edition_report_counts_the_returns(&ws);

    // The 13 subscribers still active.
    let active: Vec<String> = addresses
        .iter()
        .filter(|a| after[*a] == "active")
        .cloned()
        .collect();
    a_killed_reading_counts_each_message_once(&ws, &imap, &dir, &verp, &active);
    // One edition only: soft bounces stay below `soft_editions`, nobody else is bounced.
    let end = statuses(&ws);
    assert_eq!(end.values().filter(|s| *s == "bounced").count(), 3);
}

#[test]
fn a_maildir_is_read_once_and_each_message_filed_after_its_effect() {
    let ws = Workspace::new(
        "",
        "[mail]\nfrom = \"Lettre <lettre@ressources.example>\"\nsmtp = \"smtp://127.0.0.1:9\"\n\
         bounce_address = \"retours@ressources.example\"\n\n\
         [bounces]\nmaildir = \"MAILDIR\"\n\n[lists.flash-info]\ntitle = \"Flash Info\"\n",
    );
    let maildir = ws.dir.path().join("retours");
    let config = std::fs::read_to_string(ws.config()).unwrap();
    std::fs::write(
        ws.config(),
        config.replace("MAILDIR", maildir.to_str().unwrap()),
    )
    .unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    ws.import_subscribers("Courriel\ninconnu@exemple.fr\nplein@exemple.fr\n");
    // No VERP token (sent before bounce_address was set): the report's recipient is used.
    let hard = dsn(
        "lettre@ressources.example",
        "inconnu@exemple.fr",
        "5.1.1",
        "550 5.1.1 User unknown",
        1,
    );
    let soft = dsn(
        "lettre@ressources.example",
        "plein@exemple.fr",
        "4.2.2",
        "452 4.2.2 Mailbox full",
        2,
    );
    std::fs::write(maildir.join("new/1.eml"), &hard).unwrap();
    std::fs::write(maildir.join("new/2.eml:2,"), &soft).unwrap();
    // The same message delivered twice counts once.
    std::fs::write(maildir.join("new/3.eml"), &hard).unwrap();
    let report = ws.json(&["bounces", "fetch", "--json"]);
    assert_eq!(report["messages"], 3, "{report:#}");
    assert_eq!(report["already"], 1, "{report:#}");
    let s = statuses(&ws);
    assert_eq!(s["inconnu@exemple.fr"], "bounced");
    assert_eq!(s["plein@exemple.fr"], "active");
    assert_eq!(events(&ws, "inconnu@exemple.fr").len(), 1);
    assert_eq!(
        events(&ws, "inconnu@exemple.fr")[0]["edition"],
        serde_json::Value::Null
    );
    let mut filed: Vec<String> = std::fs::read_dir(maildir.join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    filed.sort();
    assert_eq!(filed, ["1.eml:2,S", "2.eml:2,S", "3.eml:2,S"]);
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 0);
    let again = ws.json(&["bounces", "fetch", "--json"]);
    assert_eq!(again["messages"], 0);

    // The daemon reads the mailbox too: at its first start, then on `[schedule] bounces`.
    std::fs::write(
        maildir.join("new/4.eml"),
        dsn(
            "lettre@ressources.example",
            "plein@exemple.fr",
            "5.1.1",
            "550 5.1.1 User unknown",
            4,
        ),
    )
    .unwrap();
    let mut daemon = support::daemon::RunningDaemon::start(ws.command(&["run"]));
    let line = daemon.wait_for_log("retours : ", std::time::Duration::from_secs(30));
    assert!(line.contains("1 message(s) lu(s)"), "{line}");
    daemon.stop();
    assert_eq!(statuses(&ws)["plein@exemple.fr"], "bounced");
    let status = ws.json(&["status", "--json"]);
    let job = status["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["stored"]["name"] == "bounces" || j["name"] == "bounces")
        .cloned();
    assert!(job.is_some(), "{status:#}");

    // Without [bounces]: a French error, exit code 2.
    let bare = Workspace::new("", "");
    let out = bare.run(&["bounces", "fetch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aucune boîte des retours"));
}

/// `bounces fetch` against `url`, with or without `ca_file`: the process output.
fn fetch_over(url: &str, ca_file: Option<&Path>) -> (Workspace, std::process::Output) {
    let ca = ca_file.map_or(String::new(), |p| {
        format!("ca_file = \"{}\"\n", p.display())
    });
    let ws = Workspace::new(
        "",
        &format!(
            "[mail]\nfrom = \"Lettre <lettre@ressources.example>\"\nsmtp = \"smtp://127.0.0.1:9\"\n\
             bounce_address = \"retours@ressources.example\"\n\n\
             [bounces]\nimap = \"{url}\"\n{ca}\n[lists.flash-info]\ntitle = \"Flash Info\"\n"
        ),
    );
    ws.import_subscribers("Courriel\ninconnu@exemple.fr\n");
    let out = ws
        .command(&["bounces", "fetch", "--json"])
        .env("VEILLE_BOUNCES_PASSWORD", dovecot::PASSWORD)
        .output()
        .unwrap();
    (ws, out)
}

#[test]
fn the_mailbox_is_read_over_tls_and_an_unknown_certificate_is_refused() {
    let imap = Dovecot::start_tls();
    let tls_port = imap.tls_port.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let message = dir.path().join("1.eml");
    let hard = dsn(
        "lettre@ressources.example",
        "inconnu@exemple.fr",
        "5.1.1",
        "550 5.1.1 User unknown",
        1,
    );
    std::fs::write(&message, &hard).unwrap();
    imap.append(std::slice::from_ref(&message));
    let imaps = format!("imaps://{}@127.0.0.1:{tls_port}/INBOX", dovecot::USER);
    let starttls = imap.url();

    // Not trusted (no ca_file): a clear error on each way in, nothing read or moved, and no
    // plaintext login in place of STARTTLS.
    for url in [&imaps, &starttls] {
        let (ws, out) = fetch_over(url, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url} : {err}");
        assert!(
            err.contains("connexion TLS au serveur IMAP 127.0.0.1 impossible")
                && err.contains("ca_file")
                && err.contains("pas en clair"),
            "{url} : {err}"
        );
        assert_eq!(statuses(&ws)["inconnu@exemple.fr"], "active");
        assert_eq!(imap.count("INBOX"), 1);
    }
    // A ca_file that holds no certificate is named as such.
    let empty = dir.path().join("vide.pem");
    std::fs::write(&empty, "pas un certificat\n").unwrap();
    let (_, out) = fetch_over(&imaps, Some(&empty));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("aucun certificat") && err.contains("vide.pem"),
        "{err}"
    );

    // Trusted through ca_file: over imaps, then (message put back) over STARTTLS.
    let (ws, out) = fetch_over(&imaps, Some(&imap.ca_pem()));
    assert!(
        out.status.success(),
        "imaps : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["messages"], 1, "{report:#}");
    assert_eq!(statuses(&ws)["inconnu@exemple.fr"], "bounced");
    assert_eq!(imap.count("INBOX"), 0);
    assert_eq!(imap.count("veille-traites"), 1);

    imap.append(std::slice::from_ref(&message));
    let (ws, out) = fetch_over(&starttls, Some(&imap.ca_pem()));
    assert!(
        out.status.success(),
        "STARTTLS : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&ws)["inconnu@exemple.fr"], "bounced");
    assert_eq!(imap.count("INBOX"), 0);
    assert_eq!(imap.count("veille-traites"), 2);
}
