//! Placeholders for what an email says of its recipient (`{{ recipient.greeting }}`,
//! `{{ recipient.first_name }}`…): `publish` knows no recipient, so the email renders carry
//! these URL- and HTML-safe words, and the mail stage fills them for each person, as it does
//! the unsubscribe token. The web version never receives them.

use minijinja::Value;

/// « Bonjour Hélène, » when the first name is known, nothing otherwise.
pub(crate) const GREETING: &str = "SALUTATION-DESTINATAIRE";
pub(crate) const FIRST_NAME: &str = "PRENOM-DESTINATAIRE";
pub(crate) const LAST_NAME: &str = "NOM-DESTINATAIRE";
pub(crate) const ORGANISATION: &str = "STRUCTURE-DESTINATAIRE";
pub(crate) const COMMUNE: &str = "COMMUNE-DESTINATAIRE";

/// The `recipient` object of the email templates.
pub(crate) fn placeholders() -> Value {
    minijinja::context! {
        greeting => GREETING,
        first_name => FIRST_NAME,
        last_name => LAST_NAME,
        organisation => ORGANISATION,
        commune => COMMUNE,
    }
}
