//! Article pages → their main text, title, author, publication date and lead image
//! (rs-trafilatura, chosen by measurement: see ARCHITECTURE.md), with the page's charset
//! decoded as `ingest` decodes listing pages.

pub mod eval;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::ingest::charset;
use crate::text;

/// What an article page says, as `veille extract --json` prints it (the contract: these five
/// keys, `text` one paragraph per line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extracted {
    pub(crate) title: String,
    /// The main text, one paragraph per line; never empty (that is `ExtractError::NoText`).
    pub text: String,
    pub(crate) author: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    pub(crate) published: Option<DateTime<Utc>>,
    pub(crate) image: Option<String>,
}

fn rfc3339<S: serde::Serializer>(d: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

/// Why a page gave no article.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    /// The page was read but holds no article text (an index page, a paywall, an empty body).
    #[error("aucun texte d'article trouvé dans la page")]
    NoText,
    /// The bytes could not be parsed as HTML; the French reason.
    #[error("la page n'a pas pu être lue : {0}")]
    Unreadable(String),
}

/// Extracts the article of an HTML page given as bytes (charset from the BOM, the HTTP
/// `Content-Type`, `<meta>`, then detection). `url` resolves relative image links and helps
/// the extractor recognise the kind of page.
pub fn extract(
    bytes: &[u8],
    content_type: Option<&str>,
    url: Option<&str>,
) -> Result<Extracted, ExtractError> {
    let html = charset::decode(bytes, charset::html_encoding(bytes, content_type));
    extract_str(&html, url)
}

/// Class and id fragments of French sites' boilerplate inside articles (share buttons,
/// "lire aussi" boxes, comments, newsletter prompts), which the extractor's English lists
/// do not know.
const FRENCH_BOILERPLATE: &[&str] = &[
    "partage",
    "lire-aussi",
    "lireaussi",
    "lire_aussi",
    "a-lire",
    "voir-aussi",
    "sur-le-meme-sujet",
    "commentaire",
    "inscription-newsletter",
];

/// Removes the elements whose class or id names French boilerplate; the page is re-parsed
/// only when one of those names occurs at all.
fn without_french_boilerplate(html: &str) -> std::borrow::Cow<'_, str> {
    let lower = html.to_ascii_lowercase();
    if !FRENCH_BOILERPLATE.iter().any(|b| lower.contains(b)) {
        return std::borrow::Cow::Borrowed(html);
    }
    let mut document = scraper::Html::parse_document(html);
    let doomed: Vec<_> = document
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
        .filter(|e| {
            let names = [e.value().attr("class"), e.value().attr("id")];
            names.iter().flatten().any(|v| {
                let v = v.to_ascii_lowercase();
                FRENCH_BOILERPLATE.iter().any(|b| v.contains(b))
            })
        })
        .map(|e| e.id())
        .collect();
    for id in doomed {
        if let Some(mut node) = document.tree.get_mut(id) {
            node.detach();
        }
    }
    std::borrow::Cow::Owned(document.html())
}

/// Extracts the article of an already-decoded HTML page.
fn extract_str(html: &str, url: Option<&str>) -> Result<Extracted, ExtractError> {
    let options = rs_trafilatura::Options {
        url: url.map(str::to_owned),
        ..Default::default()
    };
    let html = without_french_boilerplate(html);
    let result = rs_trafilatura::extract_with_options(&html, &options)
        .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    let text = paragraphs(&result.content_text);
    if text.is_empty() {
        return Err(ExtractError::NoText);
    }
    let meta = result.metadata;
    let image = meta
        .image
        .filter(|i| !i.trim().is_empty())
        .map(|i| absolute(i.trim(), url));
    Ok(Extracted {
        title: text::one_line(meta.title.as_deref().unwrap_or_default()),
        text,
        author: meta
            .author
            .map(|a| text::one_line(&a))
            .filter(|a| !a.is_empty()),
        published: meta.date,
        image,
    })
}

/// Extracts the text of the elements a source's `content` selector picks, one paragraph per
/// line: the override for sites whose pages the extractor gets wrong.
pub(crate) fn extract_selected(
    bytes: &[u8],
    content_type: Option<&str>,
    selector: &scraper::Selector,
) -> Result<String, ExtractError> {
    let html = charset::decode(bytes, charset::html_encoding(bytes, content_type));
    let document = scraper::Html::parse_document(&html);
    let mut out = Vec::new();
    for element in document.select(selector) {
        // Block children become lines; inline text stays together.
        let mut line = String::new();
        for node in element.descendants() {
            if let Some(t) = node.value().as_text() {
                line.push_str(t);
            } else if let Some(e) = node.value().as_element()
                && matches!(
                    e.name(),
                    "p" | "li" | "h1" | "h2" | "h3" | "h4" | "br" | "div" | "blockquote"
                )
            {
                line.push('\n');
            }
        }
        out.push(line);
    }
    let text = paragraphs(&out.join("\n"));
    if text.is_empty() {
        Err(ExtractError::NoText)
    } else {
        Ok(text)
    }
}

/// One paragraph per line: whitespace inside a paragraph collapsed, empty lines dropped.
fn paragraphs(text: &str) -> String {
    text.lines()
        .map(text::one_line)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn absolute(link: &str, base: Option<&str>) -> String {
    base.and_then(|b| url::Url::parse(b).ok())
        .and_then(|b| b.join(link).ok())
        .map_or_else(|| link.to_owned(), String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html lang="fr"><head><meta charset="windows-1252">
<title>Le pacte des solidarités - Le Journal</title>
<meta property="og:title" content="Le pacte des solidarités prolongé">
<meta property="og:image" content="/img/une.jpg">
<meta name="author" content="Camille Martin">
<meta property="article:published_time" content="2026-11-26T08:30:00+01:00">
</head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/politique">Politique</a></li></ul></nav>
<article><h1>Le pacte des solidarités prolongé</h1>
<p>Le gouvernement a annoncé mardi la prolongation du pacte des solidarités jusqu'en 2027, avec une enveloppe de 1,2 milliard d'euros consacrée à la lutte contre la pauvreté.</p>
<p>Les associations saluent une « avancée », mais regrettent l'absence de mesures nouvelles pour les familles monoparentales, premières touchées par la précarité.</p>
<p>Dans le Gers, la banque alimentaire a vu ses demandes augmenter de 30 % en un an, selon sa présidente, qui appelle l'État à « ne pas oublier les territoires ruraux ».</p>
</article>
<aside class="share">Partager sur Facebook Partager sur X</aside>
<footer>Mentions légales · Contact</footer>
</body></html>"#;

    #[test]
    fn extracts_text_and_metadata_of_a_windows_1252_page() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(PAGE);
        let got = extract(&bytes, None, Some("https://journal.example.fr/a/1.html")).unwrap();
        assert!(
            got.text.contains("prolongation du pacte des solidarités"),
            "{got:?}"
        );
        assert!(got.text.contains("présidente"), "{}", got.text);
        assert_eq!(got.text.lines().count(), 3, "{}", got.text);
        assert!(
            !got.text.contains("Accueil") && !got.text.contains("Partager"),
            "{}",
            got.text
        );
        assert!(got.title.contains("pacte des solidarités"), "{got:?}");
        assert_eq!(got.author.as_deref(), Some("Camille Martin"));
        assert_eq!(
            got.published.map(|d| d.to_rfc3339()),
            Some("2026-11-26T07:30:00+00:00".into())
        );
        assert_eq!(
            got.image.as_deref(),
            Some("https://journal.example.fr/img/une.jpg")
        );
    }

    #[test]
    fn an_empty_page_is_an_error() {
        assert_eq!(
            extract(b"<html><body><nav>Accueil</nav></body></html>", None, None),
            Err(ExtractError::NoText)
        );
    }

    #[test]
    fn a_selector_overrides_the_extractor() {
        let sel = scraper::Selector::parse("article").unwrap();
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(PAGE);
        let text = extract_selected(&bytes, None, &sel).unwrap();
        assert!(
            text.starts_with("Le pacte des solidarités prolongé\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4, "{text}");
    }
}
