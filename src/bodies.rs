//! Full text after the feed pass: for each source whose items carry too little text
//! (`full_text`), the article pages are fetched by the same polite fetcher (robots.txt,
//! per-host limits, body cap), Google News links followed to the publisher, and the text
//! extracted (or picked by the source's `content` selector) and stored. It runs once the
//! feed pass is recorded, so a slow site never delays the feeds; a page that fails is
//! recorded as failed and the item stays as the feed gave it. Articles that got a text are
//! tagged again with it (they were tagged on their feed text), and the store marks them for
//! the search index. A lone article whose text shows it reports the same event as an article
//! of another story (shared quotations, names, figures: `dedup::body`) joins that story.

use futures_util::StreamExt;
use tracing::{debug, info};

use crate::config::Config;
use crate::fetch::{Fetched, Fetcher};
use crate::ingest::url::google_news_target;
use crate::model::Source;
use crate::store::{PendingBody, Store};
use crate::tag::Tagger;

/// Articles of one source tried per pass: a new source's backlog is spread over passes.
const PER_SOURCE: u32 = 30;

/// What the body pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyCounts {
    pub(crate) fetched: usize,
    pub(crate) failed: usize,
    /// Items whose feed text was long enough.
    pub(crate) skipped: usize,
}

/// Fetches, extracts and stores the missing bodies of `sources`' recent articles.
pub(crate) async fn fetch_bodies(
    config: &Config,
    store: &Store,
    fetcher: &Fetcher,
    tagger: &Tagger,
    sources: &[&Source],
) -> anyhow::Result<BodyCounts> {
    let mut counts = BodyCounts::default();
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    let mut pending_of = store.pending_bodies(&names, PER_SOURCE).await?;
    for source in sources {
        let settings = config.full_text_for(&source.name);
        for pending in pending_of.remove(&source.name).unwrap_or_default() {
            if settings.wants(&pending.summary) {
                jobs.push((pending, settings.content.clone()));
            } else {
                skipped.push(pending.id);
            }
        }
    }
    // One write for all the articles that keep their feed's text: one per article was most
    // of the time a pass spent after its last response.
    store.set_bodies_status(&skipped, "feed").await?;
    counts.skipped += skipped.len();
    let results: Vec<(i64, Result<String, String>)> = futures_util::stream::iter(jobs)
        .map(|(pending, content)| async move {
            let id = pending.id;
            (id, body_of(fetcher, pending, content).await)
        })
        .buffer_unordered(config.settings.concurrency.max(1))
        .collect()
        .await;
    let mut with_text = Vec::new();
    for (id, result) in results {
        match result {
            Ok(text) => {
                store.set_body(id, Some(&text), "ok").await?;
                with_text.push(id);
                counts.fetched += 1;
            }
            Err(e) => {
                debug!("article {id} : {e}");
                store.set_body(id, None, &e).await?;
                counts.failed += 1;
            }
        }
    }
    let inputs = store.tagging_inputs_for(&with_text).await?;
    let retagged = crate::retagging::retag(store, tagger, &inputs).await?;
    if retagged > 0 {
        debug!("texte intégral : {retagged} article(s) marqué(s) autrement");
    }
    let moved = merge_by_bodies(config, store, &with_text).await?;
    if moved > 0 {
        info!("texte intégral : {moved} article(s) rattaché(s) à une histoire existante");
    }
    if counts.fetched + counts.failed > 0 {
        info!(
            "texte intégral : {} article(s) lu(s), {} échec(s)",
            counts.fetched, counts.failed
        );
    }
    Ok(counts)
}

async fn body_of(
    fetcher: &Fetcher,
    pending: PendingBody,
    content: Option<String>,
) -> Result<String, String> {
    let url = google_news_target(&pending.url).unwrap_or(pending.url);
    let body = match fetcher.get(&url, None, None, true).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified) => return Err("erreur : réponse 304 inattendue".into()),
        Err(e) => return Err(format!("erreur : {e}")),
    };
    tokio::task::spawn_blocking(move || {
        let content_type = body.content_type.as_deref();
        match content {
            Some(selector) => {
                let selector = scraper::Selector::parse(&selector)
                    .map_err(|_| format!("erreur : sélecteur `{selector}` invalide"))?;
                crate::extract::extract_selected(&body.bytes, content_type, &selector)
            }
            None => crate::extract::extract(&body.bytes, content_type, Some(&body.final_url))
                .map(|a| a.text),
        }
        .map_err(|e| format!("erreur : {e}"))
    })
    .await
    .map_err(|e| format!("erreur : extraction interrompue : {e}"))?
}

/// Moves each lone article of `ids` into the story of the article it now matches best once
/// both bodies are read (the fingerprints' similarity plus the bodies' evidence, slot vetoes
/// kept), when that reaches the merging threshold. Returns how many moved.
async fn merge_by_bodies(config: &Config, store: &Store, ids: &[i64]) -> anyhow::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let window = chrono::Duration::days(i64::from(config.settings.story_window_days));
    let threshold = config
        .settings
        .story_threshold
        .unwrap_or(crate::dedup::DEFAULT_THRESHOLD);
    let since = chrono::Utc::now() - window * 3;
    let rows = store.bodied_articles_since(since, ids).await?;
    let read: Vec<_> = rows
        .iter()
        .filter_map(|r| {
            let fp = crate::dedup::Fingerprint::from_text(&r.fingerprint)?;
            Some((r, fp, crate::dedup::BodyEvidence::of(&r.body)))
        })
        .collect();
    // Stories as moved so far in this run: an article that gained a companion is no longer
    // alone, and two new lone articles must end in one story, not swap.
    let mut story_of: std::collections::HashMap<i64, i64> =
        read.iter().map(|(r, ..)| (r.id, r.story)).collect();
    let mut joined = std::collections::HashSet::new();
    let mut moved = 0;
    for (a, a_fp, a_ev) in read
        .iter()
        .filter(|(r, ..)| r.movable && ids.contains(&r.id))
    {
        if joined.contains(&story_of[&a.id]) {
            continue;
        }
        let best = read
            .iter()
            .filter(|(b, ..)| story_of[&b.id] != story_of[&a.id] && (b.at - a.at).abs() <= window)
            .map(|(b, b_fp, b_ev)| {
                let s = crate::dedup::similarity_with_bodies(a_fp, b_fp, a_ev, b_ev);
                (s, story_of[&b.id])
            })
            .filter(|(s, _)| *s >= threshold)
            .max_by(|x, y| x.0.total_cmp(&y.0));
        if let Some((similarity, story)) = best {
            debug!(
                "article {} rattaché à l'histoire {story} ({similarity:.2})",
                a.id
            );
            store.move_to_story(a.id, story).await?;
            story_of.insert(a.id, story);
            joined.insert(story);
            moved += 1;
        }
    }
    Ok(moved)
}
