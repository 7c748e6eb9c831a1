//! Makes untrusted HTML safe (ammonia) and turns HTML into plain text.

use std::borrow::Cow;
use std::cell::RefCell;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Sanitised HTML: no scripts, styles, event handlers or `javascript:` URLs; relative links
/// made absolute against `base`.
pub(super) fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
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
pub(crate) fn html_to_text(html: &str) -> String {
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

/// `html_to_text` for the output of `sanitize_html`, without parsing it a second time: that
/// output is html5ever's serialisation of a tree with no comment, script or style, where text
/// escapes only `&amp;`, `&lt;`, `&gt;` and `&nbsp;` and attribute values are double-quoted.
/// The unit tests compare both on real feeds' summaries.
pub(super) fn sanitized_to_text(clean: &str) -> String {
    if !clean.contains('<') && !clean.contains('&') {
        return collapse(clean);
    }
    let mut out = String::with_capacity(clean.len());
    let mut rest = clean;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, len) = [
                ("&amp;", '&'),
                ("&lt;", '<'),
                ("&gt;", '>'),
                ("&nbsp;", '\u{a0}'),
            ]
            .iter()
            .find(|(entity, _)| rest.starts_with(entity))
            .map_or(('&', 1), |(entity, c)| (*c, entity.len()));
            out.push(decoded);
            rest = &rest[len..];
            continue;
        }
        let name_start = if rest[1..].starts_with('/') { 2 } else { 1 };
        let name_len = rest[name_start..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len() - name_start);
        let name = &rest[name_start..name_start + name_len];
        if BLOCKS.contains(&name) {
            out.push('\n');
        }
        // The tag ends at the first `>` outside a quoted attribute value.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i + 1);
        rest = &rest[end..];
        // A parser drops the newline right after these start tags (HTML's parsing rules).
        if name_start == 1 && matches!(name, "pre" | "textarea" | "listing") {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
    }
    out.push_str(rest);
    collapse(&out)
}

/// Text with runs of spaces collapsed and at most one blank line between paragraphs.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else { continue };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(first);
        for word in words {
            out.push(' ');
            out.push_str(word);
        }
    }
    out
}

/// A one-line title: markup removed when the source sent HTML, whitespace and control
/// characters (CR/LF included) folded into single spaces.
pub(super) fn clean_title(raw: &str, is_html: bool) -> String {
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
    fn sanitized_text_reads_as_a_second_parse_would() {
        let base = url::Url::parse("https://exemple.fr/").unwrap();
        let samples = [
            "<p>Un&nbsp;<b>deux</b></p><p>trois &amp; quatre &lt;5&gt;</p><script>x()</script>",
            "<a href=\"/a?b=1&c=2\" title='x > y'>lien</a> suite<br>ligne<br/>fin",
            "<table><tr><td>a</td><td>b</td></tr></table>texte<pre>\n\ncode</pre>",
            "<ul><li>un</li><li>deux<ul><li>trois</li></ul></li></ul><img src=x alt=\"a\">",
            "texte brut & < > sans balise",
            "<div><h2>Titre</h2><blockquote>cité</blockquote><!-- note --></div>",
        ];
        for dirty in samples {
            let clean = sanitize_html(dirty, Some(&base));
            assert_eq!(sanitized_to_text(&clean), html_to_text(&clean), "{clean}");
        }
    }

    /// The same comparison on every summary of the real-world feeds.
    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn sanitized_text_matches_on_real_feeds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/feeds/realworld");
        let mut files = vec![root];
        let mut compared = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let Ok(feed) = feed_rs::parser::parse(std::fs::read(&path).unwrap().as_slice()) else {
                continue;
            };
            for entry in feed.entries {
                let bodies = entry
                    .summary
                    .map(|s| s.content)
                    .into_iter()
                    .chain(entry.content.and_then(|c| c.body));
                for body in bodies {
                    let clean = sanitize_html(&body, None);
                    assert_eq!(sanitized_to_text(&clean), html_to_text(&clean), "{clean}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared} résumés seulement");
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
