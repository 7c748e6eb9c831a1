//! The one error type of the web handlers: each kind answers with its French page and status
//! code; the detail of an internal error goes to the log only, never to the reader.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::WebState;
use super::csrf::Refusal;
use super::pages::{PageContext, Pages};

/// What stops a web request. Handlers return `Result<Response, WebError>` and use `?`.
pub(crate) enum WebError {
    /// A signed link that is forged, expired or whose subscriber is gone: 400.
    InvalidLink(Pages),
    /// A rate limit reached: 429.
    TooMany(Pages),
    /// A POST refused by the CSRF check: 403, nothing changed. `retry` is the page that
    /// gives a fresh form.
    Refused {
        pages: Pages,
        retry: String,
        why: Refusal,
    },
    /// No such file under `archive/published/`: 404, the French page.
    NotFound(Arc<WebState>),
    /// A click-count link (`/c/…`) the edition never had: 404, nothing counted.
    UnknownLink,
    /// A method other than GET, HEAD or OPTIONS on the files: 405.
    MethodNotAllowed,
    /// Anything else (database, templates, mail): 500, the detail in the log.
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::Internal(e)
    }
}

impl std::fmt::Debug for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebError::InvalidLink(_) => f.write_str("InvalidLink"),
            WebError::TooMany(_) => f.write_str("TooMany"),
            WebError::Refused { why, .. } => write!(f, "Refused({why:?})"),
            WebError::NotFound(_) => f.write_str("NotFound"),
            WebError::UnknownLink => f.write_str("UnknownLink"),
            WebError::MethodNotAllowed => f.write_str("MethodNotAllowed"),
            WebError::Internal(e) => write!(f, "Internal({e:#})"),
        }
    }
}

/// The page shown when even the error page cannot be rendered (templates missing or broken).
fn internal() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Erreur interne : l'équipe a été prévenue par le journal du serveur.\n",
    )
        .into_response()
}

fn page_or_internal(pages: &Pages, status: StatusCode, ctx: PageContext) -> Response {
    match pages.render(status, ctx) {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::InvalidLink(pages) => page_or_internal(
                &pages,
                StatusCode::BAD_REQUEST,
                PageContext::new("invalide", "Lien non valable"),
            ),
            WebError::TooMany(pages) => page_or_internal(
                &pages,
                StatusCode::TOO_MANY_REQUESTS,
                PageContext::new("trop", "Trop de demandes"),
            ),
            WebError::Refused { pages, retry, why } => {
                tracing::warn!("formulaire refusé ({}) : {retry}", why.describe());
                let mut ctx = PageContext::new("refuse", "Formulaire refusé");
                ctx.retry = retry;
                page_or_internal(&pages, StatusCode::FORBIDDEN, ctx)
            }
            WebError::NotFound(state) => super::not_found(&state),
            WebError::UnknownLink => (StatusCode::NOT_FOUND, Html(UNKNOWN_LINK)).into_response(),
            WebError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD, OPTIONS")],
                "méthode non permise\n",
            )
                .into_response(),
            WebError::Internal(e) => {
                tracing::error!("page web : {e:#}");
                internal()
            }
        }
    }
}

const UNKNOWN_LINK: &str = "<!DOCTYPE html>
<html lang=\"fr\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Lien inconnu</title>
</head>
<body>
<main>
<h1>Lien inconnu</h1>
<p>Ce lien ne correspond à aucun lien d'une lettre envoyée. La liste des publications est sur <a href=\"/\">la page d'accueil</a>.</p>
</main>
</body>
</html>
";
