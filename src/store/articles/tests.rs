//! Reading articles back, on whichever backend the tests run: listings and their filters,
//! fingerprints by date, tagging inputs, retagging and the search index's bookkeeping.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::model::{DecisionState, DossierTag, Tagging};
use crate::store::ArticleFilter;
use crate::testing::{article, two_source_store};

fn config() -> crate::config::Config {
    crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\
         dossiers = [\"pauvrete\"]\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap()
}

/// Two stories from Le Monde and an echo of the first from La Dépêche: the store, the ids
/// (one, two, echo) and the time they were stored at.
async fn three_articles(dir: &std::path::Path) -> (crate::store::Store, [i64; 3], DateTime<Utc>) {
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let stories = [
        article(
            "Un",
            "Résumé un",
            "https://www.lemonde.fr/1.html",
            at,
            &[("pauvrete", 1.0, &[]), ("securite", 2.0, &[])],
            &["gers"],
        ),
        article(
            "Deux",
            "",
            "https://www.lemonde.fr/2.html",
            at - Duration::days(2),
            &[],
            &[],
        ),
    ];
    let echo = [article(
        "Écho",
        "",
        "https://www.ladepeche.fr/1.html",
        at - Duration::hours(1),
        &[("pauvrete", 0.5, &[])],
        &[],
    )];
    let (store, ids) = two_source_store(dir, &config(), &stories, &echo, at).await;
    let echo_id = store
        .scalar("SELECT id FROM articles WHERE title = 'Écho'")
        .await;
    (store, [ids[0], ids[1], echo_id], at)
}

#[tokio::test]
async fn listings_and_their_filters_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, [one, two, echo_id], at) = three_articles(dir.path()).await;
    // Newest first, each article with its story, dossiers (best score first) and state.
    let all = store.articles(&ArticleFilter::default()).await.unwrap();
    let listed: Vec<(i64, i64)> = all.iter().map(|r| (r.id, r.story)).collect();
    assert_eq!(listed, [(one, one), (echo_id, one), (two, two)]);
    assert_eq!(all[0].dossiers, ["securite", "pauvrete"]);
    assert_eq!(all[0].territories, ["gers"]);
    assert_eq!(all[0].source, "Le Monde");
    assert_eq!(all[1].source, "La Dépêche");
    assert!(all.iter().all(|r| r.state == DecisionState::New));

    store
        .decide(one, Some("pauvrete"), DecisionState::Kept, "ana", at)
        .await
        .unwrap();
    store
        .decide(one, Some("securite"), DecisionState::Starred, "ana", at)
        .await
        .unwrap();
    let states = store.story_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[&one], DecisionState::Starred);
    let ids_of = |rows: Vec<crate::store::ArticleRow>| -> Vec<i64> {
        rows.into_iter().map(|r| r.id).collect()
    };
    let starred = ArticleFilter {
        state: Some(DecisionState::Starred),
        ..ArticleFilter::default()
    };
    assert_eq!(
        ids_of(store.articles(&starred).await.unwrap()),
        [one, echo_id]
    );
    let in_securite = ArticleFilter {
        dossier: Some("securite".into()),
        ..ArticleFilter::default()
    };
    assert_eq!(ids_of(store.articles(&in_securite).await.unwrap()), [one]);
    let from_depeche = ArticleFilter {
        source: Some("La Dépêche".into()),
        ..ArticleFilter::default()
    };
    assert_eq!(
        ids_of(store.articles(&from_depeche).await.unwrap()),
        [echo_id]
    );
    let recent_one = ArticleFilter {
        since: Some(at - Duration::days(1)),
        limit: Some(1),
        ..ArticleFilter::default()
    };
    assert_eq!(ids_of(store.articles(&recent_one).await.unwrap()), [one]);
}

#[tokio::test]
async fn fingerprints_and_tagging_inputs_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, [one, two, echo_id], at) = three_articles(dir.path()).await;
    // Fingerprints by date, oldest first; the window's end is excluded.
    store
        .exec("UPDATE articles SET fingerprint = CASE WHEN title = 'Deux' THEN NULL ELSE title END")
        .await;
    let recent = store
        .recent_fingerprints(at - Duration::days(3))
        .await
        .unwrap();
    let got: Vec<(i64, String)> = recent.into_iter().map(|(s, _, f)| (s, f)).collect();
    assert_eq!(got, [(one, "Écho".to_string()), (one, "Un".to_string())]);
    let older = store
        .fingerprints_between(at - Duration::days(3), at)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0].1, at - Duration::hours(1));

    // What retagging reads: every article in id order, with its source's dossier hints and
    // its body once fetched.
    store
        .set_body(two, Some("Texte de la page."), "ok")
        .await
        .unwrap();
    let inputs = store.tagging_inputs().await.unwrap();
    let read: Vec<(i64, Vec<String>, String)> = inputs
        .into_iter()
        .map(|i| (i.id, i.source_dossiers, i.body))
        .collect();
    assert_eq!(
        read,
        [
            (one, vec!["pauvrete".to_string()], String::new()),
            (
                two,
                vec!["pauvrete".to_string()],
                "Texte de la page.".to_string()
            ),
            (echo_id, vec![], String::new()),
        ]
    );
    let some = store
        .tagging_inputs_for(&[echo_id, two, two])
        .await
        .unwrap();
    let got: Vec<(i64, String)> = some.into_iter().map(|i| (i.id, i.title)).collect();
    assert_eq!(
        got,
        [(two, "Deux".to_string()), (echo_id, "Écho".to_string())]
    );
    assert!(store.tagging_inputs_for(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn retagging_and_the_index_bookkeeping_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, [one, two, echo_id], at) = three_articles(dir.path()).await;
    store
        .set_body(two, Some("Texte de la page."), "ok")
        .await
        .unwrap();
    // Retagging changes only what differs, and the article waits for the index again.
    let all_ids: Vec<i64> = store
        .all_for_index(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    store.mark_indexed("ici", &all_ids, at).await.unwrap();
    assert!(store.unindexed("ici", 100).await.unwrap().is_empty());
    let same = Tagging {
        dossiers: vec![DossierTag {
            dossier: "pauvrete".into(),
            score: 0.5,
            why: Vec::new(),
        }],
        territories: Vec::new(),
    };
    let moved = Tagging {
        dossiers: vec![DossierTag {
            dossier: "securite".into(),
            score: 3.0,
            why: Vec::new(),
        }],
        territories: vec!["aude".into()],
    };
    let changed = store
        .replace_tagging(&[(echo_id, same), (two, moved)])
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let waiting = store.unindexed("ici", 100).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, two);
    assert_eq!(waiting[0].dossiers, ["securite"]);
    assert_eq!(waiting[0].territories, ["aude"]);
    assert_eq!(waiting[0].body, "Texte de la page.");

    // A rebuild reads every article in pages, by id.
    let first = store.all_for_index(0, 2).await.unwrap();
    assert_eq!(first.iter().map(|d| d.id).collect::<Vec<_>>(), [one, two]);
    let mut dossiers = first[0].dossiers.clone();
    dossiers.sort();
    assert_eq!(dossiers, ["pauvrete", "securite"]);
    assert_eq!(first[0].story, one);
    assert_eq!(first[0].published, Some(at));
    let rest = store.all_for_index(two, 2).await.unwrap();
    assert_eq!(rest.iter().map(|d| d.id).collect::<Vec<_>>(), [echo_id]);
    assert_eq!(rest[0].story, one);
    store.reset_index("ici").await.unwrap();
    assert_eq!(store.unindexed("ici", 100).await.unwrap().len(), 3);
}
