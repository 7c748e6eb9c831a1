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

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use governor::{Quota, RateLimiter};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

use super::csrf;
use super::error::WebError;
use super::pages::{ListChoice, PageContext, Pages};
use crate::config::Config;
use crate::mail::message::{header_safe, parse_mailbox};
use crate::mail::token::{Purpose, Secret};
use crate::publish::Publisher;
use crate::store::Store;

/// Where the subscription form posts.
pub(crate) const FORM_PATH: &str = "/abonnement";

/// Days a confirmation link stays valid.
pub(crate) const CONFIRM_DAYS: i64 = 7;

/// What the subscription endpoints share.
pub(crate) struct Subscriptions {
    pub(crate) config: Config,
    pub(crate) archive: std::path::PathBuf,
    pub(crate) store: Store,
    pub(crate) secret: Secret,
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// All clients together (`[web] subscribe_per_hour`).
    global: governor::DefaultDirectRateLimiter,
}

impl Subscriptions {
    /// `per_minute`: form submissions allowed per client IP and minute.
    pub(crate) fn new(
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

    fn lists(&self) -> Vec<ListChoice> {
        self.config
            .lists
            .iter()
            .map(|(id, l)| ListChoice {
                id: id.clone(),
                title: l.title.clone(),
                active: false,
            })
            .collect()
    }

    fn list_title(&self, list: &str) -> String {
        self.config
            .lists
            .get(list)
            .map_or_else(|| list.to_string(), |l| l.title.clone())
    }
}

#[derive(Deserialize)]
pub(crate) struct FormQuery {
    liste: Option<String>,
}

/// What `confirmation.txt` shows.
#[derive(Serialize)]
struct ConfirmationMail<'a> {
    list_title: &'a str,
    confirm_url: &'a str,
    days: i64,
}

fn subscription_pages(s: &Arc<Subscriptions>) -> Pages {
    Pages::subscription(s.clone())
}

/// The pages, and what a signed link of `purpose` says; a forged or expired link is the
/// "lien invalide" page, and so is the link of another centre's subscriber (`ours`).
async fn verified(
    s: &Arc<Subscriptions>,
    purpose: Purpose,
    token: &str,
) -> Result<(Pages, crate::mail::token::Claim), WebError> {
    let pages = subscription_pages(s);
    let claim = s
        .secret
        .verify(purpose, token, Utc::now())
        .ok_or_else(|| pages.invalid())?;
    s.ours(&pages, claim.subscriber).await?;
    Ok((pages, claim))
}

/// The page a signed link opens: `page` titled `title`, its form posting back to
/// `action_prefix` + the token.
async fn signed_link_page(
    s: &Arc<Subscriptions>,
    purpose: Purpose,
    token: &str,
    (page, title, action_prefix): (&'static str, &'static str, &str),
) -> Result<Response, WebError> {
    let (pages, claim) = verified(s, purpose, token).await?;
    pages.ok(PageContext {
        list_title: s.list_title(&claim.list),
        ..PageContext::new(page, title).with_action(format!("{action_prefix}{token}"))
    })
}

/// The subscription form, with `email` and an optional error message.
fn form_page(
    s: &Subscriptions,
    selected: String,
    email: String,
    error: Option<&'static str>,
) -> PageContext {
    PageContext {
        lists: s.lists(),
        selected,
        email,
        error,
        ..PageContext::new("formulaire", "S'abonner")
    }
    .with_action(FORM_PATH)
}

pub(crate) async fn form(
    State(s): State<Arc<Subscriptions>>,
    Query(q): Query<FormQuery>,
) -> Result<Response, WebError> {
    let selected = q
        .liste
        .filter(|l| s.config.lists.contains_key(l))
        .or_else(|| s.config.lists.keys().next().cloned())
        .unwrap_or_default();
    subscription_pages(&s).ok(form_page(&s, selected, String::new(), None))
}

pub(crate) async fn submit(
    State(s): State<Arc<Subscriptions>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let pages = subscription_pages(&s);
    let fields = csrf::parse_body(&body);
    pages.check_form(&headers, FORM_PATH, &fields, FORM_PATH)?;
    if s.limiter.check_key(&peer.ip()).is_err() {
        return Err(pages.too_many());
    }
    let list = csrf::field(&fields, "liste")
        .unwrap_or_default()
        .to_string();
    let given = csrf::field(&fields, "email").unwrap_or_default();
    let Some(email) = crate::mail::normalise_address(given) else {
        return pages.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&s, list, given.to_string(), Some(
                "Cette adresse électronique n'est pas valide : vérifiez-la (exemple : prenom.nom@exemple.fr).",
            )),
        );
    };
    if !s.config.lists.contains_key(&list) {
        return pages.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(
                &s,
                String::new(),
                email,
                Some("Choisissez une publication."),
            ),
        );
    }
    // Checked after validation, so junk does not use up the budget of real readers.
    if s.global.check().is_err() {
        tracing::warn!("plafond global des demandes d'abonnement atteint : demande refusée");
        return Err(pages.too_many());
    }
    // Off the request path: the answer and its timing are the same for every address.
    let task = s.clone();
    let source = peer.ip().to_string();
    tokio::spawn(async move {
        if let Err(e) = task.request(&email, &list, &source).await {
            tracing::error!("demande d'abonnement : {e:#}");
        }
    });
    pages.ok(PageContext {
        days: CONFIRM_DAYS,
        ..PageContext::new("envoye", "Vérifiez votre messagerie")
    })
}

impl Subscriptions {
    /// Refuses, as an invalid link, a subscriber who is not this centre's: centres sharing
    /// a database (and a signing secret) must never act on each other's people, whatever
    /// link reaches which centre's `veille serve`.
    pub(crate) async fn ours(&self, pages: &Pages, subscriber: i64) -> Result<(), WebError> {
        match self.store.subscriber_email(subscriber).await? {
            Some(_) => Ok(()),
            None => Err(pages.invalid()),
        }
    }

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
            ConfirmationMail {
                list_title: &list_title,
                confirm_url: &confirm_url,
                days: CONFIRM_DAYS,
            },
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

pub(crate) async fn confirm_page(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    signed_link_page(
        &s,
        Purpose::Confirm,
        &token,
        ("confirmer", "Confirmer l'abonnement", "/confirmation/"),
    )
    .await
}

pub(crate) async fn confirm(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (pages, claim) = verified(&s, Purpose::Confirm, &token).await?;
    let path = format!("/confirmation/{token}");
    pages.check_form(&headers, &path, &csrf::parse_body(&body), &path)?;
    if !s
        .store
        .confirm_subscription(claim.subscriber, &claim.list, Utc::now())
        .await?
    {
        return Err(pages.invalid());
    }
    pages.ok(PageContext {
        list_title: s.list_title(&claim.list),
        ..PageContext::new("confirme", "Abonnement confirmé")
    })
}

pub(crate) async fn unsubscribe_page(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    signed_link_page(
        &s,
        Purpose::Unsubscribe,
        &token,
        ("desinscrire", "Se désinscrire", "/desabonnement/"),
    )
    .await
}

/// Both the page's button (with its CSRF token) and RFC 8058 one-click
/// (`List-Unsubscribe=One-Click` in the body, exempt: see ARCHITECTURE.md): no further step
/// either way.
pub(crate) async fn unsubscribe(
    State(s): State<Arc<Subscriptions>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (pages, claim) = verified(&s, Purpose::Unsubscribe, &token).await?;
    let fields = csrf::parse_body(&body);
    if csrf::field(&fields, "List-Unsubscribe") != Some("One-Click") {
        let path = format!("/desabonnement/{token}");
        pages.check_form(&headers, &path, &fields, &path)?;
    }
    s.store
        .unsubscribe(claim.subscriber, &claim.list, Utc::now())
        .await?;
    pages.ok(PageContext {
        list_title: s.list_title(&claim.list),
        ..PageContext::new("desinscrit", "Désinscription faite")
    })
}
