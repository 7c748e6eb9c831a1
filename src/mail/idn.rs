//! Internationalised addresses: the domain goes out in punycode (every server takes it), a
//! non-ASCII local part only to a server announcing SMTPUTF8 (RFC 6531); what veille's own
//! SMTP client refuses is a permanent failure for that recipient, told in French.

use super::SmtpFailure;

/// The address with its domain in ASCII (IDNA/punycode): `marie@béziers.fr` goes out as
/// `marie@xn--bziers-bva.fr`. The local part is left as it is. None when the domain cannot
/// be encoded.
pub(crate) fn ascii_domain(address: &str) -> Option<String> {
    let (user, domain) = address.rsplit_once('@')?;
    if domain.is_ascii() {
        return Some(address.to_string());
    }
    let ascii = idna::domain_to_ascii(domain).ok()?;
    Some(format!("{user}@{ascii}"))
}

/// True when the part before the `@` has a character outside ASCII (`irène.vert@…`): such an
/// address can only be delivered through a server that announces SMTPUTF8.
pub(crate) fn needs_smtputf8(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(user, _)| !user.is_ascii())
}

/// The French reason given for a failure raised by veille's own SMTP client (lettre), not by
/// the server: it would fail the same way on every try, so it is permanent at once. The
/// original text goes to the debug log only.
pub(crate) fn client_refusal(address: &str, failure: &SmtpFailure) -> Option<String> {
    let SmtpFailure::Smtp(error) = failure else {
        return None;
    };
    if !error.is_client() {
        return None;
    }
    tracing::debug!("{address} : refus du client SMTP : {error}");
    Some(if needs_smtputf8(address) {
        "adresse avec des caractères accentués avant le @ : le serveur d'envoi n'accepte pas \
         ces adresses (il n'annonce pas SMTPUTF8) ; demandez à la personne une adresse sans \
         accent"
            .to_string()
    } else {
        "message refusé par le client d'envoi de veille avant tout échange avec le serveur \
         (adresse ou contenu que ce serveur ne peut pas recevoir)"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_go_out_in_punycode_and_local_parts_stay() {
        assert_eq!(
            ascii_domain("marie@béziers.fr").as_deref(),
            Some("marie@xn--bziers-bva.fr")
        );
        assert_eq!(
            ascii_domain("anne@example.org").as_deref(),
            Some("anne@example.org")
        );
        assert_eq!(
            ascii_domain("irène.vert@exemple.fr").as_deref(),
            Some("irène.vert@exemple.fr")
        );
        assert!(needs_smtputf8("irène.vert@exemple.fr"));
        assert!(!needs_smtputf8("marie@béziers.fr"));
        assert_eq!(ascii_domain("sans-arobase"), None);
    }
}
