//! `[web]`: the address `veille serve` and `veille run` listen on, the website's origins and
//! the subscription form's limits.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::Deserialize;

use super::collector::Collector;

/// Where veille listens when neither `[web] listen` nor `--listen` says.
pub(super) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// `[web]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    #[serde(default = "default_listen")]
    listen: String,
    /// Origins allowed to frame the pages and fetch the fragments (the website), e.g.
    /// `["https://www.example.org"]`. Empty: only veille's own origin may frame them, and
    /// fragments may be fetched from anywhere.
    #[serde(default)]
    site_origins: Vec<String>,
    /// Subscription requests accepted per client IP and minute.
    #[serde(default = "default_subscribe_per_minute")]
    subscribe_per_minute: u32,
    /// Valid subscription requests accepted per hour from all clients together: many
    /// addresses (a botnet) must not make veille mail thousands of strangers.
    #[serde(default = "default_subscribe_per_hour")]
    subscribe_per_hour: u32,
}

impl Default for RawWeb {
    fn default() -> Self {
        RawWeb {
            listen: default_listen(),
            site_origins: Vec::new(),
            subscribe_per_minute: default_subscribe_per_minute(),
            subscribe_per_hour: default_subscribe_per_hour(),
        }
    }
}

fn default_subscribe_per_minute() -> u32 {
    5
}

fn default_subscribe_per_hour() -> u32 {
    60
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

/// `[web]` once checked.
#[derive(Debug, Clone)]
pub(crate) struct WebSettings {
    pub(crate) listen: SocketAddr,
    /// Origins allowed to frame the pages and fetch the fragments (the website), e.g.
    /// `["https://www.example.org"]`. Empty: only veille's own origin may frame them, and
    /// fragments may be fetched from anywhere.
    pub(crate) site_origins: Vec<String>,
    /// Subscription requests accepted per client IP and minute.
    pub(crate) subscribe_per_minute: u32,
    /// Valid subscription requests accepted per hour from all clients together.
    pub(crate) subscribe_per_hour: u32,
}

impl Default for WebSettings {
    fn default() -> Self {
        validate(None, &mut Collector::new("", ""))
    }
}

/// Checks `[web]`: a socket address to listen on, origins without a path.
pub(super) fn validate(raw: Option<RawWeb>, c: &mut Collector) -> WebSettings {
    let raw = raw.unwrap_or_default();
    let listen = match raw.listen.parse::<SocketAddr>() {
        Ok(address) => address,
        Err(_) => {
            c.push_at(
                &raw.listen,
                format!("adresse d'écoute invalide « {} »", raw.listen),
                Some("exemple : listen = \"127.0.0.1:8080\"".into()),
            );
            DEFAULT_LISTEN
        }
    };
    for origin in &raw.site_origins {
        if !matches!(url::Url::parse(origin), Ok(u) if u.scheme() == "https" || u.scheme() == "http")
            || origin.ends_with('/')
        {
            c.push_at(origin,
                format!("origine invalide « {origin} »"),
                Some("une origine est un schéma et un hôte, sans chemin : \"https://www.example.org\"".into()),
            );
        }
    }
    WebSettings {
        listen,
        site_origins: raw.site_origins,
        subscribe_per_minute: raw.subscribe_per_minute,
        subscribe_per_hour: raw.subscribe_per_hour,
    }
}
