//! Article bodies fetched after the feed pass: which articles still wait for theirs, and
//! recording the text or why there is none (migration 0010).

use super::{Conn, Store, WritePool, placeholders};

/// An article whose page has not been tried yet.
#[derive(Debug, Clone)]
pub(crate) struct PendingBody {
    pub(crate) id: i64,
    pub(crate) url: String,
    pub(crate) summary: String,
}

impl Store {
    /// The newest articles of each of these sources whose body has not been tried, at most
    /// `limit` per source, newest first, by source name: one query per chunk of sources
    /// rather than one per source, which the tail of a pass waited for.
    pub(crate) async fn pending_bodies(
        &self,
        sources: &[&str],
        limit: u32,
    ) -> anyhow::Result<std::collections::HashMap<String, Vec<PendingBody>>> {
        let mut out: std::collections::HashMap<String, Vec<PendingBody>> =
            std::collections::HashMap::new();
        for chunk in sources.chunks(CHUNK) {
            // Only placeholders are spliced into constant text; every value is bound.
            let sql = format!(
                "SELECT id, url, summary_text, name FROM (
                   SELECT a.id, a.url, a.summary_text, s.name,
                          ROW_NUMBER() OVER (PARTITION BY a.source_id ORDER BY a.id DESC) AS n
                   FROM articles a JOIN sources s ON s.id = a.source_id
                   WHERE a.body_status IS NULL AND s.name IN ({})
                 ) t WHERE n <= $1 ORDER BY name, id DESC",
                placeholders(2, chunk.len())
            );
            let rows: Vec<(i64, String, String, String)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit));
                for name in chunk {
                    query = query.bind(*name);
                }
                query.fetch_all(pool).await?
            });
            for (id, url, summary, name) in rows {
                out.entry(name)
                    .or_default()
                    .push(PendingBody { id, url, summary });
            }
        }
        Ok(out)
    }

    /// Records that these articles keep their feed's text (`status`, e.g. `feed`): what
    /// `set_body(id, None, status)` does for each, in one transaction of multi-row updates
    /// rather than a transaction per article, which made the tail of a pass.
    pub(crate) async fn set_bodies_status(&self, ids: &[i64], status: &str) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in ids.chunks(CHUNK) {
                // Only placeholders are spliced into constant text; every value is bound.
                let sql = format!(
                    "UPDATE articles SET body_status = $1 WHERE id IN ({})",
                    placeholders(2, chunk.len())
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status);
                for id in chunk {
                    query = query.bind(id);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records an article's body (`Some` text, status `ok`) or why it has none; the feed's
    /// own text is left as it was either way.
    pub(crate) async fn set_body(
        &self,
        id: i64,
        body: Option<&str>,
        status: &str,
    ) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                // A new body must reach the search index (and tagging), which read `indexed_at`.
                "UPDATE articles SET content = COALESCE($2, content), body_status = $3,
                     indexed_at = CASE WHEN $2 IS NULL THEN indexed_at ELSE NULL END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(body)
            .bind(status)
            .execute(&mut *tx)
            .await?;
            if body.is_some() {
                // Every centre tags the full text again (this one right after, the others
                // at their catch-up).
                super::centre_tags::forget(&mut Conn::from(&mut *tx), &[id]).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// An article with a fetched body, for the merging of stories by their bodies.
#[derive(Debug, Clone)]
pub(crate) struct BodiedArticle {
    pub(crate) id: i64,
    pub(crate) story: i64,
    pub(crate) at: chrono::DateTime<chrono::Utc>,
    pub(crate) fingerprint: String,
    pub(crate) body: String,
    /// Alone in its story, and that story has no decision, edition, link or "to check" row:
    /// moving it to another story loses nothing a curator did.
    pub(crate) movable: bool,
}

/// A bodied article as the query returns it.
#[derive(sqlx::FromRow)]
struct BodiedDbRow {
    id: i64,
    story: i64,
    at: Option<String>,
    fingerprint: String,
    content: String,
}

/// Ids per statement: far below every backend's limit on bound parameters.
const CHUNK: usize = 400;

impl Store {
    /// The articles dated from `since` that have a fetched body and a fingerprint; whether
    /// one is movable is worked out for `candidates` only (the others say `false`), since
    /// it reads the whole story of each.
    pub(crate) async fn bodied_articles_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        candidates: &[i64],
    ) -> anyhow::Result<Vec<BodiedArticle>> {
        // In id order, as the merging compares them (its ties go to the later one).
        let rows: Vec<BodiedDbRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, COALESCE(a.story, a.id) AS story,
                        COALESCE(a.published, a.first_seen) AS at, a.fingerprint, a.content
                 FROM articles a
                 WHERE a.body_status = 'ok' AND a.content IS NOT NULL AND a.fingerprint IS NOT NULL
                   AND COALESCE(a.published, a.first_seen) >= $1
                 ORDER BY a.id",
            )
            .bind(super::timestamp(since))
            .fetch_all(pool)
            .await?
        });
        let movable = self.movable(candidates).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(BodiedArticle {
                    id: r.id,
                    story: r.story,
                    at: super::parse_timestamp(r.at)?,
                    fingerprint: r.fingerprint,
                    body: r.content,
                    movable: movable.contains(&r.id),
                })
            })
            .collect())
    }

    /// Which of these articles are alone in their story, on which no curator did anything.
    async fn movable(&self, candidates: &[i64]) -> anyhow::Result<std::collections::HashSet<i64>> {
        let mut out = std::collections::HashSet::new();
        for chunk in candidates.chunks(CHUNK) {
            // Only placeholders are spliced into constant text; every value is bound.
            let sql = format!(
                "SELECT a.id FROM articles a WHERE a.id IN ({})
                   AND (SELECT COUNT(*) FROM articles o WHERE COALESCE(o.story, o.id) = COALESCE(a.story, a.id)) = 1
                   AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.story = COALESCE(a.story, a.id))
                   AND NOT EXISTS (SELECT 1 FROM edition_items e WHERE e.story = COALESCE(a.story, a.id))
                   AND NOT EXISTS (SELECT 1 FROM story_links l
                                   WHERE l.story = COALESCE(a.story, a.id) OR l.previous = COALESCE(a.story, a.id))
                   AND NOT EXISTS (SELECT 1 FROM to_check t WHERE t.story = COALESCE(a.story, a.id))",
                placeholders(1, chunk.len())
            );
            let ids: Vec<i64> = on_pool!(self, pool => {
                let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await?
            });
            out.extend(ids);
        }
        Ok(out)
    }

    /// Moves a lone article into another story; search re-indexes it.
    pub(crate) async fn move_to_story(&self, id: i64, story: i64) -> anyhow::Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE articles SET story = $2, indexed_at = NULL WHERE id = $1")
                .bind(id)
                .bind(story)
                .execute(&mut *tx)
                .await?;
            // The lone article's own story ends; the other gains an article.
            super::inbox::refresh(&mut Conn::from(&mut *tx), &[id, story]).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use crate::testing::{article, two_source_store};

    #[tokio::test]
    async fn a_late_body_reindexes_and_only_lone_untouched_articles_move() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::parse(
            "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n\n\
             [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
             [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
            "feeds.toml",
        )
        .unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let stories = [
            article("Un", "", "https://www.lemonde.fr/1.html", at, &[], &[]),
            article("Deux", "", "https://www.lemonde.fr/2.html", at, &[], &[]),
        ];
        let echo = [article(
            "Écho",
            "",
            "https://www.ladepeche.fr/1.html",
            at,
            &[],
            &[],
        )];
        let (store, ids) = two_source_store(dir.path(), &config, &stories, &echo, at).await;
        // Pages not tried yet: the newest first, per source.
        let pending = |rows: Vec<super::PendingBody>| -> Vec<(i64, String)> {
            rows.into_iter().map(|p| (p.id, p.url)).collect()
        };
        let both = ["Le Monde", "La Dépêche"];
        let mut waiting = store.pending_bodies(&both, 10).await.unwrap();
        assert_eq!(
            pending(waiting.remove("Le Monde").unwrap()),
            [
                (ids[1], "https://www.lemonde.fr/2.html".to_string()),
                (ids[0], "https://www.lemonde.fr/1.html".to_string())
            ]
        );
        let echo_waiting = waiting.remove("La Dépêche").unwrap();
        assert_eq!(echo_waiting.len(), 1);
        let one = store.pending_bodies(&both, 1).await.unwrap();
        assert_eq!(one["Le Monde"].len(), 1, "at most `limit` per source");
        assert_eq!(one["Le Monde"][0].id, ids[1]);
        assert_eq!(one["La Dépêche"].len(), 1);
        // Kept with the feed's text, in one write: no longer pending, the others untouched.
        store
            .set_bodies_status(&[echo_waiting[0].id], "feed")
            .await
            .unwrap();
        let after = store.pending_bodies(&both, 10).await.unwrap();
        assert!(!after.contains_key("La Dépêche"));
        assert_eq!(after["Le Monde"].len(), 2);
        // Everything indexed, then a body arrives: the article waits for the index again.
        let all: Vec<i64> = store
            .unindexed("ici", 100)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        store.mark_indexed("ici", &all, at).await.unwrap();
        store
            .set_body(ids[1], Some("Le texte de la page."), "ok")
            .await
            .unwrap();
        let again = store.unindexed("ici", 100).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, ids[1]);
        assert_eq!(again[0].body, "Le texte de la page.");
        // A failure changes nothing for the index.
        store.mark_indexed("ici", &[ids[1]], at).await.unwrap();
        store.set_body(ids[0], None, "erreur : 404").await.unwrap();
        assert!(store.unindexed("ici", 100).await.unwrap().is_empty());
        // Tried, with or without success: no longer pending.
        assert!(
            store
                .pending_bodies(&["Le Monde"], 10)
                .await
                .unwrap()
                .is_empty()
        );

        // The first story has an echo (not movable); the second is alone (movable) until a
        // curator decides on it. Fingerprints are needed to be listed at all.
        store
            .exec("UPDATE articles SET fingerprint = 'x', body_status = 'ok', content = 'texte'")
            .await;
        let movable = |rows: Vec<super::BodiedArticle>| -> Vec<i64> {
            rows.into_iter()
                .filter(|r| r.movable)
                .map(|r| r.id)
                .collect()
        };
        let since = at - chrono::Duration::days(1);
        let every: Vec<i64> = ids.to_vec();
        let rows = store.bodied_articles_since(since, &every).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(movable(rows), [ids[1]]);
        // Not asked about: not movable.
        let rows = store.bodied_articles_since(since, &[]).await.unwrap();
        assert!(movable(rows).is_empty());
        store
            .exec(&format!(
                "INSERT INTO decisions (story, dossier, state, curator, decided_at)
                 VALUES ({}, 'pauvrete', 'starred', 'test', '{}')",
                ids[1],
                crate::store::timestamp(at)
            ))
            .await;
        let rows = store.bodied_articles_since(since, &every).await.unwrap();
        assert!(movable(rows).is_empty());
    }
}
