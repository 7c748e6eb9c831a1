//! The edition's text and HTML parts encoded once per send: a recipient's part reuses the
//! encoded lines it shares with the template, so that only the few lines carrying a personal
//! value (greeting, unsubscribe and preferences links) are encoded again for each message.
//!
//! The result is the `Body` lettre's `Body::new` makes of the same text, byte for byte: the
//! same choice of transfer encoding (lettre's own chooser, `email_encoding`), the same line
//! endings and, for quoted-printable, the same encoder (`quoted_printable`, lettre's). Reuse
//! by line is sound because quoted-printable starts afresh at each hard line break: the
//! encoding of `a\r\nb` is the encoding of `a`, CRLF, the encoding of `b` (the encoder's
//! line length, its soft breaks and the escape of a trailing space or tab are all per line).

use std::collections::HashMap;

use email_encoding::body::Encoding;
use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// One part's template (before any personal value is filled in), its lines encoded.
#[derive(Debug, Default)]
pub(crate) struct EncodedPart {
    /// Each line of the template, in order, with its quoted-printable encoding and what
    /// lettre's encoding chooser reads of it.
    lines: Vec<(Box<str>, Box<str>, LineFacts)>,
    /// Where a line's text first appears in `lines`, to find it again after a line that
    /// personalisation changed or removed.
    by_text: HashMap<Box<str>, usize>,
}

/// What lettre's encoding chooser (`Encoding::choose`) reads of one line, its line end
/// apart: whether it is ASCII and how many of its bytes quoted-printable must escape.
#[derive(Debug, Clone, Copy)]
struct LineFacts {
    ascii: bool,
    escapes: usize,
}

impl LineFacts {
    fn of(line: &str) -> LineFacts {
        LineFacts {
            ascii: line.is_ascii(),
            escapes: line
                .bytes()
                .filter(|b| !matches!(b, b'\t' | b' '..=b'~'))
                .count(),
        }
    }
}

/// `Encoding::choose(text, false)` summed line by line: ASCII with no line of 76 bytes or
/// more (counted from the previous LF, itself included) is 7bit; otherwise
/// quoted-printable when at most a third of the bytes (CR and LF included) need escaping,
/// else base64.
#[derive(Debug)]
struct Choice {
    ascii: bool,
    too_long: bool,
    escapes: usize,
}

impl Choice {
    fn add(&mut self, n: usize, line: &str, cr: bool, facts: LineFacts) {
        let raw = line.len() + usize::from(cr);
        let measured = if n == 0 { raw } else { raw + 1 };
        self.ascii &= facts.ascii;
        self.too_long |= measured >= 76;
        // The CR and the LF before this line need escaping too.
        self.escapes += facts.escapes + usize::from(cr) + usize::from(n > 0);
    }

    fn encoding(&self, length: usize) -> Encoding {
        if self.ascii && !self.too_long {
            Encoding::SevenBit
        } else if self.escapes <= length / 3 {
            Encoding::QuotedPrintable
        } else {
            Encoding::Base64
        }
    }
}

impl EncodedPart {
    pub(crate) fn new(template: &str) -> EncodedPart {
        let mut part = EncodedPart::default();
        for (line, _) in lines(template) {
            part.by_text.entry(line.into()).or_insert(part.lines.len());
            part.lines
                .push((line.into(), encode_line(line).into(), LineFacts::of(line)));
        }
        part
    }

    /// What `Body::new(text.to_string())` gives, reusing the template's encoded lines and
    /// what the chooser read of them.
    pub(crate) fn body(&self, text: &str) -> Body {
        let (encoded, choice) = self.quoted_printable(text);
        match choice.encoding(text.len()) {
            Encoding::SevenBit => Body::dangerous_pre_encoded(
                crlf(text).into_bytes(),
                ContentTransferEncoding::SevenBit,
            ),
            Encoding::QuotedPrintable => Body::dangerous_pre_encoded(
                encoded.into_bytes(),
                ContentTransferEncoding::QuotedPrintable,
            ),
            // Base64 (a text mostly outside ASCII): rare enough to leave to lettre.
            _ => Body::new(text.to_string()),
        }
    }

    /// The quoted-printable encoding of `text`, and the encoding lettre would choose for it.
    fn quoted_printable(&self, text: &str) -> (String, Choice) {
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        let mut choice = Choice {
            ascii: true,
            too_long: false,
            escapes: 0,
        };
        // The template line expected next: personalisation mostly changes lines in place.
        let mut next = 0;
        for (n, (line, cr)) in lines(text).enumerate() {
            if n > 0 {
                out.push_str("\r\n");
            }
            let known = match self.lines.get(next) {
                Some((raw, _, _)) if **raw == *line => Some(next),
                _ => self.by_text.get(line).copied(),
            };
            match known {
                Some(at) => {
                    let (_, encoded, facts) = &self.lines[at];
                    out.push_str(encoded);
                    choice.add(n, line, cr, *facts);
                    next = at + 1;
                }
                None => {
                    out.push_str(&encode_line(line));
                    choice.add(n, line, cr, LineFacts::of(line));
                    next += 1;
                }
            }
        }
        (out, choice)
    }
}

/// The lines `Body::new` encodes: the text split at each LF, a CR just before it dropped
/// (lettre ends every line with CRLF before encoding) and said; a lone CR stays in its line.
fn lines(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut segments = text.split('\n').peekable();
    std::iter::from_fn(move || {
        let segment = segments.next()?;
        Some(match segment.strip_suffix('\r') {
            Some(line) if segments.peek().is_some() => (line, true),
            _ => (segment, false),
        })
    })
}

fn encode_line(line: &str) -> String {
    quoted_printable::encode_to_str(line)
}

/// lettre's CRLF line endings: a CR added before each LF that has none, in one pass.
fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut segments = text.split('\n').peekable();
    while let Some(segment) = segments.next() {
        out.push_str(segment);
        if segments.peek().is_some() {
            if !segment.ends_with('\r') {
                out.push('\r');
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lettre_body(text: &str) -> (Vec<u8>, ContentTransferEncoding) {
        let body = Body::new(text.to_string());
        (body.clone().into_vec(), body.encoding())
    }

    fn same_as_lettre(part: &EncodedPart, text: &str) {
        let ours = part.body(text);
        let (bytes, encoding) = lettre_body(text);
        assert_eq!(ours.encoding(), encoding, "{text:?}");
        assert_eq!(
            String::from_utf8_lossy(&ours.into_vec()),
            String::from_utf8_lossy(&bytes),
            "{text:?}"
        );
    }

    #[test]
    fn personalised_parts_encode_as_lettre_would() {
        let long = "é".repeat(50);
        let template = format!(
            "<p>SALUTATION-DESTINATAIRE</p>\n<td style=\"padding: 0 0 8px 0; font-family: Georgia, serif\">Pauvreté : {long}</td>\r\n\
             trailing space \n\ttab\t\nlone\rcr\n\n<a href=\"https://veille.example.org/desabonnement/JETON-DESABONNEMENT\">x</a>\n"
        );
        let part = EncodedPart::new(&template);
        same_as_lettre(&part, &template);
        for greeting in [
            "Bonjour Hélène,",
            "",
            "Bonjour <b>Zoé</b> & \"cie\" =?utf-8?q?x?= ,",
            "Bonjour .\r\n.",
            &"Ω".repeat(90),
        ] {
            let text = template
                .replace("SALUTATION-DESTINATAIRE", greeting)
                .replace("JETON-DESABONNEMENT", "u.42.Zmxhc2gtaW5mbw.0.c2lnbmF0dXJl");
            same_as_lettre(&part, &text);
            // A removed line: the next ones are found again.
            same_as_lettre(&part, &text.replacen("\n", "", 1));
        }
        // Plain ASCII with short lines is sent as 7bit; mostly non-ASCII as base64.
        same_as_lettre(&part, "Bonjour,\nla lettre.\r\n");
        same_as_lettre(&part, &"€".repeat(40));
    }

    proptest! {
        #[test]
        fn the_choice_summed_by_line_is_lettres(
            text in "([a-z =.\t\r\n]{0,100}|[a-zé =.\t\r\n€]{0,300})",
        ) {
            let (_, choice) = EncodedPart::new("").quoted_printable(&text);
            prop_assert_eq!(choice.encoding(text.len()), Encoding::choose(&*text, false));
        }

        #[test]
        fn any_text_encodes_as_lettre_would(
            template in "([a-zé =.\t\r\n€]{0,90}\n){0,12}",
            edit in "[a-zé =.\t\r\n]{0,30}",
            at in 0usize..400,
        ) {
            let part = EncodedPart::new(&template);
            let mut text = template.clone();
            let mut cut = at.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.insert_str(cut, &edit);
            let ours = part.body(&text);
            let (bytes, encoding) = lettre_body(&text);
            prop_assert_eq!(ours.encoding(), encoding);
            prop_assert_eq!(ours.into_vec(), bytes);
        }
    }
}
