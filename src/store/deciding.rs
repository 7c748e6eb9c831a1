//! A triage key's decision in one write transaction: the snapshot `u` needs, the story's
//! inbox ranks before and after (the counts move by their difference), the decision log's
//! mark and the story's decisions as the detail pane shows them all come back from the
//! transaction that decides, instead of a dozen round trips around it (issue 17: `g` made
//! about 15 at 100,000 stories).

use chrono::{DateTime, Utc};

use super::decisions::{DecisionError, DecisionRow, decide_in, log_decision, store_decision};
use super::{Conn, Store, WritePool, timestamp};
use crate::model::DecisionState;

/// A story's inbox rows of one centre: (dossier, rank), `''` being the view over all dossiers.
pub(crate) type InboxRanks = Vec<(String, i64)>;

/// The detail pane's decisions: (dossier, state, curator, at), newest first.
pub(crate) type ShownDecisions = Vec<(String, DecisionState, String, String)>;

/// What `Store::decide_for_triage` did and what the triage screen needs after it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TriageDecision {
    /// The decisions as they were in the dossiers decided, for undo.
    pub(crate) snapshot: super::DecisionSnapshot,
    /// The story's inbox rows of this centre before and after: (dossier, rank).
    pub(crate) before: InboxRanks,
    pub(crate) after: InboxRanks,
    /// `Store::change_marks` as the transaction leaves them.
    pub(crate) marks: (i64, i64),
    /// Lines added to the decision log (one per dossier decided).
    pub(crate) logged: usize,
    /// The story's decisions of this centre now, newest first: (dossier, state, curator, at).
    pub(crate) decisions: ShownDecisions,
    /// The newest edited title and lede among them.
    pub(crate) edited: (Option<String>, Option<String>),
}

/// A decision of this centre as stored, with what the detail pane shows of it.
#[derive(sqlx::FromRow)]
struct StoredDecision {
    dossier: String,
    state: String,
    curator: String,
    decided_at: String,
    title: Option<String>,
    lede: Option<String>,
}

/// The story's decisions of `centre`, newest first (the detail pane's order).
async fn story_decisions(
    conn: &mut Conn<'_>,
    centre: &str,
    story: i64,
) -> sqlx::Result<Vec<StoredDecision>> {
    Ok(on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT dossier, state, curator, decided_at, title, lede FROM decisions
             WHERE story = $1 AND centre = $2 ORDER BY decided_at DESC, dossier",
        )
        .bind(story)
        .bind(centre)
        .fetch_all(&mut **c)
        .await?
    }))
}

/// The story's inbox rows of `centre`: (dossier, rank).
async fn inbox_ranks(conn: &mut Conn<'_>, centre: &str, story: i64) -> sqlx::Result<InboxRanks> {
    // By story alone (`inbox_story`), the centre picked out here: with `centre = $2` in the
    // query SQLite reads the centre's whole range of `inbox_view`, which also gives the
    // dossier order (10 ms a read at 100,000 stories instead of 0.05).
    let rows: Vec<(String, String, i64)> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT centre, dossier, rank FROM inbox WHERE story = $1 ORDER BY dossier, centre",
        )
        .bind(story)
        .fetch_all(&mut **c)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter(|(c, _, _)| c == centre)
        .map(|(_, dossier, rank)| (dossier, rank))
        .collect())
}

/// The detail pane's decisions and the newest edited title and lede, from the rows newest
/// first (as `Store::story_detail` reads them).
fn shown_decisions(
    rows: Vec<StoredDecision>,
) -> (ShownDecisions, (Option<String>, Option<String>)) {
    let mut decisions = Vec::with_capacity(rows.len());
    let (mut title, mut lede) = (None, None);
    for r in rows {
        let state = DecisionState::parse(&r.state).unwrap_or(DecisionState::New);
        if title.is_none() {
            title = r.title;
        }
        if lede.is_none() {
            lede = r.lede;
        }
        decisions.push((r.dossier, state, r.curator, r.decided_at));
    }
    (decisions, (title, lede))
}

impl Store {
    /// `Store::decide` as the triage does it: the same decisions, log lines and inbox rows,
    /// with everything the screen needs after it read in the same transaction.
    pub(crate) async fn decide_for_triage(
        &self,
        story: i64,
        dossier: Option<&str>,
        state: DecisionState,
        curator: &str,
        now: DateTime<Utc>,
    ) -> Result<TriageDecision, DecisionError> {
        let at = timestamp(now);
        let centre = self.centre();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut conn = Conn::from(&mut *tx);
            let dossiers = decide_in(&mut conn, centre, story, dossier).await?;
            let current = story_decisions(&mut conn, centre, story).await?;
            let before = inbox_ranks(&mut conn, centre, story).await?;
            let mut snapshot = Vec::with_capacity(dossiers.len());
            for d in &dossiers {
                let was = current.iter().find(|r| &r.dossier == d);
                let row: DecisionRow = was
                    .map(|r| (Some(r.state.clone()), r.title.clone(), r.lede.clone()))
                    .unwrap_or_default();
                snapshot.push((
                    d.clone(),
                    was.map(|r| {
                        let state = DecisionState::parse(&r.state).unwrap_or(DecisionState::New);
                        (state, r.title.clone(), r.lede.clone())
                    }),
                ));
                // The state changes; the edited title and lede stay.
                let after = (state.as_str(), row.1.as_deref(), row.2.as_deref());
                let who = (story, d.as_str(), curator, at.as_str());
                store_decision(&mut conn, centre, who, after).await?;
                log_decision(&mut conn, centre, who, &row, after).await?;
            }
            // Once for every dossier decided: the rows depend on all of them.
            super::inbox::refresh(&mut conn, &[story]).await?;
            let after = inbox_ranks(&mut conn, centre, story).await?;
            let marks: (i64, i64) = on_conn!(&mut conn, c => {
                sqlx::query_as(
                    "SELECT (SELECT COALESCE(MAX(id), 0) FROM articles) AS a,
                            (SELECT COALESCE(MAX(id), 0) FROM decision_log) AS d",
                )
                .fetch_one(&mut **c)
                .await?
            });
            let rows = story_decisions(&mut conn, centre, story).await?;
            tx.commit().await?;
            let (decisions, edited) = shown_decisions(rows);
            Ok(TriageDecision {
                snapshot,
                before,
                after,
                marks,
                logged: dossiers.len(),
                decisions,
                edited,
            })
        })
    }
}

#[cfg(test)]
mod tests;
