//! `/c/<kind>/<n>/<link>` (`[mail] count_clicks`): a reader followed link `link` of edition
//! `kind/n`; it is counted (one counter per link, nothing about the reader) and answered with
//! a 302 to the link's own address. A link the edition never had is a 404 that counts nothing,
//! and so is a link of another centre's edition (the serving centre's own counters only).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::subscribe::Subscriptions;

pub(crate) async fn follow(
    State(s): State<Arc<Subscriptions>>,
    Path((kind, number, link)): Path<(String, String, String)>,
) -> Result<Response, WebError> {
    let (Ok(number), Ok(link)) = (number.parse::<i64>(), link.parse::<i64>()) else {
        return Err(WebError::UnknownLink);
    };
    let url = s
        .store
        .follow_link(&kind, number, link)
        .await
        .map_err(|e| e.context(format!("clic sur {kind}/{number}/{link} non compté")))?
        .ok_or(WebError::UnknownLink)?;
    // Only addresses the edition itself carried are stored: this is no open redirect.
    // Accents and spaces in the address are percent-encoded, as a header needs.
    let url = url::Url::parse(&url).map_or(url, |u| u.to_string());
    let Ok(location) = HeaderValue::from_str(&url) else {
        return Err(WebError::UnknownLink);
    };
    let mut response = StatusCode::FOUND.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
