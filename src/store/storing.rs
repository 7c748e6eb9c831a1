//! Storing one source's batch of items in a handful of round trips (one lookup, multi-row
//! inserts, one story update, one inbox update for the stories it joined, one tag insert, one
//! inbox refresh) instead of several per item: batches are stored under the pass's
//! story-index mutex, several per transaction (`Store::record_successes_seeing`), so their
//! round trips are what makes sources wait for each other once their network waits are over.
//!
//! The result is the one of storing the items one by one, in feed order: an item that is the
//! same article as an earlier item of the batch sees it (the pending inserts are written
//! first), and a story that several new articles join gains a source once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{
    CatchUp, Conn, Counts, Validators, inbox, learn_newer, mark_fetched, placeholders, timestamp,
};
use crate::model::PreparedArticle;

/// Items per lookup (two values each), articles per insert (16 values each), tags per insert
/// (4 values each), stories per update (3 values each): far below both backends' limits on
/// bound parameters (32,766 for SQLite, 65,535 for PostgreSQL).
const LOOKUP_CHUNK: usize = 400;
const INSERT_CHUNK: usize = 200;
const TAG_CHUNK: usize = 500;
const STORY_CHUNK: usize = 400;
/// Stories per inbox update of `joined` (2 values each, and every joined article of the batch
/// once per chunk).
const JOINED_CHUNK: usize = 200;

/// A source's batch: (source id, validators, items, fetch time).
pub(super) type Batch<'a> = (i64, &'a Validators, &'a [PreparedArticle], DateTime<Utc>);

/// An article an item may be: stored (by id), or new in this batch and waiting for the next
/// insert (by item position). The order is the order of their ids: the waiting ones get
/// higher ids, in item order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Ref {
    Stored(i64),
    Pending(usize),
}

/// What an item is compared with: the article's content as the batch last left it.
struct Known {
    title: String,
    summary: String,
    image: Option<String>,
}

/// The articles the batch's items may be and how to find them, as the single-item lookup did:
/// the same GUID in this source first, else the same canonical URL, the lowest id first.
#[derive(Default)]
struct Identities {
    by_guid: HashMap<String, Ref>,
    by_url: HashMap<String, Ref>,
    known: HashMap<Ref, Known>,
}

impl Identities {
    fn note(&mut self, at: Ref, guid: Option<&str>, url: &str, known: Known) {
        if let Some(guid) = guid {
            let e = self.by_guid.entry(guid.to_string()).or_insert(at);
            *e = (*e).min(at);
        }
        let e = self.by_url.entry(url.to_string()).or_insert(at);
        *e = (*e).min(at);
        self.known.entry(at).or_insert(known);
    }

    fn find(&self, guid: Option<&str>, url: &str) -> Option<Ref> {
        guid.and_then(|g| self.by_guid.get(g))
            .or_else(|| self.by_url.get(url))
            .copied()
    }

    /// The waiting articles are inserted: they are found by id from now on.
    fn settle(&mut self, ids: &HashMap<usize, i64>) {
        let stored = |r: &mut Ref| {
            if let Ref::Pending(p) = *r
                && let Some(&id) = ids.get(&p)
            {
                *r = Ref::Stored(id);
            }
        };
        self.by_guid.values_mut().for_each(stored);
        self.by_url.values_mut().for_each(stored);
        for (&p, &id) in ids {
            if let Some(known) = self.known.remove(&Ref::Pending(p)) {
                self.known.insert(Ref::Stored(id), known);
            }
        }
    }
}

/// What the batch writes after its items are sorted out.
#[derive(Default)]
struct Writes {
    counts: Counts,
    /// Items waiting for the next insert, by position.
    pending: Vec<usize>,
    /// Stories started by this batch (their lead's id).
    started: Vec<i64>,
    /// Changed articles, in order.
    changed: Vec<i64>,
    /// New articles that joined a story: (story, article, item).
    joins: Vec<(i64, i64, usize)>,
    /// The item whose tags each article gets (the last one wins), in order.
    tags: Vec<(i64, usize)>,
}

/// Stores a source's batch inside `conn`'s write transaction (see `record_successes_seeing`).
pub(super) async fn store_batch(
    conn: &mut Conn<'_>,
    centre: &str,
    (source_id, validators, items, now): Batch<'_>,
    catch_up: Option<&mut CatchUp<'_>>,
    assign_story: &mut dyn FnMut(&PreparedArticle, i64) -> i64,
) -> anyhow::Result<Counts> {
    let now_text = timestamp(now);
    if let Some(catch_up) = catch_up {
        learn_newer(conn, catch_up).await?;
    }
    let mut territories = Vec::with_capacity(items.len());
    for prepared in items {
        territories.push(serde_json::to_string(&prepared.tagging.territories)?);
    }
    let mut ids = lookup(conn, source_id, items).await?;
    let mut w = Writes::default();
    for (i, prepared) in items.iter().enumerate() {
        let item = &prepared.candidate;
        let mut found = ids.find(item.guid.as_deref(), &item.canonical_url);
        if let Some(Ref::Pending(_)) = found {
            // The same article twice in one feed: the first must be stored to be compared.
            let new = (source_id, items, territories.as_slice(), now_text.as_str());
            insert_pending(conn, new, &mut ids, &mut w, assign_story).await?;
            found = ids.find(item.guid.as_deref(), &item.canonical_url);
        }
        let known = Known {
            title: item.title.clone(),
            summary: item.summary_text.clone(),
            image: item.image.clone(),
        };
        let Some(Ref::Stored(id)) = found else {
            ids.note(
                Ref::Pending(i),
                item.guid.as_deref(),
                &item.canonical_url,
                known,
            );
            w.pending.push(i);
            w.counts.new += 1;
            continue;
        };
        let Some(before) = ids.known.get_mut(&Ref::Stored(id)) else {
            anyhow::bail!("article {id} introuvable dans le lot en cours d'enregistrement");
        };
        if before.title == item.title && before.summary == item.summary_text {
            // An image that appears or changes alone is not news: kept quietly, without
            // re-tagging or re-indexing.
            if before.image != item.image {
                set_image(conn, id, item.image.as_deref()).await?;
                before.image.clone_from(&item.image);
            }
            w.counts.unchanged += 1;
            continue;
        }
        *before = known;
        let published = item.published.map(timestamp);
        on_conn!(conn, c => {
            sqlx::query(
                "UPDATE articles SET title = $1, summary_html = $2, summary_text = $3,
                 published = COALESCE($4, published), updated_at = $5, fingerprint = $6,
                 territories = $7, indexed_at = NULL, image = $9 WHERE id = $8",
            )
            .bind(&item.title)
            .bind(&item.summary_html)
            .bind(&item.summary_text)
            .bind(&published)
            .bind(&now_text)
            .bind(&prepared.fingerprint)
            .bind(&territories[i])
            .bind(id)
            .bind(&item.image)
            .execute(&mut **c)
            .await?;
        });
        w.counts.updated += 1;
        w.changed.push(id);
        w.tags.push((id, i));
    }
    let new = (source_id, items, territories.as_slice(), now_text.as_str());
    insert_pending(conn, new, &mut ids, &mut w, assign_story).await?;
    joined(conn, centre, (source_id, items), &w.joins).await?;
    write_tags(conn, centre, items, &w.changed, &w.tags).await?;
    // After the joins: a story started in this batch is computed whole, with the articles
    // that joined it since.
    inbox::refresh(conn, &w.started).await?;
    inbox::refresh_articles(conn, &w.changed).await?;
    mark_fetched(conn, source_id, validators, &now_text).await?;
    Ok(w.counts)
}

/// The stored articles the items may be, in one query per `LOOKUP_CHUNK` items.
async fn lookup(
    conn: &mut Conn<'_>,
    source_id: i64,
    items: &[PreparedArticle],
) -> sqlx::Result<Identities> {
    type Row = (
        i64,
        i64,
        Option<String>,
        String,
        String,
        String,
        Option<String>,
    );
    let mut ids = Identities::default();
    for chunk in items.chunks(LOOKUP_CHUNK) {
        let guids: Vec<&str> = chunk
            .iter()
            .filter_map(|p| p.candidate.guid.as_deref())
            .collect();
        let urls: Vec<&str> = chunk
            .iter()
            .map(|p| p.candidate.canonical_url.as_str())
            .collect();
        // Only placeholders are spliced into constant text; every value is bound.
        let rows: Vec<Row> = if guids.is_empty() {
            let sql = format!(
                "SELECT id, source_id, guid, canonical_url, title, summary_text, image FROM articles
                 WHERE canonical_url IN ({})",
                placeholders(1, urls.len())
            );
            on_conn!(conn, c => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for url in &urls {
                    query = query.bind(*url);
                }
                query.fetch_all(&mut **c).await?
            })
        } else {
            let sql = format!(
                "SELECT id, source_id, guid, canonical_url, title, summary_text, image FROM articles
                 WHERE (source_id = $1 AND guid IN ({})) OR canonical_url IN ({})",
                placeholders(2, guids.len()),
                placeholders(2 + guids.len(), urls.len())
            );
            on_conn!(conn, c => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(source_id);
                for value in guids.iter().chain(&urls) {
                    query = query.bind(*value);
                }
                query.fetch_all(&mut **c).await?
            })
        };
        for (id, source, guid, url, title, summary, image) in rows {
            let guid = guid.as_deref().filter(|_| source == source_id);
            let known = Known {
                title,
                summary,
                image,
            };
            ids.note(Ref::Stored(id), guid, &url, known);
        }
    }
    Ok(ids)
}

async fn set_image(conn: &mut Conn<'_>, id: i64, image: Option<&str>) -> sqlx::Result<()> {
    on_conn!(conn, c => {
        sqlx::query("UPDATE articles SET image = $1 WHERE id = $2")
            .bind(image)
            .bind(id)
            .execute(&mut **c)
            .await?;
    });
    Ok(())
}

/// Inserts the waiting new articles, in item order, and gives each its story.
async fn insert_pending(
    conn: &mut Conn<'_>,
    (source_id, items, territories, now_text): (i64, &[PreparedArticle], &[String], &str),
    ids: &mut Identities,
    w: &mut Writes,
    assign_story: &mut dyn FnMut(&PreparedArticle, i64) -> i64,
) -> anyhow::Result<()> {
    let mut inserted: HashMap<String, i64> = HashMap::with_capacity(w.pending.len());
    for chunk in w.pending.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", placeholders(1 + 16 * r, 16)))
            .collect();
        let sql = format!(
            "INSERT INTO articles (source_id, guid, canonical_url, url, title, summary_html,
               summary_text, author, published, date_flag, first_seen, updated_at, language,
               fingerprint, territories, image)
             VALUES {} RETURNING id, canonical_url",
            rows.join(", ")
        );
        let returned: Vec<(i64, String)> = on_conn!(conn, c => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for &i in chunk {
                let (prepared, item) = (&items[i], &items[i].candidate);
                query = query
                    .bind(source_id)
                    .bind(&item.guid)
                    .bind(&item.canonical_url)
                    .bind(&item.url)
                    .bind(&item.title)
                    .bind(&item.summary_html)
                    .bind(&item.summary_text)
                    .bind(&item.author)
                    .bind(item.published.map(timestamp))
                    .bind(item.date_flag.map(|f| f.as_str()))
                    .bind(now_text)
                    .bind(now_text)
                    .bind(&item.language)
                    .bind(&prepared.fingerprint)
                    .bind(&territories[i])
                    .bind(&item.image);
            }
            query.fetch_all(&mut **c).await?
        });
        // Within a batch the waiting articles' canonical URLs differ: a second item with the
        // same one is that article, not a new one.
        inserted.extend(returned.into_iter().map(|(id, url)| (url, id)));
    }
    let mut settled = HashMap::with_capacity(w.pending.len());
    // A NULL story means "its own story" (queries read COALESCE(story, id)).
    let mut stories = Vec::new();
    for &i in &w.pending {
        let Some(&id) = inserted.get(&items[i].candidate.canonical_url) else {
            anyhow::bail!(
                "article « {} » non relu après son insertion",
                items[i].candidate.canonical_url
            );
        };
        let story = assign_story(&items[i], id);
        if story == id {
            w.started.push(id);
        } else {
            stories.push((id, story));
            w.joins.push((story, id, i));
        }
        w.tags.push((id, i));
        settled.insert(i, id);
    }
    for chunk in stories.chunks(STORY_CHUNK) {
        let cases: String = (0..chunk.len())
            .map(|r| format!(" WHEN ${} THEN ${}", 2 * r + 1, 2 * r + 2))
            .collect();
        let sql = format!(
            "UPDATE articles SET story = CASE id{cases} END WHERE id IN ({})",
            placeholders(2 * chunk.len() + 1, chunk.len())
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, story) in chunk {
                query = query.bind(id).bind(story);
            }
            for (id, _) in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
        });
    }
    ids.settle(&settled);
    w.pending.clear();
    Ok(())
}

/// A story new articles joined: (story, the articles, the best score of each of their dossiers).
type Joined<'a> = (i64, Vec<i64>, Vec<(&'a str, f64)>);

/// New articles joined stories: each story's inbox rows are updated in place (one more
/// source, for every centre's rows, unless the story had one of this source's before the
/// batch; better scores, for `centre`'s rows only: the items carry its tags), as the
/// per-article update did before.
async fn joined(
    conn: &mut Conn<'_>,
    centre: &str,
    (source_id, items): (i64, &[PreparedArticle]),
    joins: &[(i64, i64, usize)],
) -> sqlx::Result<()> {
    let mut stories: Vec<Joined<'_>> = Vec::new();
    for &(story, article, i) in joins {
        let at = match stories.iter().position(|s| s.0 == story) {
            Some(at) => at,
            None => {
                stories.push((story, Vec::new(), Vec::new()));
                stories.len() - 1
            }
        };
        let entry = &mut stories[at];
        entry.1.push(article);
        for tag in &items[i].tagging.dossiers {
            match entry.2.iter_mut().find(|(d, _)| *d == tag.dossier) {
                Some((_, score)) => *score = score.max(tag.score),
                None => entry.2.push((&tag.dossier, tag.score)),
            }
        }
    }
    // Every joined story's rows in one statement per chunk rather than one per story (a busy
    // pass joins several stories per source). A story's own new articles are left out of its
    // "had one of this source's before" test; leaving out all of the batch's new articles is
    // the same, since the others are in other stories.
    let all: Vec<i64> = stories.iter().flat_map(|s| s.1.iter().copied()).collect();
    for chunk in stories.chunks(JOINED_CHUNK) {
        let best = |dossiers: &[(&str, f64)]| {
            dossiers
                .iter()
                .map(|(_, s)| *s)
                .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
        };
        let n = chunk.len();
        let cases: String = (0..n)
            .map(|r| format!(" WHEN ${} THEN ${}", 3 + 2 * r, 4 + 2 * r))
            .collect();
        // Only placeholders are spliced into constant text; every value is bound.
        let sql = format!(
            "UPDATE inbox SET
               sources = sources + CASE WHEN EXISTS (SELECT 1 FROM articles WHERE id = inbox.story AND source_id = $1)
                                          OR EXISTS (SELECT 1 FROM articles WHERE story = inbox.story AND source_id = $1
                                                     AND id NOT IN ({})) THEN 0 ELSE 1 END,
               score = CASE WHEN dossier = '' AND centre = $2 AND score < (CASE story{cases} END)
                            THEN (CASE story{cases} END) ELSE score END
             WHERE story IN ({})",
            placeholders(3 + 2 * n, all.len()),
            placeholders(3 + 2 * n + all.len(), n)
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(source_id).bind(centre);
            for (story, _, dossiers) in chunk {
                query = query.bind(story).bind(best(dossiers));
            }
            for id in &all {
                query = query.bind(id);
            }
            for (story, _, _) in chunk {
                query = query.bind(story);
            }
            query.execute(&mut **c).await?;
        });
    }
    for (story, _, dossiers) in &stories {
        on_conn!(conn, c => {
            for (dossier, score) in dossiers {
                // A dossier new to the story gets a row like the story's others, with the
                // story's decision in that dossier; a known one keeps the better score.
                sqlx::query(
                    "INSERT INTO inbox (centre, story, dossier, rank, score, at, title, sources, territories)
                     SELECT i.centre, i.story, $2,
                            COALESCE((SELECT CASE d.state WHEN 'starred' THEN 3 WHEN 'kept' THEN 2
                                                          WHEN 'rejected' THEN 1 ELSE 0 END
                                      FROM decisions d WHERE d.centre = i.centre AND d.story = $1
                                        AND d.dossier = $2), 0),
                            $3, i.at, i.title, i.sources, i.territories
                     FROM inbox i WHERE i.story = $1 AND i.dossier = '' AND i.centre = $4
                     ON CONFLICT (centre, story, dossier) DO UPDATE SET score =
                       CASE WHEN inbox.score < excluded.score THEN excluded.score ELSE inbox.score END",
                )
                .bind(story)
                .bind(*dossier)
                .bind(*score)
                .bind(centre)
                .execute(&mut **c)
                .await?;
            }
        });
    }
    Ok(())
}

/// The changed articles lose `centre`'s tags and every centre's mark (the others tag the
/// new text at their catch-up); every stored or changed article gets its last item's tags,
/// in multi-row inserts, and `centre`'s mark.
async fn write_tags(
    conn: &mut Conn<'_>,
    centre: &str,
    items: &[PreparedArticle],
    changed: &[i64],
    tags: &[(i64, usize)],
) -> anyhow::Result<()> {
    super::centre_tags::forget(conn, changed).await?;
    for chunk in changed.chunks(TAG_CHUNK) {
        let sql = format!(
            "DELETE FROM tags WHERE centre = $1 AND article_id IN ({})",
            placeholders(2, chunk.len())
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(centre);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **c).await?;
        });
    }
    let last: HashMap<i64, usize> = tags.iter().copied().collect();
    let mut rows: Vec<(i64, &str, f64, String)> = Vec::new();
    for &(article, i) in tags {
        // An article changed twice in one batch keeps the tags of its last item.
        if last.get(&article) != Some(&i) {
            continue;
        }
        for tag in &items[i].tagging.dossiers {
            rows.push((
                article,
                &tag.dossier,
                tag.score,
                serde_json::to_string(&tag.why)?,
            ));
        }
    }
    for chunk in rows.chunks(TAG_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| format!("($1, {})", placeholders(2 + 4 * r, 4)))
            .collect();
        let sql = format!(
            "INSERT INTO tags (centre, article_id, dossier, score, why) VALUES {}",
            values.join(", ")
        );
        on_conn!(conn, c => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(centre);
            for (article, dossier, score, why) in chunk {
                query = query.bind(article).bind(*dossier).bind(score).bind(why);
            }
            query.execute(&mut **c).await?;
        });
    }
    let marked: Vec<i64> = last.keys().copied().collect();
    super::centre_tags::mark(conn, centre, &marked).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use crate::store::{InboxFilter, Store, Validators};
    use crate::testing::article;

    /// Every view of the inbox, as maintained by the writes.
    async fn inbox(store: &Store) -> Vec<Vec<crate::store::InboxRow>> {
        let mut views = Vec::new();
        for dossier in [None, Some("pauvrete"), Some("securite")] {
            let filter = InboxFilter {
                dossier: dossier.map(str::to_string),
                limit: 100,
                ..InboxFilter::default()
            };
            views.push(store.inbox(&filter).await.unwrap());
        }
        views
    }

    /// A batch gives what its items stored one by one gave: two new articles of one source
    /// joining a story add one source, an item repeated with a new title updates the article
    /// its first occurrence created (with the last tags only), and the inbox equals the one
    /// computed from scratch.
    #[tokio::test]
    async fn a_batch_is_stored_as_its_items_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let config = crate::config::parse(
            "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\n\
             [[sources]]\nname = \"Le Monde\"\nfeed = \"https://www.lemonde.fr/rss.xml\"\n\n\
             [[sources]]\nname = \"La Dépêche\"\nfeed = \"https://www.ladepeche.fr/rss.xml\"\n",
            "feeds.toml",
        )
        .unwrap();
        let states = store.sync_sources(&config.sources).await.unwrap();
        let source = |n: usize| states[&config.sources[n].name].id;
        let ok = Validators {
            status: 200,
            ..Validators::default()
        };
        let lead = [article(
            "Lead",
            "",
            "https://www.lemonde.fr/1",
            at,
            &[],
            &[],
        )];
        let mut lead_id = 0;
        store
            .record_success(source(0), &ok, &lead, at, |_, id| {
                lead_id = id;
                id
            })
            .await
            .unwrap();
        let url = |n: u32| format!("https://www.ladepeche.fr/{n}");
        let batch = [
            article("Écho", "", &url(1), at, &[("pauvrete", 1.0, &[])], &[]),
            article("Écho bis", "", &url(2), at, &[("securite", 2.0, &[])], &[]),
            article(
                "Écho, corrigé",
                "",
                &url(1),
                at,
                &[("securite", 0.5, &[])],
                &[],
            ),
            article(
                "Autre",
                "",
                &url(3),
                at,
                &[("pauvrete", 0.3, &[])],
                &["gers"],
            ),
        ];
        let mut assigned = Vec::new();
        let counts = store
            .record_success(source(1), &ok, &batch, at, |item, id| {
                assigned.push(id);
                if item.candidate.title.starts_with("Écho") {
                    lead_id
                } else {
                    id
                }
            })
            .await
            .unwrap();
        assert_eq!((counts.new, counts.updated, counts.unchanged), (3, 1, 0));
        assert_eq!(assigned.len(), 3, "one story asked for each new article");
        let echo = assigned[0];
        let title =
            format!("SELECT COUNT(*) FROM articles WHERE id = {echo} AND title = 'Écho, corrigé'");
        assert_eq!(store.scalar(&title).await, 1);
        let tags =
            format!("SELECT COUNT(*) FROM tags WHERE article_id = {echo} AND dossier = 'securite'");
        assert_eq!(store.scalar(&tags).await, 1);
        let all_tags = format!("SELECT COUNT(*) FROM tags WHERE article_id = {echo}");
        assert_eq!(
            store.scalar(&all_tags).await,
            1,
            "the last item's tags only"
        );
        let sources = format!("SELECT sources FROM inbox WHERE story = {lead_id} AND dossier = ''");
        assert_eq!(store.scalar(&sources).await, 2);
        let maintained = inbox(&store).await;
        assert_eq!(maintained[0].len(), 2, "two stories: {:?}", maintained[0]);
        store.rebuild_inbox().await.unwrap();
        assert_eq!(maintained, inbox(&store).await);
        // The same feed again: nothing new, the repeated item changes its article back and
        // forth as when items were stored one by one.
        let counts = store
            .record_success(source(1), &ok, &batch, at, |_, id| id)
            .await
            .unwrap();
        assert_eq!((counts.new, counts.updated, counts.unchanged), (0, 2, 2));
    }

    /// A group commit stores its batches as one after the other (a later source sees the
    /// article an earlier one of the group stored), and all or nothing: a group with a failing
    /// batch leaves nothing of the others.
    #[tokio::test]
    async fn a_group_is_its_batches_in_order_and_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let store = crate::testing::open_store(dir.path()).await;
        let config = crate::config::parse(
            "[[sources]]\nname = \"A\"\nfeed = \"https://a.example.org/rss.xml\"\n\n\
             [[sources]]\nname = \"B\"\nfeed = \"https://b.example.org/rss.xml\"\n",
            "feeds.toml",
        )
        .unwrap();
        let states = store.sync_sources(&config.sources).await.unwrap();
        let (a, b) = (states["A"].id, states["B"].id);
        let ok = Validators {
            status: 200,
            ..Validators::default()
        };
        let shared = "https://example.org/depeche";
        let first = [article("Dépêche", "", shared, at, &[], &[])];
        let mut second = first.clone();
        second[0].candidate.guid = Some("b-1".into());
        let own = [article(
            "Autre",
            "",
            "https://b.example.org/2",
            at,
            &[],
            &[],
        )];
        let count = "SELECT COUNT(*) FROM articles";

        // A source that does not exist fails the group: the first batch is not kept either.
        let broken = [(a, &ok, &first[..], at), (a + b + 100, &ok, &own[..], at)];
        let failed = store
            .record_successes_seeing(&broken, None, |_, _, id| id)
            .await;
        assert!(failed.is_err(), "a batch of an unknown source must fail");
        assert_eq!(store.scalar(count).await, 0, "nothing of a failed group");

        let mut asked = Vec::new();
        let group = [(a, &ok, &first[..], at), (b, &ok, &second[..], at)];
        let counts = store
            .record_successes_seeing(&group, None, |n, _, id| {
                asked.push(n);
                id
            })
            .await
            .unwrap();
        let seen: Vec<(u32, u32, u32)> = counts
            .iter()
            .map(|c| (c.new, c.updated, c.unchanged))
            .collect();
        assert_eq!(seen, [(1, 0, 0), (0, 0, 1)], "B sees what A stored");
        assert_eq!(asked, [0], "one story asked, for A's new article");
        assert_eq!(store.scalar(count).await, 1);
        let fetched = "SELECT COUNT(*) FROM sources WHERE last_status = 200";
        assert_eq!(
            store.scalar(fetched).await,
            2,
            "both sources marked fetched"
        );
    }
}
