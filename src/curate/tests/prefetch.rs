//! The detail read after the frame: the next `j` shows it without reading the store, it is
//! the store's detail, and no write of the curator's own leaves an older one in use.

use super::*;

/// The detail pane the store gives for the selected story now.
async fn fresh_detail(app: &App) -> Option<crate::store::StoryDetail> {
    let story = app.selected_row().unwrap().story;
    app.store.story_detail(story).await.unwrap()
}

#[tokio::test]
async fn the_next_story_is_read_after_the_frame_and_shown_by_j() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    // `for_tests` ran the first `after_frame` (the counts); the next one reads ahead.
    assert!(app.prefetched.is_empty());
    assert!(!app.after_frame().await.unwrap(), "rien de neuf à l'écran");
    let next = app.rows[1].story;
    assert_eq!(
        app.prefetched.iter().map(|p| p.story).collect::<Vec<_>>(),
        [next]
    );
    // Once per selection: a second frame reads nothing more.
    app.after_frame().await.unwrap();
    assert_eq!(app.prefetched.len(), 1);
    app.on_key(key('j')).await.unwrap();
    assert_eq!(app.selected_row().unwrap().story, next);
    assert!(app.prefetched.is_empty(), "pris par j");
    assert_eq!(app.detail, fresh_detail(&app).await);
    // Down again: the story read ahead is taken; after `k`, the one above is read ahead.
    app.after_frame().await.unwrap();
    assert_eq!(app.prefetched[0].story, app.rows[2].story);
    app.on_key(key('j')).await.unwrap();
    assert!(app.prefetched.is_empty(), "pris par j");
    app.on_key(key('k')).await.unwrap();
    app.after_frame().await.unwrap();
    assert_eq!(app.prefetched.len(), 1);
    assert_eq!(app.prefetched[0].story, app.rows[0].story);
    app.on_key(key('k')).await.unwrap();
    assert_eq!(app.detail, fresh_detail(&app).await);
}

#[tokio::test]
async fn a_write_forgets_what_was_read_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    app.after_frame().await.unwrap();
    assert_eq!(app.prefetched.len(), 1);
    // The curator's own decision: forgotten, then read again after the frame.
    app.on_key(key('g')).await.unwrap();
    assert!(app.prefetched.is_empty());
    app.after_frame().await.unwrap();
    assert_eq!(app.prefetched.len(), 1);
    // Another process edits the title of the story read ahead: the next poll reloads and
    // forgets, and `j` shows that title.
    let next = app.prefetched[0].story;
    let dossiers = app.store.story_dossiers(next).await.unwrap();
    let elsewhere = Some("Titre d'un autre poste");
    app.store
        .edit_story(next, &dossiers, elsewhere, None, "dominique", Utc::now())
        .await
        .unwrap();
    app.tick().await.unwrap();
    assert!(app.prefetched.is_empty());
    app.on_key(key('j')).await.unwrap();
    assert_eq!(app.selected_row().unwrap().story, next);
    let shown = app.detail.clone().unwrap();
    assert_eq!(shown.edited_title.as_deref(), elsewhere);
    assert_eq!(Some(shown), fresh_detail(&app).await);
}
