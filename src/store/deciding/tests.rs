//! The triage's one-transaction decision against the separate reads and writes it replaces:
//! the same snapshot, ranks, marks, log and detail, per centre, on whichever backend the
//! tests run; an unknown story writes nothing.

use chrono::{Duration, TimeZone, Utc};

use crate::config::centre::Centre;
use crate::model::{DecisionState, DossierTag, Tagging};
use crate::store::DecisionError;
use crate::store::{InboxFilter, Store, TaggingInput};
use crate::testing::{article, two_source_store};

/// Story 0 tagged in two dossiers and carried by two sources, story 1 untagged.
async fn stories(dir: &std::path::Path) -> (Store, Vec<i64>) {
    let config = crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let tags = &[("pauvrete", 1.0, &[][..]), ("securite", 0.5, &[][..])];
    let stories = [
        article("Un", "", "https://www.lemonde.fr/1.html", at, tags, &[]),
        article("Deux", "", "https://www.lemonde.fr/2.html", at, &[], &[]),
    ];
    let echo = [article(
        "Un, repris",
        "",
        "https://www.ladepeche.fr/1.html",
        at,
        tags,
        &[],
    )];
    two_source_store(dir, &config, &stories, &echo, at).await
}

/// What the triage read around `Store::decide` before: snapshot, ranks before, then the
/// decision, the marks and ranks after, and the detail's decisions and edited title.
async fn decide_the_old_way(
    store: &Store,
    story: i64,
    dossier: Option<&str>,
    state: DecisionState,
    now: chrono::DateTime<Utc>,
) -> super::TriageDecision {
    let dossiers = match dossier {
        Some(d) => vec![d.to_string()],
        None => store.story_dossiers(story).await.unwrap(),
    };
    let snapshot = store.decision_snapshot(story, &dossiers).await.unwrap();
    let before = own_ranks(store, story).await;
    let decided = store
        .decide(story, dossier, state, "ana", now)
        .await
        .unwrap();
    let detail = store.story_detail(story).await.unwrap().unwrap();
    super::TriageDecision {
        snapshot,
        before,
        after: own_ranks(store, story).await,
        marks: store.change_marks().await.unwrap(),
        logged: decided.len(),
        decisions: detail.decisions,
        edited: (detail.edited_title, detail.edited_lede),
    }
}

/// The story's inbox ranks of the store's own centre.
async fn own_ranks(store: &Store, story: i64) -> Vec<(String, i64)> {
    on_pool!(store, pool => {
        sqlx::query_as("SELECT dossier, rank FROM inbox WHERE story = $1 AND centre = $2 ORDER BY dossier")
            .bind(story)
            .bind(store.centre())
            .fetch_all(pool)
            .await
            .unwrap()
    })
}

/// Every inbox row and log line of the store, to compare two stores.
async fn everything(store: &Store) -> (Vec<(String, i64, String, i64)>, usize) {
    let rows = on_pool!(store, pool => {
        sqlx::query_as("SELECT centre, story, dossier, rank FROM inbox ORDER BY centre, story, dossier")
            .fetch_all(pool)
            .await
            .unwrap()
    });
    let lines: i64 = on_pool!(store, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM decision_log")
            .fetch_one(pool)
            .await
            .unwrap()
    });
    (rows, lines as usize)
}

#[tokio::test]
async fn one_transaction_gives_what_the_separate_reads_gave() {
    let (old_dir, new_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (old, ids) = stories(old_dir.path()).await;
    let (new, new_ids) = stories(new_dir.path()).await;
    assert_eq!(ids, new_ids);
    let t = |m: i64| Utc.with_ymd_and_hms(2026, 11, 27, 11, 0, 0).unwrap() + Duration::minutes(m);
    // An edited title in one dossier first: the snapshot and the detail must keep it.
    for store in [&old, &new] {
        let securite = ["securite".to_string()];
        store
            .edit_story(ids[0], &securite, Some("Titre revu"), None, "ana", t(0))
            .await
            .unwrap();
    }
    let steps = [
        (ids[0], None, DecisionState::Kept),
        (ids[0], Some("pauvrete"), DecisionState::Starred),
        (ids[0], Some("securite"), DecisionState::Rejected),
        (ids[1], None, DecisionState::Rejected),
        (ids[1], None, DecisionState::Rejected),
    ];
    for (i, (story, dossier, state)) in steps.into_iter().enumerate() {
        let now = t(1 + i as i64);
        let expected = decide_the_old_way(&old, story, dossier, state, now).await;
        let got = new
            .decide_for_triage(story, dossier, state, "ana", now)
            .await
            .unwrap();
        assert_eq!(got, expected, "étape {i}");
        assert_eq!(everything(&new).await, everything(&old).await, "étape {i}");
        assert_eq!(
            new.decision_log(story).await.unwrap(),
            old.decision_log(story).await.unwrap()
        );
    }
    let undecided = InboxFilter {
        limit: 10,
        ..InboxFilter::default()
    };
    assert!(new.inbox(&undecided).await.unwrap().is_empty());
    assert_eq!(
        new.inbox_counts().await.unwrap(),
        old.inbox_counts().await.unwrap()
    );
}

#[tokio::test]
async fn each_centre_reads_back_its_own_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = stories(dir.path()).await;
    let centre = |id: &str| Centre {
        id: id.into(),
        name: id.to_uppercase(),
        region: "occitanie".into(),
    };
    let toulouse = store.for_centre(&centre("toulouse")).await.unwrap();
    let lyon = store.for_centre(&centre("lyon")).await.unwrap();
    // Lyon tags the network's articles by its own rules (the same dossiers here), as its
    // processes do when they catch up; until then its inbox holds only the '' rows.
    let lyon_rules = |a: &TaggingInput| Tagging {
        dossiers: if a.title.starts_with("Un") {
            [("pauvrete", 1.0), ("securite", 0.5)]
                .into_iter()
                .map(|(dossier, score)| DossierTag {
                    dossier: dossier.into(),
                    score,
                    why: Vec::new(),
                })
                .collect()
        } else {
            Vec::new()
        },
        territories: Vec::new(),
    };
    lyon.catch_up_tags(10, &lyon_rules).await.unwrap();
    let now = Utc::now();
    let first = toulouse
        .decide_for_triage(ids[0], None, DecisionState::Kept, "ana", now)
        .await
        .unwrap();
    let ranks = |r: &[(String, i64)]| r.iter().map(|(_, rank)| *rank).collect::<Vec<_>>();
    assert_eq!(ranks(&first.before), [0, 0, 0]);
    assert_eq!(ranks(&first.after), [2, 2, 2]);
    // Lyon's rows were untouched by Toulouse's decision, and its snapshot is empty.
    let second = lyon
        .decide_for_triage(ids[0], Some("pauvrete"), DecisionState::Starred, "bo", now)
        .await
        .unwrap();
    assert_eq!(ranks(&second.before), [0, 0, 0]);
    assert_eq!(
        second.after,
        [
            ("".into(), 3),
            ("pauvrete".into(), 3),
            ("securite".into(), 0)
        ]
    );
    assert_eq!(second.snapshot, [("pauvrete".to_string(), None)]);
    assert_eq!(second.decisions.len(), 1);
    assert_eq!(second.marks.1, first.marks.1 + 1);
}

#[tokio::test]
async fn an_unknown_story_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = stories(dir.path()).await;
    let before = everything(&store).await;
    let refused = store
        .decide_for_triage(999_999, None, DecisionState::Kept, "ana", Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(refused, DecisionError::UnknownStory(999_999)));
    assert_eq!(refused.to_string(), "histoire inconnue : 999999");
    assert_eq!(everything(&store).await, before);
}
