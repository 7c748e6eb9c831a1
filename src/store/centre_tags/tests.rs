//! Each centre's own tags of shared articles, on whichever backend the tests run: the
//! storer's centre tags with its rules, another centre's catch-up tags the same articles by
//! its own, a changed text or a new body is tagged again by every centre, and a
//! single-centre archive's tags go to the first named centre.

use chrono::{TimeZone, Utc};

use crate::config::centre::Centre;
use crate::model::{DossierTag, Tagging};
use crate::store::{InboxFilter, Store, TaggingInput, Validators};
use crate::testing::{article, open_store};

fn centre(id: &str, name: &str) -> Centre {
    Centre {
        id: id.into(),
        name: name.into(),
        region: "occitanie".into(),
    }
}

/// Labo Cités's rules: "logement" in the title files it under politique-de-la-ville, at 0.7.
fn labo_rules(a: &TaggingInput) -> Tagging {
    let mut dossiers = Vec::new();
    if a.title.contains("logement") || a.body.contains("logement") {
        dossiers.push(DossierTag {
            dossier: "politique-de-la-ville".into(),
            score: 0.7,
            why: Vec::new(),
        });
    }
    Tagging {
        dossiers,
        territories: Vec::new(),
    }
}

fn dossier(name: &str) -> InboxFilter {
    InboxFilter {
        dossier: Some(name.into()),
        limit: 10,
        ..InboxFilter::default()
    }
}

/// (story, score) of a centre's inbox in one dossier.
async fn view(store: &Store, name: &str) -> Vec<(i64, f64)> {
    let rows = store.inbox(&dossier(name)).await.unwrap();
    rows.into_iter().map(|r| (r.story, r.score)).collect()
}

/// Two centres on one store; R&T's process stores two articles tagged by its rules (the
/// first under politique-de-la-ville at 1.0, the second under nothing). Returns both
/// centres' stores, the source id and the article ids.
async fn stored_by_rt(dir: &std::path::Path) -> (Store, Store, i64, Vec<i64>) {
    let base = open_store(dir).await;
    let rt = base.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = base
        .for_centre(&centre("labo", "Labo Cités"))
        .await
        .unwrap();
    let config = crate::config::parse(
        "[[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let source = rt.sync_sources(&config.sources).await.unwrap()["Le Monde"].id;
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let items = [
        article(
            "Quartiers : la rénovation urbaine",
            "",
            "https://www.lemonde.fr/1.html",
            at,
            &[("politique-de-la-ville", 1.0, &[][..])],
            &[],
        ),
        article(
            "Crise du logement à Toulouse",
            "",
            "https://www.lemonde.fr/2.html",
            at,
            &[],
            &[],
        ),
    ];
    let mut ids = Vec::new();
    rt.record_success(source, &ok(), &items, at, |_, id| {
        ids.push(id);
        id
    })
    .await
    .unwrap();
    (rt, labo, source, ids)
}

fn ok() -> Validators {
    Validators {
        etag: None,
        last_modified: None,
        status: 200,
    }
}

#[tokio::test]
async fn another_centre_tags_the_shared_articles_by_its_own_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, labo, _, ids) = stored_by_rt(dir.path()).await;
    let pdv = "politique-de-la-ville";
    assert_eq!(view(&rt, pdv).await, [(ids[0], 1.0)]);
    // R&T's tags are not Labo Cités's: until its catch-up, its dossier is empty.
    assert!(view(&labo, pdv).await.is_empty());
    assert_eq!(labo.catch_up_tags(10, &labo_rules).await.unwrap(), (2, 1));
    assert_eq!(view(&labo, pdv).await, [(ids[1], 0.7)]);
    assert_eq!(
        view(&rt, pdv).await,
        [(ids[0], 1.0)],
        "R&T's inbox unchanged"
    );
    // Everything is marked: nothing more to tag, for either centre.
    assert_eq!(labo.catch_up_tags(10, &labo_rules).await.unwrap(), (0, 0));
    assert_eq!(rt.catch_up_tags(10, &labo_rules).await.unwrap(), (0, 0));
    // The listings and the decisions' default dossiers read the centre's own tags.
    let detail = labo.story_detail(ids[1]).await.unwrap().unwrap();
    let why: Vec<&str> = detail.why.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(why, [pdv]);
    assert_eq!(labo.story_dossiers(ids[0]).await.unwrap(), [""]);
    assert_eq!(rt.story_dossiers(ids[0]).await.unwrap(), [pdv]);
}

#[tokio::test]
async fn a_changed_text_or_a_new_body_is_tagged_again_by_every_centre() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, labo, source, ids) = stored_by_rt(dir.path()).await;
    labo.catch_up_tags(10, &labo_rules).await.unwrap();
    // The first article's title changes at R&T's next fetch: Labo Cités tags it again.
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
    let changed = article(
        "Quartiers : le logement social en question",
        "",
        "https://www.lemonde.fr/1.html",
        at,
        &[("politique-de-la-ville", 1.0, &[][..])],
        &[],
    );
    rt.record_success(source, &ok(), &[changed], at, |_, id| id)
        .await
        .unwrap();
    assert_eq!(labo.catch_up_tags(10, &labo_rules).await.unwrap(), (1, 1));
    assert_eq!(rt.catch_up_tags(10, &labo_rules).await.unwrap(), (0, 0));
    let pdv = "politique-de-la-ville";
    let mut stories: Vec<i64> = view(&labo, pdv).await.into_iter().map(|r| r.0).collect();
    stories.sort_unstable();
    assert_eq!(stories, ids);
    // A full text arrives for the second article: every centre reads it again.
    rt.set_body(ids[1], Some("Un texte sans rapport."), "ok")
        .await
        .unwrap();
    assert_eq!(labo.catch_up_tags(10, &labo_rules).await.unwrap(), (1, 0));
    assert_eq!(
        rt.catch_up_tags(10, &|_| Tagging::default()).await.unwrap(),
        (1, 0)
    );
}

#[tokio::test]
async fn the_catch_up_goes_by_batches_and_keeps_the_rest_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (_, labo, _, ids) = stored_by_rt(dir.path()).await;
    assert_eq!(labo.catch_up_tags(1, &labo_rules).await.unwrap(), (1, 0));
    assert_eq!(labo.catch_up_tags(1, &labo_rules).await.unwrap(), (1, 1));
    assert_eq!(labo.catch_up_tags(1, &labo_rules).await.unwrap(), (0, 0));
    assert_eq!(view(&labo, "politique-de-la-ville").await, [(ids[1], 0.7)]);
}

#[tokio::test]
async fn the_first_named_centre_adopts_the_single_centre_tags() {
    let dir = tempfile::tempdir().unwrap();
    let single = open_store(dir.path()).await;
    let config = crate::config::parse(
        "[[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let source = single.sync_sources(&config.sources).await.unwrap()["Le Monde"].id;
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let item = article(
        "Quartiers prioritaires",
        "",
        "https://www.lemonde.fr/1.html",
        at,
        &[("politique-de-la-ville", 1.0, &[][..])],
        &[],
    );
    let mut id = 0;
    single
        .record_success(source, &ok(), &[item], at, |_, new| {
            id = new;
            new
        })
        .await
        .unwrap();
    single
        .replace_to_check(&[(id, "education".into(), 0.4, vec![])])
        .await
        .unwrap();
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single
        .for_centre(&centre("labo", "Labo Cités"))
        .await
        .unwrap();
    // R&T keeps what the archive tagged and learned: nothing to tag again.
    assert_eq!(view(&rt, "politique-de-la-ville").await, [(id, 1.0)]);
    assert_eq!(rt.to_check("education", 10).await.unwrap().len(), 1);
    assert_eq!(rt.catch_up_tags(10, &labo_rules).await.unwrap(), (0, 0));
    // Labo Cités starts with neither: its band is learned from its own decisions.
    assert!(view(&labo, "politique-de-la-ville").await.is_empty());
    assert!(labo.to_check("education", 10).await.unwrap().is_empty());
    assert_eq!(labo.catch_up_tags(10, &labo_rules).await.unwrap(), (1, 0));
    labo.replace_to_check(&[]).await.unwrap();
    assert_eq!(
        rt.to_check("education", 10).await.unwrap().len(),
        1,
        "R&T's band stays"
    );
}
