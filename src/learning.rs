//! Keeps the learned half of tagging in step with the curators: retrains each dossier's
//! scorer (`tag::learn`) from the decisions in the store, then refills the dossiers' "to
//! check" bands with the recent stories the rules did not tag and the scorer ranks at or
//! above the dossier's threshold (chosen by `tag::learn` on held-out decisions). Run after each harvest pass and each `veille decide`, so a
//! decision weighs from the next look at the inbox on.

use chrono::{DateTime, Duration, Utc};

use crate::store::{Store, ToCheckEntry};
use crate::tag::learn::{Example, LearnParams, Scorer};

/// How far back the band looks: older stories have left the curators' inbox.
const BAND_DAYS: i64 = 30;

/// Retrains and refills the bands; returns how many (story, dossier) pairs are to check.
pub(crate) async fn refresh(store: &Store, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let examples: Vec<Example> = store
        .decided_stories()
        .await?
        .into_iter()
        .map(|d| Example {
            title: d.title,
            summary: d.summary,
            positive: d.kept.into_iter().filter(|k| !k.is_empty()).collect(),
            negative: d.rejected.into_iter().collect(),
        })
        .collect();
    let scorer = Scorer::train(&examples, LearnParams::DEFAULT);
    let mut entries: Vec<ToCheckEntry> = Vec::new();
    if !scorer.is_empty() {
        for story in store
            .stories_to_score(now - Duration::days(BAND_DAYS))
            .await?
        {
            for learned in scorer.score(&story.title, &story.summary) {
                if learned.probability >= learned.threshold
                    && !story.tagged.contains(&learned.dossier)
                    && !story.decided.contains(&learned.dossier)
                {
                    entries.push((
                        story.story,
                        learned.dossier,
                        (learned.probability * 1000.0).round() / 1000.0,
                        learned.words,
                    ));
                }
            }
        }
    }
    store.replace_to_check(&entries).await?;
    Ok(entries.len())
}
