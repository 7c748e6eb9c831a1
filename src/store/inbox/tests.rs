//! The denormalised inbox against the query it replaced: after every kind of write, each
//! view, state and filter must list the same rows, and the counts must agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::model::{DecisionState, Tagging};
use crate::store::{InboxFilter, InboxRow, Store, Validators, articles::json_list, timestamp};
use crate::testing::article;

/// One inbox line as the reference query returns it.
#[derive(sqlx::FromRow)]
struct ReferenceRow {
    story: i64,
    title: String,
    at: String,
    territories: Option<String>,
    sources: i64,
    dossiers: Option<String>,
    score: f64,
    rank: i64,
}

/// The inbox as it was computed before migration 0012, over every story at each read: the
/// reference the denormalised rows must equal.
async fn reference_inbox(store: &Store, filter: &InboxFilter) -> Vec<InboxRow> {
    let state = filter.state.map(|s| s.as_str());
    const MEMBERS: &str = "(SELECT b.id FROM articles b WHERE b.id = a.id OR b.story = a.id)";
    // The elements of a JSON list, as a table with a `value` column, in the store's dialect.
    let each = |list: &str| {
        if store.is_postgres() {
            format!("jsonb_array_elements_text(({list})::jsonb)")
        } else {
            format!("json_each({list})")
        }
    };
    let (territories, wanted, sources) = (each("a.territories"), each("$4"), each("$3"));
    let sql = format!(
        "SELECT * FROM (
           SELECT a.id AS story,
                  COALESCE((SELECT d.title FROM decisions d WHERE d.story = a.id AND d.title IS NOT NULL
                            ORDER BY d.decided_at DESC LIMIT 1), a.title) AS title,
                  COALESCE(a.published, a.first_seen) AS at, a.territories,
                  (SELECT COUNT(DISTINCT b.source_id) FROM articles b WHERE b.id = a.id OR b.story = a.id) AS sources,
                  (SELECT string_agg(x.dossier, ',') FROM (SELECT DISTINCT t.dossier FROM tags t
                                                             WHERE t.article_id IN {MEMBERS}) x) AS dossiers,
                  COALESCE((SELECT MAX(t.score) FROM tags t WHERE t.article_id IN {MEMBERS}
                            AND ($1 IS NULL OR t.dossier = $1)), 0.0) AS score,
                  CAST(COALESCE((SELECT MAX(CASE d.state WHEN 'starred' THEN 3 WHEN 'kept' THEN 2 WHEN 'rejected' THEN 1 ELSE 0 END)
                            FROM decisions d WHERE d.story = a.id AND ($1 IS NULL OR d.dossier = $1)), 0) AS BIGINT) AS rank
           FROM articles a JOIN sources s ON s.id = a.source_id
           WHERE (a.story IS NULL OR a.story = a.id)
             AND ($1 IS NULL OR a.id IN (SELECT COALESCE(b.story, b.id) FROM tags t
                                         JOIN articles b ON b.id = t.article_id WHERE t.dossier = $1))
             AND ($5 IS NULL OR COALESCE(a.published, a.first_seen) >= $5)
             AND ($6 IS NULL OR COALESCE(a.published, a.first_seen) < $6)
             AND ($4 = '[]' OR EXISTS (SELECT 1 FROM {territories} t
                                       WHERE t.value IN (SELECT value FROM {wanted})))
             AND ($3 = '[]' OR s.name IN (SELECT value FROM {sources}) OR EXISTS (
                   SELECT 1 FROM articles b JOIN sources bs ON bs.id = b.source_id
                   WHERE b.story = a.id AND bs.name IN (SELECT value FROM {sources})))
         ) r
         WHERE rank = CASE $2 WHEN 'starred' THEN 3 WHEN 'kept' THEN 2 WHEN 'rejected' THEN 1 ELSE 0 END
         ORDER BY score DESC, at DESC, story DESC
         LIMIT $7"
    );
    let rows: Vec<ReferenceRow> = on_pool!(store, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&filter.dossier)
            .bind(state)
            .bind(serde_json::to_string(&filter.sources).unwrap())
            .bind(serde_json::to_string(&filter.territories).unwrap())
            .bind(filter.since.map(timestamp))
            .bind(filter.until.map(timestamp))
            .bind(i64::from(filter.limit.max(1)))
            .fetch_all(pool)
            .await
            .unwrap()
    });
    rows.into_iter()
        .map(|r| {
            let mut dossiers: Vec<String> = r
                .dossiers
                .map(|d| d.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            dossiers.sort();
            InboxRow {
                story: r.story,
                title: r.title,
                sources: r.sources,
                date: r.at,
                dossiers,
                territories: json_list(r.territories),
                score: r.score,
                state: crate::store::triage::state_of_rank(r.rank),
            }
        })
        .collect()
}

/// The header's counts as they were computed before migration 0012.
async fn reference_counts(store: &Store) -> BTreeMap<String, i64> {
    let rows: Vec<(String, i64)> = on_pool!(store, pool => {
        sqlx::query_as(
            "SELECT t.dossier, COUNT(DISTINCT COALESCE(b.story, b.id)) AS n
             FROM tags t JOIN articles b ON b.id = t.article_id
             WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = COALESCE(b.story, b.id)
                               AND d.dossier = t.dossier AND d.state <> 'new')
             GROUP BY t.dossier",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    let mut counts: BTreeMap<String, i64> = rows.into_iter().collect();
    let all = store
        .scalar(
            "SELECT COUNT(*) FROM articles a WHERE (a.story IS NULL OR a.story = a.id)
               AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = a.id AND d.state <> 'new')",
        )
        .await;
    counts.insert(String::new(), all);
    counts
}

/// Every view × state × filter the TUI can ask for, compared with the reference.
async fn assert_same(store: &Store, step: &str, at: DateTime<Utc>) {
    let views = [None, Some("pauvrete"), Some("securite"), Some("education")];
    let states = [
        None,
        Some(DecisionState::Kept),
        Some(DecisionState::Rejected),
        Some(DecisionState::Starred),
    ];
    let narrowing = [
        InboxFilter::default(),
        InboxFilter {
            sources: vec!["La Dépêche".into()],
            ..InboxFilter::default()
        },
        InboxFilter {
            territories: vec!["gers".into(), "aude".into()],
            ..InboxFilter::default()
        },
        InboxFilter {
            since: Some(at - Duration::hours(1)),
            until: Some(at + Duration::hours(1)),
            ..InboxFilter::default()
        },
        InboxFilter {
            limit: 1,
            ..InboxFilter::default()
        },
    ];
    let mut compared = 0;
    for view in views {
        for state in states {
            for base in &narrowing {
                let filter = InboxFilter {
                    dossier: view.map(str::to_string),
                    state,
                    limit: if base.limit == 0 { 100 } else { base.limit },
                    ..base.clone()
                };
                let expected = reference_inbox(store, &filter).await;
                let got = store.inbox(&filter).await.unwrap();
                assert_eq!(got, expected, "{step} : boîte de réception {filter:?}");
                compared += expected.len();
            }
        }
    }
    assert!(compared > 0, "{step} : aucune ligne comparée");
    assert_eq!(
        store.inbox_counts().await.unwrap(),
        reference_counts(store).await,
        "{step} : compteurs"
    );
}

fn tagging(tags: &[(&str, f64)], territories: &[&str]) -> Tagging {
    Tagging {
        dossiers: tags
            .iter()
            .map(|(d, s)| crate::model::DossierTag {
                dossier: d.to_string(),
                score: *s,
                why: Vec::new(),
            })
            .collect(),
        territories: territories.iter().map(|t| t.to_string()).collect(),
    }
}

/// Writes of articles, each followed by the comparison: new ones, one joining a story, a
/// changed one, a merge, a retag. Returns the four first articles' ids.
async fn write_articles(store: &Store, at: DateTime<Utc>) -> Vec<i64> {
    let config = crate::config::parse(
        "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\
         [dossiers.education]\ntitle = \"Éducation\"\n\n\
         [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
         [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
        "feeds.toml",
    )
    .unwrap();
    let states = store.sync_sources(&config.sources).await.unwrap();
    let source = |n: usize| states[&config.sources[n].name].id;
    let ok = Validators {
        etag: None,
        last_modified: None,
        status: 200,
    };
    let url = |n: u32| format!("https://www.lemonde.fr/{n}.html");
    // New articles: four stories, one of them old, with tags, territories, and none.
    let first = [
        article(
            "Un",
            "",
            &url(1),
            at,
            &[("pauvrete", 1.0, &[]), ("securite", 0.5, &[])],
            &["gers"],
        ),
        article(
            "Deux",
            "",
            &url(2),
            at - Duration::minutes(5),
            &[("securite", 2.0, &[])],
            &[],
        ),
        article("Trois", "", &url(3), at - Duration::days(3), &[], &["aude"]),
        article("Quatre", "", &url(4), at, &[("pauvrete", 1.0, &[])], &[]),
    ];
    let mut ids = Vec::new();
    store
        .record_success(source(0), &ok, &first, at, |_, id| {
            ids.push(id);
            id
        })
        .await
        .unwrap();
    assert_same(store, "nouveaux articles", at).await;
    // An echo from another source joins the first story with a better score elsewhere.
    let echo = [article(
        "Écho",
        "",
        "https://www.ladepeche.fr/1.html",
        at,
        &[("pauvrete", 3.0, &[]), ("education", 0.7, &[])],
        &[],
    )];
    let mut echo_id = 0;
    store
        .record_success(source(1), &ok, &echo, at, |_, id| {
            echo_id = id;
            ids[0]
        })
        .await
        .unwrap();
    assert_same(store, "article rattaché", at).await;
    // Two more join the second story: one from its own source without tags (no new source),
    // one from the other source in a dossier new to the story.
    let same_source = [article("Deux bis", "", &url(5), at, &[], &[])];
    store
        .record_success(source(0), &ok, &same_source, at, |_, _| ids[1])
        .await
        .unwrap();
    assert_same(store, "article de la même source rattaché", at).await;
    // A decision in a dossier before the story is tagged with it: its row starts decided.
    let early = at - Duration::minutes(30);
    store
        .decide(ids[1], Some("education"), DecisionState::Kept, "ana", early)
        .await
        .unwrap();
    let new_dossier = [article(
        "Deux ter",
        "",
        "https://www.ladepeche.fr/2.html",
        at,
        &[("education", 0.3, &[]), ("securite", 1.0, &[])],
        &[],
    )];
    store
        .record_success(source(1), &ok, &new_dossier, at, |_, _| ids[1])
        .await
        .unwrap();
    assert_same(store, "article d'un nouveau dossier rattaché", at).await;
    // A changed title and tags of a stored article.
    let changed = [article(
        "Deux, corrigé",
        "",
        &url(2),
        at,
        &[("pauvrete", 0.2, &[])],
        &[],
    )];
    store
        .record_success(source(0), &ok, &changed, at, |_, id| id)
        .await
        .unwrap();
    assert_same(store, "article modifié", at).await;
    // A merge: the lone fourth story moves into the second.
    store.move_to_story(ids[3], ids[1]).await.unwrap();
    assert_same(store, "fusion", at).await;
    // A retag of the echo (its body arrived).
    store
        .replace_tagging(&[(echo_id, tagging(&[("securite", 4.0)], &["aude"]))])
        .await
        .unwrap();
    assert_same(store, "nouvelles étiquettes", at).await;
    ids
}

#[tokio::test]
async fn the_denormalised_inbox_equals_the_query_it_replaced_after_every_kind_of_write() {
    let dir = tempfile::tempdir().unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
    let store = crate::testing::open_store(dir.path()).await;
    let ids = write_articles(&store, at).await;
    // Decisions: one dossier, every dossier, an untagged story, an edited title.
    let t = |m: i64| at + Duration::minutes(m);
    store
        .decide(ids[0], Some("pauvrete"), DecisionState::Kept, "ana", t(1))
        .await
        .unwrap();
    store
        .decide(ids[1], None, DecisionState::Rejected, "ana", t(2))
        .await
        .unwrap();
    store
        .decide(ids[2], None, DecisionState::Starred, "ana", t(3))
        .await
        .unwrap();
    let dossiers = vec!["securite".to_string()];
    store
        .edit_story(ids[0], &dossiers, Some("Titre revu"), None, "ana", t(4))
        .await
        .unwrap();
    assert_same(&store, "décisions", at).await;
    // Undo: the story's decisions as they were before a star.
    let all = store.story_dossiers(ids[0]).await.unwrap();
    let snapshot = store.decision_snapshot(ids[0], &all).await.unwrap();
    store
        .decide(ids[0], None, DecisionState::Starred, "ana", t(5))
        .await
        .unwrap();
    assert_same(&store, "étoile", at).await;
    store
        .restore_decisions(ids[0], &snapshot, "ana", t(6))
        .await
        .unwrap();
    assert_same(&store, "annulation", at).await;
    let none = store
        .decision_snapshot(ids[2], &["".to_string()])
        .await
        .unwrap();
    assert!(none[0].1.is_some());
    store
        .restore_decisions(ids[2], &vec![("".to_string(), None)], "ana", t(7))
        .await
        .unwrap();
    assert_same(&store, "annulation sans décision antérieure", at).await;
    // An archive upgraded by migration 0012 gets the same rows from its fill.
    let migration = if store.is_postgres() {
        include_str!("../../../migrations/postgres/0012_inbox.sql")
    } else {
        include_str!("../../../migrations/0012_inbox.sql")
    };
    let fill = &migration[migration.find("INSERT INTO inbox").unwrap()..];
    store.exec("DELETE FROM inbox").await;
    store.exec(fill).await;
    assert!(store.scalar("SELECT COUNT(*) FROM inbox").await > 0);
    assert_same(&store, "remplissage de la migration", at).await;
    store.rebuild_inbox().await.unwrap();
    assert_same(&store, "reconstruction", at).await;
}
