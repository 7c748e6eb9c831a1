//! Keeps the search index in step with the store: articles this index lacks (new, changed,
//! retagged) go into the index, and are marked indexed under the index's id only after its
//! commit, so a crash between the two re-indexes them next time instead of losing them. Each
//! archive folder has its own index and id, so several machines sharing one store each take
//! every article.

use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::search::{SearchIndex, WriterBusy};
use crate::store::Store;

/// Articles indexed per commit.
const BATCH: u32 = 5_000;

/// The index folder inside the archive.
pub fn index_dir(archive: &Path) -> PathBuf {
    archive.join("search")
}

/// What an indexing run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IndexOutcome {
    /// This many articles were added or replaced (after a rebuild when `rebuilt`).
    Indexed { articles: usize, rebuilt: bool },
    /// Another process holds the writer; it (or a later run) will index them.
    Busy(String),
}

/// Opens the index, rebuilding it from the store when its schema changed.
pub(crate) async fn open(
    store: &Store,
    archive: &Path,
    timezone: chrono_tz::Tz,
) -> anyhow::Result<(SearchIndex, bool)> {
    let (mut index, needs_rebuild) = SearchIndex::open(&index_dir(archive))?;
    index.set_timezone(timezone);
    if needs_rebuild {
        rebuild(store, &index).await?;
    } else if index.id_made() {
        // An index from before ids: it holds what the store marked under the old scheme.
        let adopted = store.adopt_legacy_marks(index.id()).await?;
        tracing::debug!(
            "index {} : {adopted} articles déjà indexés repris",
            index.id()
        );
    }
    Ok((index, needs_rebuild))
}

/// Indexes every article the store marks as unindexed.
pub(crate) async fn index_pending(
    store: &Store,
    archive: &Path,
    timezone: chrono_tz::Tz,
) -> anyhow::Result<IndexOutcome> {
    let (index, rebuilt) = match open(store, archive, timezone).await {
        Ok(opened) => opened,
        Err(e) => return busy_or(e),
    };
    let mut writer = match index.writer() {
        Ok(w) => w,
        Err(e) => return busy_or(e),
    };
    let mut articles = 0;
    loop {
        let rows = store.unindexed(index.id(), BATCH).await?;
        if rows.is_empty() {
            break;
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        index.upsert(&writer, &rows)?;
        index.commit(&mut writer)?;
        store.mark_indexed(index.id(), &ids, Utc::now()).await?;
        articles += ids.len();
    }
    // Dropping a writer aborts the merges its commits started: each run would then leave one
    // more small segment for good (a daemon commits every few minutes, for months).
    if articles > 0 {
        tokio::task::spawn_blocking(move || writer.wait_merging_threads())
            .await?
            .map_err(|e| anyhow::anyhow!("fusion impossible des segments de l'index : {e}"))?;
    }
    Ok(IndexOutcome::Indexed { articles, rebuilt })
}

fn busy_or(e: anyhow::Error) -> anyhow::Result<IndexOutcome> {
    match e.downcast_ref::<WriterBusy>() {
        Some(busy) => Ok(IndexOutcome::Busy(busy.to_string())),
        None => Err(e),
    }
}

/// Rebuilds the whole index from the store (`veille reindex`, or a schema change).
pub(crate) async fn rebuild(store: &Store, index: &SearchIndex) -> anyhow::Result<u64> {
    store.reset_index(index.id()).await?;
    let mut docs = Vec::new();
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let rows = store.all_for_index(after, BATCH).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        ids.extend(rows.iter().map(|r| r.id));
        docs.extend(rows);
    }
    let count = index.rebuild(docs)?;
    for chunk in ids.chunks(BATCH as usize) {
        store.mark_indexed(index.id(), chunk, Utc::now()).await?;
    }
    Ok(count)
}
