//! `veille sources suggest` and `veille check --fetch` through the real binary against a
//! local HTTP server: DSFR cards as French public sites write them, real pages of
//! `../shared/fixtures`, and the proposal pasted into `feeds.toml` read back by `check`.

mod support;

use std::io::Read;

use support::Workspace;
use support::server::{Route, TestServer};

fn dsfr_listing() -> String {
    let cards: String = (1..=8)
        .map(|i| {
            format!(
                r#"<div class="fr-col-12 fr-col-md-6 fr-col-lg-4">
<div class="fr-card fr-enlarge-link">
  <div class="fr-card__body">
    <div class="fr-card__content">
      <h3 class="fr-card__title"><a href="/Actualites/Communique-{i}">Communiqué n° {i} : mesures pour la sécurité du quotidien</a></h3>
      <p class="fr-card__desc">La préfète a réuni les maires du département pour présenter le plan n° {i} de prévention de la délinquance.</p>
      <div class="fr-card__start"><p class="fr-card__detail fr-icon-calendar-line">{i} novembre 2026</p></div>
    </div>
  </div>
  <div class="fr-card__header"><div class="fr-card__img"><img class="fr-responsive-img" src="/img/{i}.jpg" alt=""></div></div>
</div>
</div>"#
            )
        })
        .collect();
    format!(
        r#"<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Actualités - Préfecture</title></head><body>
<header role="banner" class="fr-header"><div class="fr-header__body"><nav class="fr-nav" role="navigation"><ul class="fr-nav__list">
<li class="fr-nav__item"><a class="fr-nav__link" href="/Actions-de-l-Etat">Actions de l'État dans le département</a></li>
<li class="fr-nav__item"><a class="fr-nav__link" href="/Demarches">Vos démarches administratives en ligne</a></li>
<li class="fr-nav__item"><a class="fr-nav__link" href="/Publications">Publications et recueils des actes</a></li>
</ul></nav></div></header>
<main id="main" role="main"><div class="fr-container"><h1>Actualités</h1><div class="fr-grid-row fr-grid-row--gutters">{cards}</div>
<nav role="navigation" class="fr-pagination"><ul class="fr-pagination__list"><li><a class="fr-pagination__link" href="?page=2">2</a></li></ul></nav>
</div></main>
<footer class="fr-footer" role="contentinfo"><div class="fr-footer__body"><ul class="fr-footer__content-list">
<li class="fr-footer__content-item"><a class="fr-footer__content-link" href="https://www.legifrance.gouv.fr">legifrance.gouv.fr</a></li>
<li class="fr-footer__content-item"><a class="fr-footer__content-link" href="https://www.gouvernement.fr">gouvernement.fr</a></li>
<li class="fr-footer__content-item"><a class="fr-footer__content-link" href="https://www.service-public.fr">service-public.fr</a></li>
</ul></div></footer></body></html>"#
    )
}

#[test]
fn dsfr_cards_are_found_and_the_proposal_reads_back() {
    let server = TestServer::start();
    server.route(
        "/Actualites",
        Route::ok(dsfr_listing(), "text/html; charset=utf-8"),
    );
    let ws = Workspace::new("", "");
    let url = server.url("/Actualites");
    let got = ws.json(&["sources", "suggest", &url, "--json"]);
    assert_eq!(
        got["select"],
        serde_json::json!({
            "item": "div.fr-card.fr-enlarge-link",
            "title": "h3.fr-card__title",
            "link": "h3.fr-card__title a",
            "date": "p.fr-card__detail",
            "summary": "p.fr-card__desc",
        })
    );
    assert_eq!(got["blocks"], 8);
    let items = got["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["title"],
        "Communiqué n° 1 : mesures pour la sécurité du quotidien"
    );
    assert_eq!(items[0]["url"], server.url("/Actualites/Communique-1"));
    // "2 novembre 2026" is a day in Paris time.
    assert_eq!(items[1]["published"], "2026-11-01T23:00:00+00:00");

    // The text output is TOML ready to paste under a [[sources]] entry.
    let out = ws.run(&["sources", "suggest", &url]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let toml_part: String = text
        .lines()
        .skip_while(|l| !l.starts_with("[sources.select]"))
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(text.contains("Communiqué n° 2"), "{text}");
    let pasted = Workspace::new(
        "",
        &format!(
            "[[sources]]\nname = \"Préfecture\"\npage = \"{url}\"\ndossiers = [\"securite\"]\n{toml_part}"
        ),
    );
    let check = pasted.json(&["check", "--fetch", "Préfecture", "--json"]);
    assert_eq!(check["items"].as_array().unwrap().len(), 8, "{check}");
    assert_eq!(
        check["items"][7]["summary"],
        "La préfète a réuni les maires du département pour présenter le plan n° 8 de prévention de la délinquance."
    );
    // Nothing was stored: check --fetch only shows.
    assert!(!pasted.archive().join("veille.db").exists());
}

#[test]
fn robots_txt_and_unknown_sources_give_french_errors() {
    let server = TestServer::start();
    server.route(
        "/robots.txt",
        Route::ok("User-agent: *\nDisallow: /prive/\n", "text/plain"),
    );
    server.route(
        "/prive/liste",
        Route::ok(dsfr_listing(), "text/html; charset=utf-8"),
    );
    let ws = Workspace::new("", "");
    let out = ws.run(&["sources", "suggest", &server.url("/prive/liste")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("robots.txt"), "{err}");
    assert_eq!(server.hits("/prive/liste"), 0);

    server.route(
        "/rien",
        Route::ok(
            "<html><body><p>Une page sans liste.</p></body></html>",
            "text/html",
        ),
    );
    let out = ws.run(&["sources", "suggest", &server.url("/rien")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aucun bloc répété"));

    let out = ws.run(&["check", "--fetch", "Inconnue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aucune source nommée « Inconnue »"));
}

/// The fixtures hold no listing page of a French site, but their real publisher pages carry
/// lists of related articles: what suggest finds there is printed (it is the figure the
/// closing note gives) and each proposal must read back at least three linked items.
#[test]
#[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
fn real_pages_of_the_fixtures() {
    let dir = support::shared_fixtures().join("extraction/zyte/html");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let server = TestServer::start();
    let ws = Workspace::new("", "");
    let mut found = 0;
    for name in names.iter().take(12) {
        let mut html = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.join(name)).unwrap())
            .read_to_end(&mut html)
            .unwrap();
        let path = format!("/{}", &name[..12]);
        server.route(&path, Route::ok(html, "text/html"));
        let out = ws.run(&["sources", "suggest", &server.url(&path), "--json"]);
        if !out.status.success() {
            println!(
                "{path}: rien ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            continue;
        }
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        println!(
            "{path}: {} blocs, {} ; {:?}",
            got["blocks"],
            got["select"],
            got["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
        );
        let items = got["items"].as_array().unwrap();
        if items.len() == 3
            && items.iter().all(|i| {
                !i["title"].as_str().unwrap().is_empty()
                    && i["url"].as_str().unwrap().starts_with("http")
            })
        {
            found += 1;
        }
    }
    println!("{found} propositions sur 12 pages lisent 3 articles avec titre et lien");
    assert!(found >= 6, "{found} propositions utilisables sur 12");
}
