//! DKIM signatures with RSA keys (RFC 6376, rsa-sha256, relaxed/relaxed) made by aws-lc.
//!
//! lettre signs with the pure-Rust `rsa` crate, several times slower than aws-lc for a
//! 2048-bit key: on two cores that alone capped a send near a thousand messages a second.
//! This signer produces the header lettre would (same tags, same signed-header list, inserted
//! the same way), so verifiers see no difference; Ed25519 keys, fast already, stay with lettre.

use std::time::SystemTime;

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue, Headers};
use sha2::{Digest, Sha256};

/// An RSA key with the selector, domain and headers it signs.
pub(crate) struct RsaSigner {
    key: KeyPair,
    selector: String,
    domain: String,
    /// The signed header names, lowercased, in `h=` order.
    headers: Vec<String>,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// A PKCS#1 PEM key (`BEGIN RSA PRIVATE KEY`); the error says what is wrong with it.
    pub(crate) fn from_pem(
        pem: &str,
        selector: &str,
        domain: &str,
        headers: &[&str],
    ) -> Result<RsaSigner, String> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "le contenu PEM n'est pas du base64 valide".to_string())?;
        let key = KeyPair::from_der(&der).map_err(|e| format!("clé RSA refusée ({e})"))?;
        Ok(RsaSigner {
            key,
            selector: selector.to_string(),
            domain: domain.to_string(),
            headers: headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        })
    }

    /// Adds the DKIM-Signature header to a finished message.
    pub(crate) fn sign(&self, message: &mut Message, date: SystemTime) -> anyhow::Result<()> {
        let (_, header) = self.header(&message.formatted(), date)?;
        message.headers_mut().insert_raw(header);
        Ok(())
    }

    /// The formatted message with its DKIM-Signature header: the bytes `sign` then lettre's
    /// `formatted` would give (the header last in the header block), without formatting the
    /// message a second time.
    pub(crate) fn signed(&self, formatted: &[u8], date: SystemTime) -> anyhow::Result<Vec<u8>> {
        let (split, header) = self.header(formatted, date)?;
        let mut headers = Headers::new();
        headers.insert_raw(header);
        let line = headers.to_string();
        let mut out = Vec::with_capacity(formatted.len() + line.len());
        out.extend_from_slice(&formatted[..split]);
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(&formatted[split..]);
        Ok(out)
    }

    /// Where the header block of `formatted` ends (after its last CRLF), and the signature.
    fn header(&self, formatted: &[u8], date: SystemTime) -> anyhow::Result<(usize, HeaderValue)> {
        let split =
            memchr::memmem::find(formatted, b"\r\n\r\n").map_or(formatted.len(), |at| at + 2);
        let (head, body) = formatted.split_at(split);
        // lettre hashes the body with a CRLF after it (what the DATA terminator adds).
        let body = body.strip_prefix(b"\r\n").unwrap_or(body);
        let mut hasher = Sha256::new();
        hash_relaxed_body(body, &mut hasher);
        let body_hash = STANDARD.encode(hasher.finalize());
        let timestamp = date
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let tags = format!(
            "v=1; a=rsa-sha256; d={}; s={}; c=relaxed/relaxed; q=dns/txt; t={timestamp}; h={}; bh={body_hash}; b=",
            self.domain,
            self.selector,
            self.headers.join(":"),
        );
        let head = std::str::from_utf8(head)
            .map_err(|_| anyhow::anyhow!("en-têtes du message hors UTF-8"))?;
        let fields = fields(head);
        let mut signed = String::with_capacity(1024);
        for name in &self.headers {
            if let Some((_, value)) = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                signed.push_str(name);
                signed.push(':');
                relaxed_value(value, &mut signed);
                signed.push_str("\r\n");
            }
        }
        signed.push_str("dkim-signature:");
        relaxed_value(&tags, &mut signed);
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| anyhow::anyhow!("signature DKIM impossible"))?;
        Ok((
            split,
            HeaderValue::new(
                HeaderName::new_from_ascii_str("DKIM-Signature"),
                format!("{tags}{}", STANDARD.encode(&signature)),
            ),
        ))
    }
}

/// The header fields of a header block, unfolded later: (name, raw value after the colon).
fn fields(head: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = head.as_bytes();
    let mut at = 0;
    while let Some(end) = head[at..].find("\r\n").map(|e| at + e) {
        let continued = matches!(bytes.get(end + 2), Some(b' ' | b'\t'));
        at = end + 2;
        if continued {
            continue;
        }
        let field = &head[start..end];
        if let Some((name, value)) = field.split_once(':') {
            out.push((name, value));
        }
        start = at;
    }
    out
}

/// RFC 6376 relaxed header value: unfolded, runs of spaces and tabs as one space, none at
/// either end.
fn relaxed_value(value: &str, out: &mut String) {
    let mut pending_space = false;
    let mut started = false;
    for c in value.chars() {
        match c {
            '\r' | '\n' => {}
            ' ' | '\t' => pending_space = started,
            c => {
                if pending_space {
                    out.push(' ');
                }
                pending_space = false;
                started = true;
                out.push(c);
            }
        }
    }
}

/// RFC 6376 relaxed body, hashed as it is made: spaces and tabs at line ends dropped, other
/// runs as one space, empty lines at the end dropped, the body ending with one CRLF (an
/// empty body stays empty).
fn hash_relaxed_body(body: &[u8], hasher: &mut Sha256) {
    let mut blank_lines = 0usize;
    let mut line = Vec::with_capacity(128);
    let mut rest = body;
    while !rest.is_empty() {
        let (raw, next) = match find_crlf(rest) {
            Some(end) => (&rest[..end], &rest[end + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        // Most lines of an encoded part are already relaxed (no tab, no run of spaces, none
        // at the end): hashed in place, without the copy.
        let relaxed: &[u8] = if already_relaxed(raw) {
            raw
        } else {
            line.clear();
            let mut space = false;
            for &b in raw {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        line.push(b' ');
                    }
                    space = false;
                    line.push(b);
                }
            }
            &line
        };
        if relaxed.is_empty() {
            blank_lines += 1;
            continue;
        }
        for _ in 0..blank_lines {
            hasher.update(b"\r\n");
        }
        blank_lines = 0;
        hasher.update(relaxed);
        hasher.update(b"\r\n");
    }
}

/// Where the first CRLF of `bytes` starts.
fn find_crlf(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'\n', &bytes[from..]).map(|at| from + at) {
        if at > 0 && bytes[at - 1] == b'\r' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

/// Whether relaxed canonicalisation leaves `line` as it is.
fn already_relaxed(line: &[u8]) -> bool {
    line.last() != Some(&b' ')
        && memchr::memchr(b'\t', line).is_none()
        && memchr::memmem::find(line, b"  ").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relaxed_body(body: &[u8]) -> Vec<u8> {
        // The same rules as the hashing, written out plainly, to compare with.
        let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| {
                let words: Vec<&str> = l.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
                let lead = if l.starts_with([' ', '\t']) && !words.is_empty() {
                    " "
                } else {
                    ""
                };
                format!("{lead}{}", words.join(" "))
            })
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
            .iter()
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
            .into_bytes()
    }

    /// The relaxed body as it was hashed before the in-place fast path: every line copied.
    fn relaxed_by_copy(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut blank_lines = 0;
        let mut rest = body;
        while !rest.is_empty() {
            let (raw, next) = match rest.windows(2).position(|w| w == b"\r\n") {
                Some(end) => (&rest[..end], &rest[end + 2..]),
                None => (rest, &rest[rest.len()..]),
            };
            rest = next;
            let mut line = Vec::new();
            let mut space = false;
            for &b in raw {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        line.push(b' ');
                    }
                    space = false;
                    line.push(b);
                }
            }
            if line.is_empty() {
                blank_lines += 1;
                continue;
            }
            out.extend(std::iter::repeat_n(b"\r\n".as_slice(), blank_lines).flatten());
            blank_lines = 0;
            out.extend_from_slice(&line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn relaxed_body_hash_agrees_with_the_copying_reading(body in "[ab \t\r\n.=]{0,200}") {
            let mut h = Sha256::new();
            hash_relaxed_body(body.as_bytes(), &mut h);
            proptest::prop_assert_eq!(
                h.finalize().to_vec(),
                Sha256::digest(relaxed_by_copy(body.as_bytes())).to_vec()
            );
            if !body.replace("\r\n", "").contains(['\r', '\n']) {
                // With CRLF line ends only, the plain rules of RFC 6376 give the same.
                let mut h = Sha256::new();
                hash_relaxed_body(body.as_bytes(), &mut h);
                proptest::prop_assert_eq!(
                    h.finalize().to_vec(),
                    Sha256::digest(relaxed_body(body.as_bytes())).to_vec()
                );
            }
        }
    }

    #[test]
    fn relaxed_body_follows_rfc_6376_examples() {
        let mut h = Sha256::new();
        hash_relaxed_body(b" C \r\nD \t E\r\n\r\n\r\n", &mut h);
        assert_eq!(
            h.finalize().to_vec(),
            Sha256::digest(b" C\r\nD E\r\n").to_vec()
        );
        let mut h = Sha256::new();
        hash_relaxed_body(b"", &mut h);
        assert_eq!(h.finalize().to_vec(), Sha256::digest(b"").to_vec());
        let body = b"a\r\n \r\n\r\n  b  \r\nc\t\r\n\r\n";
        let mut h = Sha256::new();
        hash_relaxed_body(body, &mut h);
        assert_eq!(
            h.finalize().to_vec(),
            Sha256::digest(relaxed_body(body)).to_vec()
        );
    }

    #[test]
    fn the_spliced_header_is_the_one_lettre_would_format() {
        let signer = RsaSigner {
            key: KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
            selector: "veille".into(),
            domain: "exemple.fr".into(),
            headers: vec!["from".into(), "subject".into()],
        };
        let mut message = Message::builder()
            .from("lettre@exemple.fr".parse().unwrap())
            .to("lectrice@exemple.fr".parse().unwrap())
            .subject("Flash Info n° 12")
            .body(String::from("Bonjour,\r\n\r\nla lettre.\r\n"))
            .unwrap();
        let date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let spliced = signer.signed(&message.formatted(), date).unwrap();
        signer.sign(&mut message, date).unwrap();
        assert_eq!(
            String::from_utf8(spliced).unwrap(),
            String::from_utf8(message.formatted()).unwrap()
        );
    }

    #[test]
    fn relaxed_headers_unfold_and_collapse() {
        let head = "From: A <a@b.fr>\r\nSubject:  Un \r\n\t deux\r\nTo: c@d.fr\r\n";
        let f = fields(head);
        assert_eq!(f.len(), 3);
        let mut out = String::new();
        relaxed_value(f[1].1, &mut out);
        assert_eq!(out, "Un deux");
    }
}
