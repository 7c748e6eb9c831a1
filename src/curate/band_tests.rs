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
