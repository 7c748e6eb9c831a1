//! Makes untrusted HTML safe (ammonia) and turns HTML into plain text.

use std::borrow::Cow;
use std::cell::RefCell;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Sanitised HTML: no scripts, styles, event handlers or `javascript:` URLs; relative links
/// made absolute against `base`.
pub fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    // A cleaner's tag and attribute sets take longer to build than a short summary takes to
    // clean: each thread builds its two once. The base changes with every item, so the one
    // that rewrites relative links reads it from `BASE`, set for the duration of the call.
    thread_local! {
        static WITH_BASE: Builder<'static> = cleaner(UrlRelative::Custom(Box::new(AgainstBase)));
        static WITHOUT_BASE: Builder<'static> = cleaner(UrlRelative::Deny);
    }
    match base {
        Some(base) => {
            BASE.with_borrow_mut(|b| *b = Some(base.clone()));
            let clean = WITH_BASE.with(|cleaner| cleaner.clean(html).to_string());
            BASE.with_borrow_mut(|b| *b = None);
            clean
        }
        None => WITHOUT_BASE.with(|cleaner| cleaner.clean(html).to_string()),
    }
}

thread_local! {
    static BASE: RefCell<Option<url::Url>> = const { RefCell::new(None) };
}

/// Resolves a relative link against the base of the text being cleaned on this thread.
struct AgainstBase;

impl<'a> UrlRelativeEvaluate<'a> for AgainstBase {
    fn evaluate<'url>(&self, href: &'url str) -> Option<Cow<'url, str>> {
        BASE.with_borrow(|base| base.as_ref()?.join(href).ok())
            .map(|u| Cow::Owned(String::from(u)))
    }
}

fn cleaner(relative: UrlRelative<'static>) -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(relative);
    builder
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
    one_line(&text)
}

/// Control characters (CR and LF included) and runs of whitespace folded into single spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
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
