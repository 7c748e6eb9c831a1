//! The editions' store on either backend (`tests/with-postgres` for PostgreSQL).

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;

#[tokio::test]
async fn a_block_of_an_unknown_kind_is_an_error_naming_the_edition() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    store
        .create_edition("flash-info", day(1), day(30), now)
        .await
        .unwrap();
    let block = NewBlock {
        kind: BlockKind::Intro,
        title: None,
        body: "Édito".into(),
        event_date: None,
        place: None,
    };
    store
        .add_edition_block("flash-info", 1, &block, now)
        .await
        .unwrap();
    let edition = store.edition("flash-info", 1).await.unwrap().unwrap();
    assert_eq!(edition.blocks.len(), 1);
    // A kind this version does not know, as a newer veille could have written it (the
    // column's CHECK would refuse it otherwise).
    if store.is_postgres() {
        store
            .exec("ALTER TABLE edition_blocks DROP CONSTRAINT edition_blocks_kind_check")
            .await;
        store
            .exec("UPDATE edition_blocks SET kind = 'sondage'")
            .await;
    } else {
        let mut conn = store.sqlite_pool().unwrap().acquire().await.unwrap();
        for sql in [
            "PRAGMA ignore_check_constraints = ON",
            "UPDATE edition_blocks SET kind = 'sondage'",
            "PRAGMA ignore_check_constraints = OFF",
        ] {
            sqlx::query(sql).execute(&mut *conn).await.unwrap();
        }
    }
    let error = store
        .edition("flash-info", 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("flash-info/1"), "{error}");
    assert!(error.contains("« sondage »"), "{error}");
}

/// Two sources; story 1 carried by both (its second article has the image), story 3 newer
/// and starred, story 4 kept but old; story 1 retitled by a curator.
async fn stories(store: &Store) {
    for sql in [
        "INSERT INTO sources (id, name, kind, url) VALUES (1, 'Le Monde', 'feed', 'https://m.example/rss')",
        "INSERT INTO sources (id, name, kind, url) VALUES (2, 'La Dépêche', 'feed', 'https://d.example/rss')",
        "INSERT INTO articles (id, source_id, canonical_url, url, title, summary_text, published, first_seen, updated_at)
         VALUES (1, 1, 'https://m.example/1', 'https://m.example/1', 'Pacte des solidarités', 'Résumé 1',
                 '2026-11-20T08:00:00Z', '2026-11-20T08:00:00Z', '2026-11-20T08:00:00Z')",
        "INSERT INTO articles (id, source_id, canonical_url, url, title, summary_text, published, first_seen, updated_at, story, image)
         VALUES (2, 2, 'https://d.example/2', 'https://d.example/2', 'Le pacte', 'Résumé 2',
                 '2026-11-21T08:00:00Z', '2026-11-21T08:00:00Z', '2026-11-21T08:00:00Z', 1, 'https://d.example/2.jpg')",
        "INSERT INTO articles (id, source_id, canonical_url, url, title, summary_text, published, first_seen, updated_at, territories)
         VALUES (3, 1, 'https://m.example/3', 'https://m.example/3', 'Non-recours', 'Résumé 3',
                 '2026-11-25T08:00:00Z', '2026-11-25T08:00:00Z', '2026-11-25T08:00:00Z', '[\"haute-garonne\"]')",
        "INSERT INTO articles (id, source_id, canonical_url, url, title, summary_text, published, first_seen, updated_at)
         VALUES (4, 2, 'https://d.example/4', 'https://d.example/4', 'Ancien', 'Résumé 4',
                 '2026-10-01T08:00:00Z', '2026-10-01T08:00:00Z', '2026-10-01T08:00:00Z')",
        "INSERT INTO tags (article_id, dossier, score) VALUES (1, 'pauvrete', 0.9)",
        "INSERT INTO tags (article_id, dossier, score) VALUES (2, 'securite', 0.5)",
        "INSERT INTO tags (article_id, dossier, score) VALUES (3, 'pauvrete', 0.7)",
        "INSERT INTO decisions (story, dossier, state, curator, decided_at, title)
         VALUES (1, 'pauvrete', 'kept', 'camille', '2026-11-26T08:00:00Z', 'Titre retouché')",
        "INSERT INTO decisions (story, dossier, state, curator, decided_at)
         VALUES (3, 'pauvrete', 'starred', 'camille', '2026-11-26T08:00:00Z')",
        "INSERT INTO decisions (story, dossier, state, curator, decided_at)
         VALUES (4, 'pauvrete', 'kept', 'camille', '2026-11-26T08:00:00Z')",
    ] {
        store.exec(sql).await;
    }
}

fn item(story: i64, section: &str) -> EditionItem {
    EditionItem {
        story,
        section: section.into(),
        position: 0,
        title: None,
        lede: None,
    }
}

fn order(edition: &Edition) -> Vec<(i64, &str)> {
    edition
        .items
        .iter()
        .map(|i| (i.story, i.section.as_str()))
        .collect()
}

#[tokio::test]
async fn an_edition_is_composed_on_either_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    stories(&store).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let later = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for kind in ["lettre-pauvrete", "flash-info", "flash-info"] {
        store
            .create_edition(kind, day(1), day(30), now)
            .await
            .unwrap();
    }
    let all: Vec<(String, i64, NaiveDate)> = store
        .editions()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.number, e.period_start))
        .collect();
    assert_eq!(
        all,
        [
            ("flash-info".to_string(), 1, day(1)),
            ("flash-info".to_string(), 2, day(1)),
            ("lettre-pauvrete".to_string(), 1, day(1)),
        ]
    );

    let (kind, n) = ("flash-info", 1);
    for story in [1, 3, 4] {
        store
            .add_edition_item(kind, n, &item(story, "actu"), now)
            .await
            .unwrap();
    }
    assert!(matches!(
        store.add_edition_item(kind, n, &item(2, "actu"), now).await,
        Err(EditionError::UnknownStory(2))
    ));
    assert!(matches!(
        store.add_edition_item(kind, 9, &item(1, "actu"), now).await,
        Err(EditionError::Unknown(_))
    ));
    // Edited in place, then moved to another section's end.
    let mut edited = item(3, "actu");
    edited.title = Some("Autre titre".into());
    store.add_edition_item(kind, n, &edited, now).await.unwrap();
    let edition = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(order(&edition), [(1, "actu"), (3, "actu"), (4, "actu")]);
    assert_eq!(edition.items[1].title.as_deref(), Some("Autre titre"));
    store
        .add_edition_item(kind, n, &item(1, "agenda"), now)
        .await
        .unwrap();
    let edition = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(order(&edition), [(3, "actu"), (4, "actu"), (1, "agenda")]);

    store
        .move_edition_item(kind, n, 4, true, later)
        .await
        .unwrap();
    // At the section's end it stays.
    store
        .move_edition_item(kind, n, 1, false, later)
        .await
        .unwrap();
    let edition = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(order(&edition), [(4, "actu"), (3, "actu"), (1, "agenda")]);
    assert_eq!(edition.updated_at, "2026-11-28T10:00:00Z");
    assert!(matches!(
        store.move_edition_item(kind, n, 2, true, later).await,
        Err(EditionError::NotInEdition { story: 2, .. })
    ));

    let removed = edition.items[1].clone();
    store.remove_edition_item(kind, n, 3, later).await.unwrap();
    assert!(matches!(
        store.remove_edition_item(kind, n, 3, later).await,
        Err(EditionError::NotInEdition { story: 3, .. })
    ));
    store
        .restore_edition_item(kind, n, &removed, later)
        .await
        .unwrap();
    let edition = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(order(&edition), [(4, "actu"), (3, "actu"), (1, "agenda")]);
    assert_eq!(edition.items[1], removed);

    let block = NewBlock {
        kind: BlockKind::Intro,
        title: Some("Édito".into()),
        body: "Premier jet".into(),
        event_date: None,
        place: None,
    };
    let first = store.add_edition_block(kind, n, &block, now).await.unwrap();
    let second = store.add_edition_block(kind, n, &block, now).await.unwrap();
    store
        .set_edition_block_body(kind, n, first, "Texte <final>", now)
        .await
        .unwrap();
    let edition = store.edition(kind, n).await.unwrap().unwrap();
    let blocks: Vec<(i64, i64, &str)> = edition
        .blocks
        .iter()
        .map(|b| (b.id, b.position, b.body.as_str()))
        .collect();
    assert_eq!(
        blocks,
        [(first, 1, "Texte <final>"), (second, 2, "Premier jet")]
    );
}

#[tokio::test]
async fn a_sent_edition_is_frozen_on_either_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    stories(&store).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let later = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for _ in 0..2 {
        store
            .create_edition("flash-info", day(1), day(30), now)
            .await
            .unwrap();
    }
    let (kind, n) = ("flash-info", 1);
    for story in [1, 3] {
        store
            .add_edition_item(kind, n, &item(story, "actu"), now)
            .await
            .unwrap();
    }
    let removed = store.edition(kind, n).await.unwrap().unwrap().items[1].clone();
    let block = NewBlock {
        kind: BlockKind::Intro,
        title: None,
        body: "Édito".into(),
        event_date: None,
        place: None,
    };
    let first = store.add_edition_block(kind, n, &block, now).await.unwrap();
    store.mark_edition_rendered(kind, n, now).await.unwrap();
    store
        .set_edition_status(kind, n, EditionStatus::Ready, now)
        .await
        .unwrap();
    store
        .set_edition_status(kind, n, EditionStatus::Sent, later)
        .await
        .unwrap();
    let sent = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(sent.status, EditionStatus::Sent);
    assert_eq!(sent.sent_at.as_deref(), Some("2026-11-28T10:00:00Z"));
    // Re-rendering a sent edition changes nothing, quietly.
    store.mark_edition_rendered(kind, n, later).await.unwrap();
    let after = store.edition(kind, n).await.unwrap().unwrap();
    assert_eq!(after.rendered_at.as_deref(), Some("2026-11-27T10:00:00Z"));
    assert_eq!(after, sent);
    for refused in [
        store
            .add_edition_item(kind, n, &item(1, "actu"), later)
            .await,
        store.remove_edition_item(kind, n, 1, later).await,
        store.move_edition_item(kind, n, 3, true, later).await,
        store.restore_edition_item(kind, n, &removed, later).await,
        store
            .set_edition_block_body(kind, n, first, "x", later)
            .await,
        store
            .set_edition_status(kind, n, EditionStatus::Draft, later)
            .await,
    ] {
        let error = refused.unwrap_err();
        assert!(matches!(error, EditionError::Sent(_)), "{error}");
        assert_eq!(
            error.to_string(),
            "l'édition flash-info/1 est envoyée : elle ne peut plus être modifiée"
        );
    }
    assert!(matches!(
        store.add_edition_block(kind, n, &block, later).await,
        Err(EditionError::Sent(_))
    ));
    assert_eq!(store.edition(kind, n).await.unwrap().unwrap(), sent);
    // The other editions are still drafts and still editable.
    store
        .add_edition_item(kind, 2, &item(1, "actu"), later)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_databases_own_refusal_reads_as_the_stores_on_either_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    store
        .create_edition("flash-info", day(1), day(30), now)
        .await
        .unwrap();
    store.exec("UPDATE editions SET status = 'sent'").await;
    // A write behind the store's check (another program, an older veille): the trigger's
    // refusal, in either dialect, becomes the store's own error naming the edition.
    let sql = "UPDATE editions SET updated_at = 'x'";
    let refusal = on_pool!(store, pool => sqlx::query(sql).execute(pool).await.unwrap_err());
    let error = EditionError::from(refusal).naming("flash-info", 1);
    assert!(matches!(error, EditionError::Sent(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "l'édition flash-info/1 est envoyée : elle ne peut plus être modifiée"
    );
    // Any other database error stays what it is.
    let other = on_pool!(store, pool => {
        sqlx::query("INSERT INTO editions (kind, number, period_start, period_end, created_at, updated_at)
                     VALUES ('flash-info', 0, 'a', 'b', 'c', 'c')")
            .execute(pool)
            .await
            .unwrap_err()
    });
    let error = EditionError::from(other).naming("flash-info", 0);
    assert!(matches!(error, EditionError::Store(_)), "{error}");
}

#[tokio::test]
async fn cards_and_panoramas_read_the_same_on_either_backend() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    stories(&store).await;
    let since = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let cards = store.panorama_stories("pauvrete", since, 10).await.unwrap();
    let ids: Vec<i64> = cards.iter().map(|c| c.story).collect();
    // Starred first, then newest first; the October story is out of the period.
    assert_eq!(ids, [3, 1]);
    assert!(cards[0].starred && !cards[1].starred);
    assert_eq!(cards[0].territories, ["haute-garonne"]);
    let card = &cards[1];
    assert_eq!(card.title, "Titre retouché");
    assert_eq!(card.lede, "Résumé 1");
    assert_eq!(card.source, "Le Monde");
    assert_eq!(card.date, "2026-11-20T08:00:00Z");
    assert_eq!(
        card.also,
        [SourceLink {
            source: "La Dépêche".into(),
            url: "https://d.example/2".into()
        }]
    );
    assert_eq!(card.dossiers, ["pauvrete", "securite"]);
    assert_eq!(card.image.as_deref(), Some("https://d.example/2.jpg"));
    assert_eq!(
        store
            .panorama_stories("pauvrete", since, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    // In the order given; an unknown id is skipped.
    let cards = store.story_cards(&[4, 99, 1], None).await.unwrap();
    let ids: Vec<i64> = cards.iter().map(|c| c.story).collect();
    assert_eq!(ids, [4, 1]);
    assert_eq!(cards[1].title, "Titre retouché");
}

fn centre(id: &str, name: &str) -> crate::config::centre::Centre {
    crate::config::centre::Centre {
        id: id.into(),
        name: name.into(),
        region: "occitanie".into(),
    }
}

#[tokio::test]
async fn each_centre_numbers_composes_and_sees_only_its_own_editions() {
    let dir = tempfile::tempdir().unwrap();
    let single = crate::testing::open_store(dir.path()).await;
    stories(&single).await;
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single.for_centre(&centre("labo", "Labo")).await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    // The same kind and number in both centres: each numbers from 1.
    for (store, story) in [(&rt, 1), (&labo, 3)] {
        let made = store
            .create_edition("flash-info", day(1), day(30), now)
            .await
            .unwrap();
        assert_eq!(made.number, 1);
        store
            .add_edition_item("flash-info", 1, &item(story, "actu"), now)
            .await
            .unwrap();
    }
    rt.create_edition("flash-info", day(1), day(30), now)
        .await
        .unwrap();
    let stories_of = |e: Edition| e.items.iter().map(|i| i.story).collect::<Vec<_>>();
    assert_eq!(
        stories_of(rt.edition("flash-info", 1).await.unwrap().unwrap()),
        [1]
    );
    assert_eq!(
        stories_of(labo.edition("flash-info", 1).await.unwrap().unwrap()),
        [3]
    );
    let listed = |editions: Vec<Edition>| {
        editions
            .into_iter()
            .map(|e| (e.kind, e.number))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        listed(rt.editions().await.unwrap()),
        [("flash-info".to_string(), 1), ("flash-info".to_string(), 2)]
    );
    assert_eq!(
        listed(labo.editions().await.unwrap()),
        [("flash-info".to_string(), 1)]
    );
    // R&T's flash-info/2 is no edition of Labo's: unknown there, and left as it was.
    let before = rt.edition("flash-info", 2).await.unwrap().unwrap();
    assert!(labo.edition("flash-info", 2).await.unwrap().is_none());
    let later = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap();
    for refused in [
        labo.add_edition_item("flash-info", 2, &item(1, "actu"), later)
            .await,
        labo.set_edition_status("flash-info", 2, EditionStatus::Ready, later)
            .await,
        labo.mark_edition_rendered("flash-info", 2, later).await,
    ] {
        let error = refused.unwrap_err();
        assert!(matches!(error, EditionError::Unknown(_)), "{error}");
        assert_eq!(error.to_string(), "édition introuvable : flash-info/2");
    }
    let sending = labo
        .start_sending("flash-info", 2, "flash-info", "exemple.fr", later)
        .await;
    assert!(
        matches!(sending, Err(crate::store::SendError::UnknownEdition(_))),
        "{sending:?}"
    );
    assert_eq!(rt.edition("flash-info", 2).await.unwrap().unwrap(), before);
    assert!(single.editions().await.unwrap().is_empty());
}

#[tokio::test]
async fn click_counters_drafts_and_reminders_are_each_centres() {
    let dir = tempfile::tempdir().unwrap();
    let single = crate::testing::open_store(dir.path()).await;
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single.for_centre(&centre("labo", "Labo")).await.unwrap();
    let urls = ["https://a.example/".to_string()];
    assert_eq!(rt.number_links("flash-info", 1, &urls).await.unwrap(), [1]);
    // Labo's veille serve neither counts nor redirects R&T's link.
    assert_eq!(labo.follow_link("flash-info", 1, 1).await.unwrap(), None);
    assert!(labo.link_clicks("flash-info", 1).await.unwrap().is_empty());
    assert_eq!(
        rt.follow_link("flash-info", 1, 1).await.unwrap().as_deref(),
        Some("https://a.example/")
    );
    let labo_urls = ["https://b.example/".to_string(), urls[0].clone()];
    assert_eq!(
        labo.number_links("flash-info", 1, &labo_urls)
            .await
            .unwrap(),
        [1, 2]
    );
    assert_eq!(rt.link_clicks("flash-info", 1).await.unwrap()[0].clicks, 1);
    assert_eq!(
        labo.link_clicks("flash-info", 1).await.unwrap()[1].clicks,
        0
    );

    // The daemons' scheduled drafts of one period: one per centre.
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for store in [&rt, &labo, &rt] {
        store
            .create_scheduled_draft("flash-info", day(1), day(30), now)
            .await
            .unwrap();
    }
    let reminded = |r: Vec<crate::store::EditionReminder>| {
        r.into_iter()
            .map(|r| (r.kind, r.number))
            .collect::<Vec<_>>()
    };
    let one = vec![("flash-info".to_string(), 1)];
    assert_eq!(reminded(rt.edition_reminders().await.unwrap()), one);
    assert_eq!(reminded(labo.edition_reminders().await.unwrap()), one);
    assert_eq!(rt.editions().await.unwrap().len(), 1);
    assert_eq!(single.scalar("SELECT COUNT(*) FROM editions").await, 2);
    assert!(single.edition_reminders().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_first_named_centre_adopts_sent_editions_which_stay_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let single = crate::testing::open_store(dir.path()).await;
    stories(&single).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for _ in 0..2 {
        single
            .create_edition("flash-info", day(1), day(30), now)
            .await
            .unwrap();
    }
    single
        .add_edition_item("flash-info", 1, &item(1, "actu"), now)
        .await
        .unwrap();
    for status in [EditionStatus::Ready, EditionStatus::Sent] {
        single
            .set_edition_status("flash-info", 1, status, now)
            .await
            .unwrap();
    }
    let urls = ["https://a.example/".to_string()];
    single.number_links("flash-info", 1, &urls).await.unwrap();
    let sent = single.edition("flash-info", 1).await.unwrap().unwrap();

    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single.for_centre(&centre("labo", "Labo")).await.unwrap();
    assert_eq!(rt.edition("flash-info", 1).await.unwrap().unwrap(), sent);
    assert_eq!(rt.editions().await.unwrap().len(), 2);
    assert_eq!(
        rt.follow_link("flash-info", 1, 1).await.unwrap().as_deref(),
        Some("https://a.example/")
    );
    assert!(labo.editions().await.unwrap().is_empty());
    assert!(single.editions().await.unwrap().is_empty());
    // Adopted, the sent edition is still frozen: by the store and by the database, which
    // also refuses to hand it to another centre.
    let error = rt
        .add_edition_item("flash-info", 1, &item(3, "actu"), now)
        .await
        .unwrap_err();
    assert!(matches!(error, EditionError::Sent(_)), "{error}");
    for sql in [
        "UPDATE editions SET centre = 'labo' WHERE number = 1",
        "UPDATE editions SET period_end = '2026-12-31' WHERE number = 1",
        "DELETE FROM editions WHERE number = 1",
    ] {
        let refused = single.try_exec(sql).await.unwrap_err().to_string();
        assert!(refused.contains(SENT_REFUSAL), "{sql}: {refused}");
    }
    assert_eq!(rt.edition("flash-info", 1).await.unwrap().unwrap(), sent);
    // The draft stays editable by its new owner.
    rt.add_edition_item("flash-info", 2, &item(3, "actu"), now)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_centres_sending_counts_only_its_own_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let single = crate::testing::open_store(dir.path()).await;
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single.for_centre(&centre("labo", "Labo")).await.unwrap();
    let at = "2026-11-27T10:00:00Z";
    single
        .exec(&format!(
            "INSERT INTO subscribers (email, created_at, centre)
             VALUES ('lecteur@exemple.fr', '{at}', 'rt')"
        ))
        .await;
    single
        .exec(&format!(
            "INSERT INTO subscriptions (subscriber_id, list, status, consent_at, consent_how,
               consent_source, updated_at)
             SELECT id, 'flash-info', 'active', '{at}', 'import', 'test', '{at}' FROM subscribers"
        ))
        .await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    for store in [&rt, &labo] {
        store
            .create_edition("flash-info", day(1), day(30), now)
            .await
            .unwrap();
        store
            .set_edition_status("flash-info", 1, EditionStatus::Ready, now)
            .await
            .unwrap();
    }
    let (id, queued) = rt
        .start_sending("flash-info", 1, "flash-info", "exemple.fr", now)
        .await
        .unwrap();
    assert_eq!(queued, 1);
    single
        .exec(&format!(
            "UPDATE deliveries SET state = 'sent', sent_at = '{at}' WHERE edition_id = {id}"
        ))
        .await;
    let hour_before = now - chrono::Duration::hours(1);
    assert_eq!(rt.sent_since(hour_before).await.unwrap(), 1);
    assert_eq!(labo.sent_since(hour_before).await.unwrap(), 0);
    assert_eq!(rt.totals().await.unwrap().deliveries["sent"], 1);
    assert!(labo.totals().await.unwrap().deliveries.is_empty());
    // Labo's flash-info/1 was not sent by R&T's send.
    let labo_one = labo.edition("flash-info", 1).await.unwrap().unwrap();
    assert_eq!(labo_one.status, EditionStatus::Ready);
}
