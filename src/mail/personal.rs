//! Fills the recipient placeholders of a rendered email (`publish::recipient`) for one
//! person: « Bonjour Hélène, » when the first name is known, nothing when not — the element
//! or line that held only the greeting goes, so no empty paragraph or blank line is left.

use crate::model::SubscriberDetails;
use crate::publish::recipient::{COMMUNE, FIRST_NAME, GREETING, LAST_NAME, ORGANISATION};

/// The greeting line for a person, empty when the first name is unknown.
pub(crate) fn greeting(details: &SubscriberDetails) -> String {
    match details.first_name.as_deref().map(str::trim) {
        Some(first) if !first.is_empty() => format!("Bonjour {first},"),
        _ => String::new(),
    }
}

fn values(details: &SubscriberDetails) -> [(&'static str, String); 5] {
    let field = |v: &Option<String>| crate::text::one_line(v.as_deref().unwrap_or(""));
    [
        (GREETING, greeting(details)),
        (FIRST_NAME, field(&details.first_name)),
        (LAST_NAME, field(&details.last_name)),
        (ORGANISATION, field(&details.organisation)),
        (COMMUNE, field(&details.commune)),
    ]
}

/// The HTML part for one person: values escaped (a name is never markup).
pub(crate) fn html(template: &str, details: &SubscriberDetails) -> String {
    if !template.contains("-DESTINATAIRE") {
        return template.to_string();
    }
    // One copy of the template, changed in place: a placeholder it lacks costs a search.
    let mut out = template.to_string();
    for (placeholder, value) in values(details) {
        if value.is_empty() {
            remove_in_html(&mut out, placeholder);
        } else if out.contains(placeholder) {
            out = out.replace(placeholder, &escape(&value));
        }
    }
    out
}

/// The text part for one person: a line holding only an empty value goes with the blank
/// line after it.
pub(crate) fn text(template: &str, details: &SubscriberDetails) -> String {
    if !template.contains("-DESTINATAIRE") {
        return template.to_string();
    }
    let mut out = template.to_string();
    for (placeholder, value) in values(details) {
        // Absent, it would only be copied over three times.
        if !out.contains(placeholder) {
            continue;
        }
        if value.is_empty() {
            out = out
                .replace(&format!("\n{placeholder}\n\n"), "\n")
                .replace(&format!("\n{placeholder}\n"), "\n");
        }
        out = out.replace(placeholder, &value);
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Removes each occurrence of `placeholder`, and with it every enclosing element left with
/// nothing inside (`<tr><td …><p …>SALUTATION-DESTINATAIRE</p></td></tr>` goes entirely).
fn remove_in_html(out: &mut String, placeholder: &str) {
    while let Some(start) = out.find(placeholder) {
        let (mut from, mut to) = (start, start + placeholder.len());
        // At most a few levels: the greeting sits in a paragraph, a cell and a row.
        for _ in 0..4 {
            let before = out[..from].trim_end();
            let after = out[to..].trim_start();
            let Some(open) = before.rfind('<') else { break };
            let tag = &before[open..];
            if !tag.ends_with('>') || tag.starts_with("</") || tag.starts_with("<!") {
                break;
            }
            let name: String = tag[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let close = format!("</{name}>");
            if name.is_empty() || !after.starts_with(&close) {
                break;
            }
            from = open;
            to = out.len() - after.len() + close.len();
        }
        // The line break before a removed element goes too, so no blank line is left.
        if to > start + placeholder.len() && out[..from].ends_with('\n') {
            from -= 1;
        }
        out.replace_range(from..to, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(first: Option<&str>) -> SubscriberDetails {
        SubscriberDetails {
            first_name: first.map(str::to_string),
            commune: Some("Albi".into()),
            ..SubscriberDetails::default()
        }
    }

    #[test]
    fn the_greeting_names_the_person_or_disappears() {
        let page = "<table>\n<tr><td class=\"bloc\" style=\"padding: 16px\"><p style=\"margin: 0\">SALUTATION-DESTINATAIRE</p></td></tr>\n<tr><td>COMMUNE-DESTINATAIRE</td></tr>\n</table>";
        let named = html(page, &person(Some("Hélène")));
        assert!(named.contains(">Bonjour Hélène,</p>"), "{named}");
        assert!(named.contains("<td>Albi</td>"), "{named}");
        let anonymous = html(page, &person(None));
        assert_eq!(anonymous, "<table>\n<tr><td>Albi</td></tr>\n</table>");
        let hostile = html(page, &person(Some("<b>Zoé</b> & \"cie\"")));
        assert!(
            hostile.contains("Bonjour &lt;b&gt;Zoé&lt;/b&gt; &amp; &quot;cie&quot;,"),
            "{hostile}"
        );

        let part =
            "FLASH INFO\n\nVersion en ligne : x\n\nSALUTATION-DESTINATAIRE\n\n== À la une ==\n";
        assert_eq!(
            text(part, &person(Some("Hélène"))),
            "FLASH INFO\n\nVersion en ligne : x\n\nBonjour Hélène,\n\n== À la une ==\n"
        );
        assert_eq!(
            text(part, &person(None)),
            "FLASH INFO\n\nVersion en ligne : x\n\n== À la une ==\n"
        );
    }
}
