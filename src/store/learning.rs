//! What learned tagging and running stories read and write: the curators' decisions as
//! training material, the recent stories to score, each dossier's "to check" band, and the
//! "suite de" links between stories (migration 0006).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, timestamp};

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
        let rows: Vec<StoryLists> = sqlx::query_as(
            "SELECT d.story, a.title, a.summary_text,
                    group_concat(CASE WHEN d.state IN ('kept', 'starred') THEN d.dossier END) AS kept,
                    group_concat(CASE WHEN d.state = 'rejected' THEN d.dossier END) AS rejected
             FROM decisions d JOIN articles a ON a.id = d.story
             WHERE d.state <> 'new'
             GROUP BY d.story ORDER BY d.story",
        )
        .fetch_all(self.pool())
        .await?;
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
        let rows: Vec<StoryLists> = sqlx::query_as(
            "SELECT a.id AS story, a.title, a.summary_text,
                    (SELECT group_concat(DISTINCT t.dossier) FROM tags t JOIN articles b ON b.id = t.article_id
                     WHERE b.id = a.id OR b.story = a.id) AS tagged,
                    (SELECT group_concat(d.dossier) FROM decisions d
                     WHERE d.story = a.id AND d.state <> 'new') AS decided
             FROM articles a
             WHERE (a.story IS NULL OR a.story = a.id)
               AND COALESCE(a.published, a.first_seen) >= $1
             ORDER BY a.id",
        )
        .bind(timestamp(since))
        .fetch_all(self.pool())
        .await?;
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

    /// Replaces every dossier's "to check" band.
    pub(crate) async fn replace_to_check(&self, rows: &[ToCheckEntry]) -> anyhow::Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM to_check")
            .execute(&mut *tx)
            .await?;
        for (story, dossier, probability, words) in rows {
            sqlx::query(
                "INSERT INTO to_check (story, dossier, probability, why) VALUES ($1, $2, $3, $4)",
            )
            .bind(story)
            .bind(dossier)
            .bind(probability)
            .bind(serde_json::to_string(words)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A dossier's "to check" band, most probable first, without the stories decided in the
    /// dossier since the band was computed.
    pub(crate) async fn to_check(
        &self,
        dossier: &str,
        limit: u32,
    ) -> anyhow::Result<Vec<ToCheckRow>> {
        let rows: Vec<ToCheckDbRow> = sqlx::query_as(
            "SELECT c.story, c.dossier, c.probability, c.why, a.title,
                    COALESCE(a.published, a.first_seen) AS at
             FROM to_check c JOIN articles a ON a.id = c.story
             WHERE c.dossier = $1
               AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = c.story
                               AND d.dossier = c.dossier AND d.state <> 'new')
             ORDER BY c.probability DESC, c.story DESC
             LIMIT $2",
        )
        .bind(dossier)
        .bind(i64::from(limit.max(1)))
        .fetch_all(self.pool())
        .await?;
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
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
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
        Ok(())
    }

    /// The story that `story` continues, with its title, if any.
    pub(crate) async fn story_follows(&self, story: i64) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT l.previous, COALESCE((SELECT d.title FROM decisions d WHERE d.story = l.previous
                    AND d.title IS NOT NULL ORDER BY d.decided_at DESC LIMIT 1), a.title) AS title
             FROM story_links l JOIN articles a ON a.id = l.previous WHERE l.story = $1",
        )
        .bind(story)
        .fetch_optional(self.pool())
        .await?)
    }
}
