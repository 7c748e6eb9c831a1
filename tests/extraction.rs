//! Article extraction: quality on the zyte benchmark pages against their human-checked
//! bodies, and the `veille extract` contract through the real binary.

mod support;

use std::io::Read;

use support::Workspace;
use veille::extract::eval::{page_counts, precision_recall_f1};

/// F1 of the first measurement (0.958 on the 181 pages, rs-trafilatura 0.2.2) less a margin
/// for crate updates: a fall below it is a regression of extraction, not noise.
const F1_FLOOR: f64 = 0.94;

#[test]
#[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
fn zyte_pages_precision_recall_f1_above_the_floor() {
    let dir = support::shared_fixtures().join("extraction/zyte");
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("ground-truth.json")).unwrap()).unwrap();
    let truth = truth.as_object().unwrap();
    let mut counts = Vec::new();
    let mut failed = 0;
    for (id, item) in truth {
        let file = std::fs::File::open(dir.join(format!("html/{id}.html.gz"))).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap();
        let predicted = match veille::extract::extract(&bytes, None, item["url"].as_str()) {
            Ok(article) => article.text,
            Err(_) => {
                failed += 1;
                String::new()
            }
        };
        counts.push(page_counts(
            item["articleBody"].as_str().unwrap(),
            &predicted,
        ));
    }
    let (p, r, f1) = precision_recall_f1(&counts);
    println!(
        "zyte : {} pages, précision {p:.3}, rappel {r:.3}, F1 {f1:.3} ({failed} sans texte)",
        counts.len()
    );
    assert_eq!(counts.len(), 181);
    assert!(f1 >= F1_FLOOR, "F1 {f1:.3} sous le plancher {F1_FLOOR}");
}

const PAGE: &str = r#"<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>Quartiers prioritaires : le "plan" &lt;script&gt; - Ouest Exemple</title>
<meta property="og:title" content="Quartiers prioritaires : le &quot;plan&quot; &lt;script&gt;alert(1)&lt;/script&gt;">
<meta name="author" content="Léa Dupont">
<meta property="article:published_time" content="2026-11-20T10:00:00Z">
</head><body>
<header><nav><a href="/">Accueil</a> <a href="/abonnement">S'abonner</a></nav></header>
<main><article>
<h1>Quartiers prioritaires : le "plan" &lt;script&gt;alert(1)&lt;/script&gt;</h1>
<p>La ville de Toulouse a présenté jeudi un plan de rénovation pour le quartier du Mirail, qui prévoit la réhabilitation de 1 200 logements sociaux d'ici 2030.</p>
<p>« Nous voulons que les habitants restent au cœur du projet », a déclaré l'adjointe chargée de la politique de la ville, lors d'une réunion publique.</p>
<div class="lire-aussi"><strong>Lire aussi</strong> <a href="/x">Un autre article sans rapport</a></div>
<p>Le financement repose pour moitié sur l'Agence nationale pour la rénovation urbaine, le reste étant partagé entre la métropole et la région Occitanie.</p>
</article>
<section class="comments"><h2>Commentaires</h2><p>Super article, bravo !</p></section>
</main>
<footer>Mentions légales — Plan du site</footer>
</body></html>"#;

#[test]
fn extract_json_has_exactly_the_contract_keys() {
    let ws = Workspace::new("", "");
    let page = ws.dir.path().join("article.html");
    std::fs::write(&page, PAGE).unwrap();
    let got = ws.json(&[
        "extract",
        page.to_str().unwrap(),
        "--url",
        "https://ouest.example.fr/a.html",
        "--json",
    ]);
    let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{got}");
    for key in ["title", "text", "author", "published", "image"] {
        assert!(got.get(key).is_some(), "clé {key} absente : {got}");
    }
    let text = got["text"].as_str().unwrap();
    assert!(
        text.contains("rénovation pour le quartier du Mirail"),
        "{text}"
    );
    assert!(text.contains("métropole et la région Occitanie"), "{text}");
    assert_eq!(text.lines().filter(|l| l.trim().is_empty()).count(), 0);
    for noise in ["Accueil", "Mentions légales", "bravo"] {
        assert!(!text.contains(noise), "{noise:?} dans le texte : {text}");
    }
    // Hostile text stays text: the JSON carries it as a string, nothing is interpreted.
    assert!(got["title"].as_str().unwrap().contains("<script>"), "{got}");
    assert_eq!(got["author"], "Léa Dupont");
    assert_eq!(got["published"], "2026-11-20T10:00:00Z");
    assert!(got["image"].is_null());
}

#[test]
fn extract_errors_are_french_and_name_the_file() {
    let ws = Workspace::new("", "");
    let out = ws.run(&["extract", "/nonexistent/page.html"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("impossible de lire /nonexistent/page.html"),
        "{err}"
    );

    let empty = ws.dir.path().join("vide.html");
    std::fs::write(&empty, "<html><body><nav>Accueil</nav></body></html>").unwrap();
    let out = ws.run(&["extract", empty.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aucun texte d'article"), "{err}");
}
