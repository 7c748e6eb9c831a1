//! Curators' decisions on stories, per dossier, each one logged with who, when, before and after.

use super::{Conn, Store, WritePool, timestamp};
use crate::model::DecisionState;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub(crate) enum DecisionError {
    #[error("histoire inconnue : {0}")]
    UnknownStory(i64),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        DecisionError::Store(e.into())
    }
}

/// A decision as stored: state, edited title, edited lede (all absent without a decision).
pub(super) type DecisionRow = (Option<String>, Option<String>, Option<String>);

/// The decision of a story in a dossier, inside a transaction.
pub(super) async fn current_decision(
    conn: &mut Conn<'_>,
    centre: &str,
    story: i64,
    dossier: &str,
) -> sqlx::Result<DecisionRow> {
    let row: Option<DecisionRow> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT state, title, lede FROM decisions WHERE story = $1 AND dossier = $2
             AND centre = $3",
        )
            .bind(story)
            .bind(dossier)
            .bind(centre)
            .fetch_optional(&mut **c)
            .await?
    });
    Ok(row.unwrap_or_default())
}

/// The one upsert of a decision of `centre`: `after` = (state, edited title, edited lede)
/// replaces what `before` (read in the same transaction) held, and the change is logged.
pub(super) async fn write_decision(
    conn: &mut Conn<'_>,
    centre: &str,
    who: (i64, &str, &str, &str),
    before: &DecisionRow,
    after: (&str, Option<&str>, Option<&str>),
) -> sqlx::Result<()> {
    store_decision(conn, centre, who, after).await?;
    super::inbox::refresh(conn, &[who.0]).await?;
    log_decision(conn, centre, who, before, after).await
}

/// The decision's row alone: the caller refreshes the story's inbox rows and logs.
pub(super) async fn store_decision(
    conn: &mut Conn<'_>,
    centre: &str,
    (story, dossier, curator, at): (i64, &str, &str, &str),
    after: (&str, Option<&str>, Option<&str>),
) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query(
            "INSERT INTO decisions (story, dossier, state, curator, decided_at, title, lede, centre)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (centre, story, dossier) DO UPDATE SET state = excluded.state,
               curator = excluded.curator, decided_at = excluded.decided_at,
               title = excluded.title, lede = excluded.lede",
        )
        .bind(story)
        .bind(dossier)
        .bind(after.0)
        .bind(curator)
        .bind(at)
        .bind(after.1)
        .bind(after.2)
        .bind(centre)
        .execute(&mut **c)
        .await?;
    });
    Ok(())
}

/// One line of the decision log: who changed what, from what.
pub(super) async fn log_decision(
    conn: &mut Conn<'_>,
    centre: &str,
    (story, dossier, curator, at): (i64, &str, &str, &str),
    before: &DecisionRow,
    after: (&str, Option<&str>, Option<&str>),
) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query(
            "INSERT INTO decision_log (story, dossier, curator, at, before_state, after_state,
               before_title, after_title, before_lede, after_lede, centre)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(story)
        .bind(dossier)
        .bind(curator)
        .bind(at)
        .bind(&before.0)
        .bind(after.0)
        .bind(&before.1)
        .bind(after.1)
        .bind(&before.2)
        .bind(after.2)
        .bind(centre)
        .execute(&mut **c)
        .await?;
    });
    Ok(())
}

/// The dossiers a decision on `story` applies to (`dossier`, else those its articles are
/// tagged with, else `''`), once the story is known to exist.
pub(super) async fn decide_in(
    conn: &mut Conn<'_>,
    centre: &str,
    story: i64,
    dossier: Option<&str>,
) -> Result<Vec<String>, DecisionError> {
    let exists: Option<i64> = on_conn!(conn, c => {
        sqlx::query_scalar(
            "SELECT id FROM articles WHERE (id = $1 AND (story IS NULL OR story = $1)) OR story = $1
             ORDER BY id LIMIT 1",
        )
        .bind(story)
        .fetch_optional(&mut **c)
        .await?
    });
    if exists.is_none() {
        return Err(DecisionError::UnknownStory(story));
    }
    if let Some(d) = dossier {
        return Ok(vec![d.to_string()]);
    }
    let tagged: Vec<String> = on_conn!(conn, c => {
        sqlx::query_scalar(super::triage::STORY_DOSSIERS)
        .bind(story)
        .bind(centre)
        .fetch_all(&mut **c)
        .await?
    });
    Ok(if tagged.is_empty() {
        vec![String::new()]
    } else {
        tagged
    })
}

impl Store {
    /// Records `state` for a story: in one dossier, or else in every dossier its articles
    /// are tagged with (`''` when there is none). Last writer wins; every change is logged.
    /// Returns the dossiers decided.
    pub(crate) async fn decide(
        &self,
        story: i64,
        dossier: Option<&str>,
        state: DecisionState,
        curator: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DecisionError> {
        let at = timestamp(now);
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut conn = Conn::from(&mut *tx);
            let dossiers = decide_in(&mut conn, self.centre(), story, dossier).await?;
            for d in &dossiers {
                let before = current_decision(&mut conn, self.centre(), story, d).await?;
                // The state changes; the edited title and lede stay.
                let after = (state.as_str(), before.1.as_deref(), before.2.as_deref());
                let who = (story, d.as_str(), curator, at.as_str());
                write_decision(&mut conn, self.centre(), who, &before, after).await?;
            }
            tx.commit().await?;
            Ok(dossiers)
        })
    }

    /// The log of a story's decisions by this centre, oldest first: (dossier, curator, at,
    /// before, after).
    /// Only the curation tests read it back; the log itself is for people reading the base.
    #[cfg(test)]
    pub(crate) async fn decision_log(
        &self,
        story: i64,
    ) -> anyhow::Result<Vec<(String, String, String, Option<String>, String)>> {
        Ok(on_pool!(self, pool => sqlx::query_as(
            "SELECT dossier, curator, at, before_state, after_state FROM decision_log WHERE story = $1 AND centre = $2 ORDER BY id",
        )
        .bind(story)
        .bind(self.centre())
        .fetch_all(pool)
        .await?))
    }
}
