//! Selectors suggested for a listing page without a feed: find the repeated article blocks
//! (same tag and classes, each with a link and some text, not inside navigation), then the
//! title, link, date and summary that most blocks share, as a `[sources.select]` table.

use std::collections::HashMap;

use scraper::{ElementRef, Html, Selector};
use serde::Serialize;

use crate::ingest::charset::{decode, html_encoding};
use crate::ingest::dates::parse_date;
use crate::model::PageSelectors;

/// The proposal: selectors, and how many blocks the item selector finds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Suggestion {
    pub(crate) select: PageSelectors,
    pub(crate) blocks: usize,
}

/// Fewer repeated blocks than this is not a listing.
const MIN_BLOCKS: usize = 3;
/// Share of the blocks an inner selector must match to be proposed.
const COVERAGE: f64 = 0.6;

/// Finds the selectors of the page's article blocks, or `None` when nothing repeats.
pub(crate) fn suggest(bytes: &[u8], content_type: Option<&str>) -> Option<Suggestion> {
    let text = decode(bytes, html_encoding(bytes, content_type));
    let document = Html::parse_document(&text);
    let mut groups: HashMap<String, Vec<ElementRef>> = HashMap::new();
    for element in document
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        if matches!(
            element.value().name(),
            "html" | "body" | "head" | "a" | "span" | "p" | "img" | "script" | "style" | "time"
        ) || in_chrome(element)
        {
            continue;
        }
        groups
            .entry(item_selector(element))
            .or_default()
            .push(element);
    }
    // (score, depth of the first block, selector, blocks)
    let mut best: Option<(f64, usize, String, Vec<ElementRef>)> = None;
    for (selector, elements) in groups {
        let blocks: Vec<ElementRef> = elements.into_iter().filter(|e| is_block(*e)).collect();
        if blocks.len() < MIN_BLOCKS {
            continue;
        }
        let richness = [has_heading, has_date, has_paragraph]
            .iter()
            .map(|f| blocks.iter().filter(|b| f(**b)).count() as f64 / blocks.len() as f64)
            .sum::<f64>();
        let words: f64 = blocks.iter().map(|b| words(*b) as f64).sum::<f64>() / blocks.len() as f64;
        let mut score = blocks.len() as f64 * (1.0 + richness) * (1.0 + words.min(60.0)).ln();
        // A block's own classes name it better than its place under a parent.
        if selector.contains('>') {
            score *= 0.9;
        }
        let depth = blocks[0].ancestors().count();
        // Nested wrappers of one card score alike: the outermost is the item, and equal
        // candidates are ordered by name so the proposal does not change between runs.
        let better = best.as_ref().is_none_or(|(s, d, name, _)| {
            if (score - s).abs() > 1e-9 {
                score > *s
            } else if depth != *d {
                depth < *d
            } else {
                selector < *name
            }
        });
        if better {
            best = Some((score, depth, selector, blocks));
        }
    }
    let (_, _, item, blocks) = best?;
    let title = inner_selector(&blocks, |e| {
        matches!(e.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            && e.text().any(|t| !t.trim().is_empty())
    })
    .or_else(|| inner_selector(&blocks, |e| e.value().name() == "a" && words(e) >= 3))?;
    let title_is_link = title == "a" || title.starts_with("a.");
    let title_links = Selector::parse(&format!("{title} a[href]")).map_or(0, |sel| {
        blocks
            .iter()
            .filter(|b| b.select(&sel).next().is_some())
            .count()
    });
    let link = if title_is_link {
        title.clone()
    } else if title_links as f64 >= COVERAGE * blocks.len() as f64 {
        format!("{title} a")
    } else {
        "a".to_owned()
    };
    let date = inner_selector(&blocks, |e| e.value().name() == "time")
        .or_else(|| inner_selector(&blocks, |e| is_leaf(e) && parse_date(&text_of(e)).is_some()));
    let title_words = |b: ElementRef| -> String {
        Selector::parse(&title)
            .ok()
            .and_then(|s| b.select(&s).next())
            .map(text_of)
            .unwrap_or_default()
    };
    let summary = inner_selector(&blocks, |e| {
        let t = text_of(e);
        matches!(e.value().name(), "p" | "div")
            && is_leaf(e)
            && t.split_whitespace().count() >= 6
            && parse_date(&t).is_none()
            && !e
                .ancestors()
                .filter_map(ElementRef::wrap)
                .any(|a| matches!(a.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
    })
    .filter(|s| {
        // The summary must not be the title again.
        Selector::parse(s).is_ok_and(|sel| {
            blocks.iter().any(|b| {
                b.select(&sel)
                    .next()
                    .is_some_and(|e| text_of(e) != title_words(*b))
            })
        })
    });
    Some(Suggestion {
        select: PageSelectors {
            item,
            title,
            link,
            date,
            summary,
        },
        blocks: blocks.len(),
    })
}

/// `tag.class1.class2`, or `parent > tag` when the element has no class.
fn item_selector(element: ElementRef) -> String {
    let own = signature(element);
    if own.contains('.') {
        return own;
    }
    match element.parent().and_then(ElementRef::wrap) {
        Some(parent) if !matches!(parent.value().name(), "body" | "html") => {
            format!("{} > {own}", signature(parent))
        }
        _ => own,
    }
}

fn signature(element: ElementRef) -> String {
    let mut classes: Vec<&str> = element
        .value()
        .classes()
        .filter(|c| is_stable_class(c))
        .collect();
    classes.sort_unstable();
    let mut s = element.value().name().to_owned();
    for c in classes {
        s.push('.');
        s.push_str(&escape_class(c));
    }
    s
}

/// Classes with digits or state words are per-item or per-moment (`post-123`, `is-active`);
/// icon classes (`fr-icon-calendar-line`) are decoration that varies between items.
fn is_stable_class(class: &str) -> bool {
    !class.chars().any(|c| c.is_ascii_digit())
        && !class.contains("icon")
        && ![
            "active", "current", "selected", "hover", "odd", "even", "first", "last",
        ]
        .iter()
        .any(|w| class.ends_with(w))
}

fn escape_class(class: &str) -> String {
    class
        .chars()
        .flat_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// Navigation, headers, footers and asides are not the listing.
fn in_chrome(element: ElementRef) -> bool {
    std::iter::once(element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .any(|a| {
            matches!(
                a.value().name(),
                "nav" | "header" | "footer" | "aside" | "form"
            ) || a.value().attr("role").is_some_and(|r| r == "navigation")
        })
}

/// An article block: one main link (not a row of several articles) and a few words.
fn is_block(element: ElementRef) -> bool {
    let links: std::collections::HashSet<&str> = element
        .select(&Selector::parse("a[href]").expect("static selector"))
        .filter_map(|a| a.value().attr("href"))
        .filter(|h| !h.starts_with('#') && !h.starts_with("javascript:"))
        .collect();
    (1..=3).contains(&links.len()) && words(element) >= 3
}

fn has_heading(element: ElementRef) -> bool {
    element
        .select(&Selector::parse("h1, h2, h3, h4, h5, h6").expect("static selector"))
        .next()
        .is_some()
}

fn has_date(element: ElementRef) -> bool {
    element
        .descendants()
        .filter_map(ElementRef::wrap)
        .any(|e| e.value().name() == "time" || (is_leaf(e) && parse_date(&text_of(e)).is_some()))
}

fn has_paragraph(element: ElementRef) -> bool {
    element
        .select(&Selector::parse("p").expect("static selector"))
        .any(|p| words(p) >= 6)
}

fn is_leaf(element: ElementRef) -> bool {
    !element.children().filter_map(ElementRef::wrap).any(|c| {
        !matches!(
            c.value().name(),
            "a" | "span" | "strong" | "em" | "b" | "i" | "time" | "br"
        )
    })
}

fn text_of(element: ElementRef) -> String {
    element
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(element: ElementRef) -> usize {
    element.text().map(|t| t.split_whitespace().count()).sum()
}

/// The selector, relative to the block, of the first element matching `wanted` in most
/// blocks: `tag.classes` when the blocks agree on the classes, else the bare tag.
fn inner_selector(blocks: &[ElementRef], wanted: impl Fn(ElementRef) -> bool) -> Option<String> {
    let mut votes: HashMap<String, usize> = HashMap::new();
    let mut tags: HashMap<String, usize> = HashMap::new();
    for block in blocks {
        let Some(found) = block
            .descendants()
            .filter_map(ElementRef::wrap)
            .skip(1)
            .find(|e| wanted(*e))
        else {
            continue;
        };
        *votes.entry(signature(found)).or_default() += 1;
        *tags.entry(found.value().name().to_owned()).or_default() += 1;
    }
    let need = (COVERAGE * blocks.len() as f64).ceil() as usize;
    let pick = |m: HashMap<String, usize>| {
        m.into_iter()
            .filter(|(_, n)| *n >= need)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.len().cmp(&a.0.len())))
            .map(|(s, _)| s)
    };
    let chosen = pick(votes).or_else(|| pick(tags))?;
    // The first match inside each block must be the wanted one, as ingest takes the first.
    let sel = Selector::parse(&chosen).ok()?;
    let agree = blocks
        .iter()
        .filter(|b| b.select(&sel).next().is_some_and(&wanted))
        .count();
    (agree >= need).then_some(chosen)
}

/// The TOML table to paste under a `[[sources]]` entry.
pub(crate) fn to_toml(select: &PageSelectors) -> String {
    let mut table = toml_edit::Table::new();
    table["item"] = toml_edit::value(&select.item);
    table["title"] = toml_edit::value(&select.title);
    table["link"] = toml_edit::value(&select.link);
    if let Some(d) = &select.date {
        table["date"] = toml_edit::value(d);
    }
    if let Some(s) = &select.summary {
        table["summary"] = toml_edit::value(s);
    }
    let mut doc = toml_edit::DocumentMut::new();
    let mut sources = toml_edit::Table::new();
    sources.set_implicit(true);
    sources.insert("select", toml_edit::Item::Table(table));
    doc.insert("sources", toml_edit::Item::Table(sources));
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(i: usize) -> String {
        format!(
            r#"<div class="fr-col-12 fr-col-md-4"><div class="fr-card fr-enlarge-link">
  <div class="fr-card__body"><div class="fr-card__content">
    <h3 class="fr-card__title"><a href="/actualites/article-{i}">Titre numéro {i} de l'actualité préfectorale</a></h3>
    <p class="fr-card__desc">Le préfet a présenté les mesures du plan numéro {i} pour les quartiers prioritaires de la ville.</p>
    <div class="fr-card__start"><p class="fr-card__detail">{i} novembre 2026</p></div>
  </div></div>
  <div class="fr-card__header"><div class="fr-card__img"><img class="fr-responsive-img" src="/img/{i}.jpg" alt=""></div></div>
</div></div>"#
        )
    }

    #[test]
    fn dsfr_cards_give_card_selectors() {
        let cards: String = (1..=6).map(card).collect();
        let page = format!(
            r#"<html><body><header class="fr-header"><nav class="fr-nav"><ul><li class="fr-nav__item"><a class="fr-nav__link" href="/a">Actualités de la préfecture</a></li><li class="fr-nav__item"><a class="fr-nav__link" href="/b">Démarches administratives en ligne</a></li><li class="fr-nav__item"><a class="fr-nav__link" href="/c">Publications officielles du département</a></li></ul></nav></header>
<main><div class="fr-grid-row">{cards}</div></main><footer class="fr-footer"><a href="/m">Mentions légales</a></footer></body></html>"#
        );
        let got = suggest(page.as_bytes(), None).expect("a suggestion");
        assert_eq!(got.select.item, "div.fr-card.fr-enlarge-link", "{got:?}");
        assert_eq!(got.select.title, "h3.fr-card__title");
        assert_eq!(got.select.link, "h3.fr-card__title a");
        assert_eq!(got.select.date.as_deref(), Some("p.fr-card__detail"));
        assert_eq!(got.select.summary.as_deref(), Some("p.fr-card__desc"));
        assert_eq!(got.blocks, 6);
        let toml = to_toml(&got.select);
        assert!(toml.starts_with("[sources.select]\n"), "{toml}");
        assert!(
            toml.contains("item = \"div.fr-card.fr-enlarge-link\""),
            "{toml}"
        );
    }

    #[test]
    fn a_page_without_repetition_gives_nothing() {
        assert_eq!(
            suggest(
                b"<html><body><p>Un seul paragraphe, pas de liste.</p></body></html>",
                None
            ),
            None
        );
    }
}
