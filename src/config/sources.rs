//! `[[sources]]`: one target each (feed, page or search), known dossiers, page selectors,
//! schedules and full-text settings.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::collector::Collector;
use super::full_text::{self, FullTextSettings};
use super::{ScheduleSpec, Schedules, suggest};
use crate::model::{PageSelectors, Source, SourceKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    name: Spanned<String>,
    feed: Option<Spanned<String>>,
    page: Option<Spanned<String>>,
    search: Option<Spanned<String>>,
    #[serde(default)]
    dossiers: Vec<Spanned<String>>,
    select: Option<Spanned<RawSelect>>,
    #[serde(default = "yes")]
    enabled: bool,
    /// This source's own polling schedule.
    schedule: Option<Spanned<ScheduleSpec>>,
    /// Fetch the article pages: "auto" (default), true or false.
    full_text: Option<Spanned<full_text::RawFullText>>,
    full_text_min_words: Option<usize>,
    /// CSS selector of the article text on this site's pages.
    content: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    item: Spanned<String>,
    title: Spanned<String>,
    link: Spanned<String>,
    date: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
}

/// The sources once checked, and the full-text settings of each, by name.
pub(super) type Checked = (Vec<Source>, BTreeMap<String, FullTextSettings>);

/// Checks `[[sources]]` against the declared dossiers (`known`); schedules are added to
/// `schedules`. A source whose target is wrong is left out (its mistake is reported).
pub(super) fn validate(
    raw: Vec<Spanned<RawSource>>,
    known: &[&str],
    c: &mut Collector,
    schedules: &mut Schedules,
) -> Checked {
    let mut sources = Vec::new();
    let mut full_texts = BTreeMap::new();
    let mut names = HashSet::new();
    for raw_source in raw {
        let source_span = raw_source.span();
        let raw_source = raw_source.into_inner();
        let name = unique_name(&raw_source, &mut names, c);
        let Some((kind, target, url)) = target(&raw_source, &name, source_span, c) else {
            continue;
        };
        let source_dossiers = dossiers(&raw_source, known, c);
        let select = selectors(&raw_source, kind, target, &name, c);
        if let Some(spec) = &raw_source.schedule {
            let texts = c.schedule(spec);
            schedules.sources.insert(name.clone(), texts);
        }
        full_texts.insert(name.clone(), full_text_settings(&raw_source, &name, c));
        sources.push(Source {
            name,
            kind,
            url,
            dossiers: source_dossiers,
            select,
            enabled: raw_source.enabled,
        });
    }
    (sources, full_texts)
}

/// The trimmed name; an empty or repeated one is a mistake.
fn unique_name(raw_source: &RawSource, names: &mut HashSet<String>, c: &mut Collector) -> String {
    let name = raw_source.name.get_ref().trim().to_string();
    if name.is_empty() {
        c.push(raw_source.name.span(), "nom de source vide".into(), None);
    } else if !names.insert(name.clone()) {
        c.push(
            raw_source.name.span(),
            format!("deux sources portent le nom « {name} »"),
            Some("chaque source doit avoir un nom unique".into()),
        );
    }
    name
}

/// The one target of a source and its URL (a search becomes a Google News URL).
fn target<'r>(
    raw_source: &'r RawSource,
    name: &str,
    source_span: Range<usize>,
    c: &mut Collector,
) -> Option<(SourceKind, &'r Spanned<String>, String)> {
    let targets: Vec<(SourceKind, &Spanned<String>)> = [
        (SourceKind::Feed, &raw_source.feed),
        (SourceKind::Page, &raw_source.page),
        (SourceKind::Search, &raw_source.search),
    ]
    .into_iter()
    .filter_map(|(kind, value)| value.as_ref().map(|v| (kind, v)))
    .collect();
    let (kind, target) = match targets.as_slice() {
        [one] => *one,
        [] => {
            c.push(
                source_span,
                format!("la source « {name} » n'a ni `feed`, ni `page`, ni `search`"),
                Some("ajoutez feed = \"https://…\" (flux), page = \"https://…\" (page sans flux) ou search = \"requête\"".into()),
            );
            return None;
        }
        [_, second, ..] => {
            c.push(
                second.1.span(),
                format!("la source « {name} » a plusieurs cibles (`feed`, `page`, `search`)"),
                Some("gardez-en une seule par source".into()),
            );
            return None;
        }
    };
    let url = match kind {
        SourceKind::Search => {
            let query = target.get_ref().trim();
            if query.is_empty() {
                c.push(target.span(), "requête de recherche vide".into(), None);
                return None;
            }
            google_news_url(query)
        }
        _ => match check_url(target.get_ref()) {
            Ok(url) => url,
            Err(message) => {
                c.push(
                    target.span(),
                    message,
                    Some("une adresse complète commence par https:// ou http://".into()),
                );
                return None;
            }
        },
    };
    Some((kind, target, url))
}

/// The source's dossiers that are declared; the others are mistakes.
fn dossiers(raw_source: &RawSource, known: &[&str], c: &mut Collector) -> Vec<String> {
    let mut source_dossiers = Vec::new();
    for d in &raw_source.dossiers {
        if known.contains(&d.get_ref().as_str()) {
            source_dossiers.push(d.get_ref().clone());
        } else {
            let hint = suggest(d.get_ref(), known).map_or_else(
                || format!("dossiers déclarés : {}", known.join(", ")),
                |s| format!("vouliez-vous dire `{s}` ?"),
            );
            c.push(
                d.span(),
                format!("dossier inconnu `{}`", d.get_ref()),
                Some(hint),
            );
        }
    }
    source_dossiers
}

/// The selectors of a `page` source (required there, refused elsewhere).
fn selectors(
    raw_source: &RawSource,
    kind: SourceKind,
    target: &Spanned<String>,
    name: &str,
    c: &mut Collector,
) -> Option<PageSelectors> {
    match (&raw_source.select, kind) {
        (Some(select), SourceKind::Page) => {
            let s = select.get_ref();
            for field in [&s.item, &s.title, &s.link]
                .into_iter()
                .chain(s.date.as_ref())
                .chain(s.summary.as_ref())
            {
                if let Err(e) = scraper::Selector::parse(field.get_ref()) {
                    // scraper's messages are for developers when the parser is surprised.
                    let detail = e.to_string();
                    let detail = if detail.contains('\n') || detail.contains("Unexpected error") {
                        String::new()
                    } else {
                        format!(" : {detail}")
                    };
                    c.push(
                        field.span(),
                        format!("sélecteur CSS invalide `{}`{detail}", field.get_ref()),
                        Some("exemples valides : \"article.news\", \"h3 a\", \"time\"".into()),
                    );
                }
            }
            Some(PageSelectors {
                item: s.item.get_ref().clone(),
                title: s.title.get_ref().clone(),
                link: s.link.get_ref().clone(),
                date: s.date.as_ref().map(|d| d.get_ref().clone()),
                summary: s.summary.as_ref().map(|d| d.get_ref().clone()),
            })
        }
        (Some(select), _) => {
            c.push(
                select.span(),
                format!("`select` ne sert qu'aux sources `page` (« {name} »)"),
                Some("retirez la section [sources.select] ou remplacez `feed` par `page`".into()),
            );
            None
        }
        (None, SourceKind::Page) => {
            c.push(
                target.span(),
                format!("la page « {name} » n'a pas de sélecteurs"),
                Some("ajoutez [sources.select] avec item, title et link".into()),
            );
            None
        }
        (None, _) => None,
    }
}

/// `full_text`, `full_text_min_words` and the `content` selector.
fn full_text_settings(raw_source: &RawSource, name: &str, c: &mut Collector) -> FullTextSettings {
    let mut text_settings = FullTextSettings {
        min_words: raw_source
            .full_text_min_words
            .unwrap_or(full_text::DEFAULT_MIN_WORDS),
        ..Default::default()
    };
    if let Some(raw) = &raw_source.full_text {
        match raw.get_ref().mode() {
            Some(mode) => text_settings.mode = mode,
            None => c.push(
                raw.span(),
                format!("`full_text` de « {name} » : \"auto\", true ou false"),
                Some("full_text = \"auto\" (défaut) relève la page quand le flux a moins de full_text_min_words mots".into()),
            ),
        }
    }
    if let Some(content) = &raw_source.content {
        if scraper::Selector::parse(content.get_ref()).is_err() {
            c.push(
                content.span(),
                format!("sélecteur CSS invalide `{}`", content.get_ref()),
                Some("exemples valides : \"article .texte\", \"div.fr-content\"".into()),
            );
        }
        text_settings.content = Some(content.get_ref().clone());
    }
    text_settings
}

/// The Google News RSS search URL for a French query.
pub(crate) fn google_news_url(query: &str) -> String {
    let mut url = url::Url::parse("https://news.google.com/rss/search").expect("static URL");
    url.query_pairs_mut()
        .append_pair("q", query)
        .append_pair("hl", "fr")
        .append_pair("gl", "FR")
        .append_pair("ceid", "FR:fr");
    url.into()
}

pub(super) fn check_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(url.into())
        }
        Ok(url) => Err(format!(
            "adresse non prise en charge `{text}` (schéma `{}`)",
            url.scheme()
        )),
        Err(e) => Err(format!(
            "adresse invalide `{text}` : {}",
            crate::wording::url(&e)
        )),
    }
}
