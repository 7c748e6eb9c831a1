//! The detail pane, the change marks and the decisions' log, on whichever backend the tests
//! run.

use chrono::{Duration, TimeZone, Utc};

use crate::model::{DecisionState, Match};
use crate::store::DecisionError;
use crate::testing::{article, two_source_store};

/// A story from Le Monde and its echo from La Dépêche: the store, the story, the echo's id
/// and the time they were stored at.
async fn story_and_echo(
    dir: &std::path::Path,
) -> (crate::store::Store, i64, i64, chrono::DateTime<Utc>) {
    let config = crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let lead = [article(
        "Le titre",
        "Le chapeau",
        "https://www.lemonde.fr/1.html",
        at,
        &[("pauvrete", 1.0, &[("rsa", "title", "Le RSA")])],
        &[],
    )];
    let echo = [article(
        "L'écho",
        "",
        "https://www.ladepeche.fr/1.html",
        at - Duration::hours(2),
        &[
            ("pauvrete", 2.5, &[("pauvreté", "summary", "la pauvreté")]),
            ("securite", 0.5, &[]),
        ],
        &[],
    )];
    let (store, ids) = two_source_store(dir, &config, &lead, &echo, at).await;
    let echo_id = store
        .scalar("SELECT id FROM articles WHERE title = 'L''écho'")
        .await;
    (store, ids[0], echo_id, at)
}

#[tokio::test]
async fn the_detail_pane_says_why_where_and_who_and_marks_follow_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let (store, story, echo_id, at) = story_and_echo(dir.path()).await;
    let marks = store.change_marks().await.unwrap();
    assert_eq!(marks, (echo_id, 0));
    assert!(store.story_detail(echo_id + 100).await.unwrap().is_none());

    let detail = store.story_detail(story).await.unwrap().unwrap();
    assert_eq!(
        (detail.title.as_str(), detail.lede.as_str()),
        ("Le titre", "Le chapeau")
    );
    // Per dossier, the best score and its reasons; the best dossier first.
    let why: Vec<(String, f64, Vec<Match>)> = vec![
        (
            "pauvrete".into(),
            2.5,
            vec![Match {
                term: "pauvreté".into(),
                field: "summary".into(),
                text: "la pauvreté".into(),
            }],
        ),
        ("securite".into(), 0.5, Vec::new()),
    ];
    assert_eq!(detail.why, why);
    // Every article, oldest first.
    let sources: Vec<&str> = detail.articles.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(sources, ["La Dépêche", "Le Monde"]);
    assert_eq!(detail.articles[1].1, "https://www.lemonde.fr/1.html");
    assert!(detail.decisions.is_empty() && detail.body.is_none());
    // Another article's page text shows when the lead has none.
    store
        .set_body(echo_id, Some("Le texte de l'écho."), "ok")
        .await
        .unwrap();

    let t = |m: i64| at + Duration::minutes(m);
    store
        .decide(story, Some("pauvrete"), DecisionState::Kept, "ana", t(1))
        .await
        .unwrap();
    let dossiers = vec!["securite".to_string()];
    store
        .edit_story(
            story,
            &dossiers,
            Some("Titre revu"),
            Some("Chapeau revu"),
            "léo",
            t(2),
        )
        .await
        .unwrap();
    let detail = store.story_detail(story).await.unwrap().unwrap();
    assert_eq!(detail.edited_title.as_deref(), Some("Titre revu"));
    assert_eq!(detail.edited_lede.as_deref(), Some("Chapeau revu"));
    assert_eq!(detail.body.as_deref(), Some("Le texte de l'écho."));
    let decided: Vec<(&str, DecisionState, &str)> = detail
        .decisions
        .iter()
        .map(|(d, s, c, _)| (d.as_str(), *s, c.as_str()))
        .collect();
    assert_eq!(
        decided,
        [
            ("securite", DecisionState::New, "léo"),
            ("pauvrete", DecisionState::Kept, "ana")
        ]
    );
    // The lead's own text, once fetched, comes first.
    store
        .set_body(story, Some("Le texte du Monde."), "ok")
        .await
        .unwrap();
    let detail = store.story_detail(story).await.unwrap().unwrap();
    assert_eq!(detail.body.as_deref(), Some("Le texte du Monde."));

    // Each decision moves the marks; each is logged with who and what it replaced.
    let after = store.change_marks().await.unwrap();
    assert_eq!(after.0, echo_id);
    assert!(after.1 > marks.1);
    let log = store.decision_log(story).await.unwrap();
    let lines: Vec<(&str, &str, Option<&str>, &str)> = log
        .iter()
        .map(|(d, c, _, before, after)| (d.as_str(), c.as_str(), before.as_deref(), after.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("pauvrete", "ana", None, "kept"),
            ("securite", "léo", None, "new")
        ]
    );
    // A decision on a story that does not exist is refused by name, and nothing is written.
    let missing = store
        .decide(echo_id + 100, None, DecisionState::Kept, "ana", t(3))
        .await;
    assert!(matches!(missing, Err(DecisionError::UnknownStory(s)) if s == echo_id + 100));
    // An article that joined another story is not a story of its own.
    let joined = store
        .decide(echo_id, None, DecisionState::Kept, "ana", t(3))
        .await;
    assert!(matches!(joined, Err(DecisionError::UnknownStory(_))));
    assert_eq!(store.change_marks().await.unwrap(), after);
}
