//! Mends what real feeds get wrong and feed-rs refuses outright: a bare `&`, an `<rss>`
//! version it does not know, namespaces of the oldest RSS formats.

use std::borrow::Cow;

use memchr::memmem;

/// Old namespaces that feed-rs ignores, and the one it reads instead.
const LEGACY_NAMESPACES: [(&str, &str); 3] = [
    (
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/",
    ),
    (
        "http://backend.userland.com/rss2",
        "http://purl.org/rss/1.0/",
    ),
    (
        "http://backend.userland.com/rss",
        "http://purl.org/rss/1.0/",
    ),
];

/// `<rss version>` values feed-rs parses; any other is read as RSS 2.0, its superset.
const KNOWN_RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// The document with the repairs applied (UTF-8 text in, UTF-8 text out). Most feeds need
/// none: then the text is only read, never copied.
pub(super) fn repair_xml(text: &str) -> Cow<'_, str> {
    let mut text = match drop_late_declarations(text) {
        Cow::Borrowed(t) => escape_bare_ampersands(t),
        Cow::Owned(t) => Cow::Owned(escape_bare_ampersands(&t).into_owned()),
    };
    // Each replacement copies the document: only for the old formats that need it.
    for (old, new) in LEGACY_NAMESPACES {
        if !contains(&text, old) {
            continue;
        }
        for quote in ['"', '\''] {
            let replaced = text.replace(
                &format!("{quote}{old}{quote}"),
                &format!("{quote}{new}{quote}"),
            );
            text = Cow::Owned(replaced);
        }
    }
    normalize_rss_version(&mut text);
    if contains(&text, "<feed") && needs_retype(&text) {
        text = Cow::Owned(normalize_atom_text_types(&text));
    }
    text
}

/// Whether any `type` value that `retype` rewrites occurs at all (a quick scan that spares
/// well-formed Atom feeds the copy).
fn needs_retype(text: &str) -> bool {
    [
        "type=\"text/",
        "type='text/",
        "application/xhtml+xml",
        "type=\"\"",
        "type=''",
    ]
    .iter()
    .any(|p| contains(text, p))
}

/// `str::contains` through memchr's SIMD substring search: the repairs look for several
/// strings in every document, and most are found nowhere, so each search reads it all.
fn contains(text: &str, needle: &str) -> bool {
    memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
}

/// `str::find` of a string, through memchr's substring search.
fn find_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    memmem::find(&text.as_bytes()[from..], needle.as_bytes()).map(|at| from + at)
}

/// An XML declaration is only allowed at the very start. A later one (two feeds glued
/// together by a broken CMS, junk before the prolog) made quick-xml panic when it tried to
/// switch encodings mid-document (found by `make fuzz`); the text is already UTF-8, so a
/// late declaration says nothing and is dropped.
fn drop_late_declarations(text: &str) -> Cow<'_, str> {
    let is_declaration = |rest: &str| {
        rest.starts_with("<?xml")
            && rest[5..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_whitespace() || c == '?')
    };
    let late = memmem::find_iter(text.as_bytes(), b"<?xml")
        .any(|at| at > 0 && is_declaration(&text[at..]));
    if !late {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_start = true;
    while let Some(at) = rest.find("<?xml") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let first = at_start && at == 0;
        at_start = false;
        if first || !is_declaration(from) {
            out.push_str("<?xml");
            rest = &from[5..];
            continue;
        }
        rest = match from.find("?>") {
            Some(end) => &from[end + 2..],
            None => "",
        };
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Atom text constructs and the `type` values feed-rs accepts for them.
const ATOM_TEXT_ELEMENTS: [&str; 7] = [
    "title",
    "subtitle",
    "summary",
    "rights",
    "tagline",
    "info",
    "copyright",
];

/// Atom 0.3 and sloppy Atom 1.0 give text constructs MIME types (`text/plain`,
/// `application/xhtml+xml`) or an empty type, which feed-rs refuses — losing the whole feed.
/// They become the Atom 1.0 tokens `text`, `html` and `xhtml`.
fn normalize_atom_text_types(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('<') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let name_len = rest[1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(0, |n| n);
        let name = &rest[1..1 + name_len];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        if ATOM_TEXT_ELEMENTS.contains(&name) {
            out.push_str(&retype(tag));
        } else {
            out.push_str(tag);
        }
        rest = &rest[end..];
        out.push('>');
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

fn retype(tag: &str) -> String {
    let mapped = [
        ("type=\"text/plain\"", "type=\"text\""),
        ("type=\"text/html\"", "type=\"html\""),
        ("type=\"application/xhtml+xml\"", "type=\"xhtml\""),
        ("type=\"\"", "type=\"text\""),
        ("type='text/plain'", "type='text'"),
        ("type='text/html'", "type='html'"),
        ("type='application/xhtml+xml'", "type='xhtml'"),
        ("type=''", "type='text'"),
    ];
    let mut tag = tag.to_string();
    for (from, to) in mapped {
        tag = tag.replace(from, to);
    }
    tag
}

/// Escapes each `&` that starts no character or entity reference (`&amp;`, `&#233;`,
/// `&#xE9;`), outside CDATA sections and comments: one `?a=1&b=2` in a link otherwise makes
/// the XML parser reject the whole feed.
fn escape_bare_ampersands(text: &str) -> Cow<'_, str> {
    // Copied only from the first bare `&` on.
    let mut bare = Ampersands::new(text).filter(|&at| !starts_reference(&text[at + 1..]));
    let Some(first) = bare.next() else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut copied = 0;
    for at in std::iter::once(first).chain(bare) {
        out.push_str(&text[copied..at]);
        out.push_str("&amp;");
        copied = at + 1;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The positions of the `&` of a document outside CDATA sections and comments. Only `&` and
/// `<!` are searched for (each with a fast substring search, and each found once): stopping
/// at every tag made this scan a noticeable part of parsing a feed.
struct Ampersands<'a> {
    text: &'a str,
    at: usize,
    /// The next `&` and the next `<!` at or after `at`, as last searched (`None`: no more).
    amp: Option<usize>,
    bang: Option<usize>,
    /// Built once per document: a one-shot search sets up its searcher at every call.
    bang_finder: memmem::Finder<'static>,
}

impl<'a> Ampersands<'a> {
    fn new(text: &'a str) -> Ampersands<'a> {
        let bang_finder = memmem::Finder::new(b"<!");
        Ampersands {
            text,
            at: 0,
            amp: memchr::memchr(b'&', text.as_bytes()),
            bang: bang_finder.find(text.as_bytes()),
            bang_finder,
        }
    }

    /// `found` if still at or after `at`, else the next match from `at` on.
    fn search(&self, found: Option<usize>, find: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
        match found {
            Some(p) if p < self.at => find(&self.text.as_bytes()[self.at..]).map(|q| self.at + q),
            other => other,
        }
    }
}

impl Iterator for Ampersands<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            self.amp = self.search(self.amp, |b| memchr::memchr(b'&', b));
            self.bang = self.search(self.bang, |b| self.bang_finder.find(b));
            match (self.amp, self.bang) {
                (Some(amp), bang) if bang.is_none_or(|b| amp < b) => {
                    self.at = amp + 1;
                    return Some(amp);
                }
                (_, Some(bang)) => {
                    let rest = &self.text[bang..];
                    let close = if rest.starts_with("<![CDATA[") {
                        "]]>"
                    } else if rest.starts_with("<!--") {
                        "-->"
                    } else {
                        self.at = bang + 1;
                        continue;
                    };
                    self.at = find_from(rest, 0, close)
                        .map_or(self.text.len(), |e| bang + e + close.len());
                }
                _ => return None,
            }
        }
    }
}

/// Whether the text after a `&` is `name;`, `#digits;` or `#xhex;`.
fn starts_reference(after: &str) -> bool {
    let body_len = if let Some(number) = after.strip_prefix('#') {
        let digits = match number.strip_prefix(['x', 'X']) {
            Some(hex) => hex
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count()
                .checked_add(1)
                .filter(|n| *n > 1),
            None => {
                Some(number.chars().take_while(char::is_ascii_digit).count()).filter(|n| *n > 0)
            }
        };
        digits.map(|n| n + 1)
    } else {
        let n = after
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .count();
        (n > 0 && after.starts_with(|c: char| c.is_ascii_alphabetic())).then_some(n)
    };
    body_len.is_some_and(|n| after[n..].starts_with(';'))
}

/// Rewrites the root `<rss>` version to 2.0 when it is missing or one feed-rs does not know
/// (0.90, 0.93, 0.94, 2.00…): otherwise the whole feed is lost as "no root element".
fn normalize_rss_version(text: &mut Cow<'_, str>) {
    let Some(start) = find_rss_root(text) else {
        return;
    };
    let Some(end) = text[start..].find('>').map(|e| start + e) else {
        return;
    };
    let tag = &text[start..end];
    let Some(attr) = tag.find("version") else {
        text.to_mut().insert_str(start + 4, " version=\"2.0\"");
        return;
    };
    let after_name = &tag[attr + "version".len()..];
    let Some(eq) = after_name.find('=') else {
        return;
    };
    let value_area = &after_name[eq + 1..];
    let lead = value_area.len() - value_area.trim_start().len();
    let value_area = value_area.trim_start();
    let Some(quote) = value_area
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')
    else {
        return;
    };
    let Some(close) = value_area[1..].find(quote) else {
        return;
    };
    let version = &value_area[1..1 + close];
    if KNOWN_RSS_VERSIONS.contains(&version.trim()) {
        return;
    }
    let value_start = start + attr + "version".len() + eq + 1 + lead + 1;
    text.to_mut()
        .replace_range(value_start..value_start + close, "2.0");
}

fn find_rss_root(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(start) = find_from(text, from, "<rss") {
        if text[start + 4..].starts_with(|c: char| c.is_whitespace() || c == '>') {
            return Some(start);
        }
        from = start + 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan that stopped at every `<`, which [`Ampersands`] replaced: both must agree.
    fn escape_reference(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find(['&', '<']) {
            out.push_str(&rest[..pos]);
            rest = &rest[pos..];
            if rest.starts_with('<') {
                let close = if rest.starts_with("<![CDATA[") {
                    "]]>"
                } else if rest.starts_with("<!--") {
                    "-->"
                } else {
                    out.push('<');
                    rest = &rest[1..];
                    continue;
                };
                let end = rest.find(close).map_or(rest.len(), |e| e + close.len());
                out.push_str(&rest[..end]);
                rest = &rest[end..];
                continue;
            }
            let after = &rest[1..];
            out.push_str(if starts_reference(after) {
                "&"
            } else {
                "&amp;"
            });
            rest = after;
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn ampersands_outside_cdata_and_comments_as_before() {
        for text in [
            "<a>R&D &amp; co</a><![CDATA[ A&B ]]> & <!-- x & y --> &#x26; &#38; &x",
            "<!DOCTYPE x [ <!ENTITY a \"&\"> ]><r>&a; & <!--&--><!--",
            "<![CDATA[ & ]]><![CDATA[ & <!-- & ]]> & --> &",
            "<![CDATA[ & jamais fermé",
            "&&&;&#;&#x;&é;<!<!-<!--&-->&",
            "",
        ] {
            assert_eq!(
                escape_bare_ampersands(text),
                escape_reference(text),
                "{text}"
            );
        }
    }

    #[test]
    #[cfg_attr(not(shared_fixtures), ignore = "../shared/fixtures absent")]
    fn ampersands_as_before_on_the_fixture_feeds() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feeds");
        let mut dirs = vec![root];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    assert_eq!(
                        escape_bare_ampersands(&text),
                        escape_reference(&text),
                        "{}",
                        path.display()
                    );
                    files += 1;
                }
            }
        }
        assert!(files > 100, "{files} files only");
    }

    #[test]
    fn late_xml_declarations_are_dropped_and_stylesheets_kept() {
        let glued = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><?xml-stylesheet href=\"s.xsl\"?>\
                     <?xml version=\"1.0\" encoding=\"iso-8859-1\"?><channel/></rss>";
        assert_eq!(
            drop_late_declarations(glued),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><?xml-stylesheet href=\"s.xsl\"?><channel/></rss>"
        );
        assert!(matches!(drop_late_declarations("<rss/>"), Cow::Borrowed(_)));
    }

    #[test]
    fn bare_ampersands_are_escaped_outside_cdata_and_comments() {
        let text =
            "<link>https://a.fr/?a=1&b=2&amp;c=&#233;&#xE9;&x</link><![CDATA[a & b]]><!-- & -->";
        assert_eq!(
            escape_bare_ampersands(text),
            "<link>https://a.fr/?a=1&amp;b=2&amp;c=&#233;&#xE9;&amp;x</link><![CDATA[a & b]]><!-- & -->"
        );
    }

    #[test]
    fn unknown_rss_versions_become_2_0() {
        let mut t = Cow::from("<?xml version=\"1.0\"?><rss version='0.94'><channel/></rss>");
        normalize_rss_version(&mut t);
        assert_eq!(
            t,
            "<?xml version=\"1.0\"?><rss version='2.0'><channel/></rss>"
        );
        let mut t = Cow::from("<rss><channel/></rss>");
        normalize_rss_version(&mut t);
        assert_eq!(t, "<rss version=\"2.0\"><channel/></rss>");
        let mut t = Cow::from("<rss version=\"0.91\">");
        normalize_rss_version(&mut t);
        assert_eq!(t, "<rss version=\"0.91\">");
    }

    #[test]
    fn atom_text_types_become_atom_1_0_tokens() {
        let t = repair_xml(
            "<feed><title type=\"text/plain\">A</title><content type=\"text/html\">x</content><summary type=''>s</summary></feed>",
        );
        assert_eq!(
            t,
            "<feed><title type=\"text\">A</title><content type=\"text/html\">x</content><summary type='text'>s</summary></feed>"
        );
    }

    #[test]
    fn legacy_namespaces_are_mapped() {
        let t = repair_xml("<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">");
        assert_eq!(t, "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\">");
    }
}
