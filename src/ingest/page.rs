//! Listing pages without a feed, read with the CSS selectors of their source.

use chrono::{DateTime, Utc};
use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::charset::{decode, html_encoding};
use super::dates::{clamp_future, parse_date};
use super::sanitize::{clean_title, sanitize_html, sanitized_to_text};
use super::{IngestError, detect_item_language, normalize_language};
use crate::model::{ArticleCandidate, PageSelectors};

/// Reads the items of a listing page. A selector that matches nothing is an error of the
/// source, not an empty result.
pub fn parse_page(
    bytes: &[u8],
    content_type: Option<&str>,
    page_url: &str,
    selectors: &PageSelectors,
    now: DateTime<Utc>,
) -> Result<Vec<ArticleCandidate>, IngestError> {
    let text = decode(bytes, html_encoding(bytes, content_type));
    let document = Html::parse_document(&text);
    let compile = |s: &str| {
        Selector::parse(s).map_err(|e| IngestError::Feed(format!("sélecteur `{s}` : {e}")))
    };
    let item_sel = compile(&selectors.item)?;
    let title_sel = compile(&selectors.title)?;
    let link_sel = compile(&selectors.link)?;
    let date_sel = selectors.date.as_deref().map(compile).transpose()?;
    let summary_sel = selectors.summary.as_deref().map(compile).transpose()?;

    let page_base = Url::parse(page_url).ok();
    let base = document
        .select(&Selector::parse("base[href]").expect("static selector"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| match &page_base {
            Some(p) => p.join(href).ok(),
            None => Url::parse(href).ok(),
        })
        .or(page_base);
    let page_language = document
        .select(&Selector::parse("html[lang]").expect("static selector"))
        .next()
        .and_then(|h| h.value().attr("lang"))
        .and_then(normalize_language);

    let mut matched = 0;
    let mut items = Vec::new();
    for item in document.select(&item_sel) {
        matched += 1;
        let Some(title) = item
            .select(&title_sel)
            .next()
            .map(|t| clean_title(&t.text().collect::<String>(), false))
        else {
            continue;
        };
        let href = item
            .select(&link_sel)
            .find_map(|a| a.value().attr("href"))
            .or_else(|| item.value().attr("href"));
        let Some(url) = href.and_then(|h| resolve(h, base.as_ref())) else {
            continue;
        };
        if title.is_empty() {
            continue;
        }
        let published = date_sel
            .as_ref()
            .and_then(|s| item.select(s).next())
            .and_then(|d| date_of(d));
        let (published, date_flag) = clamp_future(published, now);
        let (summary_html, summary_text) =
            match summary_sel.as_ref().and_then(|s| item.select(s).next()) {
                Some(s) => {
                    let clean = sanitize_html(&s.inner_html(), Url::parse(&url).ok().as_ref());
                    let text = sanitized_to_text(&clean);
                    (clean, text)
                }
                None => (String::new(), String::new()),
            };
        let language = page_language
            .clone()
            .or_else(|| detect_item_language(&title, &summary_text));
        items.push(ArticleCandidate {
            guid: None,
            canonical_url: super::url::canonicalize(&url),
            url,
            title,
            summary_html,
            summary_text,
            author: None,
            published,
            date_flag,
            language,
            image: None,
        });
    }
    if matched == 0 {
        return Err(IngestError::NothingMatched(selectors.item.clone()));
    }
    if items.is_empty() {
        let (s, found) = if matched > 1 {
            ("s", "trouvés")
        } else {
            ("", "trouvé")
        };
        return Err(IngestError::Feed(format!(
            "{matched} élément{s} `{}` {found}, mais aucun avec un titre `{}` et un lien `{}`",
            selectors.item, selectors.title, selectors.link
        )));
    }
    Ok(items)
}

fn date_of(element: ElementRef<'_>) -> Option<DateTime<Utc>> {
    ["datetime", "content"]
        .iter()
        .find_map(|a| element.value().attr(a).and_then(parse_date))
        .or_else(|| parse_date(&element.text().collect::<String>()))
}

fn resolve(href: &str, base: Option<&Url>) -> Option<String> {
    let joined = match base {
        Some(b) => b.join(href.trim()).ok()?,
        None => Url::parse(href.trim()).ok()?,
    };
    matches!(joined.scheme(), "http" | "https").then(|| joined.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selectors(item: &str) -> PageSelectors {
        PageSelectors {
            item: item.into(),
            title: "h3".into(),
            link: "a".into(),
            date: Some("time".into()),
            summary: Some("p".into()),
        }
    }

    #[test]
    fn listing_page_items() {
        let html = r#"<html lang="fr"><body>
<article class="news"><h3>Premier <em>titre</em></h3><a href="/actu/1">lire</a><time datetime="2026-11-27T09:00:00+01:00">27 nov.</time><p>Résumé <script>x</script>un</p></article>
<article class="news"><h3>Deuxième</h3><a href="javascript:void(0)">x</a></article>
<article class="news"><h3>Troisième</h3><a href="https://autre.fr/3">y</a><time>3 octobre 2026</time></article>
</body></html>"#;
        let items = parse_page(
            html.as_bytes(),
            None,
            "https://pref.gouv.fr/actualites",
            &selectors("article.news"),
            "2026-11-28T00:00:00Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].title, "Premier titre");
        assert_eq!(items[0].url, "https://pref.gouv.fr/actu/1");
        assert_eq!(items[0].summary_text, "Résumé un");
        assert_eq!(items[0].language.as_deref(), Some("fr"));
        assert_eq!(
            items[1].published,
            Some("2026-10-02T22:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn selector_matching_nothing_is_an_error() {
        let err = parse_page(
            b"<html><body><div>rien</div></body></html>",
            None,
            "https://x.fr/",
            &selectors("article.news"),
            Utc::now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "0 élément : `article.news` ne correspond à rien dans la page"
        );
    }
}
