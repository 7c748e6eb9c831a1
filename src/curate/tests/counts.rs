//! The counts of the dossier bar are kept between views instead of being recounted at each
//! `Tab`, and a `Tab` loads the view a page at a time: neither may ever show something the
//! store does not hold, whatever the curator, another curator or a fetch pass did.

use super::*;
use crate::store::InboxFilter;

fn special(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The counts the TUI shows are those of a fresh count, in every view, and the header says
/// the current one.
async fn assert_counts_exact(app: &App, step: &str) {
    let fresh = app.store.inbox_counts().await.unwrap();
    for view in &app.views {
        let key = view.as_deref().unwrap_or("");
        assert_eq!(
            app.counts.get(key).copied().unwrap_or(0),
            fresh.get(key).copied().unwrap_or(0),
            "{step} : compte de « {key} » ({:?} affiché, {fresh:?} en base)",
            app.counts
        );
    }
    let current = fresh.get(app.dossier().unwrap_or("")).copied().unwrap_or(0);
    let shown = screen(app, 120, 30);
    assert!(
        shown.contains(&format!("({current} à trier)")),
        "{step} : {shown}"
    );
}

/// Moves the selection onto `story` with the curator's keys.
async fn select(app: &mut App, story: i64) {
    app.on_key(special(KeyCode::Home)).await.unwrap();
    for _ in 0..app.rows.len() {
        if app.selected_row().map(|r| r.story) == Some(story) {
            return;
        }
        app.on_key(key('j')).await.unwrap();
    }
    panic!("histoire {story} absente de la liste");
}

/// Presses `Tab` until the view is `dossier`.
async fn go_to(app: &mut App, dossier: Option<&str>) {
    for _ in 0..app.views.len() {
        if app.dossier() == dossier {
            return;
        }
        app.on_key(special(KeyCode::Tab)).await.unwrap();
    }
    panic!("vue {dossier:?} introuvable");
}

#[tokio::test]
async fn counts_stay_exact_across_tabs_decisions_undo_and_other_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    assert_counts_exact(&app, "au départ").await;
    let toulouse = app
        .rows
        .iter()
        .find(|r| r.title.starts_with("Toulouse"))
        .unwrap()
        .story;

    // Kept in « pauvrete »: it leaves the undecided of « pauvrete » and of « tous », not
    // those of « securite », where it is still to triage.
    go_to(&mut app, Some("pauvrete")).await;
    select(&mut app, toulouse).await;
    app.on_key(key('g')).await.unwrap();
    assert_counts_exact(&app, "gardée dans pauvrete").await;
    // A second decision on the story still shown changes no count.
    app.on_key(key('s')).await.unwrap();
    assert_counts_exact(&app, "étoilée aussi").await;

    // Away and back: the counts kept are still right.
    go_to(&mut app, Some("securite")).await;
    assert_counts_exact(&app, "Tab vers securite").await;
    go_to(&mut app, None).await;
    go_to(&mut app, Some("pauvrete")).await;
    assert_counts_exact(&app, "Tab retour vers pauvrete").await;

    // Rejected in « securite » too: « tous » had already lost it.
    go_to(&mut app, Some("securite")).await;
    select(&mut app, toulouse).await;
    app.on_key(key('r')).await.unwrap();
    assert_counts_exact(&app, "rejetée dans securite").await;
    app.on_key(key('j')).await.unwrap();
    go_to(&mut app, None).await;
    assert_counts_exact(&app, "Tab vers tous").await;

    // Undo, three times: back to where it started.
    for n in 0..3 {
        app.on_key(key('u')).await.unwrap();
        assert_counts_exact(&app, &format!("annulation {n}")).await;
    }
    go_to(&mut app, Some("securite")).await;
    assert_counts_exact(&app, "Tab après les annulations").await;

    // `x` in « tous »: every dossier of the story at once.
    go_to(&mut app, None).await;
    select(&mut app, toulouse).await;
    app.on_key(key('x')).await.unwrap();
    assert_counts_exact(&app, "rejetée partout").await;

    // Another curator decides: seen at the next tick, in every view.
    let other = app.rows.iter().find(|r| r.story != toulouse).unwrap().story;
    app.store
        .decide(other, None, DecisionState::Kept, "dominique", Utc::now())
        .await
        .unwrap();
    app.tick().await.unwrap();
    assert_counts_exact(&app, "décision d'une collègue").await;
    go_to(&mut app, Some("pauvrete")).await;
    assert_counts_exact(&app, "Tab après la décision d'une collègue").await;

    // Another curator decides between the tick and the curator's own decision: the own
    // write sees that the marks moved by more than itself and counts everything again.
    go_to(&mut app, None).await;
    let third = app.rows[1].story;
    app.store
        .decide(
            third,
            None,
            DecisionState::Rejected,
            "dominique",
            Utc::now(),
        )
        .await
        .unwrap();
    let mine = app.selected_row().unwrap().story;
    app.on_key(key('g')).await.unwrap();
    assert_eq!(
        app.store.story_states().await.unwrap().get(&mine),
        Some(&DecisionState::Kept)
    );
    assert_counts_exact(&app, "décision croisée").await;
    go_to(&mut app, Some("securite")).await;
    assert_counts_exact(&app, "Tab après la décision croisée").await;

    // A fetch pass brings a new story to triage.
    let config = config();
    let states = app.store.sync_sources(&config.sources).await.unwrap();
    let validators = crate::store::Validators {
        etag: None,
        last_modified: None,
        status: 200,
    };
    let fresh = crate::testing::article(
        "Précarité énergétique : les impayés augmentent",
        "Les fournisseurs signalent davantage de coupures.",
        "https://www.lemonde.fr/6.html",
        at(27, 9),
        &[("pauvrete", 1.4, &[]), ("securite", 0.3, &[])],
        &[],
    );
    app.store
        .record_success(
            states["Le Monde"].id,
            &validators,
            &[fresh],
            at(27, 10),
            |_, id| id,
        )
        .await
        .unwrap();
    app.tick().await.unwrap();
    assert_counts_exact(&app, "nouvelle relève").await;
    go_to(&mut app, Some("pauvrete")).await;
    assert_counts_exact(&app, "Tab après la relève").await;
    assert!(
        app.rows.iter().any(|r| r.title.starts_with("Précarité")),
        "la nouvelle histoire est dans la liste"
    );
}

#[tokio::test]
async fn a_tab_loads_a_page_and_the_rest_follows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    app.page = 2;
    go_to(&mut app, Some("pauvrete")).await;
    let all = app
        .store
        .inbox(&InboxFilter {
            dossier: Some("pauvrete".into()),
            limit: 100,
            ..InboxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        app.rows,
        all[..2],
        "la première page, dans l'ordre de la boîte"
    );
    assert!(app.more);
    assert!(
        screen(&app, 120, 30).contains("Histoires 1/2+"),
        "le titre dit que la liste continue"
    );
    // Moving near the end of what is loaded brings the next page.
    app.on_key(key('j')).await.unwrap();
    assert_eq!(app.rows, all, "les pages suivent sans trou ni doublon");
    assert_eq!(app.selected, 1);
    // A story decided on the last loaded row lingers; the page after it comes all the same.
    app.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE))
        .await
        .unwrap();
    assert!(!app.more);
    assert_eq!(app.selected, 3);
    assert!(screen(&app, 120, 30).contains("Histoires 4/4 "));

    // One row a page, decided where it is: the next page starts after it all the same.
    app.page = 1;
    go_to(&mut app, Some("securite")).await;
    go_to(&mut app, Some("pauvrete")).await;
    assert_eq!(app.rows.len(), 1);
    let decided = app.selected_row().unwrap().story;
    app.on_key(key('g')).await.unwrap();
    app.on_key(key('j')).await.unwrap();
    assert_eq!(app.selected_row().unwrap().story, all[1].story);
    app.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE))
        .await
        .unwrap();
    let left: Vec<i64> = all
        .iter()
        .map(|r| r.story)
        .filter(|s| *s != decided)
        .collect();
    assert_eq!(
        app.rows.iter().map(|r| r.story).collect::<Vec<_>>(),
        left,
        "la décidée quitte la liste, les autres y sont toutes, une fois"
    );
}

#[tokio::test]
async fn a_long_view_draws_the_window_around_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    // Four screen lines for rows: the selection, past them, sits on the last one.
    for _ in 0..4 {
        app.on_key(key('j')).await.unwrap();
    }
    let shown = screen(&app, 120, 8);
    let list: Vec<&str> = shown.lines().skip(3).take(4).collect();
    assert!(list[3].contains("›"), "{shown}");
    assert!(list[3].contains(&app.rows[4].title[..20]), "{shown}");
    assert!(list[0].contains(&app.rows[1].title[..20]), "{shown}");
}

#[tokio::test]
async fn the_first_frame_comes_before_the_counts_and_they_are_exact_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let store = store(dir.path(), &config).await;
    let mut app = App::new(
        store,
        config,
        dir.path().to_path_buf(),
        "camille".into(),
        None,
    )
    .await
    .unwrap();
    app.color = false;
    // The first frame: the list and the detail, the counts shown as not known yet.
    assert!(app.counts_pending);
    assert!(!app.rows.is_empty() && app.detail.is_some());
    let first = screen(&app, 120, 30);
    assert!(first.contains("(… à trier)"), "{first}");
    assert!(!first.contains(" 0 "), "aucun compte inventé : {first}");
    // A decision before the counts are read does not move counts that are not there.
    app.on_key(key('g')).await.unwrap();
    assert!(app.counts_pending);
    assert!(app.after_frame().await.unwrap());
    assert!(!app.counts_pending);
    assert_counts_exact(&app, "après la première image et une décision").await;
    // Nothing more to do after that frame.
    assert!(!app.after_frame().await.unwrap());
}
