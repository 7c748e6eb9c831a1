//! What learned tagging and running stories read and write: the curators' decisions as
//! training material, the recent stories to score, each dossier's "to check" band, and the
//! "suite de" links between stories (migration 0006).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, WritePool, timestamp};

/// A story with its decisions: what the scorer learns from.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DecidedStory {
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) summary: String,
    /// Dossiers it was kept or starred in.
    pub(crate) kept: Vec<String>,
    /// Dossiers it was rejected in (`""`: rejected with no dossier).
    pub(crate) rejected: Vec<String>,
}

/// A recent story the scorer may propose.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StoryToScore {
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) summary: String,
    /// Dossiers its articles are tagged with by the rules.
    pub(crate) tagged: Vec<String>,
    /// Dossiers it already has a decision in.
    pub(crate) decided: Vec<String>,
}

/// One story of a dossier's "to check" band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ToCheckRow {
    pub(crate) story: i64,
    pub(crate) dossier: String,
    pub(crate) title: String,
    /// RFC 3339 UTC.
    pub(crate) date: String,
    pub(crate) probability: f64,
    /// The learned words that weighed most, with their weight.
    pub(crate) words: Vec<(String, f64)>,
}

/// A row to store in the band: story, dossier, probability, words.
pub(crate) type ToCheckEntry = (i64, String, f64, Vec<(String, f64)>);

fn split_list(text: Option<String>) -> Vec<String> {
    let mut list: Vec<String> = text
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    list.sort();
    list.dedup();
    list
}

/// A story with two comma-separated lists of dossiers: (story, title, summary, first,
/// second).
type StoryLists = (i64, String, String, Option<String>, Option<String>);

/// The lead articles first published (or seen) since `$1`, with the dossiers centre `$2`
/// tagged them with and those it decided. The tags are read from the story's articles
/// (`CROSS JOIN`, as `triage::STORY_TAGS`): from the centre's tags, each story read them
/// all, after every harvest pass (issue 17, `store::plans`).
pub(super) const STORIES_TO_SCORE: &str = "SELECT a.id AS story, a.title, a.summary_text,
        (SELECT string_agg(t.dossier, ',') FROM articles b CROSS JOIN tags t
         WHERE t.article_id = b.id AND (b.id = a.id OR b.story = a.id) AND t.centre = $2) AS tagged,
        (SELECT string_agg(d.dossier, ',') FROM decisions d
         WHERE d.story = a.id AND d.state <> 'new' AND d.centre = $2) AS decided
 FROM articles a
 WHERE (a.story IS NULL OR a.story = a.id)
   AND COALESCE(a.published, a.first_seen) >= $1
 ORDER BY a.id";

/// A "to check" entry as the query returns it.
#[derive(sqlx::FromRow)]
struct ToCheckDbRow {
    story: i64,
    dossier: String,
    probability: f64,
    why: String,
    title: String,
    at: String,
}

impl Store {
    /// Every story with a decision other than `new`, with the title and summary of its first
    /// article.
    pub(crate) async fn decided_stories(&self) -> anyhow::Result<Vec<DecidedStory>> {
        // `string_agg` (SQLite ≥ 3.44 and PostgreSQL) skips the NULLs of the other states.
        let rows: Vec<StoryLists> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.story, a.title, a.summary_text,
                        string_agg(CASE WHEN d.state IN ('kept', 'starred') THEN d.dossier END, ',') AS kept,
                        string_agg(CASE WHEN d.state = 'rejected' THEN d.dossier END, ',') AS rejected
                 FROM decisions d JOIN articles a ON a.id = d.story
                 WHERE d.state <> 'new' AND d.centre = $1
                 GROUP BY d.story, a.title, a.summary_text ORDER BY d.story",
            )
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(story, title, summary, kept, rejected)| DecidedStory {
                story,
                title,
                summary,
                kept: split_list(kept),
                rejected: split_list(rejected),
            })
            .collect())
    }

    /// The stories first published (or seen) since `since`, with their rule tags and the
    /// dossiers already decided.
    pub(crate) async fn stories_to_score(
        &self,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<StoryToScore>> {
        // SQLite takes no DISTINCT in a two-argument aggregate: `split_list` drops the
        // repeats of a dossier several articles of the story are tagged with.
        let since = timestamp(since);
        let rows: Vec<StoryLists> = on_pool!(self, pool => {
            sqlx::query_as(STORIES_TO_SCORE)
            .bind(&since)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(story, title, summary, tagged, decided)| StoryToScore {
                story,
                title,
                summary,
                tagged: split_list(tagged),
                decided: split_list(decided),
            })
            .collect())
    }

    /// Replaces every dossier's "to check" band of the store's centre.
    pub(crate) async fn replace_to_check(&self, rows: &[ToCheckEntry]) -> anyhow::Result<()> {
        let mut whys = Vec::with_capacity(rows.len());
        for (_, _, _, words) in rows {
            whys.push(serde_json::to_string(words)?);
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM to_check WHERE centre = $1")
                .bind(self.centre())
                .execute(&mut *tx)
                .await?;
            for ((story, dossier, probability, _), why) in rows.iter().zip(&whys) {
                sqlx::query(
                    "INSERT INTO to_check (centre, story, dossier, probability, why)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(self.centre())
                .bind(story)
                .bind(dossier)
                .bind(probability)
                .bind(why)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A dossier's "to check" band, most probable first, without the stories decided in the
    /// dossier since the band was computed.
    pub(crate) async fn to_check(
        &self,
        dossier: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<ToCheckRow>> {
        let rows: Vec<ToCheckDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.story, c.dossier, c.probability, c.why, a.title,
                        COALESCE(a.published, a.first_seen) AS at
                 FROM to_check c JOIN articles a ON a.id = c.story
                 WHERE c.dossier = $1 AND c.centre = $3
                   AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = c.story
                                   AND d.dossier = c.dossier AND d.state <> 'new' AND d.centre = $3)
                 ORDER BY c.probability DESC, c.story DESC
                 LIMIT $2",
            )
            .bind(dossier)
            .bind(i64::from(limit.max(1)))
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| ToCheckRow {
                story: r.story,
                dossier: r.dossier,
                title: r.title,
                date: r.at,
                probability: r.probability,
                words: serde_json::from_str(&r.why).unwrap_or_default(),
            })
            .collect())
    }

    /// Records that each `(story, previous, similarity)` continues `previous`; a story keeps
    /// its first link.
    pub(crate) async fn link_stories(&self, links: &[(i64, i64, f64)]) -> anyhow::Result<()> {
        if links.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (story, previous, similarity) in links {
                sqlx::query(
                    "INSERT INTO story_links (story, previous, similarity) VALUES ($1, $2, $3)
                     ON CONFLICT (story) DO NOTHING",
                )
                .bind(story)
                .bind(previous)
                .bind(similarity)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The story that `story` continues, with its title, if any.
    pub(crate) async fn story_follows(&self, story: i64) -> anyhow::Result<Option<(i64, String)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT l.previous, COALESCE((SELECT d.title FROM decisions d WHERE d.story = l.previous
                        AND d.title IS NOT NULL AND d.centre = $2 ORDER BY d.decided_at DESC LIMIT 1),
                        a.title) AS title
                 FROM story_links l JOIN articles a ON a.id = l.previous WHERE l.story = $1",
            )
            .bind(story)
            .bind(self.centre())
            .fetch_optional(pool)
            .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Three stories of one source: 1 (with an echo, article 2), 3 and 4, the last one old.
    async fn store_with_stories(dir: &std::path::Path) -> (Store, [i64; 4]) {
        let store = crate::testing::open_store(dir).await;
        let source = crate::model::Source {
            name: "a".into(),
            kind: crate::model::SourceKind::Feed,
            url: "https://a.example.org/".into(),
            dossiers: vec![],
            select: None,
            enabled: true,
        };
        let states = store.sync_sources(&[source]).await.unwrap();
        let why: &[(&str, &str, &str)] = &[];
        let items = [
            crate::testing::article(
                "Rénovation urbaine",
                "Un quartier",
                "https://a.example.org/1",
                t("2026-11-10T08:00:00Z"),
                &[("politique-de-la-ville", 2.0, why), ("pauvrete", 1.0, why)],
                &[],
            ),
            crate::testing::article(
                "Rénovation urbaine, suite",
                "",
                "https://a.example.org/2",
                t("2026-11-10T09:00:00Z"),
                &[("politique-de-la-ville", 1.5, why)],
                &[],
            ),
            crate::testing::article(
                "Cantines",
                "Des repas",
                "https://a.example.org/3",
                t("2026-11-11T08:00:00Z"),
                &[("education", 1.0, why)],
                &[],
            ),
            crate::testing::article(
                "Ancien",
                "",
                "https://a.example.org/4",
                t("2026-01-01T08:00:00Z"),
                &[],
                &[],
            ),
        ];
        let ok = crate::store::Validators {
            status: 200,
            ..Default::default()
        };
        let mut ids = Vec::new();
        store
            .record_success(
                states["a"].id,
                &ok,
                &items,
                t("2026-11-12T00:00:00Z"),
                |_, id| {
                    ids.push(id);
                    if ids.len() == 2 { ids[0] } else { id }
                },
            )
            .await
            .unwrap();
        (store, [ids[0], ids[1], ids[2], ids[3]])
    }

    /// A decision written directly: this file's queries are what the tests check.
    async fn decide(store: &Store, story: i64, dossier: &str, state: &str, title: Option<&str>) {
        let title = title.map_or("NULL".to_string(), |t| format!("'{t}'"));
        store
            .exec(&format!(
                "INSERT INTO decisions (story, dossier, state, curator, decided_at, title)
                 VALUES ({story}, '{dossier}', '{state}', 'c', '2026-11-12T10:00:00Z', {title})"
            ))
            .await;
    }

    #[tokio::test]
    async fn decided_stories_and_stories_to_score_list_their_dossiers() {
        let dir = tempfile::tempdir().unwrap();
        let (store, [one, _, three, old]) = store_with_stories(dir.path()).await;
        decide(&store, one, "politique-de-la-ville", "kept", None).await;
        decide(&store, one, "pauvrete", "starred", None).await;
        decide(&store, one, "education", "rejected", None).await;
        decide(&store, three, "", "rejected", None).await;
        decide(&store, old, "education", "new", None).await;
        let decided = store.decided_stories().await.unwrap();
        assert_eq!(
            decided,
            [
                DecidedStory {
                    story: one,
                    title: "Rénovation urbaine".into(),
                    summary: "Un quartier".into(),
                    kept: vec!["pauvrete".into(), "politique-de-la-ville".into()],
                    rejected: vec!["education".into()],
                },
                DecidedStory {
                    story: three,
                    title: "Cantines".into(),
                    summary: "Des repas".into(),
                    kept: vec![],
                    rejected: vec!["".into()],
                },
            ]
        );
        let scored = store
            .stories_to_score(t("2026-11-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            scored,
            [
                StoryToScore {
                    story: one,
                    title: "Rénovation urbaine".into(),
                    summary: "Un quartier".into(),
                    // The echo's tag counts once.
                    tagged: vec!["pauvrete".into(), "politique-de-la-ville".into()],
                    decided: vec![
                        "education".into(),
                        "pauvrete".into(),
                        "politique-de-la-ville".into()
                    ],
                },
                StoryToScore {
                    story: three,
                    title: "Cantines".into(),
                    summary: "Des repas".into(),
                    tagged: vec!["education".into()],
                    decided: vec!["".into()],
                },
            ]
        );
    }

    #[tokio::test]
    async fn the_band_and_the_links_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (store, [one, _, three, old]) = store_with_stories(dir.path()).await;
        let words = vec![("renov".to_string(), 1.25)];
        store
            .replace_to_check(&[(old, "education".into(), 0.2, vec![])])
            .await
            .unwrap();
        // A new band replaces the whole previous one.
        store
            .replace_to_check(&[
                (one, "education".into(), 0.4, words.clone()),
                (three, "education".into(), 0.9, vec![]),
                (one, "pauvrete".into(), 0.7, vec![]),
            ])
            .await
            .unwrap();
        let band = store.to_check("education", 10).await.unwrap();
        assert_eq!(
            band.iter()
                .map(|r| (r.story, r.probability))
                .collect::<Vec<_>>(),
            [(three, 0.9), (one, 0.4)]
        );
        assert_eq!(band[1].words, words);
        assert_eq!(band[1].title, "Rénovation urbaine");
        assert_eq!(band[1].date, "2026-11-10T08:00:00Z");
        assert_eq!(store.to_check("education", 1).await.unwrap().len(), 1);
        // A story decided in the dossier leaves its band; not the other dossiers'.
        decide(&store, three, "education", "kept", None).await;
        let band = store.to_check("education", 10).await.unwrap();
        assert_eq!(band.iter().map(|r| r.story).collect::<Vec<_>>(), [one]);
        assert_eq!(store.to_check("pauvrete", 10).await.unwrap().len(), 1);

        store.link_stories(&[]).await.unwrap();
        store
            .link_stories(&[(three, one, 0.62), (three, old, 0.9)])
            .await
            .unwrap();
        assert_eq!(
            store.story_follows(three).await.unwrap(),
            Some((one, "Rénovation urbaine".to_string())),
            "a story keeps its first link"
        );
        decide(
            &store,
            one,
            "pauvrete",
            "kept",
            Some("Rénovation : le quartier"),
        )
        .await;
        assert_eq!(
            store.story_follows(three).await.unwrap(),
            Some((one, "Rénovation : le quartier".to_string()))
        );
        assert_eq!(store.story_follows(one).await.unwrap(), None);
    }
}
