//! Two search indexes on one store, on whichever backend the tests run: each sees what it
//! lacks, a change reaches both, a reset touches only its own, the old marks are claimed once.

use chrono::{TimeZone, Utc};

use super::LEGACY_INDEX;
use crate::model::{DossierTag, Tagging};
use crate::store::Store;
use crate::testing::{article, two_source_store};

fn config() -> crate::config::Config {
    crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap()
}

/// A store with two stories from Le Monde and one lone article from La Dépêche; their ids.
async fn store(dir: &std::path::Path) -> (Store, [i64; 3]) {
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let stories = [
        article(
            "Un",
            "Résumé un",
            "https://www.lemonde.fr/1.html",
            at,
            &[],
            &[],
        ),
        article(
            "Deux",
            "Résumé deux",
            "https://www.lemonde.fr/2.html",
            at,
            &[],
            &[],
        ),
    ];
    let (store, ids) = two_source_store(dir, &config(), &stories, &[], at).await;
    let lone = article("Trois", "", "https://www.ladepeche.fr/3.html", at, &[], &[]);
    let states = store.sync_sources(&config().sources).await.unwrap();
    let validators = crate::store::Validators {
        etag: None,
        last_modified: None,
        status: 200,
    };
    let mut third = 0;
    store
        .record_success(
            states["La Dépêche"].id,
            &validators,
            &[lone],
            at,
            |_, id| {
                third = id;
                id
            },
        )
        .await
        .unwrap();
    (store, [ids[0], ids[1], third])
}

async fn lacking(store: &Store, index: &str) -> Vec<i64> {
    let rows = store.unindexed(index, 100).await.unwrap();
    rows.iter().map(|d| d.id).collect()
}

async fn mark_all(store: &Store, index: &str, ids: &[i64]) {
    store.mark_indexed(index, ids, Utc::now()).await.unwrap();
    assert!(lacking(store, index).await.is_empty(), "{index}");
}

#[tokio::test]
async fn each_index_takes_every_article_and_every_change_reaches_both() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids @ [one, two, three]) = store(dir.path()).await;
    // A second index sees everything the first one has already taken.
    assert_eq!(lacking(&store, "machine-a").await, ids);
    mark_all(&store, "machine-a", &ids).await;
    assert_eq!(lacking(&store, "machine-b").await, ids);
    mark_all(&store, "machine-b", &ids).await;
    mark_all(&store, "machine-a", &ids).await; // Marking again is harmless.

    // A new body, a retag and a move to another story: each index lacks the article again.
    store.set_body(one, Some("Texte"), "ok").await.unwrap();
    let retagged = Tagging {
        dossiers: vec![DossierTag {
            dossier: "securite".into(),
            score: 2.0,
            why: Vec::new(),
        }],
        territories: vec!["aude".into()],
    };
    let changed = store.replace_tagging(&[(two, retagged)]).await.unwrap();
    assert_eq!(changed, 1);
    store.move_to_story(three, one).await.unwrap();
    for index in ["machine-a", "machine-b"] {
        let waiting = store.unindexed(index, 100).await.unwrap();
        assert_eq!(waiting.iter().map(|d| d.id).collect::<Vec<_>>(), ids);
        assert_eq!(waiting[0].body, "Texte");
        assert_eq!(waiting[1].dossiers, ["securite"]);
        assert_eq!(waiting[2].story, one);
    }
    // A failed body fetch changes nothing the index shows: nobody reindexes for it.
    mark_all(&store, "machine-a", &ids).await;
    mark_all(&store, "machine-b", &ids).await;
    store.set_body(two, None, "error").await.unwrap();
    assert!(lacking(&store, "machine-a").await.is_empty());

    // A rebuild of one index forgets its own marks only.
    store.reset_index("machine-a").await.unwrap();
    assert_eq!(lacking(&store, "machine-a").await, ids);
    assert!(lacking(&store, "machine-b").await.is_empty());
}

#[tokio::test]
async fn the_marks_from_before_the_index_ids_go_to_the_first_index_that_claims_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, [one, two, three]) = store(dir.path()).await;
    // As migration 0015 leaves an archive whose one index had taken the first two articles.
    store
        .exec(&format!(
            "INSERT INTO index_marks (index_id, article_id, indexed_at) \
             VALUES ('{LEGACY_INDEX}', {one}, '2026-11-27T10:00:00Z'), \
                    ('{LEGACY_INDEX}', {two}, '2026-11-27T10:00:00Z')"
        ))
        .await;
    assert_eq!(store.adopt_legacy_marks("existant").await.unwrap(), 2);
    assert_eq!(lacking(&store, "existant").await, [three]);
    // Another old index folder finds none left and takes everything once.
    assert_eq!(store.adopt_legacy_marks("autre").await.unwrap(), 0);
    assert_eq!(lacking(&store, "autre").await, [one, two, three]);
}

#[tokio::test]
async fn a_restored_archive_keeps_only_the_marks_of_its_new_index() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = store(dir.path()).await;
    mark_all(&store, "sauvegardé", &ids).await;
    store
        .mark_indexed("nouveau", &ids[..1], Utc::now())
        .await
        .unwrap();
    assert_eq!(store.forget_other_indexes("nouveau").await.unwrap(), 3);
    assert_eq!(lacking(&store, "nouveau").await, ids[1..]);
    assert_eq!(
        store
            .scalar("SELECT COUNT(*) FROM index_marks WHERE index_id = 'sauvegardé'")
            .await,
        0
    );
}

#[tokio::test]
async fn migration_0015_keeps_what_the_old_index_had_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (store, [one, two, three]) = store(dir.path()).await;
    // An archive from before 0015: the old index had taken the first two articles.
    store
        .exec(&format!(
            "UPDATE articles SET indexed_at = '2026-11-27T10:00:00Z' WHERE id IN ({one}, {two})"
        ))
        .await;
    let postgres = matches!(store.backend, crate::store::Backend::Postgres(_));
    let (undo, migration) = if postgres {
        (
            "DROP TRIGGER articles_reindex ON articles; DROP FUNCTION index_marks_invalidate(); \
             DROP TABLE index_marks;",
            include_str!("../../../migrations/postgres/0015_index_marks.sql"),
        )
    } else {
        (
            "DROP TRIGGER articles_reindex; DROP TABLE index_marks;",
            include_str!("../../../migrations/0015_index_marks.sql"),
        )
    };
    on_pool!(store, pool => {
        sqlx::raw_sql(undo).execute(pool).await.unwrap();
        sqlx::raw_sql(migration).execute(pool).await.unwrap();
    });
    assert_eq!(store.adopt_legacy_marks("existant").await.unwrap(), 2);
    assert_eq!(lacking(&store, "existant").await, [three]);
}
