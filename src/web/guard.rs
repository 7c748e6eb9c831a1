//! What every response of `veille serve` and `veille run` goes through: security headers,
//! a bound on requests handled at once, a cap on request bodies, and `/metrics` answered only
//! to loopback or to the bearer token of `VEILLE_METRICS_TOKEN`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Forms are a few fields; nothing veille accepts is larger.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Requests handled at once; beyond, a 503 at once rather than a queue that grows.
pub const MAX_IN_FLIGHT: usize = 256;
/// The environment variable holding the token that opens `/metrics` to other hosts.
pub const METRICS_TOKEN_ENV: &str = "VEILLE_METRICS_TOKEN";

/// Wraps `app` with the guard.
pub fn protect(app: Router) -> Router {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let token = std::env::var(METRICS_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let token = Arc::new(token);
    app.layer(axum::middleware::from_fn(move |request, next| {
        guard(request, next, slots.clone(), token.clone())
    }))
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `/metrics` tells the archive's figures: loopback (not forwarded by a proxy) or the token.
pub fn metrics_allowed(peer: Option<SocketAddr>, headers: &HeaderMap, token: Option<&str>) -> bool {
    if let Some(token) = token
        && let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    {
        return constant_time_eq(given.trim().as_bytes(), token.trim().as_bytes());
    }
    let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key("forwarded");
    peer.is_some_and(|p| p.ip().is_loopback()) && !forwarded
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn french(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn guard(
    request: Request,
    next: Next,
    slots: Arc<Semaphore>,
    token: Arc<Option<String>>,
) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > BODY_LIMIT as u64);
    let mut response = if too_large {
        french(StatusCode::PAYLOAD_TOO_LARGE, "Requête trop volumineuse.\n")
    } else if request.uri().path() == "/metrics"
        && !metrics_allowed(
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            request.headers(),
            token.as_deref(),
        )
    {
        french(
            StatusCode::FORBIDDEN,
            "Les mesures ne sont servies qu'à cette machine ou avec le jeton.\n",
        )
    } else {
        match slots.try_acquire() {
            Ok(_permit) => next.run(request).await,
            Err(_) => {
                let mut busy = french(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Serveur occupé : réessayez dans un instant.\n",
                );
                busy.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                busy
            }
        }
    };
    secure_headers(response.headers_mut(), https);
    response
}

/// The headers every response carries; a handler's own CSP (files with `frame-ancestors`)
/// is kept.
pub fn secure_headers(headers: &mut HeaderMap, https: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(csp) = HeaderValue::from_str(&super::content_security_policy(&[]))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    #[test]
    fn metrics_only_to_loopback_or_the_token() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let none = HeaderMap::new();
        assert!(metrics_allowed(Some(local), &none, None));
        assert!(!metrics_allowed(Some(remote), &none, None));
        assert!(!metrics_allowed(None, &none, None));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        assert!(!metrics_allowed(Some(local), &proxied, None));
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(metrics_allowed(Some(remote), &bearer, Some("s3cret")));
        assert!(!metrics_allowed(Some(remote), &bearer, Some("autre")));
        // A wrong token is a refusal even from loopback: the caller meant to use it.
        assert!(!metrics_allowed(Some(local), &bearer, Some("autre")));
    }

    #[tokio::test]
    async fn every_response_is_guarded_and_large_bodies_are_refused() {
        let app = Router::new()
            .route("/page", get(|| async { "bonjour" }))
            .route(
                "/formulaire",
                post(|body: String| async move { body.len().to_string() }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(super::super::serve_on(
            listener,
            app,
            std::future::pending(),
        ));
        let client = reqwest::Client::new();
        let base = format!("http://{address}");
        for (path, status) in [("/page", 200), ("/absente", 404)] {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status().as_u16(), status);
            let h = response.headers();
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert!(h.contains_key("referrer-policy"));
            assert!(
                h["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .contains("default-src 'none'")
            );
            assert!(!h.contains_key("strict-transport-security"));
        }
        let https = client
            .get(format!("{base}/page"))
            .header("X-Forwarded-Proto", "https")
            .send()
            .await
            .unwrap();
        assert!(https.headers().contains_key("strict-transport-security"));
        let small = client
            .post(format!("{base}/formulaire"))
            .body("a=1")
            .send()
            .await
            .unwrap();
        assert_eq!(small.text().await.unwrap(), "3");
        let large = client
            .post(format!("{base}/formulaire"))
            .body(vec![b'a'; BODY_LIMIT + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(large.headers()["x-content-type-options"], "nosniff");
        server.abort();
    }
}
