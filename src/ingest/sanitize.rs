//! Makes untrusted HTML safe (ammonia) and turns HTML into plain text.

use ammonia::{Builder, UrlRelative};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Sanitised HTML: no scripts, styles, event handlers or `javascript:` URLs; relative links
/// made absolute against `base`.
pub fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    let mut builder = Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    match base {
        Some(base) => builder.url_relative(UrlRelative::RewriteWithBase(base.clone())),
        None => builder.url_relative(UrlRelative::Deny),
    };
    builder.clean(html).to_string()
}

const BLOCKS: [&str; 14] = [
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
];

/// The text a reader sees, with blocks on their own lines and spaces collapsed.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return collapse(html);
    }
    let fragment = Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    let mut hidden = 0usize; // depth inside <script>/<style>, whose text is not shown
    for edge in fragment.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Text(text) if hidden == 0 => out.push_str(text),
                Node::Element(e) if matches!(e.name(), "script" | "style") => hidden += 1,
                Node::Element(e) if BLOCKS.contains(&e.name()) => out.push('\n'),
                _ => {}
            },
            Edge::Close(node) => match node.value() {
                Node::Element(e) if matches!(e.name(), "script" | "style") => hidden -= 1,
                Node::Element(e) if BLOCKS.contains(&e.name()) => out.push('\n'),
                _ => {}
            },
        }
    }
    collapse(&out)
}

/// Text with runs of spaces collapsed and at most one blank line between paragraphs.
fn collapse(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A one-line title: markup removed when the source sent HTML, whitespace and control
/// characters (CR/LF included) folded into single spaces.
pub fn clean_title(raw: &str, is_html: bool) -> String {
    let text = if is_html {
        html_to_text(raw)
    } else if raw.contains('&') {
        // Undeclared HTML entities (`&eacute;`, `&nbsp;`) that the XML parser left as text;
        // markup stays literal.
        html_to_text(&raw.replace('<', "&lt;").replace('>', "&gt;"))
    } else {
        raw.to_string()
    };
    crate::text::one_line(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_markup_is_removed() {
        let base = url::Url::parse("https://exemple.fr/actu/").unwrap();
        let dirty = r#"<p onclick="x()">Bonjour <script>alert(1)</script><a href="javascript:alert(2)">a</a> <a href="/b">b</a><img src=x onerror=alert(3)></p>"#;
        let clean = sanitize_html(dirty, Some(&base));
        assert!(
            !clean.contains("script") && !clean.contains("onclick") && !clean.contains("onerror"),
            "{clean}"
        );
        assert!(!clean.contains("javascript:"), "{clean}");
        assert!(clean.contains(r#"href="https://exemple.fr/b""#), "{clean}");
    }

    #[test]
    fn text_from_html() {
        assert_eq!(
            html_to_text("<p>Un&nbsp;<b>deux</b></p><p>trois</p><script>x()</script>"),
            "Un deux\ntrois"
        );
        assert_eq!(
            clean_title("Titre\r\nBcc: x@y.fr", false),
            "Titre Bcc: x@y.fr"
        );
        assert_eq!(clean_title("<b>Gras</b> &amp; fin", true), "Gras & fin");
        assert_eq!(
            clean_title("<script>alert(1)</script>", false),
            "<script>alert(1)</script>"
        );
    }
}
