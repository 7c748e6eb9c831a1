//! Editions: numbering per kind, items (stories) in order, Markdown blocks, status; and the
//! story cards that publications show. A sent edition is immutable (also enforced by
//! triggers in the database, whoever writes to it).

use super::{Conn, Store, WritePool, timestamp};
use crate::model::{
    Block, BlockKind, Edition, EditionItem, EditionRef, EditionStatus, SourceLink, StoryCard,
};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, thiserror::Error)]
pub(crate) enum EditionError {
    #[error("édition introuvable : {0}")]
    Unknown(String),
    #[error("l'édition {0} est envoyée : elle ne peut plus être modifiée")]
    Sent(String),
    #[error("histoire inconnue : {0}")]
    UnknownStory(i64),
    #[error("l'histoire {story} n'est pas dans l'édition {edition}")]
    NotInEdition { edition: String, story: i64 },
    #[error(
        "l'édition {edition} contient un bloc d'un genre inconnu « {kind} » (bloc n° {block}) : \
         une version plus récente de veille l'a sans doute écrit ; mettez veille à jour"
    )]
    UnknownBlockKind {
        edition: String,
        block: i64,
        kind: String,
    },
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<sqlx::Error> for EditionError {
    fn from(e: sqlx::Error) -> Self {
        EditionError::Store(e.into())
    }
}

/// The refusal of the sent-edition triggers, worded alike in both dialects' migrations
/// (SQLite's `RAISE(ABORT, …)`, PL/pgSQL's `RAISE EXCEPTION …`).
const SENT_REFUSAL: &str = "édition envoyée : elle ne peut plus être modifiée";

impl EditionError {
    /// The database's own refusal of a change to a sent edition (a trigger, when the edition
    /// was sent by a write the store's check did not see) as the store's `Sent`, so that
    /// people read the same French sentence, naming the edition, on either backend.
    fn naming(self, kind: &str, number: i64) -> EditionError {
        match self {
            EditionError::Store(e) if refused_by_trigger(&e) => {
                EditionError::Sent(address(kind, number))
            }
            other => other,
        }
    }
}

fn refused_by_trigger(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(cause.downcast_ref::<sqlx::Error>(),
                 Some(sqlx::Error::Database(db)) if db.message().contains(SENT_REFUSAL))
    })
}

/// A block to add to an edition.
#[derive(Debug, Clone)]
pub(crate) struct NewBlock {
    pub(crate) kind: BlockKind,
    pub(crate) title: Option<String>,
    pub(crate) body: String,
    pub(crate) event_date: Option<String>,
    pub(crate) place: Option<String>,
}

fn address(kind: &str, number: i64) -> String {
    EditionRef::new(kind, number).to_string()
}

/// The columns of `editions` every query of an edition reads.
const EDITION_COLUMNS: &str = "id, kind, number, period_start, period_end, status, created_at, \
                               updated_at, rendered_at, sent_at";

/// An edition as stored.
#[derive(sqlx::FromRow)]
struct EditionDbRow {
    id: i64,
    kind: String,
    number: i64,
    // TEXT in both dialects (`YYYY-MM-DD`): PostgreSQL decodes a `NaiveDate` from DATE only.
    period_start: String,
    period_end: String,
    status: String,
    created_at: String,
    updated_at: String,
    rendered_at: Option<String>,
    sent_at: Option<String>,
}

impl EditionDbRow {
    fn into_edition(self) -> anyhow::Result<Edition> {
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                anyhow::anyhow!(
                    "l'édition {} a une période illisible dans la base (« {text} ») : \
                     attendu AAAA-MM-JJ",
                    address(&self.kind, self.number)
                )
            })
        };
        let (period_start, period_end) = (date(&self.period_start)?, date(&self.period_end)?);
        Ok(Edition {
            kind: self.kind,
            number: self.number,
            period_start,
            period_end,
            // The column's CHECK admits only the three known states.
            status: EditionStatus::parse(&self.status).unwrap_or(EditionStatus::Draft),
            created_at: self.created_at,
            updated_at: self.updated_at,
            rendered_at: self.rendered_at,
            sent_at: self.sent_at,
            items: Vec::new(),
            blocks: Vec::new(),
        })
    }
}

/// An item of an edition as stored.
#[derive(sqlx::FromRow)]
struct ItemDbRow {
    story: i64,
    section: String,
    position: i64,
    title: Option<String>,
    lede: Option<String>,
}

/// A block of an edition as stored.
#[derive(sqlx::FromRow)]
struct BlockDbRow {
    id: i64,
    kind: String,
    position: i64,
    title: Option<String>,
    body: String,
    event_date: Option<String>,
    place: Option<String>,
}

impl BlockDbRow {
    /// The block, or an error naming the edition when its kind is not one this veille knows
    /// (dropping it would publish the edition without it).
    fn into_block(self, edition: &str) -> Result<Block, EditionError> {
        let Some(kind) = BlockKind::parse(&self.kind) else {
            return Err(EditionError::UnknownBlockKind {
                edition: edition.to_string(),
                block: self.id,
                kind: self.kind,
            });
        };
        Ok(Block {
            id: self.id,
            kind,
            position: self.position,
            title: self.title,
            body: self.body,
            event_date: self.event_date,
            place: self.place,
        })
    }
}

/// The lead article of a story card, with its source.
#[derive(sqlx::FromRow)]
struct CardLeadRow {
    title: String,
    summary_text: String,
    canonical_url: String,
    source: String,
    source_id: i64,
    at: String,
    territories: Option<String>,
    image: Option<String>,
}

/// The row id of `centre`'s edition, refusing unknown (another centre's edition of the
/// same name is unknown here) and, when `for_change`, sent editions.
async fn edition_id(
    conn: &mut Conn<'_>,
    centre: &str,
    kind: &str,
    number: i64,
    for_change: bool,
) -> Result<i64, EditionError> {
    let row: Option<(i64, String)> = on_conn!(conn, c => {
        sqlx::query_as(
            "SELECT id, status FROM editions WHERE kind = $1 AND number = $2 AND centre = $3",
        )
        .bind(kind)
        .bind(number)
        .bind(centre)
        .fetch_optional(&mut **c)
        .await?
    });
    let (id, status) = row.ok_or_else(|| EditionError::Unknown(address(kind, number)))?;
    if for_change && status == EditionStatus::Sent.as_str() {
        return Err(EditionError::Sent(address(kind, number)));
    }
    Ok(id)
}

async fn touch(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<(), EditionError> {
    on_conn!(conn, c => {
        sqlx::query("UPDATE editions SET updated_at = $1 WHERE id = $2")
            .bind(timestamp(now))
            .bind(id)
            .execute(&mut **c)
            .await?;
    });
    Ok(())
}

impl Store {
    /// Creates the centre's next edition of `kind` (each centre numbers from 1), as a draft.
    pub(crate) async fn create_edition(
        &self,
        kind: &str,
        period_start: NaiveDate,
        period_end: NaiveDate,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Edition> {
        let at = timestamp(now);
        let number: i64 = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let number: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM editions WHERE kind = $1 AND centre = $2",
            )
            .bind(kind)
            .bind(self.centre())
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO editions (kind, number, period_start, period_end, status, created_at, updated_at, centre)
                 VALUES ($1, $2, $3, $4, 'draft', $5, $5, $6)",
            )
            .bind(kind)
            .bind(number)
            .bind(period_start.to_string())
            .bind(period_end.to_string())
            .bind(&at)
            .bind(self.centre())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            number
        });
        Ok(self
            .edition(kind, number)
            .await?
            .expect("the edition was just created"))
    }

    /// One of the centre's editions with its items and blocks.
    pub(crate) async fn edition(&self, kind: &str, number: i64) -> anyhow::Result<Option<Edition>> {
        let sql = format!(
            "SELECT {EDITION_COLUMNS} FROM editions WHERE kind = $1 AND number = $2 AND centre = $3"
        );
        // Only the constant column list is spliced in; the values are bound.
        let row: Option<EditionDbRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(kind)
                .bind(number)
                .bind(self.centre())
                .fetch_optional(pool)
                .await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let id = row.id;
        let mut edition = row.into_edition()?;
        let (items, blocks): (Vec<ItemDbRow>, Vec<BlockDbRow>) = on_pool!(self, pool => {
            let items = sqlx::query_as(
                "SELECT story, section, position, title, lede FROM edition_items
                 WHERE edition_id = $1 ORDER BY position, story",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let blocks = sqlx::query_as(
                "SELECT id, kind, position, title, body, event_date, place FROM edition_blocks
                 WHERE edition_id = $1 ORDER BY position, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            (items, blocks)
        });
        edition.items = items
            .into_iter()
            .map(|r| EditionItem {
                story: r.story,
                section: r.section,
                position: r.position,
                title: r.title,
                lede: r.lede,
            })
            .collect();
        let name = address(kind, number);
        edition.blocks = blocks
            .into_iter()
            .map(|b| b.into_block(&name))
            .collect::<Result<_, _>>()?;
        Ok(Some(edition))
    }

    /// Every edition of the centre (without items and blocks), by kind then number.
    pub(crate) async fn editions(&self) -> anyhow::Result<Vec<Edition>> {
        let sql = format!(
            "SELECT {EDITION_COLUMNS} FROM editions WHERE centre = $1 ORDER BY kind, number"
        );
        let rows: Vec<EditionDbRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.centre())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(EditionDbRow::into_edition).collect()
    }

    /// Places a story in an edition, at the end of `section`; a story already there gets
    /// the new section (moving to its end) and edits.
    pub(crate) async fn add_edition_item(
        &self,
        kind: &str,
        number: i64,
        item: &EditionItem,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            let story_exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM articles WHERE id = $1 AND COALESCE(story, id) = $1",
            )
            .bind(item.story)
            .fetch_optional(&mut *tx)
            .await?;
            if story_exists.is_none() {
                return Err(EditionError::UnknownStory(item.story));
            }
            let current: Option<String> = sqlx::query_scalar(
                "SELECT section FROM edition_items WHERE edition_id = $1 AND story = $2",
            )
            .bind(id)
            .bind(item.story)
            .fetch_optional(&mut *tx)
            .await?;
            let next_position: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM edition_items WHERE edition_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            match current {
                Some(section) => {
                    let moves = section != item.section;
                    sqlx::query(
                        "UPDATE edition_items SET section = $1, title = $2, lede = $3,
                           position = CASE WHEN $4 THEN $5 ELSE position END
                         WHERE edition_id = $6 AND story = $7",
                    )
                    .bind(&item.section)
                    .bind(&item.title)
                    .bind(&item.lede)
                    .bind(moves)
                    .bind(next_position)
                    .bind(id)
                    .bind(item.story)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO edition_items (edition_id, story, section, position, title, lede)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(item.story)
                    .bind(&item.section)
                    .bind(next_position)
                    .bind(&item.title)
                    .bind(&item.lede)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            touch(&mut Conn::from(&mut *tx), id, now).await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Moves an item up (`-1`) or down (`+1`) within its section; at an end it stays.
    pub(crate) async fn move_edition_item(
        &self,
        kind: &str,
        number: i64,
        story: i64,
        up: bool,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        let neighbour_sql = if up {
            "SELECT story, position FROM edition_items WHERE edition_id = $1 AND section = $2
             AND position < $3 ORDER BY position DESC, story DESC LIMIT 1"
        } else {
            "SELECT story, position FROM edition_items WHERE edition_id = $1 AND section = $2
             AND position > $3 ORDER BY position, story LIMIT 1"
        };
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            let Some((section, position)) = sqlx::query_as::<_, (String, i64)>(
                "SELECT section, position FROM edition_items WHERE edition_id = $1 AND story = $2",
            )
            .bind(id)
            .bind(story)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Err(EditionError::NotInEdition {
                    edition: address(kind, number),
                    story,
                });
            };
            let neighbour: Option<(i64, i64)> = sqlx::query_as(neighbour_sql)
                .bind(id)
                .bind(&section)
                .bind(position)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some((other, other_position)) = neighbour {
                for (s, p) in [(story, other_position), (other, position)] {
                    sqlx::query(
                        "UPDATE edition_items SET position = $1 WHERE edition_id = $2 AND story = $3",
                    )
                    .bind(p)
                    .bind(id)
                    .bind(s)
                    .execute(&mut *tx)
                    .await?;
                }
                touch(&mut Conn::from(&mut *tx), id, now).await?;
            }
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Takes a story out of an edition.
    pub(crate) async fn remove_edition_item(
        &self,
        kind: &str,
        number: i64,
        story: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            let removed =
                sqlx::query("DELETE FROM edition_items WHERE edition_id = $1 AND story = $2")
                    .bind(id)
                    .bind(story)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            if removed == 0 {
                return Err(EditionError::NotInEdition {
                    edition: address(kind, number),
                    story,
                });
            }
            touch(&mut Conn::from(&mut *tx), id, now).await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Puts back an item removed from an edition, at the place it had (undo in the
    /// composer): its section, position and edits.
    pub(crate) async fn restore_edition_item(
        &self,
        kind: &str,
        number: i64,
        item: &EditionItem,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            // Positions only order items: the removed item's number is still free, or shared
            // with an item placed since, which then simply comes next to it.
            sqlx::query(
                "INSERT INTO edition_items (edition_id, story, section, position, title, lede)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(item.story)
            .bind(&item.section)
            .bind(item.position)
            .bind(&item.title)
            .bind(&item.lede)
            .execute(&mut *tx)
            .await?;
            touch(&mut Conn::from(&mut *tx), id, now).await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Adds a Markdown block at the end of the edition's blocks; returns its id.
    pub(crate) async fn add_edition_block(
        &self,
        kind: &str,
        number: i64,
        block: &NewBlock,
        now: DateTime<Utc>,
    ) -> Result<i64, EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            let block_id: i64 = sqlx::query_scalar(
                "INSERT INTO edition_blocks (edition_id, kind, position, title, body, event_date, place)
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM edition_blocks WHERE edition_id = $1),
                         $3, $4, $5, $6)
                 RETURNING id",
            )
            .bind(id)
            .bind(block.kind.as_str())
            .bind(&block.title)
            .bind(&block.body)
            .bind(&block.event_date)
            .bind(&block.place)
            .fetch_one(&mut *tx)
            .await?;
            touch(&mut Conn::from(&mut *tx), id, now).await?;
            tx.commit().await?;
            Ok::<i64, EditionError>(block_id)
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Replaces the body of a block (the intro written in `$EDITOR`, say).
    pub(crate) async fn set_edition_block_body(
        &self,
        kind: &str,
        number: i64,
        block: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            sqlx::query("UPDATE edition_blocks SET body = $1 WHERE edition_id = $2 AND id = $3")
                .bind(body)
                .bind(id)
                .bind(block)
                .execute(&mut *tx)
                .await?;
            touch(&mut Conn::from(&mut *tx), id, now).await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Moves an edition between draft and ready, or marks it sent (then it is frozen).
    pub(crate) async fn set_edition_status(
        &self,
        kind: &str,
        number: i64,
        status: EditionStatus,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        let at = timestamp(now);
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            let id = edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await?;
            sqlx::query(
                "UPDATE editions SET status = $1, updated_at = $2,
                   sent_at = CASE WHEN $1 = 'sent' THEN $2 ELSE sent_at END
                 WHERE id = $3",
            )
            .bind(status.as_str())
            .bind(&at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Records when the edition's files were last written.
    pub(crate) async fn mark_edition_rendered(
        &self,
        kind: &str,
        number: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EditionError> {
        on_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            // A sent edition keeps the files it was sent with; re-rendering it changes nothing.
            let id = match edition_id(&mut Conn::from(&mut *tx), self.centre(), kind, number, true).await {
                Err(EditionError::Sent(_)) => return Ok(()),
                other => other?,
            };
            sqlx::query("UPDATE editions SET rendered_at = $1 WHERE id = $2")
                .bind(timestamp(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<(), EditionError>(())
        }
        .await)
        .map_err(|e| e.naming(kind, number))
    }

    /// Cards of these stories, in the order given; unknown ids are skipped. Edited titles
    /// and ledes come from the curators' decisions (in `dossier` when given).
    pub(crate) async fn story_cards(
        &self,
        stories: &[i64],
        dossier: Option<&str>,
    ) -> anyhow::Result<Vec<StoryCard>> {
        let mut cards = Vec::with_capacity(stories.len());
        for &story in stories {
            if let Some(card) = self.story_card(story, dossier).await? {
                cards.push(card);
            }
        }
        Ok(cards)
    }

    async fn story_card(
        &self,
        story: i64,
        dossier: Option<&str>,
    ) -> anyhow::Result<Option<StoryCard>> {
        type Edit = (Option<String>, Option<String>, Option<String>);
        // The story's id is its first article's id: that article represents it. Its image
        // is the first one among the story's articles, so the lead's when it has one.
        let lead: Option<CardLeadRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.title, a.summary_text, a.canonical_url, s.name AS source, s.id AS source_id,
                        COALESCE(a.published, a.first_seen) AS at, a.territories,
                        (SELECT b.image FROM articles b WHERE (b.id = a.id OR b.story = a.id)
                           AND b.image IS NOT NULL ORDER BY b.id LIMIT 1) AS image
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE a.id = $1",
            )
            .bind(story)
            .fetch_optional(pool)
            .await?
        });
        let Some(lead) = lead else {
            return Ok(None);
        };
        let (edit, others, dossiers): (Option<Edit>, Vec<(String, String)>, Vec<String>) = on_pool!(self, pool => {
            let edit = sqlx::query_as(
                "SELECT title, lede, state FROM decisions WHERE story = $1 AND ($2 IS NULL OR dossier = $2)
                   AND centre = $3
                 ORDER BY (title IS NOT NULL OR lede IS NOT NULL) DESC, decided_at DESC, dossier LIMIT 1",
            )
            .bind(story)
            .bind(dossier)
            .bind(self.centre())
            .fetch_optional(pool)
            .await?;
            let others = sqlx::query_as(
                "SELECT s.name AS source, a.canonical_url FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE a.story = $1 AND a.id <> $1 AND a.source_id <> $2
                 ORDER BY COALESCE(a.published, a.first_seen), a.id",
            )
            .bind(story)
            .bind(lead.source_id)
            .fetch_all(pool)
            .await?;
            let dossiers = sqlx::query_scalar(super::triage::STORY_DOSSIERS)
            .bind(story)
            .bind(self.centre())
            .fetch_all(pool)
            .await?;
            (edit, others, dossiers)
        });
        let (edited_title, edited_lede, state) = edit.unwrap_or_default();
        let mut also: Vec<SourceLink> = Vec::new();
        for (source, url) in others {
            if !also.iter().any(|l| l.source == source) {
                also.push(SourceLink { source, url });
            }
        }
        Ok(Some(StoryCard {
            story,
            title: edited_title.unwrap_or(lead.title),
            lede: edited_lede.unwrap_or(lead.summary_text),
            url: lead.canonical_url,
            source: lead.source,
            date: lead.at,
            also,
            dossiers,
            territories: super::articles::json_list(lead.territories),
            starred: state.as_deref() == Some("starred"),
            image: lead.image,
            picked_by: Vec::new(),
        }))
    }

    /// The stories kept (or starred) in a dossier whose date is at or after `since`:
    /// starred first, then newest first; at most `limit`.
    pub(crate) async fn panorama_stories(
        &self,
        dossier: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<StoryCard>> {
        let stories: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT d.story FROM decisions d JOIN articles a ON a.id = d.story
                 WHERE d.dossier = $1 AND d.state IN ('kept', 'starred') AND d.centre = $4
                   AND COALESCE(a.published, a.first_seen) >= $2
                 ORDER BY d.state = 'starred' DESC, COALESCE(a.published, a.first_seen) DESC, d.story DESC
                 LIMIT $3",
            )
            .bind(dossier)
            .bind(timestamp(since))
            .bind(i64::from(limit))
            .bind(self.centre())
            .fetch_all(pool)
            .await?
        });
        self.story_cards(&stories, Some(dossier)).await
    }
}

#[cfg(test)]
mod tests;
