//! One message per recipient: headers bulk senders must carry (RFC 8058 one-click
//! unsubscribe, List-Id, Message-ID, Date), multipart/alternative text + HTML with the
//! recipient's own unsubscribe link, and a DKIM signature (relaxed/relaxed) covering both
//! List-Unsubscribe headers.

use std::time::SystemTime;

use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{
    self, ContentTransferEncoding, Header, HeaderName, HeaderValue, Headers,
};
use lettre::message::{Body, Mailbox, Mailboxes, MultiPart, SinglePart};

use crate::config::MailSettings;
use crate::publish::{
    PREFERENCES_PATH, PREFERENCES_REQUEST_PATH, PREFERENCES_TOKEN_PLACEHOLDER, UNSUBSCRIBE_PATH,
    UNSUBSCRIBE_TOKEN_PLACEHOLDER,
};

/// What every message of one send shares.
pub(crate) struct Letter {
    pub(crate) from: Mailbox,
    pub(crate) reply_to: Option<Mailbox>,
    pub(crate) subject: String,
    /// `<list>.<domain>` for List-Id, with the list's title as its phrase.
    pub(crate) list_id: String,
    pub(crate) list_title: String,
    /// Address for `mailto:` unsubscribes.
    pub(crate) unsubscribe_mailto: String,
    pub(crate) base_url: String,
    pub(crate) html: String,
    pub(crate) text: String,
    pub(crate) dkim: Option<Signer>,
    /// `text` and `html` encoded once, on the first message (`parts`).
    pub(crate) encoded: std::sync::OnceLock<EncodedParts>,
    /// The header lines shared by every message, formatted on the first one.
    pub(crate) frame: std::sync::OnceLock<Frame>,
}

/// The text and HTML templates of a `Letter`, encoded for reuse by every recipient.
#[derive(Debug, Default)]
pub(crate) struct EncodedParts {
    text: super::parts::EncodedPart,
    html: super::parts::EncodedPart,
}

/// Removes every control character (CR and LF included): nothing from a title, a name or
/// the configuration can start a new header line.
pub(crate) fn header_safe(text: &str) -> String {
    crate::text::one_line(text)
}

/// The mailbox written in the configuration (`Nom <adresse>` or `adresse`).
pub(crate) fn parse_mailbox(text: &str, what: &str) -> anyhow::Result<Mailbox> {
    header_safe(text)
        .parse()
        .map_err(|e| {
            tracing::debug!("adresse refusée par lettre : {e}");
            anyhow::anyhow!("adresse {what} invalide « {text} » : attendu « Nom <adresse@domaine> » ou « adresse@domaine »")
        })
}

/// The DKIM configuration of `[mail]`, when a key is given: a PKCS#1 PEM RSA key (2048
/// bits) or a base64 Ed25519 key, in `VEILLE_DKIM_KEY` or else in the file `dkim_key`
/// (readable by its owner only).
pub(crate) fn dkim_config(settings: &MailSettings) -> anyhow::Result<Option<Signer>> {
    let from_env = std::env::var("VEILLE_DKIM_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    let path = match (&settings.dkim_key, &from_env) {
        (_, Some(_)) => "VEILLE_DKIM_KEY",
        (Some(path), None) => path.as_str(),
        (None, None) => return Ok(None),
    };
    let (Some(selector), Some(domain)) = (&settings.dkim_selector, &settings.dkim_domain) else {
        anyhow::bail!("dkim_key demande aussi dkim_selector et dkim_domain dans [mail]");
    };
    let key_text = match from_env {
        Some(text) => text,
        None => String::from_utf8(crate::secrets::read_existing(
            std::path::Path::new(path),
            "la clé DKIM",
        )?)
        .map_err(|_| anyhow::anyhow!("clé DKIM illisible {path} : ce n'est pas du texte"))?,
    };
    let headers = [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "MIME-Version",
        // Not Content-Type: lettre 0.11 signs its folded multipart value in a form that
        // verifiers (dkimpy) do not reproduce; the body hash covers the content anyway.
    ];
    if key_text.contains("BEGIN RSA PRIVATE KEY") {
        let signer = super::dkim::RsaSigner::from_pem(&key_text, selector, domain, &headers)
            .map_err(|e| anyhow::anyhow!("clé DKIM {path} illisible : {e}"))?;
        return Ok(Some(Signer::Rsa(Box::new(signer))));
    }
    if key_text.contains("BEGIN") {
        anyhow::bail!(
            "clé DKIM {path} : une clé RSA doit être au format PKCS#1 (« BEGIN RSA PRIVATE KEY ») ; \
             convertissez-la avec : openssl rsa -in {path} -traditional -out dkim.pem"
        );
    }
    let key = DkimSigningKey::new(key_text.trim(), DkimSigningAlgorithm::Ed25519)
        .map_err(|e| anyhow::anyhow!("clé DKIM {path} illisible : {e}"))?;
    Ok(Some(Signer::Lettre(Box::new(DkimConfig::new(
        selector.clone(),
        domain.clone(),
        key,
        headers
            .into_iter()
            .map(HeaderName::new_from_ascii_str)
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    )))))
}

/// Who signs the messages: RSA keys with aws-lc (`dkim`), Ed25519 keys with lettre.
pub(crate) enum Signer {
    Rsa(Box<super::dkim::RsaSigner>),
    Lettre(Box<DkimConfig>),
}

/// A message ready to go: its envelope and its bytes, signed.
pub(crate) struct Formatted {
    pub(crate) envelope: lettre::address::Envelope,
    pub(crate) bytes: Vec<u8>,
}

/// One message's addressee: who (for the templates' `recipient` placeholders), at which
/// address, with which unsubscribe token, under which Message-ID and date.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recipient<'a> {
    pub(crate) person: &'a crate::model::SubscriberDetails,
    pub(crate) to: &'a str,
    pub(crate) token: &'a str,
    pub(crate) message_id: &'a str,
    pub(crate) date: SystemTime,
}

/// What is personal to one delivery beyond the `Recipient`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Delivery<'a> {
    /// The envelope sender (VERP), when not the From address.
    pub(crate) envelope_from: Option<&'a str>,
    /// The recipient's preferences token; None: the link asks for one by e-mail.
    pub(crate) preferences_token: Option<&'a str>,
}

/// The "gérer mon abonnement" link: the recipient's own page, or, for copies that belong to
/// nobody (a test copy, the public web copy), the page where a reader asks for a link.
pub(crate) fn preferences_link(text: &str, token: Option<&str>) -> String {
    let placeholder = format!("{PREFERENCES_PATH}{PREFERENCES_TOKEN_PLACEHOLDER}");
    match token {
        Some(token) => text.replace(&placeholder, &format!("{PREFERENCES_PATH}{token}")),
        None => text.replace(&placeholder, PREFERENCES_REQUEST_PATH),
    }
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), header_safe(&value))
}

impl Letter {
    /// The recipient's unsubscribe URL.
    pub(crate) fn unsubscribe_url(&self, token: &str) -> String {
        format!("{}{UNSUBSCRIBE_PATH}{token}", self.base_url)
    }

    /// The message for one recipient, signed when DKIM is configured.
    pub(crate) fn message(
        &self,
        to: &str,
        token: &str,
        message_id: &str,
        date: SystemTime,
        subject_prefix: &str,
    ) -> anyhow::Result<Message> {
        let nobody = crate::model::SubscriberDetails::default();
        let recipient = Recipient {
            person: &nobody,
            to,
            token,
            message_id,
            date,
        };
        self.message_for(recipient, subject_prefix, Delivery::default())
    }

    /// `message` for one delivery of a send: what is known of the recipient in the templates'
    /// `recipient` placeholders (« Bonjour Hélène, »), its VERP envelope sender, so that
    /// refusals coming back later name it, and the recipient's preferences link.
    pub(crate) fn message_for(
        &self,
        recipient: Recipient<'_>,
        subject_prefix: &str,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Message> {
        let mut message = self.unsigned_for(recipient, subject_prefix, delivery)?;
        match &self.dkim {
            Some(Signer::Rsa(signer)) => signer.sign(&mut message, recipient.date)?,
            Some(Signer::Lettre(config)) => message.sign(config),
            None => {}
        }
        Ok(message)
    }

    /// `message_for` as the bytes sent and their envelope: the header lines every message
    /// shares come from the send's `Frame` (formatted by lettre once), the recipient's own
    /// lines from lettre's header types, the bytes lettre's builder and `formatted` would give
    /// (tested); an RSA signature goes into those bytes (`RsaSigner::signed`).
    pub(crate) fn formatted_for(
        &self,
        recipient: Recipient<'_>,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Formatted> {
        if let Some(Signer::Lettre(config)) = &self.dkim {
            // Ed25519: lettre signs its own message.
            let mut message = self.unsigned_for(recipient, "", delivery)?;
            message.sign(config);
            return Ok(Formatted {
                envelope: message.envelope().clone(),
                bytes: message.formatted(),
            });
        }
        let Recipient {
            token,
            message_id,
            date,
            ..
        } = recipient;
        let own = self.personal(recipient, delivery)?;
        let envelope = match own.envelope {
            Some(envelope) => envelope,
            None => lettre::address::Envelope::new(
                Some(self.from.email.clone()),
                vec![own.to.email.clone()],
            )
            .map_err(|e| anyhow::anyhow!("enveloppe impossible : {e}"))?,
        };
        let encoded = self.encoded_parts();
        let frame = self.frame.get_or_init(|| Frame::new(self));
        let boundary: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(BOUNDARY_LENGTH)
            .collect();
        let parts = [
            (&frame.text_heads, encoded.text.body(&own.text)),
            (&frame.html_heads, encoded.html.body(&own.html)),
        ];
        let size = frame.len() + parts.iter().map(|(_, b)| b.len()).sum::<usize>();
        let mut bytes = Vec::with_capacity(size + 1024);
        bytes.extend_from_slice(frame.from.as_bytes());
        push_header(&mut bytes, header::To::from(Mailboxes::from(own.to)));
        bytes.extend_from_slice(frame.subject.as_bytes());
        push_header(&mut bytes, header::MessageId::from(message_id.to_string()));
        push_header(&mut bytes, header::Date::new(date));
        bytes.extend_from_slice(frame.list_id.as_bytes());
        let mut unsubscribe = Headers::new();
        unsubscribe.insert_raw(self.list_unsubscribe(token));
        bytes.extend_from_slice(unsubscribe.to_string().as_bytes());
        bytes.extend_from_slice(frame.tail.as_bytes());
        bytes.extend_from_slice(frame.content_type.0.as_bytes());
        bytes.extend_from_slice(boundary.as_bytes());
        bytes.extend_from_slice(frame.content_type.1.as_bytes());
        for (heads, body) in parts {
            bytes.extend_from_slice(b"--");
            bytes.extend_from_slice(boundary.as_bytes());
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(heads.for_encoding(body.encoding()).as_bytes());
            bytes.extend_from_slice(body.as_ref());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"--");
        bytes.extend_from_slice(boundary.as_bytes());
        bytes.extend_from_slice(b"--\r\n");
        let bytes = match &self.dkim {
            Some(Signer::Rsa(signer)) => signer.signed(&bytes, date)?,
            _ => bytes,
        };
        Ok(Formatted { envelope, bytes })
    }

    /// The text and HTML templates encoded once for the whole send (`parts`).
    fn encoded_parts(&self) -> &EncodedParts {
        self.encoded.get_or_init(|| EncodedParts {
            text: super::parts::EncodedPart::new(&self.text),
            html: super::parts::EncodedPart::new(&self.html),
        })
    }

    /// The `List-Unsubscribe` header of one recipient (RFC 8058: the link and a mailto).
    fn list_unsubscribe(&self, token: &str) -> HeaderValue {
        raw_header(
            "List-Unsubscribe",
            format!(
                "<{}>, <mailto:{}?subject=unsubscribe>",
                self.unsubscribe_url(token),
                self.unsubscribe_mailto
            ),
        )
    }

    /// What is the recipient's own in a message: address, envelope, both parts filled in.
    fn personal(
        &self,
        recipient: Recipient<'_>,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Personal> {
        let Recipient {
            person, to, token, ..
        } = recipient;
        let Delivery {
            envelope_from,
            preferences_token,
        } = delivery;
        // The domain in punycode, so that any server takes it (see `idn`).
        let safe = header_safe(to);
        let to: Mailbox = super::idn::ascii_domain(&safe)
            .unwrap_or(safe)
            .parse()
            .map_err(|e| {
                tracing::debug!("adresse refusée par lettre : {e}");
                anyhow::anyhow!("adresse e-mail mal formée « {to} »")
            })?;
        let envelope = match envelope_from {
            Some(sender) => {
                let sender: lettre::Address = sender.parse().map_err(|e| {
                    tracing::debug!("adresse de retour refusée par lettre : {e}");
                    anyhow::anyhow!("adresse de retour (bounce_address) mal formée « {sender} »")
                })?;
                Some(
                    lettre::address::Envelope::new(Some(sender), vec![to.email.clone()])
                        .map_err(|e| anyhow::anyhow!("enveloppe impossible : {e}"))?,
                )
            }
            None => None,
        };
        let html = preferences_link(
            &super::personal::html(&self.html, person)
                .replace(UNSUBSCRIBE_TOKEN_PLACEHOLDER, token),
            preferences_token,
        );
        let text = preferences_link(
            &super::personal::text(&self.text, person)
                .replace(UNSUBSCRIBE_TOKEN_PLACEHOLDER, token),
            preferences_token,
        );
        Ok(Personal {
            to,
            envelope,
            html,
            text,
        })
    }

    /// lettre's builder with every header of one message, in the order lettre writes them.
    fn builder(
        &self,
        to: Mailbox,
        subject_prefix: &str,
        message_id: &str,
        date: SystemTime,
        token: &str,
    ) -> lettre::message::MessageBuilder {
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_safe(&format!("{subject_prefix}{}", self.subject)))
            .message_id(Some(message_id.to_string()))
            .date(date)
            .raw_header(raw_header(
                "List-Id",
                format!("{} <{}>", self.list_title, self.list_id),
            ))
            .raw_header(self.list_unsubscribe(token))
            .raw_header(raw_header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        match &self.reply_to {
            Some(reply_to) => builder.reply_to(reply_to.clone()),
            None => builder,
        }
    }

    /// The message as lettre builds it, with the parts encoded once per send (`parts`).
    fn unsigned_for(
        &self,
        recipient: Recipient<'_>,
        subject_prefix: &str,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Message> {
        let own = self.personal(recipient, delivery)?;
        let mut builder = self.builder(
            own.to,
            subject_prefix,
            recipient.message_id,
            recipient.date,
            recipient.token,
        );
        if let Some(envelope) = own.envelope {
            builder = builder.envelope(envelope);
        }
        // What `MultiPart::alternative_plain_html(text, html)` builds, with the bodies encoded
        // from the parts shared by the whole send.
        let encoded = self.encoded_parts();
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(encoded.text.body(&own.text)))
                    .singlepart(SinglePart::html(encoded.html.body(&own.html))),
            )
            .map_err(|e| anyhow::anyhow!("message impossible à construire : {e}"))
    }
}

/// What is the recipient's own in one message (`Letter::personal`).
struct Personal {
    to: Mailbox,
    envelope: Option<lettre::address::Envelope>,
    html: String,
    text: String,
}

/// The length of lettre's MIME boundaries (random alphanumerics, as lettre makes them).
const BOUNDARY_LENGTH: usize = 40;

/// Writes one header as lettre formats it in a message (`Name: encoded value` + CRLF).
fn push_header(out: &mut Vec<u8>, header: impl Header) {
    let mut headers = Headers::new();
    headers.set(header);
    out.extend_from_slice(headers.to_string().as_bytes());
}

/// The header lines every message of a send shares, cut out of one message lettre built
/// and formatted, so that they are lettre's bytes. lettre formats each header on its own
/// (name, value encoded and folded alone, CRLF), so a recipient's lines can be formatted
/// apart and put in between, in lettre's order: From, To, Subject, Message-ID, Date,
/// List-Id, List-Unsubscribe, List-Unsubscribe-Post, Reply-To, MIME-Version, then the
/// multipart's Content-Type and its parts.
#[derive(Debug)]
pub(crate) struct Frame {
    from: String,
    subject: String,
    list_id: String,
    /// List-Unsubscribe-Post, Reply-To when there is one, MIME-Version.
    tail: String,
    /// The multipart's Content-Type before and after its boundary, with the blank line.
    content_type: (String, String),
    text_heads: PartHeads,
    html_heads: PartHeads,
}

/// A part's header lines and blank line, for each transfer encoding lettre may choose.
#[derive(Debug)]
struct PartHeads {
    seven_bit: String,
    quoted_printable: String,
    base64: String,
}

impl PartHeads {
    fn new(part: fn(Body) -> SinglePart) -> PartHeads {
        let heads = |encoding| {
            let formatted = part(Body::dangerous_pre_encoded(Vec::new(), encoding)).formatted();
            // The empty body's line end follows the blank line.
            let formatted = String::from_utf8_lossy(&formatted).into_owned();
            formatted
                .strip_suffix("\r\n")
                .unwrap_or(&formatted)
                .to_string()
        };
        PartHeads {
            seven_bit: heads(ContentTransferEncoding::SevenBit),
            quoted_printable: heads(ContentTransferEncoding::QuotedPrintable),
            base64: heads(ContentTransferEncoding::Base64),
        }
    }

    fn for_encoding(&self, encoding: ContentTransferEncoding) -> &str {
        match encoding {
            ContentTransferEncoding::SevenBit => &self.seven_bit,
            ContentTransferEncoding::QuotedPrintable => &self.quoted_printable,
            _ => &self.base64,
        }
    }
}

impl Frame {
    fn new(letter: &Letter) -> Frame {
        const SENTINEL: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        let template = letter
            .builder(
                "x@example.org".parse().expect("adresse fixe"),
                "",
                "<x@example.org>",
                SystemTime::UNIX_EPOCH,
                "",
            )
            .multipart(
                MultiPart::alternative()
                    .boundary(SENTINEL)
                    .singlepart(SinglePart::plain(String::new()))
                    .singlepart(SinglePart::html(String::new())),
            )
            .expect("en-têtes fixes");
        let formatted = String::from_utf8_lossy(&template.formatted()).into_owned();
        let head = &formatted[..formatted.find("\r\n\r\n").map_or(0, |at| at + 2)];
        let fields = header_fields(head);
        let field = |name: &str| {
            fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, f)| *f)
                .collect::<String>()
        };
        let content_type = fields.last().map_or("", |(_, f)| f);
        let (before, after) = content_type
            .split_once(SENTINEL)
            .unwrap_or((content_type, ""));
        Frame {
            from: field("From"),
            subject: field("Subject"),
            list_id: field("List-Id"),
            tail: ["List-Unsubscribe-Post", "Reply-To", "MIME-Version"]
                .iter()
                .map(|name| field(name))
                .collect(),
            content_type: (before.to_string(), format!("{after}\r\n")),
            text_heads: PartHeads::new(SinglePart::plain),
            html_heads: PartHeads::new(SinglePart::html),
        }
    }

    /// The bytes every message takes from the frame, for the capacity of its buffer.
    fn len(&self) -> usize {
        self.from.len()
            + self.subject.len()
            + self.list_id.len()
            + self.tail.len()
            + self.content_type.0.len()
            + self.content_type.1.len()
    }
}

/// The fields of a header block, each as (name, whole field with its folded lines and CRLF).
fn header_fields(head: &str) -> Vec<(&str, &str)> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(end) = head[at..].find("\r\n").map(|e| at + e + 2) {
        at = end;
        if matches!(head.as_bytes().get(end), Some(b' ' | b'\t')) {
            continue;
        }
        let field = &head[start..end];
        fields.push((field.split(':').next().unwrap_or(""), field));
        start = end;
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The boundary of a formatted multipart message.
    fn boundary_of(formatted: &[u8]) -> String {
        String::from_utf8_lossy(formatted)
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string()
    }

    /// `message` with its boundary replaced by `boundary`.
    fn with_boundary(message: &str, boundary: &str) -> String {
        message.replace(&boundary_of(message.as_bytes()), boundary)
    }

    impl Letter {
        /// The message as lettre alone builds it (`MultiPart::alternative_plain_html`, parts
        /// encoded by `Body::new`), with the boundary of `like`, and its envelope.
        fn lettre_message(
            &self,
            recipient: Recipient<'_>,
            delivery: Delivery<'_>,
            like: &[u8],
        ) -> (String, lettre::address::Envelope) {
            let own = self.personal(recipient, delivery).unwrap();
            let mut builder = self.builder(
                own.to,
                "",
                recipient.message_id,
                recipient.date,
                recipient.token,
            );
            if let Some(envelope) = own.envelope {
                builder = builder.envelope(envelope);
            }
            let message = builder
                .multipart(
                    MultiPart::alternative()
                        .boundary(boundary_of(like))
                        .singlepart(SinglePart::plain(own.text))
                        .singlepart(SinglePart::html(own.html)),
                )
                .unwrap();
            (
                String::from_utf8(message.formatted()).unwrap(),
                message.envelope().clone(),
            )
        }
    }

    fn letter() -> Letter {
        Letter {
            from: "Ressources & Territoires <lettre@example.org>".parse().unwrap(),
            reply_to: None,
            subject: "Flash Info n° 12 — décembre 2026\r\nBcc: victime@example.org".into(),
            list_id: "flash-info.example.org".into(),
            list_title: "Flash Info".into(),
            unsubscribe_mailto: "lettre@example.org".into(),
            base_url: "https://veille.example.org".into(),
            html: "<p><a href=\"https://veille.example.org/desabonnement/JETON-DESABONNEMENT\">x</a></p>".into(),
            text: "Se désinscrire : https://veille.example.org/desabonnement/JETON-DESABONNEMENT\n".into(),
            dkim: None,
            encoded: std::sync::OnceLock::new(),
            frame: std::sync::OnceLock::new(),
        }
    }

    #[test]
    fn no_line_break_reaches_a_header() {
        let m = letter()
            .message(
                "lectrice@example.org",
                "u.1.Zg.0.mac",
                "<1.1@example.org>",
                SystemTime::UNIX_EPOCH,
                "[TEST] ",
            )
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        let head = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(!head.lines().any(|l| l.starts_with("Bcc:")), "{head}");
        assert!(
            head.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{head}"
        );
        assert!(
            head.contains(
                "List-Unsubscribe: <https://veille.example.org/desabonnement/u.1.Zg.0.mac>"
            ),
            "{head}"
        );
        let subject = head.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(
            subject.contains("=?utf-8?"),
            "sujet encodé RFC 2047 : {head}"
        );
        assert!(raw.contains("multipart/alternative"));
        assert!(!raw.contains("JETON-DESABONNEMENT"));
        assert!(header_safe("a\r\nb\tc\u{0}d") == "a b c d");
    }

    /// A copy of `letter`, with nothing encoded or formatted yet.
    fn letter_like(letter: &Letter) -> Letter {
        Letter {
            from: letter.from.clone(),
            reply_to: letter.reply_to.clone(),
            subject: letter.subject.clone(),
            list_id: letter.list_id.clone(),
            list_title: letter.list_title.clone(),
            unsubscribe_mailto: letter.unsubscribe_mailto.clone(),
            base_url: letter.base_url.clone(),
            html: letter.html.clone(),
            text: letter.text.clone(),
            dkim: None,
            encoded: std::sync::OnceLock::new(),
            frame: std::sync::OnceLock::new(),
        }
    }

    /// `formatted_for`'s bytes and envelope are lettre's own (`lettre_message`), and so are
    /// those of `unsigned_for` (test copies, rehearsals); returns the message.
    fn same_as_lettre(
        letter: &Letter,
        person: &crate::model::SubscriberDetails,
        to: &str,
        message_id: &str,
        date: SystemTime,
        delivery: Delivery<'_>,
    ) -> String {
        let recipient = Recipient {
            person,
            to,
            token: "u.1.Zg.0.mac",
            message_id,
            date,
        };
        let ours = letter.formatted_for(recipient, delivery).unwrap();
        let (lettres, envelope) = letter.lettre_message(recipient, delivery, &ours.bytes);
        assert_eq!(ours.envelope, envelope, "{to}");
        let ours = String::from_utf8(ours.bytes).unwrap();
        assert_eq!(ours, lettres, "{to}");
        let built = letter
            .unsigned_for(recipient, "", delivery)
            .unwrap()
            .formatted();
        assert_eq!(
            String::from_utf8(built.clone()).unwrap(),
            with_boundary(&lettres, &boundary_of(&built)),
            "{to}"
        );
        ours
    }

    proptest::proptest! {
        #[test]
        fn any_recipient_gets_the_message_lettre_builds(
            first in proptest::option::of("[a-zA-Zéà'<>&\" .\r\nΩ-]{0,40}"),
            local in "[a-z0-9][a-z0-9.+_-]{0,40}",
            domain in "(exemple\\.fr|élysée\\.fr|[a-z]{1,30}\\.example\\.org)",
            seconds in 0u64..4_000_000_000,
            number in 0u64..u64::MAX,
            bounce in proptest::bool::ANY,
            answer in proptest::bool::ANY,
        ) {
            let mut letter = letter();
            letter.text = format!("SALUTATION-DESTINATAIRE\n\n{}", letter.text);
            if answer {
                letter.reply_to = Some("Équipe <equipe@example.org>".parse().unwrap());
            }
            let person = crate::model::SubscriberDetails {
                first_name: first,
                ..crate::model::SubscriberDetails::default()
            };
            let delivery = Delivery {
                envelope_from: bounce.then_some("rebonds+1-2-abc@example.org"),
                preferences_token: Some("p.7.c2lnbmF0dXJl"),
            };
            let date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
            let to = format!("{local}@{domain}");
            let message_id = format!("<veille.{number}@example.org>");
            let recipient = Recipient { person: &person, to: &to, token: "t", message_id: &message_id, date };
            if letter.personal(recipient, delivery).is_ok() {
                same_as_lettre(&letter, &person, &to, &message_id, date, delivery);
            }
        }
    }

    #[test]
    fn messages_from_encoded_parts_are_those_lettre_builds() {
        let mut letter = letter();
        letter.html = format!(
            "<table>\n<tr><td><p style=\"margin: 0\">SALUTATION-DESTINATAIRE</p></td></tr>\n\
             <tr><td>Pauvreté, logement : {}</td></tr>\n{}\n\
             <a href=\"https://veille.example.org/preferences/JETON-PREFERENCES\">gérer</a>\n</table>\n",
            "les quartiers prioritaires de la politique de la ville à Toulouse et à Montpellier "
                .repeat(3),
            letter.html
        );
        letter.text = format!(
            "FLASH INFO\n\nSALUTATION-DESTINATAIRE\n\nÀ la une : {} \n{}\
             Gérer : https://veille.example.org/preferences/JETON-PREFERENCES\n",
            "l'hôpital, les écoles et le logement social ".repeat(4),
            letter.text
        );
        let people = [
            (None, "lectrice@example.org"),
            (Some("Hélène"), "helene@exemple.fr"),
            (
                Some("<b>Zoé</b> & \"cie\"\r\nBcc: x@y.fr"),
                "zoe+lettre@exemple.fr",
            ),
            (Some(".\r\n.\r\nQUIT"), "o'brien@élysée.fr"),
            (Some(&*"Ω".repeat(120)), "x@exemple.fr"),
        ];
        for (n, (first, to)) in people.into_iter().enumerate() {
            let person = crate::model::SubscriberDetails {
                first_name: first.map(str::to_string),
                ..crate::model::SubscriberDetails::default()
            };
            let delivery = Delivery {
                envelope_from: Some("rebonds+1-2-abc@example.org"),
                preferences_token: Some("p.7.c2lnbmF0dXJl"),
            };
            let date = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
            let message_id = format!("<veille.{n}@example.org>");
            let ours = same_as_lettre(&letter, &person, to, &message_id, date, delivery);
            let mut answering = letter_like(&letter);
            answering.reply_to = Some("Équipe <equipe@example.org>".parse().unwrap());
            same_as_lettre(
                &answering,
                &person,
                to,
                &message_id,
                date,
                Delivery::default(),
            );
            assert!(!ours.contains("JETON-"), "{ours}");
            if n < 2 {
                // The common case, the lines reused: not lettre's base64 fallback.
                assert_eq!(ours.matches("quoted-printable").count(), 2, "{ours}");
            }
        }
    }
}
