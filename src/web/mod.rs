//! The web server (`veille serve`): serves `archive/published/` — pages, fragments, feeds —
//! with the right content types, ETag/Last-Modified revalidation, CORS for what the website
//! embeds, a Content-Security-Policy with `frame-ancestors` for the website, a French 404 and
//! `/healthz`; and the subscription pages (`subscribe`).

pub(crate) mod clicks;
pub mod csrf;
pub(crate) mod error;
pub mod guard;
pub(crate) mod pages;
pub(crate) mod preferences;
pub(crate) mod subscribe;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::publish::PUBLISHED_DIR;
use error::WebError;

/// What every request needs.
#[derive(Debug, Clone)]
pub(crate) struct WebState {
    pub(crate) root: PathBuf,
    /// The website's origins (CORS and `frame-ancestors`); empty: any origin may fetch the
    /// embeddable files, only this server may frame the pages.
    pub(crate) site_origins: Vec<String>,
}

impl WebState {
    pub(crate) fn new(config: &Config, archive: &Path) -> Self {
        WebState {
            root: archive.join(PUBLISHED_DIR),
            site_origins: config.web.site_origins.clone(),
        }
    }
}

/// No script anywhere; styles from the page itself; framing by the website only. Images
/// come from the articles' own sites (`publish` drops plain-HTTP ones on an HTTPS site).
pub(crate) fn content_security_policy(site_origins: &[String]) -> String {
    let mut ancestors = "'self'".to_string();
    for origin in site_origins {
        ancestors.push(' ');
        ancestors.push_str(origin);
    }
    format!(
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: http: data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// The router: the subscription pages when given, `/healthz`, then files.
pub(crate) fn router(
    state: WebState,
    subscriptions: Option<Arc<subscribe::Subscriptions>>,
) -> Router {
    let files = Router::new()
        .fallback(serve_request)
        .with_state(Arc::new(state));
    match subscriptions {
        Some(s) => Router::new()
            .route(
                "/preferences/{token}",
                get(preferences::page).post(preferences::submit),
            )
            .route(
                "/preferences/adresse/{token}",
                get(preferences::address_page).post(preferences::address_confirm),
            )
            .route(
                "/abonnement/lien",
                get(preferences::request_form).post(preferences::request_submit),
            )
            .with_state(Arc::new(preferences::PreferencePages::new(
                s.clone(),
                s.config.web.subscribe_per_minute,
            )))
            .route("/abonnement", get(subscribe::form).post(subscribe::submit))
            .route("/c/{kind}/{number}/{link}", get(clicks::follow))
            .route(
                "/confirmation/{token}",
                get(subscribe::confirm_page).post(subscribe::confirm),
            )
            .route(
                "/desabonnement/{token}",
                get(subscribe::unsubscribe_page).post(subscribe::unsubscribe),
            )
            .with_state(s)
            .merge(files),
        None => files,
    }
}

/// Everything `veille serve` serves: the published files and the subscription pages.
pub fn app(config: &Config, archive: &Path, store: crate::store::Store) -> anyhow::Result<Router> {
    std::fs::create_dir_all(archive.join(PUBLISHED_DIR))?;
    write_empty_index(config, archive);
    let secret = crate::mail::token::Secret::load(archive)?;
    let subscriptions = Arc::new(subscribe::Subscriptions::new(
        config.clone(),
        archive.to_path_buf(),
        store,
        secret,
        config.web.subscribe_per_minute,
    ));
    Ok(router(WebState::new(config, archive), Some(subscriptions)))
}

/// What `archive.html` reads, with no publication in it.
#[derive(serde::Serialize)]
struct EmptyIndex {
    groups: Vec<()>,
}

/// Before anything is published, `/` still shows the publications index (empty, with the
/// site's layout and the link to subscribe) rather than a 404. A publication run rewrites
/// it. A template that fails leaves the built-in page of `serve_request` to answer.
fn write_empty_index(config: &Config, archive: &Path) {
    let path = archive.join(PUBLISHED_DIR).join("index.html");
    // Without templates (a site that only serves subscriptions, a benchmark), the built-in
    // page answers; publishing says what is missing when it is asked to publish.
    if path.exists() || !config.templates_dir().is_dir() {
        return;
    }
    let written = crate::publish::Publisher::new(config, archive).and_then(|p| {
        let html = p.render_template("archive.html", EmptyIndex { groups: Vec::new() })?;
        crate::publish::write_atomically(&path, html.as_bytes())
    });
    if let Err(e) = written {
        tracing::warn!("index des publications vide non écrit : {e:#}");
    }
}

/// Serves `app` until Ctrl-C or SIGTERM.
pub(crate) async fn serve(app: Router, root: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = bind(listen).await?;
    let local = listener.local_addr()?;
    eprintln!(
        "veille sert {} sur http://{local}/ (Ctrl-C pour arrêter)",
        root.display()
    );
    serve_on(listener, app, shutdown_signal()).await
}

/// Listens on `listen`, with a French message when it cannot.
pub(crate) async fn bind(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        anyhow::anyhow!(
            "impossible d'écouter sur {listen} : {}",
            crate::wording::io(&e)
        )
    })
}

/// Serves `app` until `shutdown` completes, then lets the requests in progress end.
pub(crate) async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let app = guard::protect(app).into_make_service_with_connect_info::<SocketAddr>();
    // tap_io: axum gives `ConnectInfo<SocketAddr>` to a tapped listener of any kind.
    let listener =
        guard::GuardedListener::new(listener, guard::MAX_CONNECTIONS, guard::IDLE_TIMEOUT)
            .tap_io(|_| {});
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "atom" => "application/atom+xml; charset=utf-8",
        "json" => "application/feed+json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "xml" => "application/xml; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Files the website fetches from its own pages (CORS applies to them).
fn embeddable(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(
        name,
        "fragment.html" | "feed.atom" | "feed.json" | "panorama.css"
    )
}

/// The file under `root` for a URL path, or `None` for anything that tries to leave it
/// (`..`, hidden files, encoded separators).
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') || segment.contains('\\') || segment.contains('\0') {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn http_date(t: SystemTime) -> String {
    let t: DateTime<Utc> = t.into();
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

async fn serve_request(
    State(state): State<Arc<WebState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if method != Method::GET && method != Method::HEAD && method != Method::OPTIONS {
        return Err(WebError::MethodNotAllowed);
    }
    if uri.path() == "/healthz" {
        return Ok((
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"ok\"}\n",
        )
            .into_response());
    }
    let missing = || WebError::NotFound(state.clone());
    let mut path = resolve(&state.root, uri.path()).ok_or_else(missing)?;
    if uri.path() == "/"
        && !tokio::fs::try_exists(path.join("index.html"))
            .await
            .unwrap_or(false)
    {
        let mut response = (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            EMPTY_INDEX_PAGE,
        )
            .into_response();
        security_headers(&state, response.headers_mut());
        return Ok(response);
    }
    let mut meta = tokio::fs::metadata(&path).await.map_err(|_| missing())?;
    if meta.is_dir() {
        if !uri.path().ends_with('/') {
            let location = format!("{}/", uri.path());
            return Ok((
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response());
        }
        path.push("index.html");
        meta = tokio::fs::metadata(&path).await.map_err(|_| missing())?;
    }
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let etag = format!("\"{:x}-{:x}\"", meta.len(), nanos);
    let last_modified = http_date(modified);

    let mut response = if method == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else if not_modified(&headers, &etag, modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let public_copy = path
            .file_name()
            .is_some_and(|n| n == "email.html" || n == "email.txt");
        let (body, length) = match tokio::fs::read(&path).await {
            // The web copy of an email shows no personal link, only where to ask for one.
            Ok(bytes) if public_copy => {
                let bytes = preferences::public_copy(&bytes);
                let length = bytes.len() as u64;
                (
                    if method == Method::GET {
                        Body::from(bytes)
                    } else {
                        Body::empty()
                    },
                    length,
                )
            }
            Ok(bytes) if method == Method::GET => (Body::from(bytes), meta.len()),
            Ok(_) => (Body::empty(), meta.len()),
            Err(_) => return Err(missing()),
        };
        let mut r = Response::new(body);
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&path)),
        );
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    security_headers(&state, h);
    if embeddable(&path) {
        cors_headers(&state, &headers, h);
    }
    Ok(response)
}

fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*");
    }
    if let Some(since) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(&v.replace("GMT", "+0000")).ok())
    {
        let modified: DateTime<Utc> = modified.into();
        return modified.timestamp() <= since.timestamp();
    }
    false
}

fn security_headers(state: &WebState, h: &mut HeaderMap) {
    secure_headers(&state.site_origins, h);
}

/// CSP, `nosniff` and the referrer policy, on every page veille serves.
pub(crate) fn secure_headers(site_origins: &[String], h: &mut HeaderMap) {
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(site_origins)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
}

fn cors_headers(state: &WebState, request: &HeaderMap, h: &mut HeaderMap) {
    if state.site_origins.is_empty() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else {
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        let origin = request.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        if let Some(origin) = origin.filter(|o| state.site_origins.iter().any(|s| s == o))
            && let Ok(v) = HeaderValue::from_str(origin)
        {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, Last-Modified"),
    );
}

/// The French 404 page, with the headers of the site's files.
pub(crate) fn not_found(state: &WebState) -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        NOT_FOUND_PAGE,
    )
        .into_response();
    security_headers(state, response.headers_mut());
    response
}

const NOT_FOUND_PAGE: &str = "<!DOCTYPE html>
<html lang=\"fr\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Page introuvable</title>
</head>
<body>
<main>
<h1>Page introuvable</h1>
<p>Cette page n'existe pas ou n'existe plus. La liste des publications est sur <a href=\"/\">la page d'accueil</a>.</p>
<p>Pour recevoir les lettres d'information par e-mail\u{202F}: <a href=\"/abonnement\">s'abonner</a>.</p>
</main>
</body>
</html>
";

/// `/` when nothing was ever published and the templates could not give the index.
const EMPTY_INDEX_PAGE: &str = "<!DOCTYPE html>
<html lang=\"fr\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Publications</title>
</head>
<body>
<main>
<h1>Publications</h1>
<p>Aucune publication pour l'instant.</p>
<p>Pour recevoir les lettres d'information par e-mail\u{202F}: <a href=\"/abonnement\">s'abonner</a>.</p>
</main>
</body>
</html>
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_root() {
        let root = Path::new("/srv/published");
        assert_eq!(
            resolve(root, "/panoramas/pauvrete/feed.atom"),
            Some(root.join("panoramas/pauvrete/feed.atom"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(root, "/a/..%2f..%2fetc"), None);
        assert_eq!(resolve(root, "/.git/config"), None);
        assert_eq!(resolve(root, "/%ZZ"), None);
    }

    #[test]
    fn revalidation() {
        let modified = UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(not_modified(&headers, "\"b\"", modified));
        assert!(!not_modified(&headers, "\"c\"", modified));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&http_date(modified)).unwrap(),
        );
        assert!(not_modified(&headers, "\"x\"", modified));
        assert!(!not_modified(
            &headers,
            "\"x\"",
            modified + std::time::Duration::from_secs(5)
        ));
    }
}
