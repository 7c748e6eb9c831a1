//! What the curators' TUI reads and writes: the inbox (stories without a decision, one line
//! each), a story's detail (why it was tagged, its sources, its decisions), edits stored with
//! the decision, and undo (restoring the decisions as they were).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decisions::{current_decision, log_decision, write_decision};
use super::{Store, articles::json_list, timestamp};
use crate::model::{DecisionState, Match};

/// Which stories the inbox shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct InboxFilter {
    /// One dossier, or all of them.
    pub(crate) dossier: Option<String>,
    /// `None`: stories without a decision (the inbox proper); else stories in that state.
    pub(crate) state: Option<DecisionState>,
    /// Stories carried by any of these sources (by name); empty: all.
    pub(crate) sources: Vec<String>,
    /// Stories placed in any of these territories (slugs); empty: all.
    pub(crate) territories: Vec<String>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) limit: u32,
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxRow {
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) sources: i64,
    /// RFC 3339 UTC.
    pub(crate) date: String,
    pub(crate) dossiers: Vec<String>,
    pub(crate) territories: Vec<String>,
    pub(crate) score: f64,
    pub(crate) state: DecisionState,
}

/// Everything the detail pane shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoryDetail {
    pub(crate) story: i64,
    pub(crate) title: String,
    pub(crate) lede: String,
    pub(crate) edited_title: Option<String>,
    pub(crate) edited_lede: Option<String>,
    /// Per dossier: score and the matched terms.
    pub(crate) why: Vec<(String, f64, Vec<Match>)>,
    /// Every article: (source, url, date, title).
    pub(crate) articles: Vec<(String, String, String, String)>,
    /// Per dossier: (dossier, state, curator, at).
    pub(crate) decisions: Vec<(String, DecisionState, String, String)>,
    /// The text of the lead article's page (`full_text`), else of another article's.
    pub(crate) body: Option<String>,
}

/// A decision as it was, for undo: (dossier, state, title, lede), or absent.
pub(crate) type DecisionSnapshot = Vec<(
    String,
    Option<(DecisionState, Option<String>, Option<String>)>,
)>;

/// One inbox line as the query returns it.
#[derive(sqlx::FromRow)]
struct InboxDbRow {
    story: i64,
    title: String,
    at: String,
    territories: Option<String>,
    sources: i64,
    dossiers: Option<String>,
    score: f64,
    rank: i64,
}

/// A decision of the detail pane as stored.
#[derive(sqlx::FromRow)]
struct DecisionDbRow {
    dossier: String,
    state: String,
    curator: String,
    decided_at: String,
    title: Option<String>,
    lede: Option<String>,
}

impl Store {
    /// Stories matching `filter`, best score first then newest; at most `filter.limit`.
    pub(crate) async fn inbox(&self, filter: &InboxFilter) -> anyhow::Result<Vec<InboxRow>> {
        let state = filter.state.map(|s| s.as_str());
        // Every subquery reaches a story's articles through indexes (the primary key and
        // `articles_story`), so the inbox stays a single pass over the stories.
        const MEMBERS: &str = "(SELECT b.id FROM articles b WHERE b.id = a.id OR b.story = a.id)";
        let sql = format!(
            "SELECT * FROM (
               SELECT a.id AS story,
                      COALESCE((SELECT d.title FROM decisions d WHERE d.story = a.id AND d.title IS NOT NULL
                                ORDER BY d.decided_at DESC LIMIT 1), a.title) AS title,
                      COALESCE(a.published, a.first_seen) AS at, a.territories,
                      (SELECT COUNT(DISTINCT b.source_id) FROM articles b WHERE b.id = a.id OR b.story = a.id) AS sources,
                      (SELECT group_concat(DISTINCT t.dossier) FROM tags t WHERE t.article_id IN {MEMBERS}) AS dossiers,
                      COALESCE((SELECT MAX(t.score) FROM tags t WHERE t.article_id IN {MEMBERS}
                                AND ($1 IS NULL OR t.dossier = $1)), 0.0) AS score,
                      COALESCE((SELECT MAX(CASE d.state WHEN 'starred' THEN 3 WHEN 'kept' THEN 2 WHEN 'rejected' THEN 1 ELSE 0 END)
                                FROM decisions d WHERE d.story = a.id AND ($1 IS NULL OR d.dossier = $1)), 0) AS rank
               FROM articles a JOIN sources s ON s.id = a.source_id
               WHERE (a.story IS NULL OR a.story = a.id)
                 -- With a dossier, only its stories are looked at (through `tags_dossier`).
                 AND ($1 IS NULL OR a.id IN (SELECT COALESCE(b.story, b.id) FROM tags t
                                             JOIN articles b ON b.id = t.article_id WHERE t.dossier = $1))
                 AND ($5 IS NULL OR COALESCE(a.published, a.first_seen) >= $5)
                 AND ($6 IS NULL OR COALESCE(a.published, a.first_seen) < $6)
                 AND ($4 = '[]' OR EXISTS (SELECT 1 FROM json_each(a.territories) t
                                           WHERE t.value IN (SELECT value FROM json_each($4))))
                 AND ($3 = '[]' OR s.name IN (SELECT value FROM json_each($3)) OR EXISTS (
                       SELECT 1 FROM articles b JOIN sources bs ON bs.id = b.source_id
                       WHERE b.story = a.id AND bs.name IN (SELECT value FROM json_each($3))))
             )
             WHERE rank = CASE $2 WHEN 'starred' THEN 3 WHEN 'kept' THEN 2 WHEN 'rejected' THEN 1 ELSE 0 END
             ORDER BY score DESC, at DESC, story DESC
             LIMIT $7"
        );
        // Only constant text is spliced in (MEMBERS); every value is a bind parameter.
        let rows: Vec<InboxDbRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&filter.dossier)
            .bind(state)
            .bind(serde_json::to_string(&filter.sources)?)
            .bind(serde_json::to_string(&filter.territories)?)
            .bind(filter.since.map(timestamp))
            .bind(filter.until.map(timestamp))
            .bind(i64::from(filter.limit.max(1)))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
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
                    state: match r.rank {
                        3 => DecisionState::Starred,
                        2 => DecisionState::Kept,
                        1 => DecisionState::Rejected,
                        _ => DecisionState::New,
                    },
                }
            })
            .collect())
    }

    /// Undecided stories per dossier (the inbox header), and over all dossiers under `""`.
    pub(crate) async fn inbox_counts(&self) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut counts = BTreeMap::new();
        for (dossier, n) in sqlx::query_as::<_, (String, i64)>(
            "SELECT t.dossier, COUNT(DISTINCT COALESCE(b.story, b.id)) AS n
             FROM tags t JOIN articles b ON b.id = t.article_id
             WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = COALESCE(b.story, b.id)
                               AND d.dossier = t.dossier AND d.state <> 'new')
             GROUP BY t.dossier",
        )
        .fetch_all(&self.pool)
        .await?
        {
            counts.insert(dossier, n);
        }
        let all: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM articles a WHERE (a.story IS NULL OR a.story = a.id)
               AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = a.id AND d.state <> 'new')",
        )
        .fetch_one(&self.pool)
        .await?;
        counts.insert(String::new(), all);
        Ok(counts)
    }

    /// The detail pane of one story.
    pub(crate) async fn story_detail(&self, story: i64) -> anyhow::Result<Option<StoryDetail>> {
        let Some((title, lede)) = sqlx::query_as::<_, (String, String)>(
            "SELECT title, summary_text FROM articles WHERE id = $1",
        )
        .bind(story)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let mut why: Vec<(String, f64, Vec<Match>)> = Vec::new();
        for (dossier, score, matched) in sqlx::query_as::<_, (String, f64, String)>(
            "SELECT t.dossier, t.score, t.why FROM tags t JOIN articles b ON b.id = t.article_id
             WHERE (b.id = $1 OR b.story = $1) ORDER BY t.score DESC",
        )
        .bind(story)
        .fetch_all(&self.pool)
        .await?
        {
            if why.iter().any(|(d, _, _)| *d == dossier) {
                continue;
            }
            let matches: Vec<Match> = serde_json::from_str(&matched).unwrap_or_default();
            why.push((dossier, score, matches));
        }
        let articles = sqlx::query_as(
            "SELECT s.name, a.canonical_url, COALESCE(a.published, a.first_seen) AS at, a.title
             FROM articles a JOIN sources s ON s.id = a.source_id
             WHERE (a.id = $1 OR a.story = $1) ORDER BY at, a.id",
        )
        .bind(story)
        .fetch_all(&self.pool)
        .await?;
        let mut decisions = Vec::new();
        let mut edited_title = None;
        let mut edited_lede = None;
        for r in sqlx::query_as::<_, DecisionDbRow>(
            "SELECT dossier, state, curator, decided_at, title, lede FROM decisions
             WHERE story = $1 ORDER BY decided_at DESC",
        )
        .bind(story)
        .fetch_all(&self.pool)
        .await?
        {
            let state = DecisionState::parse(&r.state).unwrap_or(DecisionState::New);
            if edited_title.is_none() {
                edited_title = r.title;
            }
            if edited_lede.is_none() {
                edited_lede = r.lede;
            }
            decisions.push((r.dossier, state, r.curator, r.decided_at));
        }
        let body: Option<String> = sqlx::query_scalar(
            "SELECT content FROM articles WHERE COALESCE(story, id) = $1 AND content IS NOT NULL
             ORDER BY id = $1 DESC, id LIMIT 1",
        )
        .bind(story)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Some(StoryDetail {
            body,
            story,
            title,
            lede,
            edited_title,
            edited_lede,
            why,
            articles,
            decisions,
        }))
    }

    /// The dossiers a decision without `--dossier` applies to: those the story is tagged
    /// with, or `""`.
    pub(crate) async fn story_dossiers(&self, story: i64) -> anyhow::Result<Vec<String>> {
        let tagged: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT t.dossier FROM tags t JOIN articles a ON a.id = t.article_id
             WHERE (a.id = $1 OR a.story = $1) ORDER BY t.dossier",
        )
        .bind(story)
        .fetch_all(&self.pool)
        .await?;
        Ok(if tagged.is_empty() {
            vec![String::new()]
        } else {
            tagged
        })
    }

    /// The decisions of a story in these dossiers, as they are now (for undo).
    pub(crate) async fn decision_snapshot(
        &self,
        story: i64,
        dossiers: &[String],
    ) -> anyhow::Result<DecisionSnapshot> {
        let mut out = Vec::with_capacity(dossiers.len());
        for d in dossiers {
            let row = sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT state, title, lede FROM decisions WHERE story = $1 AND dossier = $2",
            )
            .bind(story)
            .bind(d)
            .fetch_optional(&self.pool)
            .await?;
            out.push((
                d.clone(),
                row.map(|(state, title, lede)| {
                    (
                        DecisionState::parse(&state).unwrap_or(DecisionState::New),
                        title,
                        lede,
                    )
                }),
            ));
        }
        Ok(out)
    }

    /// Puts decisions back as a snapshot had them (undo); each change is logged.
    pub(crate) async fn restore_decisions(
        &self,
        story: i64,
        snapshot: &DecisionSnapshot,
        curator: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let at = timestamp(now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for (dossier, before) in snapshot {
            let current = current_decision(&mut tx, story, dossier).await?;
            let who = (story, dossier.as_str(), curator, at.as_str());
            match before {
                None => {
                    sqlx::query("DELETE FROM decisions WHERE story = $1 AND dossier = $2")
                        .bind(story)
                        .bind(dossier)
                        .execute(&mut *tx)
                        .await?;
                    log_decision(&mut tx, who, &current, ("new", None, None)).await?;
                }
                Some((s, t, l)) => {
                    let after = (s.as_str(), t.as_deref(), l.as_deref());
                    write_decision(&mut tx, who, &current, after).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores an edited title and lede with the story's decision in each of `dossiers`
    /// (the original article is kept); the state stays, `new` when there was none.
    pub(crate) async fn edit_story(
        &self,
        story: i64,
        dossiers: &[String],
        title: Option<&str>,
        lede: Option<&str>,
        curator: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let at = timestamp(now);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for dossier in dossiers {
            let before = current_decision(&mut tx, story, dossier).await?;
            // The state stays (`new` without a decision); title and lede change.
            let state = before.0.clone().unwrap_or_else(|| "new".into());
            let who = (story, dossier.as_str(), curator, at.as_str());
            write_decision(&mut tx, who, &before, (&state, title, lede)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks that change when another process (the daemon, another curator) writes:
    /// the newest article and the newest decision.
    pub(crate) async fn change_marks(&self) -> anyhow::Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM articles) AS a,
                    (SELECT COALESCE(MAX(id), 0) FROM decision_log) AS d",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
