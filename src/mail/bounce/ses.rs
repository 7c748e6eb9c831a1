//! Amazon SES notifications sent by e-mail through SNS: no report part, a JSON document
//! (`{"notificationType":"Bounce"|"Complaint"|"Delivery", …}`) as the whole text.

use serde_json::Value;

use super::classify::{Classification, Kind};
use super::patterns::reason_of;

/// The notification at the start of `text`, if it is one (what follows the document, SNS's
/// "unsubscribe from this topic" footer, is left aside).
pub(crate) fn notification(text: &str, delivered_to: Vec<String>) -> Option<Classification> {
    let start = text.trim_start();
    if !start.starts_with('{') || !start.contains("\"notificationType\"") {
        return None;
    }
    let first = |text: &str| -> Option<Value> {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .next()?
            .ok()
    };
    // Long lines of the document may have been wrapped on the way.
    let doc = first(start).or_else(|| {
        let body = start.split("\n--\n").next().unwrap_or(start);
        first(&body.replace('\n', ""))
    })?;
    let addresses = |list: &Value, key: &str| -> Vec<String> {
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.get(key).and_then(Value::as_str))
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (kind, recipients, status, reason) = match doc["notificationType"].as_str()? {
        "Bounce" => {
            let failed = &doc["bounce"]["bouncedRecipients"];
            let first = &failed[0];
            let status = first["status"].as_str().map(str::to_string);
            let diagnostic = first["diagnosticCode"].as_str().unwrap_or("");
            let reason = reason_of(status.as_deref(), diagnostic, "failed", "");
            let kind = reason.kind(status.as_deref(), diagnostic);
            let word = reason.word().to_string();
            (kind, addresses(failed, "emailAddress"), status, Some(word))
        }
        "Complaint" => (
            Kind::Complaint,
            addresses(&doc["complaint"]["complainedRecipients"], "emailAddress"),
            None,
            Some("abuse".to_string()),
        ),
        "Delivery" => {
            let recipients = doc["delivery"]["recipients"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_lowercase)
                        .collect()
                })
                .unwrap_or_default();
            (
                Kind::Delivered,
                recipients,
                Some("2.6.0".to_string()),
                Some("delivered".to_string()),
            )
        }
        _ => return None,
    };
    if recipients.is_empty() {
        return None;
    }
    Some(Classification {
        kind,
        recipients,
        status,
        reason,
        delivered_to,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_complaints_and_deliveries_are_read() {
        let bounce = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
            "bouncedRecipients":[{"emailAddress":"Inconnu@exemple.fr","status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}}
            --
            If you wish to stop receiving notifications from this topic…"#;
        let c = notification(bounce, Vec::new()).unwrap();
        assert_eq!(
            (c.kind, c.recipients),
            (Kind::Hard, vec!["inconnu@exemple.fr".into()])
        );
        let delivery =
            r#"{"notificationType":"Delivery","delivery":{"recipients":["a@exemple.fr"]}}"#;
        assert_eq!(
            notification(delivery, Vec::new()).unwrap().kind,
            Kind::Delivered
        );
        let complaint = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"b@exemple.fr"}]}}"#;
        assert_eq!(
            notification(complaint, Vec::new()).unwrap().kind,
            Kind::Complaint
        );
        assert!(notification("{\"notificationType\": 3", Vec::new()).is_none());
        assert!(notification("Bonjour", Vec::new()).is_none());
    }
}
