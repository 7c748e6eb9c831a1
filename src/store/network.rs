//! The network's collective panorama (issue 16 point 4): the stories that any centre of the
//! shared store kept or starred in a dossier, with the centres that picked each one.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Store, timestamp};
use crate::model::StoryCard;

/// A centre's pick of one story: (centre id, centre name, state, edited, decided at).
/// Names come from the `centres` register; a centre missing there is named by its id.
type PickRow = (String, String, String, bool, String);

impl Store {
    /// The collective panorama of `dossier`: the stories kept or starred there by any centre
    /// whose date is at or after `since`, starred (by any centre) first, then newest first,
    /// at most `limit` — the rules of a centre's own panorama, over every centre's decisions.
    ///
    /// When several centres edited a story's title or lede in the dossier, the edit of the
    /// decision changed last wins, whole (title and lede together, so that a title and a
    /// lede written by two centres never meet); ties go to the smallest centre id. Each
    /// card's `picked_by` names the centres that kept or starred it, alphabetically (then by
    /// id): the order of the detail pane's "gardé par", which does not move when a centre
    /// re-decides. `starred` when any centre starred it.
    pub(crate) async fn network_panorama_stories(
        &self,
        dossier: &str,
        since: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<StoryCard>> {
        let stories: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT d.story FROM decisions d JOIN articles a ON a.id = d.story
                 WHERE d.dossier = $1 AND d.state IN ('kept', 'starred')
                   AND COALESCE(a.published, a.first_seen) >= $2
                 GROUP BY d.story, a.published, a.first_seen
                 ORDER BY MAX(CASE WHEN d.state = 'starred' THEN 1 ELSE 0 END) DESC,
                          COALESCE(a.published, a.first_seen) DESC, d.story DESC
                 LIMIT $3",
            )
            .bind(dossier)
            .bind(timestamp(since))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        let names = self.centre_names().await?;
        let mut cards = Vec::with_capacity(stories.len());
        for story in stories {
            let rows: Vec<(String, String, bool, String)> = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT centre, state, (title IS NOT NULL OR lede IS NOT NULL), decided_at
                     FROM decisions
                     WHERE story = $1 AND dossier = $2 AND state IN ('kept', 'starred')
                     ORDER BY centre",
                )
                .bind(story)
                .bind(dossier)
                .fetch_all(pool)
                .await?
            });
            let mut rows: Vec<PickRow> = rows
                .into_iter()
                .map(|(id, state, edited, at)| {
                    let name = centre_name(&id, names.get(&id).map_or("", String::as_str));
                    (id, name, state, edited, at)
                })
                .collect();
            rows.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            let Some(editor) = winning_edit(&rows) else {
                continue;
            };
            // The card as the winning centre's own panorama shows it: one writer of cards.
            let as_editor = Store {
                backend: self.backend.clone(),
                centre: Arc::from(editor),
            };
            let Some(mut card) = as_editor.story_cards(&[story], Some(dossier)).await?.pop() else {
                continue;
            };
            card.starred = rows.iter().any(|r| r.2 == "starred");
            card.picked_by = rows.into_iter().map(|r| r.1).collect();
            cards.push(card);
        }
        Ok(cards)
    }
}

/// The centre whose edit a story shows: the latest decision with an edit, else the first
/// centre (no edit: every card reads alike).
fn winning_edit(rows: &[PickRow]) -> Option<&str> {
    rows.iter()
        .filter(|r| r.3)
        // Latest first; on a tie the smallest id, so the choice never depends on row order.
        .max_by(|a, b| a.4.cmp(&b.4).then_with(|| b.0.cmp(&a.0)))
        .or_else(|| rows.first())
        .map(|r| r.0.as_str())
}

/// How a centre is named to readers: its registered name; the single-centre archive
/// (id `''`, no name) is "ce centre" rather than an empty string.
fn centre_name(id: &str, name: &str) -> String {
    match (name.trim(), id) {
        ("", "") => "ce centre".to_string(),
        ("", id) => id.to_string(),
        (name, _) => name.to_string(),
    }
}

#[cfg(test)]
mod tests;
