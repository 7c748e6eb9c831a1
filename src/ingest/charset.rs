//! Decides the character encoding of fetched bytes and transcodes them to UTF-8.
//!
//! reqwest and feed-rs do not look inside documents, so this follows what browsers and
//! feedparser do: byte order mark, then the document's own declaration, then the HTTP
//! header, then detection.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

/// The charset parameter of a `Content-Type` header, if any.
fn http_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let value = content_type?;
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(val.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

/// The encoding named in `<?xml … encoding="…"?>`, if present and known.
fn xml_declared(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512)];
    let start = find(head, b"<?xml")?;
    let end = start + find(&head[start..], b"?>")?;
    let decl = &head[start..end];
    let pos = find(decl, b"encoding")?;
    let rest = &decl[pos + 8..];
    let quote_at = rest.iter().position(|b| *b == b'"' || *b == b'\'')?;
    let quote = rest[quote_at];
    let value = &rest[quote_at + 1..];
    let close = value.iter().position(|b| *b == quote)?;
    Encoding::for_label(&value[..close])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn detect(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(Some(b"fr"), chardetng::Utf8Detection::Allow)
}

/// Picks the encoding of an XML feed.
///
/// Bytes that are valid UTF-8 are read as UTF-8 whatever the prolog says: a document
/// mislabelled as Latin-1 is far more common than Latin-1 that happens to be valid UTF-8.
pub(crate) fn xml_encoding(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return encoding;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let usable = |e: &'static Encoding| e != UTF_8 && !is_utf16(e);
    if let Some(declared) = xml_declared(bytes).filter(|e| usable(e)) {
        return declared;
    }
    if let Some(header) = http_charset(content_type).filter(|e| usable(e)) {
        return header;
    }
    detect(bytes)
}

/// The text of an XML feed, decoded with [`xml_encoding`]'s choice. Bytes without a BOM that
/// are valid UTF-8 — most feeds — are validated once and borrowed, not validated a second
/// time by the decoder.
pub(crate) fn decode_xml<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if Encoding::for_bom(bytes).is_none()
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        return Cow::Borrowed(text);
    }
    xml_encoding(bytes, content_type).decode(bytes).0
}

/// Picks the encoding of an HTML page as the WHATWG encoding sniffing algorithm does:
/// BOM, HTTP header, `<meta>` prescan, then detection.
pub(crate) fn html_encoding(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        return encoding;
    }
    if let Some(header) = http_charset(content_type) {
        return header.output_encoding();
    }
    if let Some(meta) = meta_charset(&bytes[..bytes.len().min(1024)]) {
        return meta.output_encoding();
    }
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    detect(bytes)
}

fn is_utf16(e: &'static Encoding) -> bool {
    e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE
}

/// `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…; charset=…">`.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = lower[start..]
            .iter()
            .position(|b| *b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(cs) = find(tag, b"charset") {
            let value = tag[cs + 7..]
                .iter()
                .skip_while(|b| {
                    b.is_ascii_whitespace() || **b == b'=' || **b == b'"' || **b == b'\''
                })
                .take_while(|b| {
                    !(b.is_ascii_whitespace() || matches!(**b, b'"' | b'\'' | b';' | b'/'))
                })
                .copied()
                .collect::<Vec<u8>>();
            if let Some(e) = Encoding::for_label(&value) {
                return Some(e);
            }
        }
        from = end;
    }
    None
}

/// Decodes bytes with the given encoding (BOM removed, malformed sequences replaced).
pub(crate) fn decode(bytes: &[u8], encoding: &'static Encoding) -> String {
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

/// Rewrites the XML declaration of an already-decoded document to say UTF-8.
pub(super) fn declare_utf8(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_start_matches('\u{feff}');
    if !trimmed.trim_start().starts_with("<?xml") {
        return Cow::Borrowed(trimmed);
    }
    let lead = trimmed.len() - trimmed.trim_start().len();
    let body = &trimmed[lead..];
    if lead == 0 && declares_utf8(body) {
        return Cow::Borrowed(trimmed);
    }
    match body.find("?>") {
        Some(end) => Cow::Owned(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
            &body[end + 2..]
        )),
        None => Cow::Borrowed(trimmed),
    }
}

/// Whether a prolog already says `encoding="UTF-8"` (any case, either quote) or names no
/// encoding (XML's default is UTF-8).
fn declares_utf8(body: &str) -> bool {
    let Some(end) = body.find("?>") else {
        return false;
    };
    let prolog = &body.as_bytes()[..end];
    match find(prolog, b"encoding") {
        None => true,
        Some(at) => {
            let value = prolog[at + 8..]
                .iter()
                .skip_while(|b| b.is_ascii_whitespace() || **b == b'=')
                .copied()
                .collect::<Vec<u8>>();
            [b"\"utf-8\"".as_slice(), b"'utf-8'".as_slice()]
                .iter()
                .any(|v| value.len() >= v.len() && value[..v.len()].eq_ignore_ascii_case(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_without_declaration_is_detected() {
        let bytes = b"<rss><channel><title>Pr\xe9carit\xe9 \xe9nerg\xe9tique et s\xe9curit\xe9 \xe0 l'\xe9cole</title></channel></rss>";
        let enc = xml_encoding(bytes, Some("text/xml"));
        assert!(decode(bytes, enc).contains("Précarité énergétique"));
    }

    #[test]
    fn header_used_when_declaration_is_missing() {
        let bytes = b"<rss><title>\xd0\xd2\xc9\xd7\xc5\xd4</title></rss>";
        let enc = xml_encoding(bytes, Some("application/rss+xml; charset=KOI8-R"));
        assert_eq!(enc, encoding_rs::KOI8_R);
        assert!(decode(bytes, enc).contains("привет"));
    }

    #[test]
    fn a_utf8_prolog_is_kept_as_is() {
        let text = "<?xml version='1.0' encoding = \"utf-8\" ?><rss/>";
        assert!(matches!(declare_utf8(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(
            declare_utf8("<?xml version=\"1.0\"?><rss/>"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            declare_utf8("<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss/>"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>"
        );
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_prolog() {
        let bytes = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><title>été</title></rss>"
            .as_bytes();
        assert_eq!(xml_encoding(bytes, None), UTF_8);
        assert!(
            declare_utf8(&decode(bytes, UTF_8))
                .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>")
        );
    }

    /// `decode_xml` reads every document as `xml_encoding` then `decode` did.
    #[test]
    fn decode_xml_is_the_chosen_decoding() {
        let mut samples: Vec<Vec<u8>> = vec![
            "<?xml version=\"1.0\"?><rss><title>été</title></rss>".into(),
            b"\xef\xbb\xbf<rss><title>\xc3\xa9t\xc3\xa9</title></rss>".to_vec(),
            b"\xff\xfe<\x00r\x00s\x00s\x00/\x00>\x00".to_vec(),
            b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss>\xe9t\xe9</rss>".to_vec(),
            b"<rss>Pr\xe9carit\xe9 \xe9nerg\xe9tique</rss>".to_vec(),
            Vec::new(),
        ];
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feeds");
        let mut dirs = vec![fixtures];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for path in entries.map(|e| e.expect("entry").path()) {
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    samples.push(std::fs::read(&path).expect("fixture"));
                }
            }
        }
        for bytes in &samples {
            for header in [None, Some("text/xml; charset=koi8-r")] {
                assert_eq!(
                    decode_xml(bytes, header),
                    xml_encoding(bytes, header).decode(bytes).0,
                    "{}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
                );
            }
        }
    }

    #[test]
    fn html_meta_prescan() {
        let bytes = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"></head><body>\xe9</body></html>";
        assert_eq!(
            html_encoding(bytes, Some("text/html")),
            encoding_rs::WINDOWS_1252
        );
        assert_eq!(html_encoding(b"<meta charset='utf-8'>", None), UTF_8);
    }
}
