//! Tagging stored articles again with the current rules (`veille retag`, and the articles
//! whose full text arrived after they were tagged); decisions, which belong to stories, stay.

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
