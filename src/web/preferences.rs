//! "Gérer mon abonnement": the page a signed link in every message leads to (choose lists,
//! change address with confirmation of the new one, leave everything), and the page where a
//! reader without a link — the public web copy of an email shows no personal link — asks for
//! one by e-mail. French, accessible (labels, fieldsets, alerts), same answer whatever the
//! address, rate limited per client IP.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use governor::{Quota, RateLimiter};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde_json::json;

use super::subscribe::{CONFIRM_DAYS, Subscriptions};
use crate::mail::message::{header_safe, parse_mailbox};
use crate::mail::token::Purpose;
use crate::publish::{PREFERENCES_PATH, PREFERENCES_REQUEST_PATH, Publisher};
use crate::store::preferences::AddressChange;

/// The preferences pages' state: the subscription pages' (config, store, secret) and a
/// limiter of their own for the requests that send mail.
pub struct PreferencePages {
    pub subs: Arc<Subscriptions>,
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
}

impl PreferencePages {
    pub fn new(subs: Arc<Subscriptions>, per_minute: u32) -> Self {
        PreferencePages {
            subs,
            limiter: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    fn page(&self, status: StatusCode, mut data: serde_json::Value) -> Response {
        let s = &self.subs;
        // The template engine is strict about undefined values: every page has both keys.
        for key in ["message", "error"] {
            if data.get(key).is_none() {
                data[key] = serde_json::Value::Null;
            }
        }
        let rendered = Publisher::new(&s.config, &s.archive)
            .and_then(|p| p.render_template("preferences.html", data));
        match rendered {
            Ok(html) => {
                let mut response = (status, Html(html)).into_response();
                super::secure_headers(&s.config.web.site_origins, response.headers_mut());
                response
            }
            Err(e) => {
                tracing::error!("page de préférences : {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Erreur interne : l'équipe a été prévenue par le journal du serveur.\n",
                )
                    .into_response()
            }
        }
    }

    fn invalid(&self) -> Response {
        self.page(
            StatusCode::BAD_REQUEST,
            json!({"page": "invalide", "heading": "Lien non valable"}),
        )
    }

    /// The page of one subscriber, with an optional message or error.
    async fn preferences_page(
        &self,
        token: &str,
        subscriber: i64,
        message: Option<&str>,
        error: Option<&str>,
    ) -> Response {
        let s = &self.subs;
        let prefs = match s.store.preferences(subscriber).await {
            Ok(Some(p)) => p,
            Ok(None) => return self.invalid(),
            Err(e) => return server_error(e),
        };
        let lists: Vec<_> = s
            .config
            .lists
            .iter()
            .map(|(id, l)| {
                let active = prefs.lists.iter().any(|(list, status)| {
                    list == id && (status == "active" || status == "pending")
                });
                json!({"id": id, "title": l.title, "active": active})
            })
            .collect();
        self.page(
            if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            json!({"page": "preferences", "heading": "Gérer mon abonnement",
                   "email": prefs.email, "lists": lists,
                   "action": format!("{PREFERENCES_PATH}{token}"),
                   "message": message, "error": error}),
        )
    }

    /// A plain-text message from the publication's sender.
    async fn send_text(&self, to: &str, subject: &str, text: String) -> anyhow::Result<()> {
        let settings = self
            .subs
            .config
            .mail
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("pas de section [mail] : message non envoyé"))?;
        let from: Mailbox = parse_mailbox(&settings.from, "d'expédition (from)")?;
        let domain = from.email.domain().to_string();
        let message = lettre::Message::builder()
            .from(from)
            .to(to.parse()?)
            .subject(header_safe(subject))
            .message_id(Some(format!(
                "<veille.preferences.{}.{}@{domain}>",
                Utc::now().timestamp_millis(),
                fastrand::u32(..)
            )))
            .date(SystemTime::now())
            .multipart(MultiPart::mixed().singlepart(SinglePart::plain(text)))?;
        crate::mail::send_single(settings, &message, &format!("du message à {to}")).await
    }
}

fn server_error(e: anyhow::Error) -> Response {
    tracing::error!("page de préférences : {e:#}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Erreur interne : l'équipe a été prévenue par le journal du serveur.\n",
    )
        .into_response()
}

pub async fn page(State(p): State<Arc<PreferencePages>>, Path(token): Path<String>) -> Response {
    match p
        .subs
        .secret
        .verify(Purpose::Preferences, &token, Utc::now())
    {
        Some(claim) => {
            p.preferences_page(&token, claim.subscriber, None, None)
                .await
        }
        None => p.invalid(),
    }
}

/// One of the three forms of the page: `action` = listes, adresse or tout.
pub async fn submit(
    State(p): State<Arc<PreferencePages>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Some(claim) = p
        .subs
        .secret
        .verify(Purpose::Preferences, &token, Utc::now())
    else {
        return p.invalid();
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let s = &p.subs;
    match field("action") {
        Some("listes") => {
            let known: Vec<String> = s.config.lists.keys().cloned().collect();
            let wanted: Vec<String> = known
                .iter()
                .filter(|l| field(&format!("liste-{l}")).is_some())
                .cloned()
                .collect();
            if let Err(e) = s
                .store
                .set_lists(claim.subscriber, &wanted, &known, Utc::now())
                .await
            {
                return server_error(e);
            }
            let message = if wanted.is_empty() {
                "Vos choix sont enregistrés : vous ne recevez plus aucune publication."
            } else {
                "Vos choix sont enregistrés."
            };
            p.preferences_page(&token, claim.subscriber, Some(message), None)
                .await
        }
        Some("adresse") => {
            if p.limiter.check_key(&peer.ip()).is_err() {
                return p.page(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"page": "trop", "heading": "Trop de demandes"}),
                );
            }
            let Some(email) = field("email").and_then(crate::mail::normalise_address) else {
                return p
                    .preferences_page(
                        &token,
                        claim.subscriber,
                        None,
                        Some("Cette adresse électronique n'est pas valide : vérifiez-la (exemple : prenom.nom@exemple.fr)."),
                    )
                    .await;
            };
            let confirm = s.secret.sign(
                Purpose::NewAddress,
                claim.subscriber,
                &email,
                Some(Utc::now() + chrono::Duration::days(CONFIRM_DAYS)),
            );
            let url = format!("{}{PREFERENCES_PATH}adresse/{confirm}", s.config.base_url());
            let text = format!(
                "Bonjour,\n\nQuelqu'un (sans doute vous) a demandé que les publications de {} \
                 arrivent désormais à cette adresse.\n\nPour confirmer, ouvrez ce lien \
                 (valable {CONFIRM_DAYS} jours) :\n{url}\n\nSi vous n'êtes pas à l'origine de \
                 cette demande, ignorez ce message : rien ne changera.\n",
                s.config.publish.site_name
            );
            let task = p.clone();
            tokio::spawn(async move {
                if let Err(e) = task
                    .send_text(&email, "Confirmez votre nouvelle adresse", text)
                    .await
                {
                    tracing::error!("confirmation de changement d'adresse : {e:#}");
                }
            });
            p.page(
                StatusCode::OK,
                json!({"page": "adresse-envoyee", "heading": "Vérifiez la nouvelle adresse",
                       "days": CONFIRM_DAYS}),
            )
        }
        Some("tout") => match s.store.leave_all(claim.subscriber, Utc::now()).await {
            Ok(()) => p.page(
                StatusCode::OK,
                json!({"page": "tout-arrete", "heading": "Désabonnement fait"}),
            ),
            Err(e) => server_error(e),
        },
        _ => p.invalid(),
    }
}

pub async fn address_page(
    State(p): State<Arc<PreferencePages>>,
    Path(token): Path<String>,
) -> Response {
    match p
        .subs
        .secret
        .verify(Purpose::NewAddress, &token, Utc::now())
    {
        Some(claim) => p.page(
            StatusCode::OK,
            json!({"page": "adresse-confirmer", "heading": "Confirmer la nouvelle adresse",
                   "email": claim.list, "action": format!("{PREFERENCES_PATH}adresse/{token}")}),
        ),
        None => p.invalid(),
    }
}

/// A button, not the link itself: mail scanners that follow links change nothing.
pub async fn address_confirm(
    State(p): State<Arc<PreferencePages>>,
    Path(token): Path<String>,
) -> Response {
    let Some(claim) = p
        .subs
        .secret
        .verify(Purpose::NewAddress, &token, Utc::now())
    else {
        return p.invalid();
    };
    match p.subs.store.change_address(claim.subscriber, &claim.list).await {
        Ok(AddressChange::Done) => p.page(
            StatusCode::OK,
            json!({"page": "adresse-faite", "heading": "Adresse changée", "email": claim.list}),
        ),
        Ok(AddressChange::Taken) => p.page(
            StatusCode::CONFLICT,
            json!({"page": "invalide", "heading": "Adresse déjà inscrite",
                   "error": "Cette adresse reçoit déjà nos publications : gérez-les depuis un message reçu à cette adresse."}),
        ),
        Ok(AddressChange::Gone) => p.invalid(),
        Err(e) => server_error(e),
    }
}

pub async fn request_form(State(p): State<Arc<PreferencePages>>) -> Response {
    p.page(
        StatusCode::OK,
        json!({"page": "demande", "heading": "Gérer mon abonnement"}),
    )
}

#[derive(serde::Deserialize)]
pub struct RequestForm {
    email: String,
}

/// Sends the preferences link to a known address; the same answer, at the same speed (the
/// mail leaves off the request path), for any address.
pub async fn request_submit(
    State(p): State<Arc<PreferencePages>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<RequestForm>,
) -> Response {
    if p.limiter.check_key(&peer.ip()).is_err() {
        return p.page(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"page": "trop", "heading": "Trop de demandes"}),
        );
    }
    let Some(email) = crate::mail::normalise_address(&form.email) else {
        return p.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"page": "demande", "heading": "Gérer mon abonnement",
                   "error": "Cette adresse électronique n'est pas valide : vérifiez-la (exemple : prenom.nom@exemple.fr)."}),
        );
    };
    let task = p.clone();
    tokio::spawn(async move {
        let s = &task.subs;
        let subscriber = match s.store.subscriber_id(&email).await {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("demande de lien de préférences : {e:#}");
                return;
            }
        };
        let token = s.secret.sign(
            Purpose::Preferences,
            subscriber,
            "",
            Some(Utc::now() + chrono::Duration::days(CONFIRM_DAYS)),
        );
        let text = format!(
            "Bonjour,\n\nVoici votre lien personnel pour choisir vos publications, changer \
             d'adresse ou vous désabonner (valable {CONFIRM_DAYS} jours) :\n{}{PREFERENCES_PATH}{token}\n\n\
             Si vous n'avez rien demandé, ignorez ce message.\n",
            s.config.base_url()
        );
        if let Err(e) = task
            .send_text(&email, "Votre lien pour gérer votre abonnement", text)
            .await
        {
            tracing::error!("lien de préférences : {e:#}");
        }
    });
    p.page(
        StatusCode::OK,
        json!({"page": "demande-envoyee", "heading": "Vérifiez votre messagerie"}),
    )
}

/// The public web copy of an email: the placeholders of personal links lead to the page
/// where a reader asks for their own.
pub fn public_copy(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let text = crate::mail::message::preferences_link(&text, None);
    let unsubscribe = format!(
        "{}{}",
        crate::publish::UNSUBSCRIBE_PATH,
        crate::publish::UNSUBSCRIBE_TOKEN_PLACEHOLDER
    );
    text.replace(&unsubscribe, PREFERENCES_REQUEST_PATH)
        .into_bytes()
}
