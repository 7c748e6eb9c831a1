//! Subscription on the web: a French, accessible form with double opt-in (a confirmation
//! mail carrying a signed, expiring link), the confirmation page, and unsubscribing — a
//! page with a button, and RFC 8058 one-click (`POST` with `List-Unsubscribe=One-Click`).
//!
//! The form answers the same whatever the address (known, unknown, refused), sends the
//! confirmation mail off the request path so that timing tells nothing either, and is rate
//! limited per client IP.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use governor::{Quota, RateLimiter};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::Deserialize;
use serde_json::json;

use crate::config::Config;
use crate::mail::message::{header_safe, parse_mailbox};
use crate::mail::token::{Purpose, Secret};
use crate::publish::Publisher;
use crate::store::Store;

/// Days a confirmation link stays valid.
pub const CONFIRM_DAYS: i64 = 7;

/// What the subscription endpoints share.
pub struct Subscriptions {
    pub config: Config,
    pub archive: std::path::PathBuf,
    pub store: Store,
    pub secret: Secret,
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// All clients together (`[web] subscribe_per_hour`).
    global: governor::DefaultDirectRateLimiter,
}

impl Subscriptions {
    /// `per_minute`: form submissions allowed per client IP and minute.
    pub fn new(
        config: Config,
        archive: std::path::PathBuf,
        store: Store,
        secret: Secret,
        per_minute: u32,
    ) -> Self {
        Subscriptions {
            archive,
            store,
            secret,
            limiter: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            global: RateLimiter::direct(Quota::per_hour(
                NonZeroU32::new(config.web.subscribe_per_hour).unwrap_or(NonZeroU32::MIN),
            )),
            config,
        }
    }

    fn lists(&self) -> Vec<serde_json::Value> {
        self.config
            .lists
            .iter()
            .map(|(id, l)| json!({"id": id, "title": l.title}))
            .collect()
    }

    fn list_title(&self, list: &str) -> String {
        self.config
            .lists
            .get(list)
            .map_or_else(|| list.to_string(), |l| l.title.clone())
    }

    fn page(&self, status: StatusCode, data: serde_json::Value) -> Response {
        let publisher = match Publisher::new(&self.config, &self.archive) {
            Ok(p) => p,
            Err(e) => return server_error(e),
        };
        match publisher.render_template("abonnement.html", data) {
            Ok(html) => {
                let mut response = (status, Html(html)).into_response();
                super::secure_headers(&self.config.web.site_origins, response.headers_mut());
                response
            }
            Err(e) => server_error(e),
        }
    }
}

fn server_error(e: anyhow::Error) -> Response {
    tracing::error!("page d'abonnement : {e:#}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Erreur interne : l'équipe a été prévenue par le journal du serveur.\n",
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct FormQuery {
    liste: Option<String>,
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    email: String,
    liste: String,
}

pub async fn form(State(s): State<Arc<Subscriptions>>, Query(q): Query<FormQuery>) -> Response {
    let selected = q
        .liste
        .filter(|l| s.config.lists.contains_key(l))
        .or_else(|| s.config.lists.keys().next().cloned())
        .unwrap_or_default();
    s.page(
        StatusCode::OK,
        json!({"page": "formulaire", "heading": "S'abonner", "lists": s.lists(),
               "selected": selected, "email": "", "error": null}),
    )
}

pub async fn submit(
    State(s): State<Arc<Subscriptions>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<SubscribeForm>,
) -> Response {
    if s.limiter.check_key(&peer.ip()).is_err() {
        return s.page(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"page": "trop", "heading": "Trop de demandes"}),
        );
    }
    let list = form.liste;
    let Some(email) = crate::mail::normalise_address(&form.email) else {
        return s.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"page": "formulaire", "heading": "S'abonner", "lists": s.lists(),
                   "selected": list, "email": form.email,
                   "error": "Cette adresse électronique n'est pas valide : vérifiez-la (exemple : prenom.nom@exemple.fr)."}),
        );
    };
    if !s.config.lists.contains_key(&list) {
        return s.page(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"page": "formulaire", "heading": "S'abonner", "lists": s.lists(),
                   "selected": "", "email": email, "error": "Choisissez une publication."}),
        );
    }
    // Checked after validation, so junk does not use up the budget of real readers.
    if s.global.check().is_err() {
        tracing::warn!("plafond global des demandes d'abonnement atteint : demande refusée");
        return s.page(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"page": "trop", "heading": "Trop de demandes"}),
        );
    }
    // Off the request path: the answer and its timing are the same for every address.
    let task = s.clone();
    let source = peer.ip().to_string();
    tokio::spawn(async move {
        if let Err(e) = task.request(&email, &list, &source).await {
            tracing::error!("demande d'abonnement : {e:#}");
        }
    });
    s.page(
        StatusCode::OK,
        json!({"page": "envoye", "heading": "Vérifiez votre messagerie", "days": CONFIRM_DAYS}),
    )
}

impl Subscriptions {
    async fn request(&self, email: &str, list: &str, source: &str) -> anyhow::Result<()> {
        let hash = self.secret.address_hash(email);
        let Some(subscriber) = self
            .store
            .request_subscription(email, &hash, list, source, Utc::now())
            .await?
        else {
            return Ok(());
        };
        let token = self.secret.sign(
            Purpose::Confirm,
            subscriber,
            list,
            Some(Utc::now() + chrono::Duration::days(CONFIRM_DAYS)),
        );
        let confirm_url = format!("{}/confirmation/{token}", self.config.base_url());
        let publisher = Publisher::new(&self.config, &self.archive)?;
        let list_title = self.list_title(list);
        let text = publisher.render_template(
            "confirmation.txt",
            json!({"list_title": list_title, "confirm_url": confirm_url, "days": CONFIRM_DAYS}),
        )?;
        let settings =
            self.config.mail.as_ref().ok_or_else(|| {
                anyhow::anyhow!("pas de section [mail] : confirmation non envoyée")
            })?;
        let from: Mailbox = parse_mailbox(&settings.from, "d'expédition (from)")?;
        let domain = from.email.domain().to_string();
        let message = lettre::Message::builder()
            .from(from)
            .to(email.parse()?)
            .subject(header_safe(&format!(
                "Confirmez votre abonnement : {list_title}"
            )))
            .message_id(Some(format!(
                "<veille.confirmation.{subscriber}.{}@{domain}>",
                Utc::now().timestamp_millis()
            )))
            .date(SystemTime::now())
            .multipart(MultiPart::mixed().singlepart(SinglePart::plain(text)))?;
        crate::mail::send_single(settings, &message, &format!("de la confirmation à {email}")).await
    }
}

pub async fn confirm_page(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
) -> Response {
    match s.secret.verify(Purpose::Confirm, &token, Utc::now()) {
        Some(claim) => s.page(
            StatusCode::OK,
            json!({"page": "confirmer", "heading": "Confirmer l'abonnement",
                   "list_title": s.list_title(&claim.list), "action": format!("/confirmation/{token}")}),
        ),
        None => invalid(&s),
    }
}

pub async fn confirm(State(s): State<Arc<Subscriptions>>, Path(token): Path<String>) -> Response {
    let Some(claim) = s.secret.verify(Purpose::Confirm, &token, Utc::now()) else {
        return invalid(&s);
    };
    match s
        .store
        .confirm_subscription(claim.subscriber, &claim.list, Utc::now())
        .await
    {
        Ok(true) => s.page(
            StatusCode::OK,
            json!({"page": "confirme", "heading": "Abonnement confirmé",
                   "list_title": s.list_title(&claim.list)}),
        ),
        Ok(false) => invalid(&s),
        Err(e) => server_error(e),
    }
}

pub async fn unsubscribe_page(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
) -> Response {
    match s.secret.verify(Purpose::Unsubscribe, &token, Utc::now()) {
        Some(claim) => s.page(
            StatusCode::OK,
            json!({"page": "desinscrire", "heading": "Se désinscrire",
                   "list_title": s.list_title(&claim.list), "action": format!("/desabonnement/{token}")}),
        ),
        None => invalid(&s),
    }
}

/// Both the page's button and RFC 8058 one-click (`List-Unsubscribe=One-Click` in the
/// body): no further step either way.
pub async fn unsubscribe(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
) -> Response {
    let Some(claim) = s.secret.verify(Purpose::Unsubscribe, &token, Utc::now()) else {
        return invalid(&s);
    };
    if let Err(e) = s
        .store
        .unsubscribe(claim.subscriber, &claim.list, Utc::now())
        .await
    {
        return server_error(e);
    }
    s.page(
        StatusCode::OK,
        json!({"page": "desinscrit", "heading": "Désinscription faite",
               "list_title": s.list_title(&claim.list)}),
    )
}

fn invalid(s: &Subscriptions) -> Response {
    s.page(
        StatusCode::BAD_REQUEST,
        json!({"page": "invalide", "heading": "Lien non valable"}),
    )
}
