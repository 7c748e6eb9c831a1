//! RSS 0.9x/1.0/2.0, Atom and JSON Feed, read by feed-rs from bytes.

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Link, Text};
use url::Url;

use super::charset::{declare_utf8, decode_xml};
use super::dates::{clamp_future, parse_date};
use super::sanitize::{clean_title, sanitize_with_text};
use super::{IngestError, detect_item_language, normalize_language};
use crate::model::ArticleCandidate;

/// What a feed said, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    /// The feed's own title, one line; `None` when the feed has none.
    pub title: Option<String>,
    /// The site the feed belongs to, as the feed gives it; `None` when absent.
    pub link: Option<String>,
    /// The entries that had a link, in document order.
    pub items: Vec<ArticleCandidate>,
    /// Entries dropped because they had no link at all.
    pub without_link: usize,
}

/// Parses a feed. `content_type` is the HTTP header (for its charset), `base_url` the URL it
/// was fetched from (relative links resolve against it), `now` the fetch time (future
/// dates are clamped to it).
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<ParsedFeed, IngestError> {
    let base = Url::parse(base_url).ok();
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base_url))
        // An empty id marks "the source gave none"; feed-rs would otherwise invent one.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(parse_date)
        .sanitize_content(false)
        .build();
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF);
    let feed = if first == Some(&b'{') {
        parser.parse(bytes)
    } else {
        // Borrowed all along for a UTF-8 feed that needs no repair: no copy of the document.
        let text = decode_xml(bytes, content_type);
        parser.parse(super::repair::repair_xml(&declare_utf8(&text)).as_bytes())
    }
    .map_err(|e| IngestError::Feed(crate::wording::feed(&e)))?;

    let feed_language = feed.language.as_deref().and_then(normalize_language);
    let mut items = Vec::with_capacity(feed.entries.len());
    let mut without_link = 0;
    for entry in &feed.entries {
        match candidate(entry, base.as_ref(), feed_language.as_deref(), now) {
            Some(c) => items.push(c),
            None => without_link += 1,
        }
    }
    Ok(ParsedFeed {
        title: feed.title.as_ref().map(text_of).filter(|t| !t.is_empty()),
        link: pick_link(&feed.links).and_then(|l| resolve(&l.href, base.as_ref())),
        items,
        without_link,
    })
}

fn is_html(text: &Text) -> bool {
    let m = &text.content_type;
    mentions_html(
        m.ty().as_str(),
        m.subty().as_str(),
        m.suffix().map(|s| s.as_str()),
    )
}

/// Whether a media type's essence (type, subtype, suffix) says HTML (`text/html`,
/// `application/xhtml+xml`), read without formatting it.
fn mentions_html(ty: &str, subty: &str, suffix: Option<&str>) -> bool {
    [ty, subty, suffix.unwrap_or("")]
        .iter()
        .any(|part| part.contains("html"))
}

fn text_of(text: &Text) -> String {
    clean_title(&text.content, is_html(text))
}

/// The link a reader should open: `alternate` (or no rel) first, HTML before other types.
fn pick_link(links: &[Link]) -> Option<&Link> {
    let alternate = |l: &&Link| l.rel.as_deref().is_none_or(|r| r == "alternate");
    links
        .iter()
        .filter(alternate)
        .find(|l| l.media_type.as_deref().is_none_or(|m| m.contains("html")))
        .or_else(|| links.iter().find(alternate))
        .or_else(|| links.iter().find(|l| l.rel.as_deref() != Some("enclosure")))
}

fn resolve(href: &str, base: Option<&Url>) -> Option<String> {
    resolve_url(href, base).map(Into::into)
}

fn resolve_url(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    match Url::parse(href) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        Ok(_) => None,
        Err(_) => base.and_then(|b| b.join(href).ok()),
    }
}

fn candidate(
    entry: &Entry,
    base: Option<&Url>,
    feed_language: Option<&str>,
    now: DateTime<Utc>,
) -> Option<ArticleCandidate> {
    let guid = Some(entry.id.trim().to_string()).filter(|g| !g.is_empty());
    let link = pick_link(&entry.links)
        .and_then(|l| resolve_url(&l.href, base))
        .or_else(|| guid.as_deref().and_then(|g| resolve_url(g, None)))?;
    let from_google_news = link.as_str().starts_with("https://news.google.com/");
    // The link is parsed once, then serves as the base of the summary's links and as the
    // input of canonicalisation; only a Google News link has another link inside.
    let google_target = link
        .as_str()
        .contains("news.google.com")
        .then(|| super::url::google_news_target(link.as_str()))
        .flatten();
    // `serialised`: `url` is the url crate's own text of `link_base`, which reads back as
    // the same `Url`; a Google News target stays as the publisher wrote it.
    let (url, link_base, serialised) = match google_target {
        Some(target) => {
            let parsed = Url::parse(&target).ok();
            (target, parsed, false)
        }
        None => (link.as_str().to_string(), Some(link), true),
    };
    // Google News descriptions only repeat the title, the publisher and related links: they
    // are not even cleaned.
    let (summary_html, summary_text) = if from_google_news {
        (String::new(), String::new())
    } else {
        summary(entry, link_base.as_ref())
    };
    let mut title = entry.title.as_ref().map(text_of).unwrap_or_default();
    if from_google_news {
        // Google News appends " - Publisher" to every title; the publisher's own feed does not.
        if let Some((head, _publisher)) = title.rsplit_once(" - ") {
            title = head.trim_end().to_string();
        }
    }
    if title.is_empty() {
        title = first_words(&summary_text, 120).unwrap_or_else(|| url.clone());
    }
    let (published, date_flag) = clamp_future(entry.published.or(entry.updated), now);
    let language = entry
        .language
        .as_deref()
        .and_then(normalize_language)
        .or_else(|| feed_language.map(str::to_string))
        .or_else(|| detect_item_language(&title, &summary_text));
    let image = image(entry, link_base.as_ref().or(base));
    let canonical_url = match link_base {
        Some(parsed) if serialised => super::url::canonicalize_url(parsed),
        _ => super::url::canonicalize(&url),
    };
    Some(ArticleCandidate {
        guid,
        canonical_url,
        url,
        title,
        summary_html,
        summary_text,
        author: entry
            .authors
            .first()
            .and_then(|p| p.name.as_deref())
            .map(|n| clean_title(n, false))
            .filter(|a| !a.is_empty()),
        published,
        date_flag,
        language,
        image,
    })
}

/// The item's picture: an image `media:content` or `enclosure` (feed-rs reads both into
/// media objects), else the `media:thumbnail` of another medium (feed-rs keeps a thumbnail
/// only with a content), else an Atom `enclosure` link of an image type.
/// A content without a type counts when its address ends like an image file.
fn image(entry: &Entry, base: Option<&Url>) -> Option<String> {
    let looks_like_image = |url: &str| {
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        [".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif"]
            .iter()
            .any(|ext| path.ends_with(ext))
    };
    let from_media = entry.media.iter().find_map(|m| {
        m.content
            .iter()
            .filter_map(|c| {
                let url = c.url.as_ref()?.as_str();
                let typed = c.content_type.as_ref().map(|t| t.to_string());
                let image = match &typed {
                    Some(t) => t.starts_with("image/"),
                    None => looks_like_image(url),
                };
                image.then(|| url.to_string())
            })
            .next()
            .or_else(|| m.thumbnails.first().map(|t| t.image.uri.clone()))
    });
    let from_links = || {
        entry
            .links
            .iter()
            .filter(|l| l.rel.as_deref() == Some("enclosure"))
            .find(|l| {
                l.media_type
                    .as_deref()
                    .map_or_else(|| looks_like_image(&l.href), |t| t.starts_with("image/"))
            })
            .map(|l| l.href.clone())
    };
    from_media
        .or_else(from_links)
        .and_then(|href| resolve(&href, base))
}

/// The item's summary, else its content, sanitised, with its text.
fn summary(entry: &Entry, base: Option<&Url>) -> (String, String) {
    match (&entry.summary, &entry.content) {
        (Some(s), _) if !s.content.trim().is_empty() => body(&s.content, is_html(s), base),
        (_, Some(c)) => match &c.body {
            Some(b) => body(
                b,
                mentions_html(
                    c.content_type.ty().as_str(),
                    c.content_type.subty().as_str(),
                    c.content_type.suffix().map(|s| s.as_str()),
                ),
                base,
            ),
            None => (String::new(), String::new()),
        },
        _ => (String::new(), String::new()),
    }
}

fn body(content: &str, html: bool, base: Option<&Url>) -> (String, String) {
    if html {
        sanitize_with_text(content, base)
    } else {
        let text = content.trim().to_string();
        (ammonia::clean_text(&text), text)
    }
}

/// The first `max` characters of a text, cut at a word, with an ellipsis.
fn first_words(text: &str, max: usize) -> Option<String> {
    let line = text.lines().next()?.trim();
    if line.is_empty() {
        return None;
    }
    if line.chars().count() <= max {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(max).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    Some(format!("{}…", &cut[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-28T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn rss_with_relative_links_french_dates_and_xss() {
        let xml = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Actu</title><link>https://ex.fr/</link><language>fr-FR</language>
<item><title>&lt;img src=x onerror=alert(1)&gt; Précarité</title><link>/a/1?utm_source=rss</link><guid isPermaLink="false">id-1</guid>
<pubDate>28 novembre 2026 à 10h05</pubDate><description>&lt;p onclick="x"&gt;Texte &lt;script&gt;alert(1)&lt;/script&gt;&lt;a href="javascript:alert(1)"&gt;lien&lt;/a&gt;&lt;/p&gt;</description></item>
<item><title>Futur</title><link>https://ex.fr/b</link><pubDate>Mon, 01 Jan 2035 00:00:00 GMT</pubDate></item>
<item><description>sans lien</description></item>
</channel></rss>"#;
        let feed = parse_feed(xml.as_bytes(), None, "https://ex.fr/rss.xml", now()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Actu"));
        assert_eq!(feed.items.len(), 2);
        assert_eq!(feed.without_link, 1);
        let a = &feed.items[0];
        assert_eq!(a.url, "https://ex.fr/a/1?utm_source=rss");
        assert_eq!(a.canonical_url, "https://ex.fr/a/1");
        assert_eq!(a.guid.as_deref(), Some("id-1"));
        assert_eq!(a.title, "<img src=x onerror=alert(1)> Précarité");
        assert!(
            !a.summary_html.contains("script")
                && !a.summary_html.contains("onclick")
                && !a.summary_html.contains("javascript")
        );
        assert_eq!(a.summary_text, "Texte lien");
        assert_eq!(a.published, Some("2026-11-28T09:05:00Z".parse().unwrap()));
        assert_eq!(a.language.as_deref(), Some("fr"));
        assert_eq!(
            feed.items[1].date_flag,
            Some(crate::model::DateFlag::FutureClamped)
        );
        assert_eq!(feed.items[1].published, Some(now()));
    }

    #[test]
    fn latin1_feed_without_declaration_reads_accents() {
        let mut bytes = b"<rss version=\"2.0\"><channel><title>".to_vec();
        bytes.extend(
            encoding_rs::WINDOWS_1252
                .encode("Sécurité et précarité à Sète")
                .0
                .iter(),
        );
        bytes.extend(b"</title><item><title>\xc9cole</title><link>https://ex.fr/e</link></item></channel></rss>");
        let feed = parse_feed(&bytes, Some("text/xml"), "https://ex.fr/", now()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("Sécurité et précarité à Sète"));
        assert_eq!(feed.items[0].title, "École");
    }

    #[test]
    fn json_feed_and_atom() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"https://ex.fr/j","title":"Un","content_html":"<p>x</p>","date_published":"2026-11-01T10:00:00+01:00"}]}"#;
        let feed = parse_feed(json.as_bytes(), None, "https://ex.fr/feed.json", now()).unwrap();
        assert_eq!(feed.items[0].url, "https://ex.fr/j");
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">&lt;b&gt;A&lt;/b&gt;</title><entry><id>urn:x</id><title>E</title><link rel="alternate" href="e1"/><updated>2026-11-01T00:00:00Z</updated></entry></feed>"#;
        let feed = parse_feed(atom.as_bytes(), None, "https://ex.fr/d/atom", now()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("A"));
        assert_eq!(feed.items[0].url, "https://ex.fr/d/e1");
    }

    #[test]
    fn images_from_enclosures_and_media_rss() {
        let xml = r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>I</title>
<item><title>Enclosure</title><link>https://ex.fr/1</link><enclosure url="https://ex.fr/img/1.jpg" type="image/jpeg" length="100"/></item>
<item><title>Media</title><link>https://ex.fr/2</link><media:content url="https://ex.fr/img/2.png" medium="image"/></item>
<item><title>Vignette</title><link>https://ex.fr/3</link><media:content url="https://ex.fr/v/3.mp4" type="video/mp4"><media:thumbnail url="https://ex.fr/img/3.webp"/></media:content></item>
<item><title>Podcast</title><link>https://ex.fr/4</link><enclosure url="https://ex.fr/4.mp3" type="audio/mpeg" length="100"/></item>
<item><title>Rien</title><link>https://ex.fr/5</link></item>
<item><title>Hostile</title><link>https://ex.fr/6</link><enclosure url="javascript:alert(1)" type="image/png" length="1"/></item>
</channel></rss>"#;
        let feed = parse_feed(xml.as_bytes(), None, "https://ex.fr/rss.xml", now()).unwrap();
        let images: Vec<Option<&str>> = feed.items.iter().map(|i| i.image.as_deref()).collect();
        assert_eq!(
            images,
            [
                Some("https://ex.fr/img/1.jpg"),
                Some("https://ex.fr/img/2.png"),
                Some("https://ex.fr/img/3.webp"),
                None,
                None,
                None
            ],
            "ni son, ni rien, ni javascript:"
        );
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(
            parse_feed(
                b"<html><body>pas un flux</body></html>",
                None,
                "https://ex.fr/",
                now()
            )
            .is_err()
        );
        assert!(parse_feed(b"", None, "https://ex.fr/", now()).is_err());
    }
}
