//! "Gérer mon abonnement": the page a signed link in every message leads to (choose lists,
//! change address with confirmation of the new one, leave everything), and the page where a
//! reader without a link — the public web copy of an email shows no personal link — asks for
//! one by e-mail. French, accessible (labels, fieldsets, alerts), same answer whatever the
//! address, rate limited per client IP.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use governor::{Quota, RateLimiter};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::csrf;
use super::error::WebError;
use super::pages::{ListChoice, PageContext, Pages};
use super::subscribe::{CONFIRM_DAYS, Subscriptions};
use crate::mail::message::{header_safe, parse_mailbox};
use crate::mail::token::Purpose;
use crate::publish::{PREFERENCES_PATH, PREFERENCES_REQUEST_PATH};
use crate::store::preferences::AddressChange;

/// The preferences pages' state: the subscription pages' (config, store, secret) and a
/// limiter of their own for the requests that send mail.
pub(crate) struct PreferencePages {
    pub(crate) subs: Arc<Subscriptions>,
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
}

const BAD_ADDRESS: &str =
    "Cette adresse électronique n'est pas valide : vérifiez-la (exemple : prenom.nom@exemple.fr).";

impl PreferencePages {
    pub(crate) fn new(subs: Arc<Subscriptions>, per_minute: u32) -> Self {
        PreferencePages {
            subs,
            limiter: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            )),
        }
    }

    fn pages(&self) -> Pages {
        Pages::preferences(self.subs.clone())
    }

    /// The pages, and what a signed link of `purpose` says; a forged or expired link is the
    /// "lien invalide" page, and so is the link of another centre's subscriber.
    async fn verified(
        &self,
        purpose: Purpose,
        token: &str,
    ) -> Result<(Pages, crate::mail::token::Claim), WebError> {
        let pages = self.pages();
        let claim = self
            .subs
            .secret
            .verify(purpose, token, Utc::now())
            .ok_or_else(|| pages.invalid())?;
        self.subs.ours(&pages, claim.subscriber).await?;
        Ok((pages, claim))
    }

    /// The page of one subscriber, with an optional message or error.
    async fn preferences_page(
        &self,
        token: &str,
        subscriber: i64,
        message: Option<&'static str>,
        error: Option<&'static str>,
    ) -> Result<Response, WebError> {
        let s = &self.subs;
        let pages = self.pages();
        let prefs = s
            .store
            .preferences(subscriber)
            .await?
            .ok_or_else(|| pages.invalid())?;
        let lists = s
            .config
            .lists
            .iter()
            .map(|(id, l)| ListChoice {
                id: id.clone(),
                title: l.title.clone(),
                active: prefs.lists.iter().any(|(list, status)| {
                    list == id && (status == "active" || status == "pending")
                }),
            })
            .collect();
        pages.render(
            if error.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            },
            PageContext {
                email: prefs.email,
                lists,
                message,
                error,
                ..PageContext::new("preferences", "Gérer mon abonnement")
                    .with_action(format!("{PREFERENCES_PATH}{token}"))
            },
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

    /// The "adresse" form: mails a confirmation link to the new address.
    fn change_address(
        self: &Arc<Self>,
        subscriber: i64,
        email: String,
    ) -> Result<Response, WebError> {
        let s = &self.subs;
        let confirm = s.secret.sign(
            Purpose::NewAddress,
            subscriber,
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
        let task = self.clone();
        tokio::spawn(async move {
            if let Err(e) = task
                .send_text(&email, "Confirmez votre nouvelle adresse", text)
                .await
            {
                tracing::error!("confirmation de changement d'adresse : {e:#}");
            }
        });
        self.pages().ok(PageContext {
            days: CONFIRM_DAYS,
            ..PageContext::new("adresse-envoyee", "Vérifiez la nouvelle adresse")
        })
    }
}

pub(crate) async fn page(
    State(p): State<Arc<PreferencePages>>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (_, claim) = p.verified(Purpose::Preferences, &token).await?;
    p.preferences_page(&token, claim.subscriber, None, None)
        .await
}

/// One of the three forms of the page: `action` = listes, adresse or tout.
pub(crate) async fn submit(
    State(p): State<Arc<PreferencePages>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (pages, claim) = p.verified(Purpose::Preferences, &token).await?;
    let path = format!("{PREFERENCES_PATH}{token}");
    let fields = csrf::parse_body(&body);
    pages.check_form(&headers, &path, &fields, &path)?;
    let field = |name: &str| csrf::field(&fields, name);
    let s = &p.subs;
    match field("action") {
        Some("listes") => {
            let known: Vec<String> = s.config.lists.keys().cloned().collect();
            let wanted: Vec<String> = known
                .iter()
                .filter(|l| field(&format!("liste-{l}")).is_some())
                .cloned()
                .collect();
            s.store
                .set_lists(claim.subscriber, &wanted, &known, Utc::now())
                .await?;
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
                return Err(pages.too_many());
            }
            match field("email").and_then(crate::mail::normalise_address) {
                Some(email) => p.change_address(claim.subscriber, email),
                None => {
                    p.preferences_page(&token, claim.subscriber, None, Some(BAD_ADDRESS))
                        .await
                }
            }
        }
        Some("tout") => {
            s.store.leave_all(claim.subscriber, Utc::now()).await?;
            pages.ok(PageContext::new("tout-arrete", "Désabonnement fait"))
        }
        _ => Err(pages.invalid()),
    }
}

pub(crate) async fn address_page(
    State(p): State<Arc<PreferencePages>>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let (pages, claim) = p.verified(Purpose::NewAddress, &token).await?;
    pages.ok(PageContext {
        email: claim.list,
        ..PageContext::new("adresse-confirmer", "Confirmer la nouvelle adresse")
            .with_action(format!("{PREFERENCES_PATH}adresse/{token}"))
    })
}

/// A button, not the link itself: mail scanners that follow links change nothing.
pub(crate) async fn address_confirm(
    State(p): State<Arc<PreferencePages>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let (pages, claim) = p.verified(Purpose::NewAddress, &token).await?;
    let path = format!("{PREFERENCES_PATH}adresse/{token}");
    pages.check_form(&headers, &path, &csrf::parse_body(&body), &path)?;
    match p.subs.store.change_address(claim.subscriber, &claim.list).await? {
        AddressChange::Done => pages.ok(PageContext {
            email: claim.list,
            ..PageContext::new("adresse-faite", "Adresse changée")
        }),
        AddressChange::Taken => pages.render(
            StatusCode::CONFLICT,
            PageContext {
                error: Some(
                    "Cette adresse reçoit déjà nos publications : gérez-les depuis un message reçu à cette adresse.",
                ),
                ..PageContext::new("invalide", "Adresse déjà inscrite")
            },
        ),
        AddressChange::Gone => Err(pages.invalid()),
    }
}

fn request_page(error: Option<&'static str>) -> PageContext {
    PageContext {
        error,
        ..PageContext::new("demande", "Gérer mon abonnement").with_action(PREFERENCES_REQUEST_PATH)
    }
}

pub(crate) async fn request_form(
    State(p): State<Arc<PreferencePages>>,
) -> Result<Response, WebError> {
    p.pages().ok(request_page(None))
}

/// Sends the preferences link to a known address; the same answer, at the same speed (the
/// mail leaves off the request path), for any address.
pub(crate) async fn request_submit(
    State(p): State<Arc<PreferencePages>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebError> {
    let pages = p.pages();
    let fields = csrf::parse_body(&body);
    pages.check_form(
        &headers,
        PREFERENCES_REQUEST_PATH,
        &fields,
        PREFERENCES_REQUEST_PATH,
    )?;
    if p.limiter.check_key(&peer.ip()).is_err() {
        return Err(pages.too_many());
    }
    let Some(email) = csrf::field(&fields, "email").and_then(crate::mail::normalise_address) else {
        return pages.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            request_page(Some(BAD_ADDRESS)),
        );
    };
    tokio::spawn(send_preferences_link(p.clone(), email));
    pages.ok(PageContext::new(
        "demande-envoyee",
        "Vérifiez votre messagerie",
    ))
}

/// Mails the preferences link to `email` if it is a subscriber's; nothing otherwise.
async fn send_preferences_link(p: Arc<PreferencePages>, email: String) {
    let s = &p.subs;
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
    if let Err(e) = p
        .send_text(&email, "Votre lien pour gérer votre abonnement", text)
        .await
    {
        tracing::error!("lien de préférences : {e:#}");
    }
}

/// The public web copy of an email: the placeholders of personal links lead to the page
/// where a reader asks for their own.
pub(crate) fn public_copy(body: &[u8]) -> Vec<u8> {
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
