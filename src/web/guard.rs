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
pub(crate) const BODY_LIMIT: usize = 16 * 1024;
/// Requests handled at once; beyond, a 503 at once rather than a queue that grows.
pub(crate) const MAX_IN_FLIGHT: usize = 256;
/// The environment variable holding the token that opens `/metrics` to other hosts.
pub(crate) const METRICS_TOKEN_ENV: &str = "VEILLE_METRICS_TOKEN";

/// Wraps `app` with the guard: security headers, at most `MAX_IN_FLIGHT` requests at once
/// (503 beyond), bodies capped at `BODY_LIMIT`, `/metrics` kept to loopback or the token.
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
pub(crate) fn metrics_allowed(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> bool {
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
pub(crate) fn secure_headers(headers: &mut HeaderMap, https: bool) {
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

/// Connections open at once; beyond, new ones wait in the kernel's backlog.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// A connection that sends nothing for this long is closed: an idle keep-alive, or a
/// slowloris client holding a half-sent request.
pub(crate) const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The listener of `serve_on`: at most `MAX_CONNECTIONS` connections, each closed after
/// `IDLE_TIMEOUT` without a byte read while it waits for one.
pub(crate) struct GuardedListener {
    inner: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
    idle: std::time::Duration,
}

impl GuardedListener {
    pub(crate) fn new(
        inner: tokio::net::TcpListener,
        max: usize,
        idle: std::time::Duration,
    ) -> Self {
        GuardedListener {
            inner,
            slots: Arc::new(Semaphore::new(max)),
            idle,
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    return (
                        GuardedStream {
                            inner: stream,
                            _permit: permit,
                            idle: self.idle,
                            timer: Box::pin(tokio::time::sleep(self.idle)),
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that holds its connection slot and times out when idle.
pub(crate) struct GuardedStream {
    inner: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
    idle: std::time::Duration,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl tokio::io::AsyncRead for GuardedStream {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    let deadline = tokio::time::Instant::now() + self.idle;
                    self.timer.as_mut().reset(deadline);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connexion inactive",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl tokio::io::AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
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

    #[tokio::test]
    async fn idle_half_sent_requests_are_dropped_and_free_their_slot() {
        use axum::serve::ListenerExt;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let app = Router::new().route("/healthz", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let guarded =
            GuardedListener::new(listener, 2, std::time::Duration::from_millis(300)).tap_io(|_| {});
        let server = tokio::spawn(async move {
            axum::serve(
                guarded,
                protect(app).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        // Two slowloris clients take both slots with a request they never finish.
        let mut idle = Vec::new();
        for _ in 0..2 {
            let mut s = tokio::net::TcpStream::connect(address).await.unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            idle.push(s);
        }
        // A real client still gets its answer once the idle ones are dropped.
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            reqwest::get(format!("http://{address}/healthz")),
        )
        .await
        .expect("answered")
        .unwrap();
        assert_eq!(answer.text().await.unwrap(), "ok");
        for mut s in idle {
            let mut rest = Vec::new();
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut rest))
                    .await
                    .expect("closed by the server");
            // Closed (0 bytes, or reset) without a 200 for the unfinished request.
            assert!(
                !String::from_utf8_lossy(&rest).contains("200 OK"),
                "{read:?}"
            );
        }
        server.abort();
    }
}
