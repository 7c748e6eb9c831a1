//! What alerts about sources need: each source's fetch state, its newest article, and the
//! state last told to the curators (migration 0010).

use chrono::{DateTime, Utc};

use super::{Store, parse_timestamp, timestamp};

/// One source as the alert check sees it.
#[derive(Debug, Clone)]
pub(crate) struct AlertInput {
    pub(crate) source_id: i64,
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) consecutive_errors: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) last_success: Option<DateTime<Utc>>,
    pub(crate) newest_article: Option<DateTime<Utc>>,
    /// The state last recorded, with when it began.
    pub(crate) recorded: Option<(String, DateTime<Utc>)>,
}

/// A source and its alert state as the query returns them.
#[derive(sqlx::FromRow)]
struct AlertDbRow {
    id: i64,
    name: String,
    url: String,
    consecutive_errors: i64,
    last_error: Option<String>,
    last_success: Option<String>,
    newest: Option<String>,
    state: Option<String>,
    since: Option<String>,
}

impl Store {
    /// Every enabled source with what the alert check needs.
    pub(crate) async fn alert_inputs(&self) -> anyhow::Result<Vec<AlertInput>> {
        let rows: Vec<AlertDbRow> = sqlx::query_as(
            "SELECT s.id, s.name, s.url, s.consecutive_errors, s.last_error, s.last_success,
                    (SELECT MAX(a.first_seen) FROM articles a WHERE a.source_id = s.id) AS newest,
                    sa.state, sa.since
             FROM sources s LEFT JOIN source_alerts sa ON sa.source_id = s.id
             WHERE s.enabled = 1 ORDER BY s.name",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AlertInput {
                source_id: r.id,
                name: r.name,
                url: r.url,
                consecutive_errors: r.consecutive_errors as u32,
                last_error: r.last_error,
                last_success: parse_timestamp(r.last_success),
                newest_article: parse_timestamp(r.newest),
                recorded: r.state.zip(parse_timestamp(r.since)),
            })
            .collect())
    }

    /// Records the state told to the curators (or reached without a mail, like `erring`).
    pub(crate) async fn set_alert_state(
        &self,
        source_id: i64,
        state: &str,
        since: DateTime<Utc>,
        detail: Option<&str>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO source_alerts (source_id, state, since, detail) VALUES ($1, $2, $3, $4)
             ON CONFLICT (source_id) DO UPDATE SET state = $2, since = $3, detail = $4",
        )
        .bind(source_id)
        .bind(state)
        .bind(timestamp(since))
        .bind(detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
