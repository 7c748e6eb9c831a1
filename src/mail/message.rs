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
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

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

/// What is personal to one delivery beyond the recipient and the unsubscribe token.
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
        self.message_for(
            &nobody,
            to,
            token,
            message_id,
            date,
            subject_prefix,
            Delivery::default(),
        )
    }

    /// `message` for one delivery of a send: what is known of the recipient in the templates'
    /// `recipient` placeholders (« Bonjour Hélène, »), its VERP envelope sender, so that
    /// refusals coming back later name it, and the recipient's preferences link.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn message_for(
        &self,
        person: &crate::model::SubscriberDetails,
        to: &str,
        token: &str,
        message_id: &str,
        date: SystemTime,
        subject_prefix: &str,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Message> {
        let mut message = self.unsigned_for(
            person,
            to,
            token,
            message_id,
            date,
            subject_prefix,
            delivery,
            None,
        )?;
        match &self.dkim {
            Some(Signer::Rsa(signer)) => signer.sign(&mut message, date)?,
            Some(Signer::Lettre(config)) => message.sign(config),
            None => {}
        }
        Ok(message)
    }

    /// `message_for` as the bytes sent and their envelope: an RSA signature goes into the
    /// message formatted once (`RsaSigner::signed`), not formatted again after signing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn formatted_for(
        &self,
        person: &crate::model::SubscriberDetails,
        to: &str,
        token: &str,
        message_id: &str,
        date: SystemTime,
        delivery: Delivery<'_>,
    ) -> anyhow::Result<Formatted> {
        let mut message =
            self.unsigned_for(person, to, token, message_id, date, "", delivery, None)?;
        let bytes = match &self.dkim {
            Some(Signer::Rsa(signer)) => signer.signed(&message.formatted(), date)?,
            Some(Signer::Lettre(config)) => {
                message.sign(config);
                message.formatted()
            }
            None => message.formatted(),
        };
        Ok(Formatted {
            envelope: message.envelope().clone(),
            bytes,
        })
    }

    /// `lettre_parts`: the boundary with which to let lettre encode the parts itself, as it
    /// did before `parts` (the tests compare both); None for the parts encoded once.
    #[allow(clippy::too_many_arguments)]
    fn unsigned_for(
        &self,
        person: &crate::model::SubscriberDetails,
        to: &str,
        token: &str,
        message_id: &str,
        date: SystemTime,
        subject_prefix: &str,
        delivery: Delivery<'_>,
        lettre_parts: Option<&str>,
    ) -> anyhow::Result<Message> {
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
        let unsubscribe = self.unsubscribe_url(token);
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
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(header_safe(&format!("{subject_prefix}{}", self.subject)))
            .message_id(Some(message_id.to_string()))
            .date(date)
            .raw_header(raw_header(
                "List-Id",
                format!("{} <{}>", self.list_title, self.list_id),
            ))
            .raw_header(raw_header(
                "List-Unsubscribe",
                format!(
                    "<{unsubscribe}>, <mailto:{}?subject=unsubscribe>",
                    self.unsubscribe_mailto
                ),
            ))
            .raw_header(raw_header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if let Some(envelope) = envelope {
            builder = builder.envelope(envelope);
        }
        // What `MultiPart::alternative_plain_html(text, html)` builds, with the bodies encoded
        // from the parts shared by the whole send.
        let parts = match lettre_parts {
            Some(boundary) => MultiPart::alternative()
                .boundary(boundary)
                .singlepart(SinglePart::plain(text))
                .singlepart(SinglePart::html(html)),
            None => {
                let encoded = self.encoded.get_or_init(|| EncodedParts {
                    text: super::parts::EncodedPart::new(&self.text),
                    html: super::parts::EncodedPart::new(&self.html),
                });
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(encoded.text.body(&text)))
                    .singlepart(SinglePart::html(encoded.html.body(&html)))
            }
        };
        builder
            .multipart(parts)
            .map_err(|e| anyhow::anyhow!("message impossible à construire : {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let build = |lettre_parts| {
                letter
                    .unsigned_for(
                        &person,
                        to,
                        "u.1.Zg.0.mac",
                        &message_id,
                        date,
                        "",
                        delivery,
                        lettre_parts,
                    )
                    .unwrap()
                    .formatted()
            };
            let ours = String::from_utf8(build(None)).unwrap();
            let boundary = ours
                .split("boundary=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
                .to_string();
            let lettres = String::from_utf8(build(Some(&boundary))).unwrap();
            assert_eq!(ours, lettres, "{first:?} {to}");
            assert!(!ours.contains("JETON-"), "{ours}");
            if n < 2 {
                // The common case, the lines reused: not lettre's base64 fallback.
                assert_eq!(ours.matches("quoted-printable").count(), 2, "{ours}");
            }
        }
    }
}
