//! Snapshots of every output over a fixed store and a fixed clock, and the rules editions
//! obey (numbering, order, a sent edition frozen).

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::model::{EditionItem, PreparedArticle};
use crate::store::{EditionError, NewBlock};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
}

fn config() -> Config {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let text = format!(
        r#"
[dossiers.pauvrete]
title = "Stratégie Pauvreté et Pacte des Solidarités"
description = "La stratégie de lutte contre la pauvreté et le Pacte des solidarités : 20 % de non-recours !"
panorama = true

[dossiers.securite]
title = "Sécurité et prévention de la délinquance"
panorama = true

[[sources]]
name = "Le Monde"
feed = "https://www.lemonde.fr/rss/une.xml"

[[sources]]
name = "La Dépêche"
feed = "https://www.ladepeche.fr/rss.xml"

[publish]
site_name = "Centre de ressources Occitanie"
base_url = "https://veille.example.org"
templates = "{}"
"#,
        templates.display()
    );
    crate::config::parse(&text, "feeds.toml").expect("config")
}

fn article(
    title: &str,
    summary: &str,
    url: &str,
    hours_ago: i64,
    dossier: &str,
) -> PreparedArticle {
    crate::testing::article(
        title,
        summary,
        url,
        now() - chrono::Duration::hours(hours_ago),
        &[(dossier, 1.0, &[])],
        &["haute-garonne"],
    )
}

/// Two sources; story 1 carried by both, story 2 with a hostile title, story 3 in another
/// dossier, story 4 never kept.
async fn fixed_store(dir: &Path, config: &Config) -> Store {
    // The pact's article carries an image; the second one an HTTP image, not shown on this
    // HTTPS site.
    let with_image = |mut a: PreparedArticle, image: &str| {
        a.candidate.image = Some(image.to_string());
        a
    };
    let monde = [
        with_image(
            article(
                "Pauvreté : le gouvernement présente son nouveau pacte des solidarités",
                "Le Premier ministre a présenté jeudi le nouveau pacte des solidarités.",
                "https://www.lemonde.fr/societe/pacte.html",
                20,
                "pauvrete",
            ),
            "https://img.lemonde.fr/pacte.jpg?w=400&h=300",
        ),
        with_image(
            article(
                "<img src=x onerror=alert(1)> Aide alimentaire : « des files d'attente inédites »",
                "Les associations constatent une hausse des demandes & des besoins.",
                "https://www.lemonde.fr/societe/aide.html",
                50,
                "pauvrete",
            ),
            "http://img.lemonde.fr/aide.jpg",
        ),
        article(
            "Toulouse : plus de patrouilles au Mirail",
            "La préfecture renforce les effectifs de police.",
            "https://www.lemonde.fr/police/mirail.html",
            30,
            "securite",
        ),
        article(
            "Un rapport sur le non-recours aux droits",
            "Un tiers des foyers éligibles ne demandent pas le RSA.",
            "https://www.lemonde.fr/societe/non-recours.html",
            10,
            "pauvrete",
        ),
    ];
    let depeche = [article(
        "Le nouveau pacte des solidarités présenté par le gouvernement",
        "Présenté jeudi, le pacte vise à réduire la pauvreté.",
        "https://www.ladepeche.fr/pacte.html",
        18,
        "pauvrete",
    )];
    let (store, next_story) =
        crate::testing::two_source_store(dir, config, &monde, &depeche, now()).await;
    for (story, dossier, state) in [
        (next_story[0], "pauvrete", DecisionState::Kept),
        (next_story[1], "pauvrete", DecisionState::Starred),
        (next_story[2], "securite", DecisionState::Kept),
        (next_story[3], "pauvrete", DecisionState::Rejected),
    ] {
        store
            .decide(story, Some(dossier), state, "camille", now())
            .await
            .unwrap();
    }
    store
}

use crate::model::DecisionState;

fn snapshot_file(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[tokio::test]
async fn every_output_over_a_fixed_store() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config();
    let store = fixed_store(tmp.path(), &config).await;
    let publisher = Publisher::new(&config, tmp.path()).unwrap();

    let reports = publisher.panoramas(&store, None, now()).await.unwrap();
    assert_eq!(reports.len(), 2);
    let pauvrete = publisher.out_dir().join("panoramas/pauvrete");
    insta::assert_snapshot!(
        "panorama_fragment",
        snapshot_file(&pauvrete, "fragment.html")
    );
    insta::assert_snapshot!("panorama_page", snapshot_file(&pauvrete, "index.html"));
    insta::assert_snapshot!("panorama_atom", snapshot_file(&pauvrete, "feed.atom"));
    insta::assert_snapshot!("panorama_json", snapshot_file(&pauvrete, "feed.json"));

    let edition = store
        .create_edition(
            "flash-info",
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let cards = store.story_cards(&[1, 2, 3], None).await.unwrap();
    for (card, section, title) in [
        (
            &cards[0],
            "À la une",
            Some("Le pacte des solidarités enfin présenté"),
        ),
        (&cards[2], "Dans nos dossiers", None),
        (&cards[1], "Dans nos dossiers", None),
    ] {
        let item = EditionItem {
            story: card.story,
            section: section.into(),
            position: 0,
            title: title.map(str::to_string),
            lede: None,
        };
        store
            .add_edition_item("flash-info", edition.number, &item, now())
            .await
            .unwrap();
    }
    for block in [
        NewBlock {
            kind: BlockKind::Intro,
            title: None,
            body: "Bonjour,\n\nce mois-ci, **le pacte des solidarités** et l'agenda de décembre."
                .into(),
            event_date: None,
            place: None,
        },
        NewBlock {
            kind: BlockKind::Agenda,
            title: Some("Forum de la politique de la ville".into()),
            body: "Inscription [en ligne](https://example.org/forum).".into(),
            event_date: Some("2026-12-01 14h".into()),
            place: Some("Toulouse".into()),
        },
        NewBlock {
            kind: BlockKind::News,
            title: Some("Le centre recrute".into()),
            body: "Un·e chargé·e de mission *égalité*.".into(),
            event_date: None,
            place: None,
        },
    ] {
        store
            .add_edition_block("flash-info", edition.number, &block, now())
            .await
            .unwrap();
    }
    let edition = store.edition("flash-info", 1).await.unwrap().unwrap();
    let report = publisher.edition(&store, &edition, now()).await.unwrap();
    assert_eq!(report.items, 3);
    let dir = publisher.out_dir().join("flash-info/1");
    insta::assert_snapshot!("edition_web", snapshot_file(&dir, "index.html"));
    insta::assert_snapshot!("edition_email_html", snapshot_file(&dir, "email.html"));
    insta::assert_snapshot!("edition_email_txt", snapshot_file(&dir, "email.txt"));

    // The archive index dates panoramas by their files: pin them for the snapshot.
    for dossier in ["pauvrete", "securite"] {
        let page = publisher
            .out_dir()
            .join("panoramas")
            .join(dossier)
            .join("index.html");
        std::fs::File::options()
            .write(true)
            .open(&page)
            .unwrap()
            .set_modified(now().into())
            .unwrap();
    }
    let index = publisher.archive_index(&store).await.unwrap();
    insta::assert_snapshot!("archive_index", std::fs::read_to_string(index).unwrap());
}

/// The articles' images: in the web version always, in the email only when the kind's
/// `images` setting asks for them; an HTTP image never on this HTTPS site.
#[tokio::test]
async fn images_reach_the_email_only_when_the_kind_asks() {
    for images in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = config();
        config.publications.get_mut("flash-info").unwrap().images = images;
        let store = fixed_store(tmp.path(), &config).await;
        let publisher = Publisher::new(&config, tmp.path()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        store
            .create_edition("flash-info", day, day, now())
            .await
            .unwrap();
        for story in [1, 2] {
            let item = EditionItem {
                story,
                section: "À la une".into(),
                position: 0,
                title: None,
                lede: None,
            };
            store
                .add_edition_item("flash-info", 1, &item, now())
                .await
                .unwrap();
        }
        let edition = store.edition("flash-info", 1).await.unwrap().unwrap();
        publisher.edition(&store, &edition, now()).await.unwrap();
        let dir = publisher.out_dir().join("flash-info/1");
        let web = snapshot_file(&dir, "index.html");
        let email = snapshot_file(&dir, "email.html");
        let image = "src=\"https://img.lemonde.fr/pacte.jpg?w=400&amp;h=300\" alt=\"\"";
        assert!(web.contains(image), "{web}");
        assert!(web.contains("loading=\"lazy\""));
        assert_eq!(email.contains(image), images, "{email}");
        for page in [&web, &email] {
            assert!(!page.contains("aide.jpg"), "image HTTP sur un site HTTPS");
        }
    }
}

#[tokio::test]
async fn a_sent_edition_is_frozen() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config();
    let store = fixed_store(tmp.path(), &config).await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let first = store
        .create_edition("lettre-pauvrete", day, day, now())
        .await
        .unwrap();
    let second = store
        .create_edition("lettre-pauvrete", day, day, now())
        .await
        .unwrap();
    assert_eq!((first.number, second.number), (1, 2));
    let item = |story| EditionItem {
        story,
        section: "Ressources".into(),
        position: 0,
        title: None,
        lede: None,
    };
    for story in [1, 2, 3] {
        store
            .add_edition_item("lettre-pauvrete", 1, &item(story), now())
            .await
            .unwrap();
    }
    // Moving 3 up twice puts it first; removing 2 leaves 3, 1.
    store
        .move_edition_item("lettre-pauvrete", 1, 3, true, now())
        .await
        .unwrap();
    store
        .move_edition_item("lettre-pauvrete", 1, 3, true, now())
        .await
        .unwrap();
    store
        .move_edition_item("lettre-pauvrete", 1, 3, true, now())
        .await
        .unwrap();
    store
        .remove_edition_item("lettre-pauvrete", 1, 2, now())
        .await
        .unwrap();
    let order: Vec<i64> = store
        .edition("lettre-pauvrete", 1)
        .await
        .unwrap()
        .unwrap()
        .items
        .iter()
        .map(|i| i.story)
        .collect();
    assert_eq!(order, [3, 1]);

    store
        .set_edition_status("lettre-pauvrete", 1, EditionStatus::Sent, now())
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_edition_item("lettre-pauvrete", 1, &item(2), now())
            .await,
        Err(EditionError::Sent(_))
    ));
    assert!(matches!(
        store
            .set_edition_status("lettre-pauvrete", 1, EditionStatus::Draft, now())
            .await,
        Err(EditionError::Sent(_))
    ));
    // Even a write that bypasses the store's checks is refused by the database.
    for sql in [
        "UPDATE editions SET status = 'draft' WHERE kind = 'lettre-pauvrete' AND number = 1",
        "DELETE FROM edition_items WHERE edition_id = (SELECT id FROM editions WHERE kind = 'lettre-pauvrete' AND number = 1)",
        "INSERT INTO edition_blocks (edition_id, kind, position, body) SELECT id, 'text', 9, 'x' FROM editions WHERE kind = 'lettre-pauvrete' AND number = 1",
    ] {
        let err = store.try_exec(sql).await.unwrap_err();
        assert!(err.to_string().contains("édition envoyée"), "{sql}: {err}");
    }
    // The other edition is still a draft and still editable.
    store
        .add_edition_item("lettre-pauvrete", 2, &item(2), now())
        .await
        .unwrap();
}

#[test]
fn shorten_cuts_at_words() {
    assert_eq!(shorten("Un texte court", 50), "Un texte court");
    assert_eq!(
        shorten(
            "Le gouvernement présente son nouveau pacte des solidarités",
            30
        ),
        "Le gouvernement présente son…"
    );
}

#[test]
fn periods_start_on_the_first_of_the_month() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let (start, end) = period_from(day, 2);
    assert_eq!(start.to_string(), "2026-11-01");
    assert_eq!(end.to_string(), "2026-12-31");
}
