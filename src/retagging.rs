//! Tagging stored articles again with the current rules (`veille retag`, and the articles
//! whose full text arrived after they were tagged); decisions, which belong to stories, stay.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::store::{Store, TaggingInput};
use crate::tag::Tagger;

/// Articles written per transaction.
const BATCH: usize = 1000;

/// Tags `inputs` again and records what changed; returns how many articles changed.
pub(crate) async fn retag(
    store: &Store,
    tagger: &Tagger,
    inputs: &[TaggingInput],
) -> anyhow::Result<usize> {
    let mut changed = 0;
    for chunk in inputs.chunks(BATCH) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|a| {
                let tagging =
                    tagger.tag_with_body(&a.title, &a.summary, &a.body, &a.source_dossiers);
                (a.id, tagging)
            })
            .collect();
        changed += store.replace_tagging(&batch).await?;
    }
    Ok(changed)
}

/// Articles tagged per transaction of the catch-up (the write lock is held while they are).
const CATCH_UP_BATCH: u32 = 200;

/// Tags, by this centre's rules, every article its centre has not tagged as it now reads:
/// those another centre's process stored or changed (a source shared by several centres is
/// fetched once, tagged by the fetcher's rules). Returns how many articles' tags changed.
pub(crate) async fn catch_up(store: &Store, tagger: &Tagger) -> anyhow::Result<usize> {
    catch_up_counting(store, tagger, None).await
}

/// How far a catch-up is, for a screen that shows it while the catch-up runs beside it.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Articles tagged so far.
    pub(crate) done: AtomicUsize,
    /// Articles there were to tag when it started (others may come meanwhile).
    pub(crate) total: AtomicUsize,
}

/// `catch_up`, telling `progress` how far it is after each batch. Counting what is left
/// reads every article once more, so only a caller that shows it asks for it.
pub(crate) async fn catch_up_counting(
    store: &Store,
    tagger: &Tagger,
    progress: Option<&Progress>,
) -> anyhow::Result<usize> {
    if let Some(p) = progress {
        let total = usize::try_from(store.untagged_count().await?).unwrap_or(0);
        p.total.store(total, Ordering::Relaxed);
    }
    let tag =
        |a: &TaggingInput| tagger.tag_with_body(&a.title, &a.summary, &a.body, &a.source_dossiers);
    let mut changed = 0;
    loop {
        let (read, batch_changed) = store.catch_up_tags(CATCH_UP_BATCH, &tag).await?;
        changed += batch_changed;
        if let Some(p) = progress {
            p.done.fetch_add(read, Ordering::Relaxed);
        }
        if read < CATCH_UP_BATCH as usize {
            return Ok(changed);
        }
    }
}
