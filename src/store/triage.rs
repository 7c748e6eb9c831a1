//! What the curators' TUI reads and writes: the inbox (stories without a decision, one line
//! each), a story's detail (why it was tagged, its sources, its decisions), edits stored with
//! the decision, and undo (restoring the decisions as they were).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::decisions::{current_decision, log_decision, write_decision};
use super::{Conn, Store, WritePool, articles::json_list, timestamp};
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
    /// Only the rows after this one in the inbox's order (score, date, story): the next page.
    pub(crate) after: Option<(f64, String, i64)>,
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
    /// What the other centres kept or starred: (centre's name, dossier, state).
    pub(crate) elsewhere: Vec<(String, String, DecisionState)>,
    /// The text of the lead article's page (`full_text`), else of another article's.
    pub(crate) body: Option<String>,
}

/// A decision as it was, for undo: (dossier, state, title, lede), or absent.
pub(crate) type DecisionSnapshot = Vec<(
    String,
    Option<(DecisionState, Option<String>, Option<String>)>,
)>;

/// A story's tags by one centre (`$2`): dossier, score and reasons, best first. Ties broken by
/// dossier then article, so that each dossier's reasons are the same on every backend.
///
/// `CROSS JOIN`: SQLite reads the story's articles (primary key, `articles_story`) and then
/// their tags by article. Given the choice, with no statistics, it started from the tags of
/// the centre (`tags_dossier`): every tag of the centre at each detail read (issue 17,
/// `store::plans`).
pub(super) const STORY_TAGS: &str =
    "SELECT t.dossier, t.score, t.why FROM articles b CROSS JOIN tags t
     WHERE t.article_id = b.id AND (b.id = $1 OR b.story = $1) AND t.centre = $2
     ORDER BY t.score DESC, t.dossier, t.article_id";

/// The dossiers a story is tagged with by one centre (`$2`), read as `STORY_TAGS` is.
pub(super) const STORY_DOSSIERS: &str =
    "SELECT DISTINCT t.dossier FROM articles a CROSS JOIN tags t
     WHERE t.article_id = a.id AND (a.id = $1 OR a.story = $1) AND t.centre = $2
     ORDER BY t.dossier";

/// One inbox line as the query returns it.
#[derive(sqlx::FromRow)]
struct InboxDbRow {
    story: i64,
    title: String,
    at: String,
    territories: String,
    sources: i64,
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

/// The inbox's `rank` of a decision state: the strongest decision sorts and filters first.
fn rank_of(state: Option<DecisionState>) -> i64 {
    match state {
        Some(DecisionState::Starred) => 3,
        Some(DecisionState::Kept) => 2,
        Some(DecisionState::Rejected) => 1,
        _ => 0,
    }
}

/// The decision state an inbox `rank` stands for (`rank_of` backwards).
pub(super) fn state_of_rank(rank: i64) -> DecisionState {
    match rank {
        3 => DecisionState::Starred,
        2 => DecisionState::Kept,
        1 => DecisionState::Rejected,
        _ => DecisionState::New,
    }
}

impl Store {
    /// Stories matching `filter`, best score first then newest; at most `filter.limit`.
    pub(crate) async fn inbox(&self, filter: &InboxFilter) -> anyhow::Result<Vec<InboxRow>> {
        use futures_util::TryStreamExt;
        let rank = rank_of(filter.state);
        // One range of `inbox_view` (dossier, rank) read in its order; the rarer filters
        // are checked on the rows as they come, until the page is full.
        let mut sql = String::from(
            "SELECT i.story, i.title, i.at, i.territories, i.sources, i.score, i.rank FROM inbox i
             WHERE i.centre = $5 AND i.dossier = $1 AND i.rank = $2
               AND ($3 IS NULL OR i.at >= $3) AND ($4 IS NULL OR i.at < $4)",
        );
        if !filter.sources.is_empty() {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM articles b JOIN sources bs ON bs.id = b.source_id
                   WHERE (b.id = i.story OR b.story = i.story) AND bs.name IN ({}))",
                super::placeholders(6, filter.sources.len())
            ));
        }
        if filter.after.is_some() {
            // A row value: one range of `inbox_view`, in SQLite and PostgreSQL alike.
            let n = 6 + filter.sources.len();
            sql.push_str(&format!(
                " AND (i.score, i.at, i.story) < (${n}, ${}, ${})",
                n + 1,
                n + 2
            ));
        }
        sql.push_str(" ORDER BY i.score DESC, i.at DESC, i.story DESC");
        let limit = filter.limit.max(1) as usize;
        let mut rows = Vec::new();
        let since = filter.since.map(timestamp);
        let until = filter.until.map(timestamp);
        on_pool!(self, pool => {
            // Only placeholders are spliced into constant text; every value is a bind parameter.
            let mut query = sqlx::query_as::<_, InboxDbRow>(sqlx::AssertSqlSafe(sql))
                .bind(filter.dossier.as_deref().unwrap_or(""))
                .bind(rank)
                .bind(&since)
                .bind(&until)
                .bind(self.centre());
            for name in &filter.sources {
                query = query.bind(name);
            }
            if let Some((score, at, story)) = &filter.after {
                query = query.bind(score).bind(at).bind(story);
            }
            let mut stream = query.fetch(pool);
            while let Some(r) = stream.try_next().await? {
                let territories = json_list(Some(r.territories));
                if !filter.territories.is_empty()
                    && !territories.iter().any(|t| filter.territories.contains(t))
                {
                    continue;
                }
                rows.push(InboxRow {
                    story: r.story,
                    title: r.title,
                    sources: r.sources,
                    date: r.at,
                    dossiers: Vec::new(),
                    territories,
                    score: r.score,
                    state: state_of_rank(r.rank),
                });
                if rows.len() == limit {
                    break;
                }
            }
        });
        self.fill_dossiers(&mut rows).await?;
        Ok(rows)
    }

    /// The dossiers of each row's story: its other inbox rows.
    async fn fill_dossiers(&self, rows: &mut [InboxRow]) -> anyhow::Result<()> {
        let at: std::collections::HashMap<i64, usize> =
            rows.iter().enumerate().map(|(i, r)| (r.story, i)).collect();
        let stories: Vec<i64> = rows.iter().map(|r| r.story).collect();
        for chunk in stories.chunks(400) {
            let list = super::placeholders(1, chunk.len());
            let sql = format!(
                "SELECT story, dossier FROM inbox WHERE story IN ({}) AND dossier <> ''
                 AND centre = ${} ORDER BY story, dossier",
                list,
                chunk.len() + 1
            );
            let found: Vec<(i64, String)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id);
                }
                query.bind(self.centre()).fetch_all(pool).await?
            });
            for (story, dossier) in found {
                if let Some(&i) = at.get(&story) {
                    rows[i].dossiers.push(dossier);
                }
            }
        }
        Ok(())
    }

    /// Undecided stories per dossier (the inbox header), and over all dossiers under `""`.
    pub(crate) async fn inbox_counts(&self) -> anyhow::Result<BTreeMap<String, i64>> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT dossier, COUNT(*) FROM inbox WHERE rank = 0 AND centre = $1 GROUP BY dossier",
            )
                .bind(self.centre())
                .fetch_all(pool)
                .await?
        });
        let mut counts: BTreeMap<String, i64> = rows.into_iter().collect();
        counts.entry(String::new()).or_insert(0);
        Ok(counts)
    }

    /// The detail pane of one story.
    pub(crate) async fn story_detail(&self, story: i64) -> anyhow::Result<Option<StoryDetail>> {
        let Some((title, lede)) = on_pool!(self, pool => {
            sqlx::query_as::<_, (String, String)>(
                "SELECT title, summary_text FROM articles WHERE id = $1",
            )
            .bind(story)
            .fetch_optional(pool)
            .await?
        }) else {
            return Ok(None);
        };
        let (tags, articles, decided, body) = on_pool!(self, pool => {
            let tags: Vec<(String, f64, String)> = sqlx::query_as(STORY_TAGS)
            .bind(story)
            .bind(self.centre())
            .fetch_all(pool)
            .await?;
            let articles: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT s.name, a.canonical_url, COALESCE(a.published, a.first_seen) AS at, a.title
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE (a.id = $1 OR a.story = $1) ORDER BY at, a.id",
            )
            .bind(story)
            .fetch_all(pool)
            .await?;
            let decided: Vec<DecisionDbRow> = sqlx::query_as(
                "SELECT dossier, state, curator, decided_at, title, lede FROM decisions
                 WHERE story = $1 AND centre = $2 ORDER BY decided_at DESC, dossier",
            )
            .bind(story)
            .bind(self.centre())
            .fetch_all(pool)
            .await?;
            let body: Option<String> = sqlx::query_scalar(
                // `id = $1 OR story = $1` lets the primary key and `articles_story` find the
                // story's articles; `COALESCE(story, id)` alone scanned every article at each key.
                "SELECT content FROM articles WHERE (id = $1 OR story = $1) AND COALESCE(story, id) = $1
                   AND content IS NOT NULL ORDER BY id = $1 DESC, id LIMIT 1",
            )
            .bind(story)
            .fetch_optional(pool)
            .await?;
            (tags, articles, decided, body)
        });
        let mut why: Vec<(String, f64, Vec<Match>)> = Vec::new();
        for (dossier, score, matched) in tags {
            if why.iter().any(|(d, _, _)| *d == dossier) {
                continue;
            }
            let matches: Vec<Match> = serde_json::from_str(&matched).unwrap_or_default();
            why.push((dossier, score, matches));
        }
        let mut decisions = Vec::new();
        let mut edited_title = None;
        let mut edited_lede = None;
        for r in decided {
            let state = DecisionState::parse(&r.state).unwrap_or(DecisionState::New);
            if edited_title.is_none() {
                edited_title = r.title;
            }
            if edited_lede.is_none() {
                edited_lede = r.lede;
            }
            decisions.push((r.dossier, state, r.curator, r.decided_at));
        }
        let elsewhere = self.kept_elsewhere(story).await?;
        Ok(Some(StoryDetail {
            elsewhere,
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
        let tagged: Vec<String> = on_pool!(self, pool => {
            sqlx::query_scalar(STORY_DOSSIERS)
            .bind(story)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
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
            let row: Option<(String, Option<String>, Option<String>)> = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT state, title, lede FROM decisions WHERE story = $1 AND dossier = $2
                     AND centre = $3",
                )
                .bind(story)
                .bind(d)
                .bind(self.centre())
                .fetch_optional(pool)
                .await?
            });
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
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut conn = Conn::from(&mut *tx);
            for (dossier, before) in snapshot {
                let current = current_decision(&mut conn, self.centre(), story, dossier).await?;
                let who = (story, dossier.as_str(), curator, at.as_str());
                match before {
                    None => {
                        delete_decision(&mut conn, self.centre(), story, dossier).await?;
                        super::inbox::refresh(&mut conn, &[story]).await?;
                        let after = ("new", None, None);
                        log_decision(&mut conn, self.centre(), who, &current, after).await?;
                    }
                    Some((s, t, l)) => {
                        let after = (s.as_str(), t.as_deref(), l.as_deref());
                        write_decision(&mut conn, self.centre(), who, &current, after).await?;
                    }
                }
            }
            tx.commit().await?;
        });
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
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut conn = Conn::from(&mut *tx);
            for dossier in dossiers {
                let before = current_decision(&mut conn, self.centre(), story, dossier).await?;
                // The state stays (`new` without a decision); title and lede change.
                let state = before.0.clone().unwrap_or_else(|| "new".into());
                let who = (story, dossier.as_str(), curator, at.as_str());
                let after = (state.as_str(), title, lede);
                write_decision(&mut conn, self.centre(), who, &before, after).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks that change when another process (the daemon, another curator) writes:
    /// the newest article and the newest decision.
    pub(crate) async fn change_marks(&self) -> anyhow::Result<(i64, i64)> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM articles) AS a,
                        (SELECT COALESCE(MAX(id), 0) FROM decision_log) AS d",
            )
            .fetch_one(pool)
            .await?
        }))
    }
}

/// Removes a story's decision in one dossier, inside the caller's transaction.
async fn delete_decision(
    conn: &mut Conn<'_>,
    centre: &str,
    story: i64,
    dossier: &str,
) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query("DELETE FROM decisions WHERE story = $1 AND dossier = $2 AND centre = $3")
            .bind(story)
            .bind(dossier)
            .bind(centre)
            .execute(&mut **c)
            .await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests;
