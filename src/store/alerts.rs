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
        let rows: Vec<AlertDbRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT s.id, s.name, s.url, s.consecutive_errors, s.last_error, s.last_success,
                    (SELECT MAX(a.first_seen) FROM articles a WHERE a.source_id = s.id) AS newest,
                    sa.state, sa.since
             FROM sources s LEFT JOIN source_alerts sa ON sa.source_id = s.id
             WHERE s.enabled ORDER BY s.name",
        )
        .fetch_all(pool)
        .await?);
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
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO source_alerts (source_id, state, since, detail) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (source_id) DO UPDATE SET state = $2, since = $3, detail = $4",
            )
            .bind(source_id)
            .bind(state)
            .bind(timestamp(since))
            .bind(detail)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

/// Direct SQL expected to be refused (a trigger, a constraint), for the unit tests of other
/// stages; beside `exec` in spirit, kept here so that the ports of issue 16 merge apart.
#[cfg(test)]
impl Store {
    /// Runs one statement and returns the database's refusal, if any.
    pub(crate) async fn try_exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        on_pool!(self, pool => {
            sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Source, SourceKind};
    use crate::store::Validators;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn source(name: &str, enabled: bool) -> Source {
        Source {
            name: name.into(),
            kind: SourceKind::Feed,
            url: format!("https://{name}.example.org/"),
            dossiers: vec![],
            select: None,
            enabled,
        }
    }

    #[tokio::test]
    async fn alert_inputs_give_health_newest_article_and_recorded_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let states = store
            .sync_sources(&[source("b", true), source("a", true), source("off", false)])
            .await
            .unwrap();
        let (a, b) = (states["a"].id, states["b"].id);
        let ok = Validators {
            status: 200,
            ..Validators::default()
        };
        // Source a: two articles, a success; source b: a failure and no article yet.
        let items = [
            crate::testing::article(
                "Un",
                "",
                "https://a.example.org/1",
                t("2026-11-01T08:00:00Z"),
                &[],
                &[],
            ),
            crate::testing::article(
                "Deux",
                "",
                "https://a.example.org/2",
                t("2026-11-02T08:00:00Z"),
                &[],
                &[],
            ),
        ];
        store
            .record_success(a, &ok, &items, t("2026-11-03T09:00:00Z"), |_, id| id)
            .await
            .unwrap();
        for _ in 0..2 {
            store
                .record_failure(
                    b,
                    Some(500),
                    "erreur 500",
                    t("2026-11-04T00:00:00Z"),
                    t("2026-11-03T10:00:00Z"),
                )
                .await
                .unwrap();
        }
        store
            .set_alert_state(b, "erring", t("2026-11-03T10:00:00Z"), Some("erreur 500"))
            .await
            .unwrap();
        // A second record replaces the first.
        store
            .set_alert_state(b, "failing", t("2026-11-03T11:00:00Z"), None)
            .await
            .unwrap();

        let inputs = store.alert_inputs().await.unwrap();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "enabled sources only, by name");
        let (first, second) = (&inputs[0], &inputs[1]);
        assert_eq!(first.source_id, a);
        assert_eq!(first.url, "https://a.example.org/");
        assert_eq!(first.consecutive_errors, 0);
        assert_eq!(first.last_success, Some(t("2026-11-03T09:00:00Z")));
        // Newest by first sight: both were seen at the same pass.
        assert_eq!(first.newest_article, Some(t("2026-11-03T09:00:00Z")));
        assert!(first.recorded.is_none());
        assert_eq!(second.source_id, b);
        assert_eq!(second.consecutive_errors, 2);
        assert_eq!(second.last_error.as_deref(), Some("erreur 500"));
        assert!(second.last_success.is_none() && second.newest_article.is_none());
        assert_eq!(
            second.recorded,
            Some(("failing".to_string(), t("2026-11-03T11:00:00Z")))
        );
        let detail = store
            .scalar("SELECT COUNT(*) FROM source_alerts WHERE detail IS NULL")
            .await;
        assert_eq!(detail, 1);
    }
}
