//! Centres sharing one store, on whichever backend the tests run: each decides for itself,
//! sees what the others kept, and two deciding on one story at once lose nothing.

use chrono::{Duration, TimeZone, Utc};

use crate::config::centre::Centre;
use crate::model::DecisionState;
use crate::store::{InboxFilter, Store};
use crate::testing::{article, two_source_store};

fn centre(id: &str, name: &str) -> Centre {
    Centre {
        id: id.into(),
        name: name.into(),
        region: "occitanie".into(),
    }
}

/// A store (the single-centre default) with two stories tagged in one dossier.
async fn two_stories(dir: &std::path::Path) -> (Store, Vec<i64>) {
    let config = crate::config::parse(
        "[dossiers.politique-de-la-ville]\ntitle = \"Politique de la ville\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let tag = &[("politique-de-la-ville", 1.0, &[][..])];
    let stories = [
        article("Un", "", "https://www.lemonde.fr/1.html", at, tag, &[]),
        article(
            "Deux",
            "",
            "https://www.lemonde.fr/2.html",
            at - Duration::hours(1),
            tag,
            &[],
        ),
    ];
    two_source_store(dir, &config, &stories, &[], at).await
}

/// Tags the articles for a centre that joined later, by the same rule as the archive's
/// (every article under politique-de-la-ville): each centre tags by its own rules.
async fn same_rules(store: &Store) {
    let rule = |_: &crate::store::TaggingInput| crate::model::Tagging {
        dossiers: vec![crate::model::DossierTag {
            dossier: "politique-de-la-ville".into(),
            score: 1.0,
            why: Vec::new(),
        }],
        territories: Vec::new(),
    };
    store.catch_up_tags(100, &rule).await.unwrap();
}

fn undecided() -> InboxFilter {
    InboxFilter {
        dossier: Some("politique-de-la-ville".into()),
        limit: 10,
        ..InboxFilter::default()
    }
}

#[tokio::test]
async fn each_centre_decides_for_itself_and_sees_what_the_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (single, ids) = two_stories(dir.path()).await;
    let now = Utc::now();
    let pdv = Some("politique-de-la-ville");
    // Decided before the archive had a centre: the first named centre adopts it.
    single
        .decide(ids[0], pdv, DecisionState::Kept, "ana", now)
        .await
        .unwrap();
    let rt = single
        .for_centre(&centre("rt", "Ressources & Territoires"))
        .await
        .unwrap();
    let labo = single
        .for_centre(&centre("labo", "Labo Cités"))
        .await
        .unwrap();
    same_rules(&labo).await;
    assert_eq!((rt.centre(), labo.centre()), ("rt", "labo"));
    assert_eq!(rt.decision_log(ids[0]).await.unwrap().len(), 1);
    assert!(labo.decision_log(ids[0]).await.unwrap().is_empty());
    // Each inbox ranks by its own decisions: story 1 is decided for R&T only.
    let stories = |rows: Vec<crate::store::InboxRow>| -> Vec<i64> {
        rows.into_iter().map(|r| r.story).collect()
    };
    assert_eq!(stories(rt.inbox(&undecided()).await.unwrap()), [ids[1]]);
    assert_eq!(stories(labo.inbox(&undecided()).await.unwrap()), ids);
    assert_eq!(rt.inbox_counts().await.unwrap()["politique-de-la-ville"], 1);
    assert_eq!(
        labo.inbox_counts().await.unwrap()["politique-de-la-ville"],
        2
    );

    labo.decide(ids[0], pdv, DecisionState::Starred, "léa", now)
        .await
        .unwrap();
    labo.decide(ids[1], pdv, DecisionState::Rejected, "léa", now)
        .await
        .unwrap();
    let detail = rt.story_detail(ids[0]).await.unwrap().unwrap();
    assert_eq!(detail.decisions.len(), 1);
    assert_eq!(detail.decisions[0].1, DecisionState::Kept);
    assert_eq!(
        detail.elsewhere,
        [(
            "Labo Cités".to_string(),
            "politique-de-la-ville".to_string(),
            DecisionState::Starred
        )]
    );
    let detail = labo.story_detail(ids[0]).await.unwrap().unwrap();
    assert_eq!(detail.decisions[0].1, DecisionState::Starred);
    assert_eq!(detail.elsewhere[0].0, "Ressources & Territoires");
    // A rejection elsewhere is not news to the other centre.
    assert!(
        rt.story_detail(ids[1])
            .await
            .unwrap()
            .unwrap()
            .elsewhere
            .is_empty()
    );
    // Undo restores the centre's own decision, not the other's.
    let snapshot = labo
        .decision_snapshot(ids[0], &["politique-de-la-ville".to_string()])
        .await
        .unwrap();
    assert_eq!(snapshot[0].1.as_ref().unwrap().0, DecisionState::Starred);
    rt.restore_decisions(
        ids[0],
        &vec![("politique-de-la-ville".into(), None)],
        "ana",
        now,
    )
    .await
    .unwrap();
    assert!(
        rt.story_detail(ids[0])
            .await
            .unwrap()
            .unwrap()
            .decisions
            .is_empty()
    );
    let kept = labo.story_detail(ids[0]).await.unwrap().unwrap();
    assert_eq!(kept.decisions[0].1, DecisionState::Starred);

    // Renamed in its configuration, a centre is named anew; a centre registered again
    // adopts nothing.
    let names = labo
        .for_centre(&centre("rt", "R&T"))
        .await
        .unwrap()
        .centre_names()
        .await
        .unwrap();
    assert_eq!(names["rt"], "R&T");
    assert_eq!(names["labo"], "Labo Cités");
    assert_eq!(labo.decision_log(ids[0]).await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_centres_deciding_on_one_story_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (single, ids) = two_stories(dir.path()).await;
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single.for_centre(&centre("labo", "Labo")).await.unwrap();
    same_rules(&labo).await;
    const ROUNDS: usize = 40;
    let states = [
        DecisionState::Kept,
        DecisionState::Starred,
        DecisionState::Rejected,
    ];
    let run = |store: Store, curator: &'static str, offset: usize| {
        let story = ids[0];
        tokio::spawn(async move {
            for i in 0..ROUNDS {
                let state = states[(i + offset) % states.len()];
                store
                    .decide(
                        story,
                        Some("politique-de-la-ville"),
                        state,
                        curator,
                        Utc::now(),
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let (a, b) = tokio::join!(run(rt.clone(), "ana", 0), run(labo.clone(), "léa", 1));
    a.unwrap();
    b.unwrap();
    // Each centre's last decision is its own, each log is whole and only its own.
    for (store, curator, offset) in [(&rt, "ana", 0), (&labo, "léa", 1)] {
        let log = store.decision_log(ids[0]).await.unwrap();
        assert_eq!(log.len(), ROUNDS, "{curator}");
        assert!(log.iter().all(|l| l.1 == curator), "{curator}");
        let last = states[(ROUNDS - 1 + offset) % states.len()];
        assert_eq!(log.last().unwrap().4, last.as_str());
        let detail = store.story_detail(ids[0]).await.unwrap().unwrap();
        assert_eq!(detail.decisions.len(), 1);
        assert_eq!(
            (detail.decisions[0].1, detail.decisions[0].2.as_str()),
            (last, curator)
        );
        // The inbox agrees with the decision (rank recomputed in the same transaction).
        let filter = InboxFilter {
            state: Some(last),
            ..undecided()
        };
        let rows = store.inbox(&filter).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.story).collect::<Vec<_>>(), [ids[0]]);
    }
    assert_eq!(
        single
            .scalar("SELECT COUNT(*) FROM decision_log WHERE story IN (SELECT id FROM articles)")
            .await,
        2 * ROUNDS as i64
    );
}
