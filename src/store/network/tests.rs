//! The collective panorama's query, on whichever backend the tests run: three centres, what
//! any of them kept or starred, who picked it, whose edit shows, and the window and limit.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::config::centre::Centre;
use crate::model::DecisionState;
use crate::store::Store;
use crate::testing::{article, two_source_store};

const PDV: &str = "politique-de-la-ville";

fn centre(id: &str, name: &str) -> Centre {
    Centre {
        id: id.into(),
        name: name.into(),
        region: String::new(),
    }
}

/// Four stories tagged in both dossiers, an hour apart (the first newest), and one of
/// sixty days ago; the store of three named centres.
async fn three_centres(dir: &std::path::Path, at: DateTime<Utc>) -> ([Store; 3], Vec<i64>) {
    let config = crate::config::parse(
        "[dossiers.politique-de-la-ville]\ntitle = \"Politique de la ville\"\n\
         [dossiers.pauvrete]\ntitle = \"Pauvreté\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let tags = &[(PDV, 1.0, &[][..]), ("pauvrete", 1.0, &[][..])];
    let mut stories: Vec<_> = (0..4)
        .map(|i| {
            let url = format!("https://www.lemonde.fr/{i}.html");
            let title = format!("Histoire {i}");
            article(&title, "Résumé", &url, at - Duration::hours(i), tags, &[])
        })
        .collect();
    let old = at - Duration::days(60);
    stories.push(article(
        "Ancienne",
        "",
        "https://www.lemonde.fr/old.html",
        old,
        tags,
        &[],
    ));
    let (single, ids) = two_source_store(dir, &config, &stories, &[], at).await;
    let rt = single.for_centre(&centre("rt", "R&T")).await.unwrap();
    let labo = single
        .for_centre(&centre("labo", "Labo Cités"))
        .await
        .unwrap();
    let nord = single
        .for_centre(&centre("nord", "<b>Nord</b>"))
        .await
        .unwrap();
    ([rt, labo, nord], ids)
}

async fn decide(store: &Store, story: i64, dossier: &str, state: DecisionState, at: DateTime<Utc>) {
    store
        .decide(story, Some(dossier), state, "ana", at)
        .await
        .unwrap();
}

#[tokio::test]
async fn any_centre_s_pick_makes_the_network_panorama_with_who_picked_it() {
    let dir = tempfile::tempdir().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let ([rt, labo, nord], ids) = three_centres(dir.path(), at).await;
    use DecisionState::{Kept, Rejected, Starred};
    // 0: kept by two centres; 1: starred by one, rejected by another; 2: rejected by all;
    // 3: kept, but in the other dossier only; the old one: kept, out of the window.
    decide(&rt, ids[0], PDV, Kept, at).await;
    decide(&labo, ids[0], PDV, Kept, at).await;
    decide(&nord, ids[1], PDV, Starred, at).await;
    decide(&rt, ids[1], PDV, Rejected, at).await;
    for store in [&rt, &labo, &nord] {
        decide(store, ids[2], PDV, Rejected, at).await;
    }
    decide(&labo, ids[3], "pauvrete", Kept, at).await;
    decide(&rt, ids[4], PDV, Kept, at).await;

    let since = at - Duration::days(30);
    // Whichever centre asks, the network's panorama is the same.
    for store in [&rt, &labo, &nord] {
        let picks = store
            .network_panorama_stories(PDV, since, 40)
            .await
            .unwrap();
        let got: Vec<(i64, bool, Vec<String>)> = picks
            .iter()
            .map(|p| (p.story, p.starred, p.picked_by.clone()))
            .collect();
        assert_eq!(
            got,
            [
                // Starred by any centre first, then newest first.
                (ids[1], true, vec!["<b>Nord</b>".to_string()]),
                (
                    ids[0],
                    false,
                    vec!["Labo Cités".to_string(), "R&T".to_string()]
                ),
            ]
        );
    }
    let one = rt.network_panorama_stories(PDV, since, 1).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].story, ids[1]);
    let pauvrete = rt
        .network_panorama_stories("pauvrete", since, 40)
        .await
        .unwrap();
    assert_eq!(pauvrete.len(), 1);
    assert_eq!(pauvrete[0].picked_by, ["Labo Cités"]);
    // A centre's own panorama still shows its own choices only.
    let own = rt.panorama_stories(PDV, since, 40).await.unwrap();
    assert_eq!(own.iter().map(|c| c.story).collect::<Vec<_>>(), [ids[0]]);
}

async fn edit(story: i64, store: &Store, title: &str, lede: Option<&str>, at: DateTime<Utc>) {
    store
        .edit_story(story, &[PDV.to_string()], Some(title), lede, "ana", at)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_latest_edit_shows_whole_and_a_centre_without_name_is_named_by_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let ([rt, labo, nord], ids) = three_centres(dir.path(), at).await;
    let story = ids[0];
    decide(&rt, story, PDV, DecisionState::Kept, at).await;
    decide(&labo, story, PDV, DecisionState::Kept, at).await;
    edit(
        story,
        &labo,
        "Titre de Labo",
        Some("Chapô de Labo"),
        at + Duration::minutes(1),
    )
    .await;
    edit(story, &rt, "Titre de R&T", None, at + Duration::minutes(2)).await;
    let since = at - Duration::days(30);
    let card = |cards: Vec<crate::model::StoryCard>| cards.into_iter().next().unwrap();
    // R&T's edit is the latest: its title, and the article's own lede (never Labo's).
    let shown = card(nord.network_panorama_stories(PDV, since, 40).await.unwrap());
    assert_eq!(
        (shown.title.as_str(), shown.lede.as_str()),
        ("Titre de R&T", "Résumé")
    );
    edit(
        story,
        &labo,
        "Titre de Labo, revu",
        Some("Chapô revu"),
        at + Duration::minutes(3),
    )
    .await;
    let shown = card(nord.network_panorama_stories(PDV, since, 40).await.unwrap());
    assert_eq!(
        (shown.title.as_str(), shown.lede.as_str()),
        ("Titre de Labo, revu", "Chapô revu")
    );
    // A pick by a centre the register does not know (written by an older veille) keeps
    // its place, named by its id.
    let unknown = rt.unregistered_centre("sud");
    decide(&unknown, ids[1], PDV, DecisionState::Kept, at).await;
    let picks = rt.network_panorama_stories(PDV, since, 40).await.unwrap();
    let sud = picks.iter().find(|p| p.story == ids[1]).unwrap();
    assert_eq!(sud.picked_by, ["sud"]);
}

#[test]
fn centres_are_named_for_readers_and_the_edit_choice_is_stable() {
    assert_eq!(super::centre_name("", ""), "ce centre");
    assert_eq!(super::centre_name("sud", " "), "sud");
    assert_eq!(super::centre_name("rt", "R&T"), "R&T");
    let row = |id: &str, edited, at: &str| {
        (
            id.to_string(),
            id.to_string(),
            "kept".to_string(),
            edited,
            at.to_string(),
        )
    };
    let t = "2026-11-27T10:00:00Z";
    assert_eq!(
        super::winning_edit(&[row("b", true, t), row("a", true, t)]),
        Some("a")
    );
    assert_eq!(
        super::winning_edit(&[row("b", false, t), row("a", false, t)]),
        Some("b")
    );
    assert_eq!(
        super::winning_edit(&[row("a", true, t), row("b", true, "2026-11-27T11:00:00Z")]),
        Some("b")
    );
    assert_eq!(super::winning_edit(&[]), None);
}
