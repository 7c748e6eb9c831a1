//! The learned additions to triage: a dossier's "to check" band after its rules' stories, with
//! the learned words in the detail, and the "suite de" link of a running story.

use std::path::Path;

use chrono::{TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;
use super::ui;

#[tokio::test]
async fn band_and_running_story_in_the_dossier_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let config = crate::config::parse(
        &format!(
            "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n\n\
             [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
             [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n\n\
             [publish]\nbase_url = \"https://veille.example.org\"\ntemplates = \"{}\"\n",
            templates.display()
        ),
        "feeds.toml",
    )
    .unwrap();
    let at = |h| Utc.with_ymd_and_hms(2026, 11, 26, h, 0, 0).unwrap();
    use crate::testing::article;
    let stories = [
        article(
            "Albi : un homme interpellé après l'incendie de l'épicerie solidaire",
            "",
            "https://www.lemonde.fr/1.html",
            at(8),
            &[(
                "pauvrete",
                2.0,
                &[("\"épicerie solidaire\"", "title", "épicerie solidaire")],
            )],
            &[],
        ),
        article(
            "Albi : l'homme soupçonné d'avoir incendié l'épicerie solidaire mis en examen",
            "",
            "https://www.lemonde.fr/2.html",
            at(10),
            &[],
            &[],
        ),
    ];
    let (store, ids) =
        crate::testing::two_source_store(dir.path(), &config, &stories, &[], at(12)).await;
    let (first, second) = (ids[0], ids[1]);
    store.link_stories(&[(second, first, 0.62)]).await.unwrap();
    store
        .replace_to_check(&[(
            second,
            "pauvrete".into(),
            0.81,
            vec![("épicerie solidaire".into(), 1.4), ("incendié".into(), 0.3)],
        )])
        .await
        .unwrap();
    let mut app = App::for_tests(store, config, dir.path()).await;
    // The dossier's view: the rules' story, then the band.
    app.view = app
        .views
        .iter()
        .position(|v| v.as_deref() == Some("pauvrete"))
        .unwrap();
    app.reload().await.unwrap();
    assert_eq!(app.band_from, 1);
    assert_eq!(app.rows.len(), 2);
    assert_eq!(app.rows[1].story, second);
    app.selected = 1;
    app.reload().await.unwrap();
    let mut terminal = Terminal::new(TestBackend::new(160, 30)).unwrap();
    terminal.draw(|f| ui::draw(f, &app)).unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("à vérifier"), "{screen}");
    assert!(
        screen.contains(&format!("Suite de l'histoire {first}")),
        "{screen}"
    );
    assert!(
        screen.contains("À vérifier pour pauvrete (81 %, appris des décisions)"),
        "{screen}"
    );
    assert!(screen.contains("solidaire, incendié"), "{screen}");
    // Decided in the dossier, the story leaves the band.
    app.store
        .decide(
            second,
            Some("pauvrete"),
            crate::model::DecisionState::Kept,
            "camille",
            at(13),
        )
        .await
        .unwrap();
    app.reload().await.unwrap();
    assert_eq!(app.rows.len(), 1);
}

#[tokio::test]
async fn the_band_follows_the_last_page_of_the_rules_stories() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let dir = tempfile::tempdir().unwrap();
    let config = crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let at = |h| Utc.with_ymd_and_hms(2026, 11, 26, h, 0, 0).unwrap();
    use crate::testing::article;
    let stories = [
        article(
            "Pauvreté : le rapport annuel du Secours catholique",
            "",
            "https://www.lemonde.fr/1.html",
            at(8),
            &[("pauvrete", 2.0, &[])],
            &[],
        ),
        article(
            "Minima sociaux : la revalorisation d'avril",
            "",
            "https://www.lemonde.fr/2.html",
            at(9),
            &[("pauvrete", 1.0, &[])],
            &[],
        ),
        article(
            "Albi : l'épicerie solidaire rouvre ses portes",
            "",
            "https://www.lemonde.fr/3.html",
            at(10),
            &[],
            &[],
        ),
    ];
    let (store, ids) =
        crate::testing::two_source_store(dir.path(), &config, &stories, &[], at(12)).await;
    store
        .replace_to_check(&[(ids[2], "pauvrete".into(), 0.7, vec![])])
        .await
        .unwrap();
    let mut app = App::for_tests(store, config, dir.path()).await;
    app.page = 1;
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
        .await
        .unwrap();
    assert_eq!(app.dossier(), Some("pauvrete"));
    // One page of the rules' stories: the band waits for the others.
    assert_eq!(app.rows.len(), 1);
    assert!(app.more && app.band.is_empty());
    app.on_key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE))
        .await
        .unwrap();
    let order: Vec<i64> = app.rows.iter().map(|r| r.story).collect();
    assert_eq!(order, [ids[0], ids[1], ids[2]]);
    assert_eq!(
        app.band_from, 2,
        "la bande après toutes les histoires des règles"
    );
    assert_eq!(app.selected_band().map(|b| b.story), Some(ids[2]));
}
