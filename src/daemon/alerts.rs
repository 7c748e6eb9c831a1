//! Sources that say when they break (`[alerts]`): after each polling pass, each source's
//! state — erring, failing for `alert_after_hours`, selectors finding nothing, silent for
//! `silent_after_days` — is compared with the one last told, and the curators get one French
//! mail per change of state and one when the source recovers.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::Serialize;
use tracing::warn;

use crate::config::{AlertSettings, Config};
use crate::mail::message::{header_safe, parse_mailbox};
use crate::store::{AlertInput, Store};

/// A source's state for the curators. `Erring` has failed, not long enough to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AlertState {
    Ok,
    Erring,
    Failing,
    Empty,
    Silent,
}

impl AlertState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlertState::Ok => "ok",
            AlertState::Erring => "erring",
            AlertState::Failing => "failing",
            AlertState::Empty => "empty",
            AlertState::Silent => "silent",
        }
    }

    fn parse(text: &str) -> AlertState {
        match text {
            "erring" => AlertState::Erring,
            "failing" => AlertState::Failing,
            "empty" => AlertState::Empty,
            "silent" => AlertState::Silent,
            _ => AlertState::Ok,
        }
    }

    /// The states a curator is told of.
    pub(crate) fn is_alert(self) -> bool {
        matches!(
            self,
            AlertState::Failing | AlertState::Empty | AlertState::Silent
        )
    }
}

/// A source's state now, and since when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Assessment {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) state: AlertState,
    pub(crate) since: DateTime<Utc>,
    /// The error, or the date of the newest article for a silent source.
    pub(crate) detail: Option<String>,
}

/// The state of one source at `now`. A source erring since before its last success is
/// measured from that success; one that never succeeded, from when it was first seen erring.
pub(crate) fn assess(
    input: &AlertInput,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Assessment {
    let recorded = input
        .recorded
        .as_ref()
        .map(|(s, since)| (AlertState::parse(s), *since));
    let (state, since, detail) = if input.consecutive_errors > 0 {
        let error = input.last_error.clone();
        let nothing_matched = error
            .as_deref()
            .is_some_and(|e| e.contains("ne correspond à rien"));
        let erring_since = match recorded {
            Some((s, since)) if s != AlertState::Ok && s != AlertState::Silent => since,
            _ => input.last_success.unwrap_or(now),
        };
        let erring_since = input
            .last_success
            .map_or(erring_since, |ok| erring_since.max(ok));
        let state = if nothing_matched {
            AlertState::Empty
        } else if now - erring_since >= chrono::Duration::hours(settings.alert_after_hours as i64) {
            AlertState::Failing
        } else {
            AlertState::Erring
        };
        (state, erring_since, error)
    } else {
        match input.newest_article {
            Some(newest)
                if input.last_success.is_some()
                    && now - newest
                        >= chrono::Duration::days(settings.silent_after_days as i64) =>
            {
                (
                    AlertState::Silent,
                    newest,
                    Some(format!("dernier article le {}", newest.format("%d/%m/%Y"))),
                )
            }
            _ => (AlertState::Ok, now, None),
        }
    };
    // A state that goes on keeps its start.
    let since = match recorded {
        Some((s, recorded_since)) if s == state => recorded_since,
        _ => since,
    };
    Assessment {
        name: input.name.clone(),
        url: input.url.clone(),
        state,
        since,
        detail,
    }
}

/// Every enabled source's state now (`veille sources --failing` shows the alerting ones).
pub(crate) async fn assess_all(
    store: &Store,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(AlertInput, Assessment)>> {
    Ok(store
        .alert_inputs()
        .await?
        .into_iter()
        .map(|i| {
            let a = assess(&i, settings, now);
            (i, a)
        })
        .collect())
}

/// The default settings when `[alerts]` is absent, for `veille sources --failing`.
pub(crate) fn default_settings() -> AlertSettings {
    AlertSettings {
        to: Vec::new(),
        alert_after_hours: 48,
        silent_after_days: 21,
    }
}

/// After a pass: mails each change of state (to an alert, or back to normal) and records
/// it. A mail that fails is retried at the next pass (the state is recorded only once sent).
pub(crate) async fn notify(
    config: &Config,
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(settings) = &config.alerts else {
        return Ok(0);
    };
    let mut sent = 0;
    for (input, now_state) in assess_all(store, settings, now).await? {
        let before = input
            .recorded
            .as_ref()
            .map_or(AlertState::Ok, |(s, _)| AlertState::parse(s));
        if before == now_state.state {
            continue;
        }
        let mail = if now_state.state.is_alert() {
            Some(alert_text(&now_state, settings))
        } else if before.is_alert() && now_state.state == AlertState::Ok {
            Some(recovery_text(&now_state, before))
        } else {
            None
        };
        if let Some((subject, body)) = mail {
            send(config, settings, &subject, &body).await?;
            sent += 1;
        }
        store
            .set_alert_state(
                input.source_id,
                now_state.state.as_str(),
                now_state.since,
                now_state.detail.as_deref(),
            )
            .await?;
    }
    Ok(sent)
}

fn command_for(name: &str) -> String {
    format!("veille check --fetch \"{}\"", name.replace('"', "\\\""))
}

fn alert_text(a: &Assessment, settings: &AlertSettings) -> (String, String) {
    let since = a.since.format("%d/%m/%Y %H:%M UTC");
    let (subject, what) = match a.state {
        AlertState::Failing => (
            format!("veille : la source « {} » est en erreur", a.name),
            format!(
                "La source « {} » échoue depuis le {since} (plus de {} h).",
                a.name, settings.alert_after_hours
            ),
        ),
        AlertState::Empty => (
            format!(
                "veille : les sélecteurs de « {} » ne trouvent plus rien",
                a.name
            ),
            format!(
                "Les sélecteurs de la page « {} » ne trouvent plus aucun article depuis le {since} : le site a sans doute changé sa mise en page. `veille sources suggest {}` propose de nouveaux sélecteurs.",
                a.name, a.url
            ),
        ),
        _ => (
            format!("veille : la source « {} » n'apporte plus rien", a.name),
            format!(
                "La source « {} » n'a apporté aucun article nouveau depuis le {since} (plus de {} jours).",
                a.name, settings.silent_after_days
            ),
        ),
    };
    let detail = a
        .detail
        .as_deref()
        .map(|d| format!("\nErreur : {d}\n"))
        .unwrap_or_default();
    let body = format!(
        "{what}\n{detail}\nAdresse : {}\n\nPour voir ce qu'elle donne maintenant :\n  {}\nToutes les sources en difficulté :\n  veille sources --failing\n\nUn seul message est envoyé pour cet état ; un autre suivra quand la source fonctionnera de nouveau.\n",
        a.url,
        command_for(&a.name)
    );
    (subject, body)
}

fn recovery_text(a: &Assessment, before: AlertState) -> (String, String) {
    let was = match before {
        AlertState::Empty => "ses sélecteurs ne trouvaient plus rien",
        AlertState::Silent => "elle n'apportait plus rien",
        _ => "elle était en erreur",
    };
    (
        format!("veille : la source « {} » fonctionne de nouveau", a.name),
        format!(
            "La source « {} » fonctionne de nouveau ({was}).\n\nAdresse : {}\n\nPour voir ce qu'elle donne :\n  {}\n",
            a.name,
            a.url,
            command_for(&a.name)
        ),
    )
}

async fn send(
    config: &Config,
    settings: &AlertSettings,
    subject: &str,
    body: &str,
) -> anyhow::Result<()> {
    let mail = config.mail.as_ref().ok_or_else(|| {
        anyhow::anyhow!("[alerts] demande une section [mail] (serveur et expéditeur)")
    })?;
    let from: Mailbox = parse_mailbox(&mail.from, "d'expédition (from)")?;
    let domain = from.email.domain().to_string();
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(header_safe(subject))
        .message_id(Some(format!(
            "<veille.alerte.{}.{}@{domain}>",
            Utc::now().timestamp_millis(),
            fastrand::u32(..)
        )))
        .date(SystemTime::now());
    for to in &settings.to {
        builder = builder.to(parse_mailbox(to, "de [alerts] to")?);
    }
    let message =
        builder.multipart(MultiPart::mixed().singlepart(SinglePart::plain(body.to_owned())))?;
    crate::mail::send_single(mail, &message, &format!("de l'alerte « {subject} »"))
        .await
        .inspect_err(|e| warn!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(errors: u32, error: Option<&str>, last_success: Option<&str>) -> AlertInput {
        AlertInput {
            source_id: 1,
            name: "Préfecture".into(),
            url: "https://example.gouv.fr/".into(),
            consecutive_errors: errors,
            last_error: error.map(str::to_owned),
            last_success: last_success.map(|t| t.parse().unwrap()),
            newest_article: Some("2026-11-20T00:00:00Z".parse().unwrap()),
            recorded: None,
        }
    }

    fn at(t: &str) -> DateTime<Utc> {
        t.parse().unwrap()
    }

    #[test]
    fn failing_only_after_the_delay_measured_from_the_last_success() {
        let s = default_settings();
        let i = input(3, Some("HTTP 500"), Some("2026-11-25T00:00:00Z"));
        assert_eq!(
            assess(&i, &s, at("2026-11-26T12:00:00Z")).state,
            AlertState::Erring
        );
        let a = assess(&i, &s, at("2026-11-27T00:00:00Z"));
        assert_eq!(a.state, AlertState::Failing);
        assert_eq!(a.detail.as_deref(), Some("HTTP 500"));
    }

    #[test]
    fn never_succeeded_counts_from_the_first_erring_record() {
        let s = default_settings();
        let mut i = input(1, Some("HTTP 500"), None);
        assert_eq!(
            assess(&i, &s, at("2026-11-25T00:00:00Z")).state,
            AlertState::Erring
        );
        i.recorded = Some(("erring".into(), at("2026-11-25T00:00:00Z")));
        assert_eq!(
            assess(&i, &s, at("2026-11-26T00:00:00Z")).state,
            AlertState::Erring
        );
        assert_eq!(
            assess(&i, &s, at("2026-11-27T00:00:00Z")).state,
            AlertState::Failing
        );
    }

    #[test]
    fn selectors_finding_nothing_alert_at_once() {
        let s = default_settings();
        let i = input(
            1,
            Some("0 élément : `article.news` ne correspond à rien dans la page"),
            Some("2026-11-25T00:00:00Z"),
        );
        assert_eq!(
            assess(&i, &s, at("2026-11-25T01:00:00Z")).state,
            AlertState::Empty
        );
    }

    #[test]
    fn silent_after_the_days_without_a_new_article() {
        let s = default_settings();
        let i = input(0, None, Some("2026-12-20T00:00:00Z"));
        assert_eq!(
            assess(&i, &s, at("2026-12-10T00:00:00Z")).state,
            AlertState::Ok
        );
        let a = assess(&i, &s, at("2026-12-11T00:00:00Z"));
        assert_eq!(a.state, AlertState::Silent);
        assert_eq!(a.detail.as_deref(), Some("dernier article le 20/11/2026"));
    }

    #[test]
    fn mails_are_french_and_give_the_command() {
        let a = Assessment {
            name: "Préfecture \"Sud\"".into(),
            url: "https://example.gouv.fr/".into(),
            state: AlertState::Failing,
            since: at("2026-11-25T00:00:00Z"),
            detail: Some("HTTP 500".into()),
        };
        let (subject, body) = alert_text(&a, &default_settings());
        assert_eq!(
            subject,
            "veille : la source « Préfecture \"Sud\" » est en erreur"
        );
        assert!(
            body.contains("échoue depuis le 25/11/2026 00:00 UTC"),
            "{body}"
        );
        assert!(body.contains("Erreur : HTTP 500"), "{body}");
        assert!(
            body.contains("veille check --fetch \"Préfecture \\\"Sud\\\"\""),
            "{body}"
        );
        let (subject, _) = recovery_text(&a, AlertState::Failing);
        assert!(subject.ends_with("fonctionne de nouveau"));
    }
}
