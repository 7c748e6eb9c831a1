//! Polite HTTP: conditional GET, timeouts, a body cap, bounded redirects, `Retry-After`,
//! robots.txt for pages, and global and per-host concurrency limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, redirect};
use tokio::sync::{OnceCell, Semaphore};

use crate::config::Settings;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;
/// A `Retry-After` longer than this is read as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A successful answer.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 304: the validators still hold; nothing to parse.
    NotModified,
    Body(Body),
}

#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) status: u16,
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: Option<String>,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// The URL after redirects, the base for relative links.
    pub(crate) final_url: String,
}

/// Why a fetch failed, in words a curator can act on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct FetchError {
    pub(crate) message: String,
    pub(crate) status: Option<u16>,
    /// Asked by the server (429/503): do not come back before this delay.
    pub(crate) retry_after: Option<Duration>,
}

impl FetchError {
    fn new(message: impl Into<String>) -> Self {
        FetchError {
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }
}

/// The HTTP client shared by one pass, with its limits.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    agent_token: String,
    max_body: u64,
    timeout: Duration,
    connect_timeout: Duration,
    global: Arc<Semaphore>,
    per_host_limit: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    robots: Mutex<HashMap<String, Arc<OnceCell<Option<texting_robots::Robot>>>>>,
}

impl Fetcher {
    pub(crate) fn new(settings: &Settings) -> anyhow::Result<Fetcher> {
        let timeout = Duration::from_secs(settings.timeout_secs);
        let connect_timeout = Duration::from_secs(settings.connect_timeout_secs);
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(redirect::Policy::limited(MAX_REDIRECTS))
            .pool_max_idle_per_host(settings.per_host)
            .build()?;
        let agent_token = settings
            .user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or("veille")
            .to_string();
        Ok(Fetcher {
            client,
            agent_token,
            max_body: settings.max_body_mib * 1024 * 1024,
            timeout,
            connect_timeout,
            global: Arc::new(Semaphore::new(settings.concurrency)),
            per_host_limit: settings.per_host,
            hosts: Mutex::new(HashMap::new()),
            robots: Mutex::new(HashMap::new()),
        })
    }

    fn host_key(url: &url::Url) -> String {
        format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        )
    }

    fn host_slots(&self, url: &url::Url) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().expect("host table");
        hosts
            .entry(Self::host_key(url))
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host_limit)))
            .clone()
    }

    /// GETs a URL within the limits, with the stored validators.
    /// `obey_robots` checks robots.txt first (for scraped pages).
    pub(crate) async fn get(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
        obey_robots: bool,
    ) -> Result<Fetched, FetchError> {
        let parsed = url::Url::parse(url).map_err(|e| {
            FetchError::new(format!("adresse invalide : {}", crate::wording::url(&e)))
        })?;
        let host = self.host_slots(&parsed);
        let _host_permit = host.acquire().await.expect("semaphore never closed");
        let _permit = self.global.acquire().await.expect("semaphore never closed");
        if obey_robots && !self.robots_allow(&parsed).await? {
            return Err(FetchError::new(format!(
                "interdit par robots.txt de {}",
                parsed.host_str().unwrap_or("")
            )));
        }
        let mut headers = HeaderMap::new();
        if let Some(v) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = last_modified.and_then(|e| HeaderValue::from_str(e).ok()) {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let response = self
            .client
            .get(parsed)
            .headers(headers)
            .send()
            .await
            .map_err(|e| self.describe(e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
            .then(|| retry_after(response.headers(), Utc::now()))
            .flatten();
            return Err(FetchError {
                message: format!(
                    "HTTP {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim()
                .to_string(),
                status: Some(status.as_u16()),
                retry_after,
            });
        }
        let text_header = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text_header(header::CONTENT_TYPE);
        let etag = text_header(header::ETAG);
        let last_modified = text_header(header::LAST_MODIFIED);
        let final_url = response.url().to_string();
        let bytes = self.read_capped(response).await?;
        Ok(Fetched::Body(Body {
            status: status.as_u16(),
            bytes,
            content_type,
            etag,
            last_modified,
            final_url,
        }))
    }

    /// Reads the body chunk by chunk; decompressed bytes count against the cap, so a
    /// gzip bomb stops at the cap.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let too_big = || {
            FetchError::new(format!(
                "réponse trop volumineuse (plus de {})",
                human_size(self.max_body)
            ))
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.describe(e))? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn describe(&self, e: reqwest::Error) -> FetchError {
        let message = if e.is_connect() && e.is_timeout() {
            format!(
                "connexion impossible : délai de connexion dépassé ({} s)",
                self.connect_timeout.as_secs()
            )
        } else if e.is_connect() {
            let cause = root_cause(&e);
            let cause = if cause.contains("lookup address")
                || cause.contains("Name or service not known")
            {
                "nom de domaine introuvable (DNS)".to_string()
            } else if cause.contains("Connection refused") {
                "connexion refusée par le serveur".to_string()
            } else {
                cause
            };
            format!("connexion impossible : {cause}")
        } else if e.is_timeout() {
            format!("délai dépassé ({} s)", self.timeout.as_secs())
        } else if e.is_redirect() {
            format!("trop de redirections (plus de {MAX_REDIRECTS}) ou boucle de redirection")
        } else if e.is_decode() || e.is_body() {
            format!("réponse interrompue ou illisible : {}", root_cause(&e))
        } else {
            format!("erreur HTTP : {}", root_cause(&e))
        };
        FetchError::new(message)
    }

    /// Whether robots.txt lets us fetch this URL. Fetched once per host and pass; a missing
    /// robots.txt (4xx) allows everything, an unreachable one (5xx, network) allows nothing
    /// (RFC 9309 §2.3.1).
    async fn robots_allow(&self, url: &url::Url) -> Result<bool, FetchError> {
        let key = Self::host_key(url);
        let cell = self
            .robots
            .lock()
            .expect("robots table")
            .entry(key)
            .or_default()
            .clone();
        let robot = cell
            .get_or_try_init(|| async {
                let robots_url = texting_robots::get_robots_url(url.as_str())
                    .map_err(|e| FetchError::new(format!("robots.txt : {e}")))?;
                let response = self
                    .client
                    .get(&robots_url)
                    .send()
                    .await
                    .map_err(|e| self.describe(e))?;
                let status = response.status();
                if status.is_client_error() {
                    return Ok(None);
                }
                if !status.is_success() {
                    return Err(FetchError {
                        message: format!("robots.txt injoignable (HTTP {})", status.as_u16()),
                        status: Some(status.as_u16()),
                        retry_after: None,
                    });
                }
                let body = self.read_capped(response).await?;
                Ok(texting_robots::Robot::new(&self.agent_token, &body).ok())
            })
            .await?;
        Ok(robot.as_ref().is_none_or(|r| r.allowed(url.as_str())))
    }
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} Mio", bytes / MIB)
    } else {
        format!("{bytes} octets")
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut source = e;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// Reads `Retry-After`: delay in seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let delay = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

/// When a failing source may be tried again: exponential in the number of consecutive
/// errors, capped, with ±20 % jitter so that failing sources do not return in step, and
/// never before the server's `Retry-After`.
pub(crate) fn next_attempt(
    consecutive_errors: u32,
    settings: &Settings,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let exponent = consecutive_errors.saturating_sub(1).min(20);
    let base = settings
        .retry_base_secs
        .saturating_mul(1 << exponent)
        .min(settings.retry_max_secs) as f64;
    let jittered = Duration::from_secs_f64(base * (0.8 + 0.4 * fastrand::f64()));
    let delay = jittered.max(retry_after.unwrap_or(Duration::ZERO));
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_date() {
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Sat, 28 Nov 2026 10:05:00 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(300)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn backoff_grows_is_capped_and_respects_retry_after() {
        let s = Settings::default();
        let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let delay = |n, ra| (next_attempt(n, &s, ra, now) - now).num_seconds();
        assert!((240..=360).contains(&delay(1, None)), "{}", delay(1, None));
        assert!((480..=720).contains(&delay(2, None)));
        assert!(delay(30, None) <= (s.retry_max_secs as f64 * 1.2) as i64);
        assert!(delay(1, Some(Duration::from_secs(3600))) >= 3600);
    }
}
