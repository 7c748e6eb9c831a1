//! "Gérer mon abonnement" end to end: the signed link in each message sent through aiosmtpd,
//! the page served by `veille serve` (lists, change of address confirmed from the new
//! mailbox, leaving everything; valid HTML, no axe-core violation), asking for a link by
//! e-mail, and the public web copy of an email that shows no personal link (issue 12, point 3).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::server::{Route, TestServer};
use support::smtp::{self, Sink};
use support::web::{self, Served};
use support::{Workspace, feed_source};

/// subscriber → list → status.
fn statuses(ws: &Workspace) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for s in ws
        .json(&["subscribers", "list", "--json"])
        .as_array()
        .unwrap()
    {
        let email = s["email"].as_str().unwrap().to_string();
        let shown = ws.json(&["subscribers", "show", &email, "--json"]);
        let lists = shown["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["list"].as_str().unwrap().to_string(),
                    l["status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.insert(email, lists);
    }
    out
}

/// A form of the page at `path` posted like a browser does (with the page's CSRF token).
fn post(served: &Served, path: &str, body: &str) -> support::http::Response {
    served.submit(path, path, body)
}

/// Waits for the `n`-th message of the sink and returns its text part.
fn nth_text(sink: &Sink, n: usize) -> String {
    let start = Instant::now();
    while sink.messages().len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "message n° {n} jamais arrivé"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, eml) = &sink.messages()[n - 1];
    smtp::inspect(eml)["text"].as_str().unwrap().to_string()
}

/// The path of the first link of `text` that starts with `base` + `prefix`.
fn link(text: &str, base: &str, prefix: &str) -> String {
    let start = text
        .find(&format!("{base}{prefix}"))
        .unwrap_or_else(|| panic!("pas de lien {prefix} dans :\n{text}"));
    let url: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '"')
        .collect();
    url[base.len()..].to_string()
}

/// Asking for a link: the same answer for a known and an unknown address, a mail only
/// to the known one, with a working link.
fn a_link_goes_only_to_known_addresses(served: &Served, sink: &Sink, base: &str) {
    let form = served.get("/abonnement/lien", &[]);
    assert_eq!(form.status, 200);
    assert!(form.text().contains("<label for=\"adresse\">"));
    let before = sink.messages().len();
    let known = post(served, "/abonnement/lien", "email=paul%40exemple.fr");
    let unknown = post(served, "/abonnement/lien", "email=personne%40exemple.fr");
    assert_eq!(known.status, 200);
    assert_eq!(known.text(), unknown.text());
    let text = nth_text(sink, before + 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sink.messages().len(),
        before + 1,
        "nothing for an unknown address"
    );
    let paul = link(&text, base, "/preferences/");
    let page = served.get(&paul, &[]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("paul@exemple.fr"));
}

/// The public web copy of the email: no personal link, no placeholder, and "gérer mon
/// abonnement" leads to the page that sends one.
fn the_public_copy_has_no_personal_link(served: &Served) {
    for file in ["email.html", "email.txt"] {
        let copy = served.get(&format!("/flash-info/1/{file}"), &[]);
        assert_eq!(copy.status, 200);
        let body = copy.text();
        assert!(!body.contains("JETON-"), "{body}");
        assert!(!body.contains("/desabonnement/"), "{body}");
        assert!(!body.contains("/preferences/"), "{body}");
        assert!(body.contains("/abonnement/lien"), "{body}");
        assert_eq!(
            copy.header("content-length").unwrap(),
            copy.body.len().to_string()
        );
    }
}

/// A workspace whose site is served at `base`, mailing through the sink, with one feed.
fn workspace(sink: &Sink, server: &TestServer, base: &str) -> Workspace {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    Workspace::new(
        "",
        &format!(
            "[publish]\nsite_name = \"Ressources & Territoires\"\nbase_url = \"{base}\"\ntemplates = \"{}\"\n\n\
             [mail]\nfrom = \"Ressources & Territoires <lettre@ressources.example>\"\nsmtp = \"{}\"\nper_second = 500\n\n\
             [lists.flash-info]\ntitle = \"Flash Info\"\n\n[lists.lettre-pauvrete]\ntitle = \"Lettre d'information Pauvreté\"\n\n{}",
            templates.display(),
            sink.url(),
            feed_source("Le Monde", &server.url("/feed.xml")),
        ),
    )
}

/// Hélène and Paul, subscribed to the Flash Info.
fn import_two_subscribers(ws: &Workspace) {
    ws.import_subscribers("Nom;Courriel\nHélène;helene@exemple.fr\nPaul;paul@exemple.fr\n");
}

/// Sends the first Flash Info to Hélène and Paul.
fn send_first_flash_info(ws: &Workspace) {
    ws.fetch(&[]);
    let story = ws.articles()[0]["story"].as_i64().unwrap().to_string();
    ws.ready_flash_info(std::slice::from_ref(&story));
    import_two_subscribers(ws);
    let sent = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 2, "{sent:#}");
}

/// Each message has its own signed link, in both parts; no placeholder is left. Returns
/// Hélène's page.
fn each_message_has_its_own_link(
    messages: &[(serde_json::Value, std::path::PathBuf)],
    base: &str,
) -> String {
    let mut pages = BTreeMap::new();
    for (meta, eml) in messages {
        let m = smtp::inspect(eml);
        let text = m["text"].as_str().unwrap();
        let html = m["html"].as_str().unwrap();
        assert!(
            !text.contains("JETON-") && !html.contains("JETON-"),
            "{text}"
        );
        assert!(html.contains("Gérer mon abonnement"), "{html}");
        let path = link(text, base, "/preferences/");
        assert!(html.contains(&format!("{base}{path}")));
        pages.insert(meta["rcpt_tos"][0].as_str().unwrap().to_string(), path);
    }
    assert_ne!(pages["helene@exemple.fr"], pages["paul@exemple.fr"]);
    pages["helene@exemple.fr"].clone()
}

/// Hélène's page: her address and her lists, the Flash Info checked. Returns its HTML.
fn the_page_shows_the_lists(served: &Served, helene: &str) -> String {
    let page = served.get(helene, &[]);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<html lang=\"fr\""), "{html}");
    assert!(html.contains("helene@exemple.fr"));
    assert!(html.contains("<legend>Les publications que je reçois</legend>"));
    assert!(html.contains("<label for=\"liste-flash-info\">Flash Info</label>"));
    assert!(
        html.contains("id=\"liste-flash-info\" name=\"liste-flash-info\" value=\"oui\" checked")
    );
    assert!(!html.contains("name=\"liste-lettre-pauvrete\" value=\"oui\" checked"));
    html
}

/// Valid HTML (W3C Nu checker) and no accessibility violation (axe-core in Chromium),
/// for the page and the link-request form.
fn the_pages_are_valid_and_accessible(ws: &Workspace, served: &Served, helene: &str, html: &str) {
    let saved = ws.dir.path().join("preferences.html");
    std::fs::write(&saved, html).unwrap();
    let form_page = ws.dir.path().join("lien.html");
    std::fs::write(&form_page, served.get("/abonnement/lien", &[]).text()).unwrap();
    // The subscription form and the "form refused" pages of both templates too.
    let mut pages = vec![saved, form_page];
    for (name, html) in [
        ("abonnement.html", served.get("/abonnement", &[]).text()),
        (
            "refus-abonnement.html",
            web::post_raw(&served.addr, "/abonnement", "email=x").text(),
        ),
        (
            "refus-lien.html",
            web::post_raw(&served.addr, "/abonnement/lien", "email=x").text(),
        ),
    ] {
        let path = ws.dir.path().join(name);
        std::fs::write(&path, html).unwrap();
        pages.push(path);
    }
    let report = web::vnu(&pages, &[]);
    assert_eq!(report["errors"], 0, "validateur W3C :\n{report:#}");
    let audit = web::axe(&[
        format!("{}{helene}", served.base),
        format!("{}/abonnement/lien", served.base),
        format!("{}/abonnement", served.base),
    ]);
    assert_eq!(audit["violations"], 0, "accessibilité :\n{audit:#}");
}

/// A token altered by one character: no page.
fn an_altered_token_opens_no_page(served: &Served, helene: &str) {
    let mut forged = helene.to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(served.get(&forged, &[]).status, 400);
}

/// Choose lists: the letter instead of the Flash Info.
fn choosing_lists(ws: &Workspace, served: &Served, helene: &str) {
    let r = post(served, helene, "action=listes&liste-lettre-pauvrete=oui");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Vos choix sont enregistrés"));
    let s = statuses(ws);
    assert_eq!(s["helene@exemple.fr"]["flash-info"], "unsubscribed");
    assert_eq!(s["helene@exemple.fr"]["lettre-pauvrete"], "active");
    assert_eq!(
        s["paul@exemple.fr"]["flash-info"], "active",
        "only Hélène changed"
    );
}

/// Change of address: a bad one refused, a good one confirmed from the new mailbox.
fn changing_the_address(ws: &Workspace, served: &Served, sink: &Sink, base: &str, helene: &str) {
    // A bad one is refused with the form again (escaped)…
    let r = post(served, helene, "action=adresse&email=%3Cscript%3E");
    assert_eq!(r.status, 422);
    assert!(r.text().contains("pas valide") && !r.text().contains("<script>"));
    // … a good one waits for the confirmation sent to the new mailbox.
    let before = sink.messages().len();
    let r = post(
        served,
        helene,
        "action=adresse&email=helene.nouvelle%40exemple.fr",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = nth_text(sink, before + 1);
    let (meta, _) = &sink.messages()[before];
    assert_eq!(meta["rcpt_tos"][0], "helene.nouvelle@exemple.fr");
    assert!(
        statuses(ws).contains_key("helene@exemple.fr"),
        "not before confirming"
    );
    let confirm = link(&text, base, "/preferences/adresse/");
    let page = served.get(&confirm, &[]);
    assert_eq!(page.status, 200);
    assert!(
        statuses(ws).contains_key("helene@exemple.fr"),
        "GET changes nothing"
    );
    let r = post(served, &confirm, "");
    assert_eq!(r.status, 200, "{}", r.text());
    let s = statuses(ws);
    assert!(!s.contains_key("helene@exemple.fr"));
    assert_eq!(s["helene.nouvelle@exemple.fr"]["lettre-pauvrete"], "active");
}

/// A form posted without its CSRF token, or with a forged one (from another site):
/// refused with a French page, and nothing changes.
fn a_form_without_its_token_is_refused(ws: &Workspace, served: &Served, helene: &str) {
    let before = statuses(ws);
    let r = web::post_raw(&served.addr, helene, "action=tout");
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("Formulaire refusé"), "{}", r.text());
    let r = web::post_raw(
        &served.addr,
        helene,
        "action=tout&csrf=1700000000.AAAAAAAAAAAAAAAAAAAAAA",
    );
    assert_eq!(r.status, 403);
    // A token of another form (the link request) does not open this one.
    let other = web::form_token(&served.addr, "/abonnement/lien");
    let r = web::post_raw(&served.addr, helene, &format!("action=tout&csrf={other}"));
    assert_eq!(r.status, 403);
    assert_eq!(statuses(ws), before, "a refused form changes nothing");
}

/// Leave everything.
fn leaving_everything(ws: &Workspace, served: &Served, helene: &str) {
    let r = post(served, helene, "action=tout");
    assert_eq!(r.status, 200);
    let s = statuses(ws);
    assert!(
        s["helene.nouvelle@exemple.fr"]
            .values()
            .all(|v| v == "unsubscribed"),
        "{s:#?}"
    );
}

#[test]
fn each_message_carries_a_signed_preferences_link() {
    let sink = Sink::start(&[]);
    let server = TestServer::start();
    server.route(
        "/feed.xml",
        Route::rss(support::one_recent_article_feed(&server)),
    );
    let port = web::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let ws = workspace(&sink, &server, &base);
    send_first_flash_info(&ws);
    let served = Served::start(&ws, port);

    let messages = sink.messages();
    let helene = each_message_has_its_own_link(&messages, &base);
    let html = the_page_shows_the_lists(&served, &helene);
    the_pages_are_valid_and_accessible(&ws, &served, &helene, &html);
    an_altered_token_opens_no_page(&served, &helene);
    choosing_lists(&ws, &served, &helene);
    changing_the_address(&ws, &served, &sink, &base, &helene);
    a_form_without_its_token_is_refused(&ws, &served, &helene);
    leaving_everything(&ws, &served, &helene);

    a_link_goes_only_to_known_addresses(&served, &sink, &base);

    the_public_copy_has_no_personal_link(&served);

    // The one-click unsubscribe of the message still works.
    let (_, eml) = &messages[0];
    let headers = &smtp::inspect(eml)["headers"];
    assert!(
        headers["list-unsubscribe"][0]
            .as_str()
            .unwrap()
            .contains("/desabonnement/")
    );
}
