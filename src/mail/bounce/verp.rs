//! VERP: each message leaves with its own envelope sender, `bounces+E-S-MAC@domain`, naming
//! the edition (E) and the subscriber (S) with an HMAC under the archive's secret, so a bounce
//! names the delivery even when its report does not, and a forged or mangled one is known.
//!
//! The token is lower-case hexadecimal and digits joined by `-`: valid in a local part,
//! unchanged by MTAs that lower-case addresses, and short (about 30 characters).

use super::super::token::Secret;

/// Bytes of the HMAC kept: 64 bits is plenty against guessing, and keeps the address short.
const MAC_BYTES: usize = 8;

/// What a message's addresses say about a VERP token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerpCheck {
    /// No address of the form `local+…@domain`.
    Absent,
    /// A genuine token.
    Valid { edition: i64, subscriber: i64 },
    /// An address of the form, whose token does not verify: reported, never applied.
    Forged(String),
}

fn split(bounce_address: &str) -> Option<(&str, &str)> {
    let (local, domain) = bounce_address.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then_some((local, domain))
}

fn mac_hex(secret: &Secret, edition: i64, subscriber: i64) -> String {
    secret.digest(&["verp", &edition.to_string(), &subscriber.to_string()])[..MAC_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The envelope sender of one delivery; None when `bounce_address` has no `@`.
pub(crate) fn envelope_sender(
    secret: &Secret,
    bounce_address: &str,
    edition: i64,
    subscriber: i64,
) -> Option<String> {
    let (local, domain) = split(bounce_address)?;
    Some(format!(
        "{local}+{edition}-{subscriber}-{}@{domain}",
        mac_hex(secret, edition, subscriber)
    ))
}

/// Looks for the token in the addresses a notice was delivered to, then anywhere in its text
/// (the returned original's `Return-Path`), and checks it.
pub(crate) fn check(
    secret: &Secret,
    bounce_address: &str,
    addresses: &[String],
    raw: &str,
) -> VerpCheck {
    let Some((local, domain)) = split(bounce_address) else {
        return VerpCheck::Absent;
    };
    let prefix = format!("{}+", local.to_lowercase());
    let suffix = format!("@{}", domain.to_lowercase());
    let mut tokens: Vec<String> = addresses
        .iter()
        .filter_map(|a| {
            a.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(&suffix))
                .map(str::to_string)
        })
        .collect();
    if tokens.is_empty() {
        let lower = raw.to_lowercase();
        for (at, _) in lower.match_indices(&prefix) {
            let boundary = at == 0
                || !lower.as_bytes()[at - 1].is_ascii_alphanumeric()
                    && !b".-_+".contains(&lower.as_bytes()[at - 1]);
            let rest = &lower[at + prefix.len()..];
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if boundary && rest[token.len()..].starts_with(&suffix) && !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    let mut forged = None;
    for token in tokens {
        match verify(secret, &token) {
            Some((edition, subscriber)) => {
                return VerpCheck::Valid {
                    edition,
                    subscriber,
                };
            }
            None => forged = forged.or(Some(token)),
        }
    }
    forged.map_or(VerpCheck::Absent, VerpCheck::Forged)
}

/// `E-S-MAC` → (edition, subscriber) when the MAC is right (compared in constant time).
fn verify(secret: &Secret, token: &str) -> Option<(i64, i64)> {
    let mut parts = token.split('-');
    let (edition, subscriber, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || mac.len() != MAC_BYTES * 2 {
        return None;
    }
    let edition: i64 = edition.parse().ok()?;
    let subscriber: i64 = subscriber.parse().ok()?;
    let expected = mac_hex(secret, edition, subscriber);
    let same = expected
        .bytes()
        .zip(mac.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_lowercase()));
    (same == 0).then_some((edition, subscriber))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_delivery_and_resists_tampering() {
        let secret = Secret::from_bytes(&[3; 32]);
        let address = envelope_sender(&secret, "bounces@rt.example", 12, 345).unwrap();
        assert!(address.starts_with("bounces+12-345-"), "{address}");
        assert!(address.ends_with("@rt.example"));
        assert!(address.len() < 64, "{address}");
        assert_eq!(
            check(
                &secret,
                "bounces@rt.example",
                std::slice::from_ref(&address),
                ""
            ),
            VerpCheck::Valid {
                edition: 12,
                subscriber: 345
            }
        );
        // Upper-cased by a relay: still the same delivery.
        let upper = address.to_uppercase().to_lowercase();
        assert!(matches!(
            check(&secret, "bounces@rt.example", &[upper], ""),
            VerpCheck::Valid { .. }
        ));
        // Another subscriber with the same MAC: forged.
        let forged = address.replace("-345-", "-346-");
        assert_eq!(
            check(&secret, "Bounces@RT.example", &[forged], ""),
            VerpCheck::Forged(
                address
                    .replace("-345-", "-346-")
                    .trim_start_matches("bounces+")
                    .trim_end_matches("@rt.example")
                    .to_string()
            )
        );
        // Found in the returned original's Return-Path when the notice went elsewhere.
        let raw = format!("Return-Path: <{address}>\nSubject: x\n");
        assert!(matches!(
            check(&secret, "bounces@rt.example", &[], &raw),
            VerpCheck::Valid { .. }
        ));
        assert_eq!(
            check(&secret, "bounces@rt.example", &["a@b.fr".into()], "x"),
            VerpCheck::Absent
        );
        // Another secret: forged.
        let other = Secret::from_bytes(&[4; 32]);
        assert!(matches!(
            check(&other, "bounces@rt.example", &[address], ""),
            VerpCheck::Forged(_)
        ));
    }
}
