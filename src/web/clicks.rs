//! `/c/<kind>/<n>/<link>` (`[mail] count_clicks`): a reader followed link `link` of edition
//! `kind/n`; it is counted (one counter per link, nothing about the reader) and answered with
//! a 302 to the link's own address. A link the edition never had is a 404 that counts nothing.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::subscribe::Subscriptions;

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

fn unknown() -> Response {
    (StatusCode::NOT_FOUND, Html(UNKNOWN_LINK)).into_response()
}

pub async fn follow(
    State(s): State<Arc<Subscriptions>>,
    Path((kind, number, link)): Path<(String, String, String)>,
) -> Response {
    let (Ok(number), Ok(link)) = (number.parse::<i64>(), link.parse::<i64>()) else {
        return unknown();
    };
    let url = match s.store.follow_link(&kind, number, link).await {
        Ok(Some(url)) => url,
        Ok(None) => return unknown(),
        Err(e) => {
            tracing::warn!("clic sur {kind}/{number}/{link} non compté : {e:#}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service momentanément indisponible.",
            )
                .into_response();
        }
    };
    // Only addresses the edition itself carried are stored: this is no open redirect.
    // Accents and spaces in the address are percent-encoded, as a header needs.
    let url = url::Url::parse(&url).map_or(url, |u| u.to_string());
    let Ok(location) = HeaderValue::from_str(&url) else {
        return unknown();
    };
    let mut response = StatusCode::FOUND.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
