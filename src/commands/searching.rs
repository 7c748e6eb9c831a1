//! `veille search` by story: one hit per story (its best-ranked article) with the other
//! sources that carried it, and, when a query of several words finds nothing, how to ask
//! for either word.

use serde::Serialize;

use crate::model::SourceLink;
use crate::search::{Hit, SearchIndex};
use crate::store::Store;

/// One story found: the best article for the query and the story's other sources.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoryHit {
    #[serde(flatten)]
    pub(crate) hit: Hit,
    pub(crate) also: Vec<SourceLink>,
    /// Every article of the story the query matched (the hit's first), by rank.
    pub(crate) matched: Vec<i64>,
}

/// How many articles to read for `limit` stories: a story carried by many sources must not
/// crowd the others out.
pub(crate) fn articles_for(limit: usize) -> usize {
    limit.saturating_mul(5).max(50)
}

/// Keeps the first (best) hit of each story, in rank order, up to `limit` stories, and adds
/// each story's other sources from the store.
pub(crate) async fn by_story(
    store: &Store,
    hits: Vec<Hit>,
    limit: usize,
) -> anyhow::Result<Vec<StoryHit>> {
    let mut matched: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for h in &hits {
        matched.entry(h.story).or_default().push(h.id);
    }
    let mut seen = std::collections::HashSet::new();
    let best: Vec<Hit> = hits
        .into_iter()
        .filter(|h| seen.insert(h.story))
        .take(limit)
        .collect();
    let stories: Vec<i64> = best.iter().map(|h| h.story).collect();
    let cards = store.story_cards(&stories, None).await?;
    Ok(best
        .into_iter()
        .map(|hit| {
            let also = cards
                .iter()
                .find(|c| c.story == hit.story)
                .map(|c| {
                    std::iter::once(SourceLink {
                        source: c.source.clone(),
                        url: c.url.clone(),
                    })
                    .chain(c.also.iter().cloned())
                    .filter(|l| l.url != hit.url)
                    .collect()
                })
                .unwrap_or_default();
            let matched = matched.remove(&hit.story).unwrap_or_default();
            StoryHit { hit, also, matched }
        })
        .collect())
}

/// The plain words of a query (no phrase, operator, field or exclusion), when there are
/// several: those a "no result" can suggest asking for one by one.
fn plain_words(query: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = query.split_whitespace().collect();
    let plain = words.len() > 1
        && words.iter().all(|w| {
            !w.contains(['"', ':', '(', ')', '[', ']'])
                && !w.starts_with(['-', '+'])
                && !["AND", "OR", "ET", "OU", "NOT"].contains(w)
        });
    plain.then_some(words)
}

/// For a query of several plain words that found nothing: the French lines that say that
/// every word was required, how many stories each word finds alone, and how to ask for
/// either.
pub(crate) fn no_result_hint(
    index: &SearchIndex,
    query: &str,
    dossier: Option<&str>,
) -> Vec<String> {
    let Some(words) = plain_words(query) else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "Aucun article ne contient à la fois tous les mots ({}).",
        words.join(", ")
    )];
    for word in &words {
        let found = index
            .search(word, dossier, 1000)
            .map(|hits| {
                hits.iter()
                    .map(|h| h.story)
                    .collect::<std::collections::HashSet<_>>()
                    .len()
            })
            .unwrap_or(0);
        lines.push(format!("  « {word} » seul : {found} histoire(s)"));
    }
    lines.push(format!(
        "Pour l'un ou l'autre de ces mots : veille search \"{}\"",
        words.join(" OU ")
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_multi_word_queries_get_the_hint() {
        assert_eq!(
            plain_words("securite quartier"),
            Some(vec!["securite", "quartier"])
        );
        for q in [
            "securite",
            "\"securite quartier\"",
            "securite -quartier",
            "securite OU quartier",
            "dossier:x y",
        ] {
            assert_eq!(plain_words(q), None, "{q}");
        }
    }
}
