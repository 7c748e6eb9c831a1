//! Signed tokens for the links of mails (confirm a subscription, unsubscribe) and the keyed
//! hash of the suppression list. HMAC-SHA256 with one secret per archive: from
//! `VEILLE_SECRET`, else generated once into `archive/secret.key` (mode 0600).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) const SECRET_FILE: &str = "secret.key";

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Confirm,
    Unsubscribe,
    /// The preferences page of a subscriber ("gérer mon abonnement").
    Preferences,
    /// Confirms a new address; the token's list field carries that address.
    NewAddress,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Confirm => "c",
            Purpose::Unsubscribe => "u",
            Purpose::Preferences => "p",
            Purpose::NewAddress => "a",
        }
    }
}

/// A verified token: who, which list, and until when it was valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) subscriber: i64,
    pub(crate) list: String,
}

/// The archive's signing key for the links in mails (HMAC-SHA256); never printed, its
/// `Debug` hides the bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A fixed secret, so the tests' tokens are reproducible.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }

    /// `VEILLE_SECRET`, else `archive/secret.key`, created (32 random bytes, mode 0600)
    /// the first time.
    pub fn load(archive: &Path) -> anyhow::Result<Secret> {
        Self::load_with(archive, std::env::var("VEILLE_SECRET").ok())
    }

    fn load_with(archive: &Path, from_env: Option<String>) -> anyhow::Result<Secret> {
        if let Some(value) = from_env
            && !value.trim().is_empty()
        {
            return Ok(Secret(value.trim().as_bytes().to_vec()));
        }
        let path = archive.join(SECRET_FILE);
        match crate::secrets::read(&path, "la clé secrète de l'archive")? {
            Some(bytes) if bytes.len() >= 32 => return Ok(Secret(bytes)),
            Some(_) => anyhow::bail!(
                "{} est trop court (32 octets au moins) : supprimez-le pour qu'il soit recréé, \
                 ou donnez VEILLE_SECRET",
                path.display()
            ),
            None => {}
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("aléa du système indisponible : {e}"))?;
        std::fs::create_dir_all(archive)?;
        write_private(&path, &bytes)?;
        // Another process may have created it first: the file on disk is the truth.
        Ok(Secret(crate::secrets::read_existing(
            &path,
            "la clé secrète de l'archive",
        )?))
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(b"\x1f");
        }
        mac
    }

    /// `purpose.subscriber.list.expiry.mac`, URL-safe. `expires` None: valid until the
    /// secret changes (unsubscribe links must work for as long as a mail is kept).
    pub(crate) fn sign(
        &self,
        purpose: Purpose,
        subscriber: i64,
        list: &str,
        expires: Option<DateTime<Utc>>,
    ) -> String {
        let subscriber = subscriber.to_string();
        let list = URL_SAFE_NO_PAD.encode(list);
        let expiry = expires.map_or("0".to_string(), |t| t.timestamp().to_string());
        let mac = self
            .mac(&[purpose.tag(), &subscriber, &list, &expiry])
            .finalize()
            .into_bytes();
        format!(
            "{}.{subscriber}.{list}.{expiry}.{}",
            purpose.tag(),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// Checks a token in constant time; `None` when forged, for another purpose, or expired.
    pub(crate) fn verify(
        &self,
        purpose: Purpose,
        token: &str,
        now: DateTime<Utc>,
    ) -> Option<Claim> {
        let mut parts = token.split('.');
        let (tag, subscriber, list, expiry, mac) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some() || tag != purpose.tag() {
            return None;
        }
        let given = URL_SAFE_NO_PAD.decode(mac).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(&[tag, subscriber, list, expiry])
            .verify_slice(&given)
            .ok()?;
        let expiry: i64 = expiry.parse().ok()?;
        if expiry != 0 && now.timestamp() > expiry {
            return None;
        }
        Some(Claim {
            subscriber: subscriber.parse().ok()?,
            list: String::from_utf8(URL_SAFE_NO_PAD.decode(list).ok()?).ok()?,
        })
    }

    /// The HMAC of `parts` under this secret (for tokens of other modules: VERP).
    pub(crate) fn digest(&self, parts: &[&str]) -> [u8; 32] {
        self.mac(parts).finalize().into_bytes().into()
    }

    /// The keyed hash of an address for the suppression list (lowercased, trimmed).
    pub(crate) fn address_hash(&self, email: &str) -> String {
        let normalised = email.trim().to_lowercase();
        self.mac(&["suppression", &normalised])
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(bytes)?;
            f.sync_all()?;
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "impossible de créer {} : {}",
            path.display(),
            crate::wording::io(&e)
        )),
    }
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_resist_tampering() {
        let secret = Secret::from_bytes(&[7; 32]);
        let now = Utc::now();
        let token = secret.sign(Purpose::Unsubscribe, 42, "flash-info", None);
        assert_eq!(
            secret.verify(Purpose::Unsubscribe, &token, now),
            Some(Claim {
                subscriber: 42,
                list: "flash-info".into()
            })
        );
        assert_eq!(
            secret.verify(Purpose::Confirm, &token, now),
            None,
            "autre usage"
        );
        let other = token.replacen(".42.", ".43.", 1);
        assert_eq!(
            secret.verify(Purpose::Unsubscribe, &other, now),
            None,
            "autre abonné"
        );
        let forged =
            Secret::from_bytes(&[8; 32]).sign(Purpose::Unsubscribe, 42, "flash-info", None);
        assert_eq!(
            secret.verify(Purpose::Unsubscribe, &forged, now),
            None,
            "autre secret"
        );
        assert_eq!(secret.verify(Purpose::Unsubscribe, "u.1.2", now), None);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }

    #[test]
    fn confirmation_tokens_expire() {
        let secret = Secret::from_bytes(&[1; 32]);
        let now = Utc::now();
        let token = secret.sign(
            Purpose::Confirm,
            5,
            "lettre-pauvrete",
            Some(now + chrono::Duration::days(7)),
        );
        assert!(secret.verify(Purpose::Confirm, &token, now).is_some());
        assert!(
            secret
                .verify(Purpose::Confirm, &token, now + chrono::Duration::days(8))
                .is_none()
        );
    }

    #[test]
    fn the_secret_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secret::load_with(dir.path(), None).unwrap();
        let b = Secret::load_with(dir.path(), None).unwrap();
        assert_eq!(
            a.address_hash("A@Example.org"),
            b.address_hash("a@example.org ")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
