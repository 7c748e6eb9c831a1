//! Makes untrusted HTML safe (ammonia) and turns HTML into plain text.

use std::borrow::Cow;
use std::cell::RefCell;

use ammonia::{Builder, UrlRelative, UrlRelativeEvaluate};
use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Sanitised HTML: no scripts, styles, event handlers or `javascript:` URLs; relative links
/// made absolute against `base`.
pub(super) fn sanitize_html(html: &str, base: Option<&url::Url>) -> String {
    plain_text_clean(html).unwrap_or_else(|| ammonia_clean(html, base))
}

/// [`sanitize_html`] through ammonia, whatever the text.
fn ammonia_clean(html: &str, base: Option<&url::Url>) -> String {
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
            let clean = WITH_BASE.with(|cleaner| serialized(&cleaner.clean(html)));
            BASE.with_borrow_mut(|b| *b = None);
            clean
        }
        None => WITHOUT_BASE.with(|cleaner| serialized(&cleaner.clean(html))),
    }
}

/// A sanitised body and the text a reader sees in it: [`sanitize_html`], then
/// [`sanitized_to_text`], the text read from the original when it is plain.
pub(super) fn sanitize_with_text(html: &str, base: Option<&url::Url>) -> (String, String) {
    if let Some(clean) = plain_text_clean(html) {
        return (clean, collapse(html));
    }
    let clean = ammonia_clean(html, base);
    let text = sanitized_to_text(&clean);
    (clean, text)
}

/// Ammonia's output, written straight into the string's buffer: `Display` serialises into a
/// buffer of its own, then copies it into a string grown step by step.
fn serialized(document: &ammonia::Document) -> String {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail, and html5ever writes UTF-8 only.
    let _ = document.write_to(&mut bytes);
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What ammonia returns for a text without markup, without parsing it: many feeds type plain
/// descriptions as HTML, and building and serialising a DOM for them cost more than the
/// rest of their item. `None` when the text holds anything that an HTML parser reads
/// differently from its characters — a tag or comment (`<`), a character reference (`&`), a
/// carriage return (folded into a line feed), NUL (dropped) or a leading byte order mark
/// (discarded) —; otherwise the text escaped as html5ever serialises text: `>` and no-break
/// spaces. Unit tests compare it with ammonia on every summary of the real-world feeds and on
/// generated texts.
fn plain_text_clean(text: &str) -> Option<String> {
    if text.starts_with('\u{feff}')
        || text
            .bytes()
            .any(|b| matches!(b, b'<' | b'&' | b'\r' | b'\0'))
    {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(pos) = rest.find(['>', '\u{a0}']) {
        out.push_str(&rest[..pos]);
        let (escaped, len) = if rest.as_bytes()[pos] == b'>' {
            ("&gt;", 1)
        } else {
            ("&nbsp;", '\u{a0}'.len_utf8())
        };
        out.push_str(escaped);
        rest = &rest[pos + len..];
    }
    out.push_str(rest);
    Some(out)
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
    // Straight into the collapsed text: no intermediate copy of the whole text.
    let mut out = Collapsed::with_capacity(clean.len());
    let mut rest = clean;
    // Byte searches: the characters looked for are ASCII, so a byte match is a character
    // match, and memchr's SIMD search skips the text between tags faster than `str::find`.
    while let Some(pos) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
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
            out.push_str(decoded.encode_utf8(&mut [0; 4]));
            rest = &rest[len..];
            continue;
        }
        let name_start = if rest[1..].starts_with('/') { 2 } else { 1 };
        let name_len = rest[name_start..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len() - name_start);
        let name = &rest[name_start..name_start + name_len];
        if BLOCKS.contains(&name) {
            out.push_str("\n");
        }
        // The tag ends at the first `>` outside a quoted attribute value.
        let mut quoted = false;
        let end = rest
            .bytes()
            .position(|b| {
                if b == b'"' {
                    quoted = !quoted;
                }
                b == b'>' && !quoted
            })
            .map_or(rest.len(), |i| i + 1);
        rest = &rest[end..];
        // A parser drops the newline right after these start tags (HTML's parsing rules).
        if name_start == 1 && matches!(name, "pre" | "textarea" | "listing") {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
        }
    }
    out.push_str(rest);
    out.out
}

/// Text with runs of spaces collapsed and no blank line between paragraphs: each line's
/// words joined by one space, lines without words dropped.
fn collapse(text: &str) -> String {
    let mut out = Collapsed::with_capacity(text.len());
    out.push_str(text);
    out.out
}

/// [`collapse`] of the concatenation of the pieces pushed, built as they come: the pieces of
/// a summary are collapsed without being copied into one text first, and one pass over
/// the bytes replaces `lines` and `split_whitespace` (whitespace is Unicode's, as theirs).
struct Collapsed {
    out: String,
    /// Whether the current line (since the last `\n`) has a word already.
    line_has_words: bool,
    /// Whether whitespace came since the last word of the current line.
    space: bool,
}

impl Collapsed {
    fn with_capacity(capacity: usize) -> Collapsed {
        Collapsed {
            out: String::with_capacity(capacity),
            line_has_words: false,
            space: false,
        }
    }

    fn push_str(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut word_start = None;
        let mut i = 0;
        while i < bytes.len() {
            let (whitespace, len) = match bytes[i] {
                // ASCII whitespace as `char::is_whitespace` sees it: tab, LF, VT, FF, CR, space.
                b @ 0..0x80 => (matches!(b, b' ' | b'\t'..=b'\r'), 1),
                _ => {
                    let c = text[i..].chars().next().unwrap_or(' ');
                    (c.is_whitespace(), c.len_utf8())
                }
            };
            if whitespace {
                if let Some(start) = word_start.take() {
                    self.word(&text[start..i]);
                }
                if bytes[i] == b'\n' {
                    self.line_has_words = false;
                    self.space = false;
                } else if self.line_has_words {
                    self.space = true;
                }
            } else if word_start.is_none() {
                word_start = Some(i);
            }
            i += len;
        }
        if let Some(start) = word_start {
            self.word(&text[start..]);
        }
    }

    /// A run of non-whitespace (a whole word, or the part of one in this piece).
    fn word(&mut self, word: &str) {
        if !self.line_has_words {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            self.line_has_words = true;
        } else if self.space {
            self.out.push(' ');
        }
        self.space = false;
        self.out.push_str(word);
    }
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

    /// `collapse` as it was written before [`Collapsed`]: the reference it must agree with.
    fn collapse_by_lines(text: &str) -> String {
        let mut out = String::new();
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

    /// Whether the plain-text path gives ammonia's output, and the text `sanitized_to_text`
    /// reads in it. Returns whether the path applied.
    fn assert_plain_path_as_ammonia(body: &str, base: Option<&url::Url>) -> bool {
        let Some(fast) = plain_text_clean(body) else {
            return false;
        };
        let slow = ammonia_clean(body, base);
        assert_eq!(fast, slow, "{body:?}");
        assert_eq!(collapse(body), sanitized_to_text(&slow), "{body:?}");
        assert_eq!(
            sanitize_with_text(body, base),
            (slow.clone(), sanitized_to_text(&slow))
        );
        true
    }

    #[test]
    fn plain_text_path_on_edge_cases() {
        let base = url::Url::parse("https://exemple.fr/").unwrap();
        for body in [
            "",
            "   ",
            "Texte brut, sans balise.",
            "a > b, 3\u{a0}%, \u{a0}\u{a0} fin\u{a0}",
            "ligne\nsuivante\n\n\tautre \u{2028} \u{85} \u{c}\u{b}",
            "contrôle \u{1}\u{7f}\u{9f} et \u{fdd0} \u{fffe} \u{feff} au milieu",
            "« guillemets » — tiret … ΑΘΗΝΑ Москва 東京 😀 \"quote\" 'apos' = / ?",
        ] {
            assert!(assert_plain_path_as_ammonia(body, Some(&base)), "{body:?}");
            assert!(assert_plain_path_as_ammonia(body, None), "{body:?}");
        }
        for markup in ["a < b", "R&D", "\u{feff}début", "a\r\nb", "nul\0"] {
            assert_eq!(plain_text_clean(markup), None, "{markup:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_text_path_is_ammonias_output(
            body in "[a-zA-Z0-9 ,.;:!?'\"=/>\\t\\n\\x0b\\x0c\u{1}\u{7f}\u{85}\u{a0}\u{2028}\u{3000}\u{feff}éÉœ€😀-]{0,40}"
        ) {
            assert_plain_path_as_ammonia(&body, None);
        }

        #[test]
        fn collapsed_pieces_are_the_collapse_of_the_whole(
            text in "[a-z\u{e9} \\t\\n\\r\u{a0}\u{85}\u{2028}\u{3000}]{0,40}",
            cut in 0usize..40,
        ) {
            proptest::prop_assert_eq!(collapse(&text), collapse_by_lines(&text));
            let mut cut = cut.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut pieces = Collapsed::with_capacity(0);
            pieces.push_str(&text[..cut]);
            pieces.push_str(&text[cut..]);
            proptest::prop_assert_eq!(pieces.out, collapse_by_lines(&text));
        }
    }

    /// The plain-text path against ammonia on every body (summary and content) of every
    /// entry of the real-world feeds: the output of ingest must not change.
    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn plain_text_path_matches_ammonia_on_real_feeds() {
        let base = url::Url::parse("https://exemple.fr/actu/").unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/feeds/realworld");
        let mut files = vec![root];
        let (mut bodies, mut plain) = (0, 0);
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let Ok(feed) = feed_rs::parser::parse(std::fs::read(&path).unwrap().as_slice()) else {
                continue;
            };
            for entry in feed.entries {
                let texts = entry.summary.map(|s| s.content).into_iter();
                let texts = texts.chain(entry.content.and_then(|c| c.body));
                let texts = texts.chain(entry.title.map(|t| t.content));
                for body in texts {
                    bodies += 1;
                    if assert_plain_path_as_ammonia(&body, Some(&base)) {
                        plain += 1;
                    }
                    let slow = ammonia_clean(&body, Some(&base));
                    assert_eq!(sanitize_html(&body, Some(&base)), slow);
                    assert_eq!(
                        sanitize_with_text(&body, Some(&base)),
                        (slow.clone(), sanitized_to_text(&slow))
                    );
                    assert_eq!(collapse(&body), collapse_by_lines(&body));
                }
            }
        }
        println!("{bodies} bodies, {plain} through the plain-text path");
        assert!(
            bodies > 500 && plain > 100,
            "{bodies} bodies, {plain} plain"
        );
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
