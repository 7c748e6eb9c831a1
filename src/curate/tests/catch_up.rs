//! The centre's tag catch-up runs beside the screen: the inbox is there before it ends, the
//! header says how far it is, and the inbox is read again when it is done.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;
use crate::config::centre::Centre;
use crate::retagging::Progress;

#[tokio::test]
async fn a_joining_centre_sees_its_inbox_first_and_its_tags_after_the_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let store = store(dir.path(), &config).await;
    let centre = |id: &str| Centre {
        id: id.into(),
        name: id.to_uppercase(),
        region: String::new(),
    };
    // The first named centre adopts the archive's tags; the second one joins with none.
    store.for_centre(&centre("rt")).await.unwrap();
    let labo = store.for_centre(&centre("labo")).await.unwrap();
    let mut rules = config.clone();
    rules.dossiers.get_mut("pauvrete").unwrap().rules = Some("pacte OR RSA".into());
    let tagger = crate::tag::Tagger::new(&rules).unwrap();
    let mut app = App::for_tests(labo, rules, dir.path()).await;
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
        .await
        .unwrap();
    assert_eq!(app.dossier(), Some("pauvrete"));
    assert!(app.rows.is_empty(), "rien d'étiqueté pour labo au départ");
    app.catch_up_in_background(tagger);
    assert!(app.catching_up());
    let start = std::time::Instant::now();
    while app.catching_up() {
        assert!(start.elapsed().as_secs() < 20, "l'étiquetage ne finit pas");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        app.after_frame().await.unwrap();
    }
    // The pacte stories and the RSA one, read again without a key, as the store has them.
    let fresh = app
        .store
        .inbox(&crate::store::InboxFilter {
            dossier: Some("pauvrete".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(fresh.len() >= 2, "{fresh:?}");
    let stories =
        |rows: &[crate::store::InboxRow]| rows.iter().map(|r| r.story).collect::<Vec<_>>();
    assert_eq!(stories(&app.rows), stories(&fresh));
    assert!(
        app.message.starts_with("Étiquetage terminé : "),
        "{}",
        app.message
    );
    let shown = screen(&app, 120, 30);
    assert!(
        shown.contains(&format!("({} à trier)", fresh.len())),
        "{shown}"
    );
    assert!(!shown.contains("étiquetage en cours"), "{shown}");
}

#[tokio::test]
async fn the_header_says_how_far_the_catch_up_is() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    let progress = Arc::new(Progress::default());
    progress.total.store(100_000, Ordering::Relaxed);
    progress.done.store(12_000, Ordering::Relaxed);
    // A catch-up that has not ended: the header shows its progress, the screen works.
    let task = tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        Ok(0)
    });
    app.catch_up = Some(super::super::app::CatchUp { progress, task });
    let shown = screen(&app, 120, 30);
    assert!(
        shown.contains("étiquetage en cours : 12 000 / 100 000"),
        "{shown}"
    );
    app.on_key(key('j')).await.unwrap();
    assert!(!app.after_frame().await.unwrap());
    assert!(app.catching_up());
    if let Some(c) = app.catch_up.take() {
        c.task.abort();
    }
}
