//! Screens over a fixed store (ratatui's TestBackend + insta), and what keys do to the store.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Mode};
use super::ui;
use crate::config::Config;
use crate::model::DecisionState;
use crate::store::Store;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn config() -> Config {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    crate::config::parse(
        &format!(
            "[dossiers.pauvrete]\ntitle = \"Stratégie Pauvreté et Pacte des Solidarités\"\npanorama = true\n\n\
             [dossiers.securite]\ntitle = \"Sécurité et prévention de la délinquance\"\n\n\
             [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
             [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n\n\
             [publish]\nbase_url = \"https://veille.example.org\"\ntemplates = \"{}\"\n",
            templates.display()
        ),
        "feeds.toml",
    )
    .unwrap()
}

/// Five stories (one carried by two sources), tagged with reasons.
async fn store(dir: &Path, config: &Config) -> Store {
    use crate::testing::article;
    let monde = [
        article(
            "Le gouvernement présente le pacte des solidarités contre la pauvreté",
            "Le Premier ministre a présenté le nouveau pacte des solidarités.",
            "https://www.lemonde.fr/1.html",
            at(26, 9),
            &[(
                "pauvrete",
                2.5,
                &[
                    ("pauvreté", "title", "pauvreté"),
                    (
                        "\"pacte des solidarités\"",
                        "title",
                        "pacte des solidarités",
                    ),
                ],
            )],
            &[],
        ),
        article(
            "Toulouse : renfort de policiers au Mirail",
            "La préfecture annonce des effectifs supplémentaires de police.",
            "https://www.lemonde.fr/2.html",
            at(25, 18),
            &[
                ("securite", 1.6, &[("policiers", "title", "policiers")]),
                ("pauvrete", 0.4, &[]),
            ],
            &["haute-garonne"],
        ),
        article(
            "Aide alimentaire : les demandes explosent dans le Gers",
            "Les Restos du cœur constatent une hausse de 20 %.",
            "https://www.lemonde.fr/3.html",
            at(25, 8),
            &[(
                "pauvrete",
                1.2,
                &[("aide alimentaire", "title", "Aide alimentaire")],
            )],
            &["gers"],
        ),
        article(
            "Rixe entre bandes à Nîmes",
            "Deux blessés dans le quartier Pissevin.",
            "https://www.lemonde.fr/4.html",
            at(24, 22),
            &[("securite", 1.1, &[("rixe", "title", "Rixe")])],
            &["gard"],
        ),
        article(
            "Un rapport sur le non-recours aux droits",
            "Un tiers des foyers éligibles ne demandent pas le RSA.",
            "https://www.lemonde.fr/5.html",
            at(24, 7),
            &[("pauvrete", 1.0, &[("non-recours", "title", "non-recours")])],
            &[],
        ),
    ];
    let depeche = [article(
        "Pacte des solidarités : ce qu'il faut retenir",
        "Présenté jeudi, le pacte vise à réduire la pauvreté.",
        "https://www.ladepeche.fr/1.html",
        at(26, 11),
        &[("pauvrete", 2.0, &[])],
        &[],
    )];
    let (store, _) =
        crate::testing::two_source_store(dir, config, &monde, &depeche, at(26, 12)).await;
    store
}

async fn app(dir: &Path) -> App {
    let config = config();
    let store = store(dir, &config).await;
    App::for_tests(store, config, dir).await
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

#[tokio::test]
async fn screens() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    insta::assert_snapshot!("inbox_80x24", screen(&app, 80, 24));
    insta::assert_snapshot!("inbox_120x30", screen(&app, 120, 30));
    app.on_key(key('?')).await.unwrap();
    insta::assert_snapshot!("help", screen(&app, 80, 24));
    app.on_key(key('x')).await.unwrap();
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
        .await
        .unwrap();
    // The list comes first, the detail right after the frame.
    assert!(app.detail_pending && app.detail.is_none());
    assert!(app.after_frame().await.unwrap(), "le détail redessiné");
    insta::assert_snapshot!("inbox_dossier_pauvrete", screen(&app, 100, 24));
    app.on_key(key('e')).await.unwrap();
    insta::assert_snapshot!("edit", screen(&app, 80, 24));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
        .await
        .unwrap();
    app.on_key(key('f')).await.unwrap();
    insta::assert_snapshot!("filters", screen(&app, 80, 24));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
        .await
        .unwrap();

    // The composer, with two stories in Flash Info n° 1.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let end = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    app.store
        .create_edition("flash-info", day, end, at(26, 8))
        .await
        .unwrap();
    for _ in 0..2 {
        app.on_key(key('a')).await.unwrap();
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
            .await
            .unwrap();
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
            .await
            .unwrap();
        app.on_key(key('j')).await.unwrap();
    }
    app.on_key(key('c')).await.unwrap();
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        .await
        .unwrap();
    assert!(matches!(app.mode, Mode::Composer { .. }));
    insta::assert_snapshot!("composer", screen(&app, 80, 24));
}

#[tokio::test]
async fn keys_decide_undo_edit_and_compose() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    assert_eq!(app.rows.len(), 5, "cinq histoires à trier");
    let first = app.rows[0].story;
    // Keep, reject, star, then undo twice: only the keep remains. A decided story stays
    // selected, marked, until the curator moves.
    app.on_key(key('g')).await.unwrap();
    assert_eq!(app.selected_row().unwrap().story, first);
    assert_eq!(app.selected_row().unwrap().state, DecisionState::Kept);
    assert_eq!(app.rows.len(), 5);
    assert_eq!(app.detail.as_ref().unwrap().story, first);
    app.on_key(key('j')).await.unwrap();
    assert_eq!(app.rows.len(), 4, "gone once the curator moved");
    let second = app.selected_row().unwrap().story;
    assert_eq!(second, app.rows[0].story);
    app.on_key(key('r')).await.unwrap();
    app.on_key(key('j')).await.unwrap();
    let third = app.selected_row().unwrap().story;
    app.on_key(key('s')).await.unwrap();
    assert_eq!(app.rows.len(), 3);
    // Another process's write reloads the list: the decided story keeps its place.
    app.store
        .decide(first, None, DecisionState::Kept, "dominique", Utc::now())
        .await
        .unwrap();
    app.tick().await.unwrap();
    assert_eq!(app.selected_row().unwrap().story, third);
    app.on_key(key('u')).await.unwrap();
    app.on_key(key('u')).await.unwrap();
    assert_eq!(app.rows.len(), 4);
    let states = app.store.story_states().await.unwrap();
    assert_eq!(states.get(&first), Some(&DecisionState::Kept));
    assert_eq!(states.get(&second), None, "le rejet est annulé");
    assert_eq!(states.get(&third), None, "l'étoile est annulée");
    let log = app.store.decision_log(second).await.unwrap();
    let dossiers = app.store.story_dossiers(second).await.unwrap().len();
    assert_eq!(
        log.len(),
        2 * dossiers,
        "le rejet et son annulation, dans chaque dossier, sont journalisés"
    );

    // An edit keeps the original article and is stored with the decision.
    let target = app.rows[app.selected].story;
    app.on_key(key('e')).await.unwrap();
    for _ in 0..200 {
        app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE))
            .await
            .unwrap();
    }
    for c in "Titre retouché".chars() {
        app.on_key(key(c)).await.unwrap();
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        .await
        .unwrap();
    let detail = app.store.story_detail(target).await.unwrap().unwrap();
    assert_eq!(detail.edited_title.as_deref(), Some("Titre retouché"));
    assert_ne!(detail.title, "Titre retouché", "l'original est gardé");

    // `x` rejects in every dossier, whatever the view.
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
        .await
        .unwrap();
    let story = app.selected_row().unwrap().story;
    app.on_key(key('x')).await.unwrap();
    // Move on (up when the rejected story was the last one).
    app.on_key(key('j')).await.unwrap();
    if app.lingering.is_some() {
        app.on_key(key('k')).await.unwrap();
    }
    assert_eq!(app.lingering, None);
    let dossiers = app.store.story_dossiers(story).await.unwrap();
    let snapshot = app.store.decision_snapshot(story, &dossiers).await.unwrap();
    assert!(
        snapshot
            .iter()
            .all(|(_, s)| matches!(s, Some((DecisionState::Rejected, _, _)))),
        "{snapshot:?}"
    );

    // Another process's decision shows up at the next tick.
    let other = app.selected_row().unwrap().story;
    app.store
        .decide(
            other,
            Some("pauvrete"),
            DecisionState::Kept,
            "dominique",
            Utc::now(),
        )
        .await
        .unwrap();
    app.tick().await.unwrap();
    assert!(!app.rows.iter().any(|r| r.story == other));
}

#[tokio::test]
async fn filters_narrow_the_inbox() {
    use crate::store::InboxFilter;
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let titles = |rows: Vec<crate::store::InboxRow>| -> Vec<String> {
        rows.into_iter().map(|r| r.title).collect()
    };
    let filter = |f: InboxFilter| InboxFilter { limit: 100, ..f };
    // A source that only echoes a story still finds it.
    let rows = app
        .store
        .inbox(&filter(InboxFilter {
            sources: vec!["La Dépêche".into()],
            ..InboxFilter::default()
        }))
        .await
        .unwrap();
    assert_eq!(
        titles(rows),
        ["Le gouvernement présente le pacte des solidarités contre la pauvreté"]
    );
    let rows = app
        .store
        .inbox(&filter(InboxFilter {
            territories: vec!["gers".into()],
            ..InboxFilter::default()
        }))
        .await
        .unwrap();
    assert_eq!(
        titles(rows),
        ["Aide alimentaire : les demandes explosent dans le Gers"]
    );
    let rows = app
        .store
        .inbox(&filter(InboxFilter {
            dossier: Some("securite".into()),
            since: Some(at(25, 0)),
            ..InboxFilter::default()
        }))
        .await
        .unwrap();
    assert_eq!(titles(rows), ["Toulouse : renfort de policiers au Mirail"]);
}

#[tokio::test]
async fn filter_form_completes_and_understands_french() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path()).await;
    let special = |code| KeyEvent::new(code, KeyModifiers::NONE);
    app.on_key(key('f')).await.unwrap();
    for c in "DÉP".chars() {
        app.on_key(key(c)).await.unwrap();
    }
    app.on_key(special(KeyCode::Right)).await.unwrap();
    let Mode::Filters { values, .. } = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(values[0], "La Dépêche", "→ complète");
    // The territory by its département number, the state in French.
    app.on_key(special(KeyCode::Tab)).await.unwrap();
    for c in "GERS".chars() {
        app.on_key(key(c)).await.unwrap();
    }
    app.on_key(special(KeyCode::Enter)).await.unwrap();
    assert_eq!(app.filter.sources, ["La Dépêche"]);
    assert_eq!(app.filter.territories, ["gers"]);
    assert!(app.rows.is_empty(), "La Dépêche n'a rien dans le Gers");
    assert_eq!(
        app.message,
        "0 histoire avec ces filtres (La Dépêche, Gers)"
    );
    app.on_key(key('f')).await.unwrap();
    for _ in 0..20 {
        app.on_key(special(KeyCode::Backspace)).await.unwrap();
    }
    app.on_key(special(KeyCode::Tab)).await.unwrap();
    for _ in 0..10 {
        app.on_key(special(KeyCode::Backspace)).await.unwrap();
    }
    for c in "32".chars() {
        app.on_key(key(c)).await.unwrap();
    }
    app.on_key(special(KeyCode::Enter)).await.unwrap();
    assert_eq!(app.filter.territories, ["gers"], "by number");
    assert_eq!(app.rows.len(), 1);
    // A state nobody knows keeps the form open and says so.
    app.on_key(key('f')).await.unwrap();
    for _ in 0..4 {
        app.on_key(special(KeyCode::Tab)).await.unwrap();
    }
    for c in "archivé".chars() {
        app.on_key(key(c)).await.unwrap();
    }
    app.on_key(special(KeyCode::Enter)).await.unwrap();
    assert!(matches!(app.mode, Mode::Filters { field: 4, .. }));
    assert!(app.message.contains("nouveau, gardé, rejeté ou étoilé"));
}

#[tokio::test]
async fn the_detail_pane_shows_the_article_text() {
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let store = store(dir.path(), &config).await;
    let lead = store.inbox(&Default::default()).await.unwrap()[0].story;
    store
        .set_body(
            lead,
            Some("Premier paragraphe de l'article.\nSecond paragraphe, <script>intact</script>."),
            "ok",
        )
        .await
        .unwrap();
    let app = App::for_tests(store, config, dir.path()).await;
    let screen = screen(&app, 100, 40);
    assert!(screen.contains("Article :"), "{screen}");
    assert!(
        screen.contains("Premier paragraphe de l'article."),
        "{screen}"
    );
    assert!(
        screen.contains("Second paragraphe, <script>intact</script>."),
        "{screen}"
    );
}

mod catch_up;
mod counts;
mod prefetch;

#[tokio::test]
async fn the_detail_pane_says_what_the_other_centres_kept() {
    use crate::config::centre::Centre;
    let dir = tempfile::tempdir().unwrap();
    let config = config();
    let store = store(dir.path(), &config).await;
    let centre = |id: &str, name: &str| Centre {
        id: id.into(),
        name: name.into(),
        region: String::new(),
    };
    let rt = store.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = store
        .for_centre(&centre("labo", "Labo Cités"))
        .await
        .unwrap();
    let lead = rt.inbox(&Default::default()).await.unwrap()[0].story;
    let now = Utc::now();
    labo.decide(lead, Some("pauvrete"), DecisionState::Kept, "léa", now)
        .await
        .unwrap();
    let other = store.unregistered_centre("autre");
    other
        .decide(lead, Some("pauvrete"), DecisionState::Starred, "max", now)
        .await
        .unwrap();
    let app = App::for_tests(rt, config, dir.path()).await;
    let screen = screen(&app, 100, 40);
    assert!(screen.contains("Dans le réseau :"), "{screen}");
    assert!(
        screen.contains("pauvrete : gardée par Labo Cités"),
        "{screen}"
    );
    // A centre that never registered a name is named by its id.
    assert!(
        screen.contains("pauvrete : à la une pour autre"),
        "{screen}"
    );
    // This centre decided nothing: no decision of its own shows.
    assert!(!screen.contains("Décisions :"), "{screen}");
}
