//! CSRF protection of the forms of `veille serve`: every form carries a token signed with the
//! archive's secret, bound to the form's action path and to the time it was issued; a POST
//! without a valid, fresh token is refused before it changes anything. Browsers that say the
//! request comes from another site (`Sec-Fetch-Site: cross-site`) are refused as well.
//!
//! RFC 8058 one-click unsubscription is exempt (see ARCHITECTURE.md): mail clients POST it
//! without ever showing a page, and its URL already carries a per-recipient signed token.

use axum::http::{HeaderMap, HeaderName};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::mail::token::Secret;

/// The name of the hidden field of every form.
pub(crate) const FIELD: &str = "csrf";

/// How long a page's forms stay valid: a reader may leave a tab open for an afternoon.
pub(crate) const VALID_HOURS: i64 = 4;

/// Clocks of a few servers behind one name may disagree a little.
const SKEW_SECONDS: i64 = 300;

/// Why a POST was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No token in the body.
    Missing,
    /// A token that this server did not sign for this form.
    Forged,
    /// A token older than [`VALID_HOURS`] (or from the future).
    Expired,
    /// The browser says the form was posted from another site.
    CrossSite,
}

impl Refusal {
    /// What the log says (in French, like every log line).
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Refusal::Missing => "jeton anti-CSRF absent",
            Refusal::Forged => "jeton anti-CSRF non valable",
            Refusal::Expired => "jeton anti-CSRF expiré",
            Refusal::CrossSite => "formulaire envoyé depuis un autre site",
        }
    }
}

fn mac(secret: &Secret, form: &str, issued: i64) -> String {
    URL_SAFE_NO_PAD.encode(&secret.digest(&["csrf", form, &issued.to_string()])[..16])
}

/// The token of the form that posts to `form` (its action path), issued at `now`.
pub fn issue(secret: &Secret, form: &str, now: DateTime<Utc>) -> String {
    let issued = now.timestamp();
    format!("{issued}.{}", mac(secret, form, issued))
}

/// Checks the token of a POST to `form`.
pub(crate) fn check(
    secret: &Secret,
    form: &str,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let token = token.filter(|t| !t.is_empty()).ok_or(Refusal::Missing)?;
    let (issued, given) = token.split_once('.').ok_or(Refusal::Forged)?;
    let issued: i64 = issued.parse().map_err(|_| Refusal::Forged)?;
    if !constant_time_eq(mac(secret, form, issued).as_bytes(), given.as_bytes()) {
        return Err(Refusal::Forged);
    }
    let age = now.timestamp() - issued;
    if !(-SKEW_SECONDS..=VALID_HOURS * 3600).contains(&age) {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// Refuses what a browser marks as posted from another site. Mail clients and scripts send
/// no such header; same-site and same-origin requests pass.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let site = headers
        .get(HeaderName::from_static("sec-fetch-site"))
        .and_then(|v| v.to_str().ok());
    match site {
        Some("cross-site") => Err(Refusal::CrossSite),
        _ => Ok(()),
    }
}

/// The value of `name` in a urlencoded body.
pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The fields of a urlencoded body, whatever its declared content type (mail clients'
/// one-click POSTs are not all labelled).
pub(crate) fn parse_body(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::from_bytes(&[7; 32])
    }

    #[test]
    fn a_fresh_token_of_the_same_form_passes() {
        let now = Utc::now();
        let token = issue(&secret(), "/abonnement", now);
        assert_eq!(check(&secret(), "/abonnement", Some(&token), now), Ok(()));
        let later = now + chrono::Duration::hours(VALID_HOURS) - chrono::Duration::seconds(1);
        assert_eq!(check(&secret(), "/abonnement", Some(&token), later), Ok(()));
    }

    #[test]
    fn missing_forged_other_form_and_expired_tokens_are_refused() {
        let now = Utc::now();
        let s = secret();
        let token = issue(&s, "/abonnement", now);
        assert_eq!(check(&s, "/abonnement", None, now), Err(Refusal::Missing));
        assert_eq!(
            check(&s, "/abonnement", Some(""), now),
            Err(Refusal::Missing)
        );
        assert_eq!(
            check(&s, "/abonnement/lien", Some(&token), now),
            Err(Refusal::Forged)
        );
        let other = Secret::from_bytes(&[8; 32]);
        assert_eq!(
            check(&other, "/abonnement", Some(&token), now),
            Err(Refusal::Forged)
        );
        // Moving the issue time forward breaks the signature.
        let (_, mac) = token.split_once('.').unwrap();
        let shifted = format!("{}.{mac}", now.timestamp() + 3600);
        assert_eq!(
            check(&s, "/abonnement", Some(&shifted), now),
            Err(Refusal::Forged)
        );
        assert_eq!(
            check(&s, "/abonnement", Some("n'importe quoi"), now),
            Err(Refusal::Forged)
        );
        let late = now + chrono::Duration::hours(VALID_HOURS) + chrono::Duration::seconds(1);
        assert_eq!(
            check(&s, "/abonnement", Some(&token), late),
            Err(Refusal::Expired)
        );
        let future = issue(&s, "/abonnement", now + chrono::Duration::hours(1));
        assert_eq!(
            check(&s, "/abonnement", Some(&future), now),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert_eq!(check_origin(&h), Ok(()));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert_eq!(check_origin(&h), Ok(()));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert_eq!(check_origin(&h), Err(Refusal::CrossSite));
    }
}
