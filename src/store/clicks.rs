//! Anonymous click counts (`[mail] count_clicks`): the links of a sent edition, numbered,
//! and how often each was followed through `/c/<kind>/<n>/<link>` — never by whom. Each
//! centre numbers its editions, so the counters are the centre's: another centre's
//! `veille serve` neither counts nor redirects them.

use super::{Store, WritePool};

/// One link of an edition and how many times it was followed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct LinkClicks {
    pub(crate) link: i64,
    pub(crate) url: String,
    pub(crate) clicks: i64,
}

impl Store {
    /// The number of each of `urls` in edition `kind/number`: the one it already has (a
    /// test send before the real one keeps the same numbers), else the next free one.
    pub(crate) async fn number_links(
        &self,
        kind: &str,
        number: i64,
        urls: &[String],
    ) -> anyhow::Result<Vec<i64>> {
        let mut numbers = Vec::with_capacity(urls.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for url in urls {
                let known: Option<i64> = sqlx::query_scalar(
                    "SELECT position FROM edition_links
                     WHERE kind = $1 AND number = $2 AND url = $3 AND centre = $4",
                )
                .bind(kind)
                .bind(number)
                .bind(url)
                .bind(self.centre())
                .fetch_optional(&mut *tx)
                .await?;
                let n = match known {
                    Some(n) => n,
                    None => {
                        let next: i64 = sqlx::query_scalar(
                            "SELECT COALESCE(MAX(position), 0) + 1 FROM edition_links
                             WHERE kind = $1 AND number = $2 AND centre = $3",
                        )
                        .bind(kind)
                        .bind(number)
                        .bind(self.centre())
                        .fetch_one(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO edition_links (kind, number, position, url, centre)
                             VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(kind)
                        .bind(number)
                        .bind(next)
                        .bind(url)
                        .bind(self.centre())
                        .execute(&mut *tx)
                        .await?;
                        next
                    }
                };
                numbers.push(n);
            }
            tx.commit().await?;
        });
        Ok(numbers)
    }

    /// Counts one follow of link `link` of `kind/number` and gives its address; None (and
    /// nothing counted) for a link the edition never had.
    pub(crate) async fn follow_link(
        &self,
        kind: &str,
        number: i64,
        link: i64,
    ) -> anyhow::Result<Option<String>> {
        let url = on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE edition_links SET clicks = clicks + 1
                 WHERE kind = $1 AND number = $2 AND position = $3 AND centre = $4 RETURNING url",
            )
            .bind(kind)
            .bind(number)
            .bind(link)
            .bind(self.centre())
            .fetch_optional(pool)
            .await?
        });
        Ok(url)
    }

    /// Every counted link of `kind/number`, in the order of the edition.
    pub(crate) async fn link_clicks(
        &self,
        kind: &str,
        number: i64,
    ) -> anyhow::Result<Vec<LinkClicks>> {
        let rows: Vec<(i64, String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT position, url, clicks FROM edition_links
                 WHERE kind = $1 AND number = $2 AND centre = $3 ORDER BY position",
            )
            .bind(kind)
            .bind(number)
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(link, url, clicks)| LinkClicks { link, url, clicks })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_keep_their_numbers_and_count_follows_on_either_backend() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let first = store
            .number_links(
                "flash-info",
                1,
                &urls(&["https://a.example/", "https://b.example/"]),
            )
            .await
            .unwrap();
        assert_eq!(first, [1, 2]);
        // A later send (the real one after a test) keeps the numbers, adds the new link.
        let again = store
            .number_links(
                "flash-info",
                1,
                &urls(&["https://c.example/", "https://b.example/"]),
            )
            .await
            .unwrap();
        assert_eq!(again, [3, 2]);
        // Another edition numbers from 1.
        let other = store
            .number_links("flash-info", 2, &urls(&["https://b.example/"]))
            .await
            .unwrap();
        assert_eq!(other, [1]);
        for _ in 0..2 {
            assert_eq!(
                store
                    .follow_link("flash-info", 1, 2)
                    .await
                    .unwrap()
                    .as_deref(),
                Some("https://b.example/")
            );
        }
        assert_eq!(store.follow_link("flash-info", 1, 9).await.unwrap(), None);
        assert_eq!(store.follow_link("lettre", 1, 1).await.unwrap(), None);
        let clicks = store.link_clicks("flash-info", 1).await.unwrap();
        let link = |link, url: &str, clicks| LinkClicks {
            link,
            url: url.into(),
            clicks,
        };
        assert_eq!(
            clicks,
            [
                link(1, "https://a.example/", 0),
                link(2, "https://b.example/", 2),
                link(3, "https://c.example/", 0),
            ]
        );
        assert_eq!(
            store.link_clicks("flash-info", 2).await.unwrap(),
            [link(1, "https://b.example/", 0)]
        );
    }
}
