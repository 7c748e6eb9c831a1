//! The free blocks of editions: Markdown written by the team, rendered with pulldown-cmark
//! and sanitised with ammonia (a pasted `<script>` or `onclick` never reaches a reader).

use pulldown_cmark::{Options, Parser, html};

/// Markdown → safe HTML. Raw HTML in the source is sanitised, not trusted; images keep (or
/// get) an `alt` attribute; links open normally and carry `rel="noopener noreferrer"`.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_SMART_PUNCTUATION,
    );
    let mut raw = String::new();
    html::push_html(&mut raw, parser);
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect());
    let clean = builder.clean(&raw).to_string();
    ensure_alt(&clean)
}

/// ammonia keeps a written `alt`; an image without one gets an empty one (decorative), as
/// mail clients and screen readers expect.
fn ensure_alt(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("<img") {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let end = from.find('>').map_or(from.len(), |e| e + 1);
        let tag = &from[..end];
        if tag.contains(" alt=") {
            out.push_str(tag);
        } else {
            out.push_str(&tag.replacen("<img", "<img alt=\"\"", 1));
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = to_html(
            "**Édito** : [le rapport](https://example.org/r)\n\n<script>alert(1)</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"x()\">piège</a>",
        );
        assert!(html.contains("<strong>Édito</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.org/r\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
    }

    #[test]
    fn every_image_has_an_alt() {
        let html = to_html(
            "![Affiche du forum](https://example.org/a.png)\n\n<img src=\"https://example.org/b.png\">",
        );
        assert!(html.contains("alt=\"Affiche du forum\""), "{html}");
        assert_eq!(html.matches("<img").count(), 2, "{html}");
        assert_eq!(html.matches("alt=").count(), 2, "{html}");
    }
}
