//! `[settings]`: the timezone and the fetcher's limits, checked into real types.

use chrono_tz::Tz;
use serde::Deserialize;

use super::collector::Collector;

/// `[settings]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default = "default_user_agent")]
    user_agent: String,
    /// Parallel fetches over all hosts.
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    /// Parallel fetches to one host.
    #[serde(default = "default_per_host")]
    per_host: usize,
    #[serde(default = "default_connect_timeout")]
    connect_timeout_secs: u64,
    /// Whole request, body included.
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    /// Largest body accepted, after decompression.
    #[serde(default = "default_max_body_mib")]
    max_body_mib: u64,
    /// First delay after a failure; doubled at each further failure.
    #[serde(default = "default_retry_base")]
    retry_base_secs: u64,
    /// Longest delay between two tries of a failing source.
    #[serde(default = "default_retry_max")]
    retry_max_secs: u64,
    /// How far apart two articles of one story may be.
    #[serde(default = "default_story_window")]
    story_window_days: u32,
    /// Similarity above which two articles are one story (default: the merger's own).
    story_threshold: Option<f64>,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            timezone: default_timezone(),
            user_agent: default_user_agent(),
            concurrency: default_concurrency(),
            per_host: default_per_host(),
            connect_timeout_secs: default_connect_timeout(),
            timeout_secs: default_timeout(),
            max_body_mib: default_max_body_mib(),
            retry_base_secs: default_retry_base(),
            retry_max_secs: default_retry_max(),
            story_window_days: default_story_window(),
            story_threshold: None,
        }
    }
}

/// `[settings]` once checked: the timezone is a real one.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The timezone of schedules, of dates shown to people and of "today" (Paris by default).
    pub(crate) timezone: Tz,
    pub(crate) user_agent: String,
    /// Parallel fetches over all hosts.
    pub(crate) concurrency: usize,
    /// Parallel fetches to one host.
    pub(crate) per_host: usize,
    pub(crate) connect_timeout_secs: u64,
    /// Whole request, body included.
    pub(crate) timeout_secs: u64,
    /// Largest body accepted, after decompression.
    pub(crate) max_body_mib: u64,
    /// First delay after a failure; doubled at each further failure.
    pub(crate) retry_base_secs: u64,
    /// Longest delay between two tries of a failing source.
    pub(crate) retry_max_secs: u64,
    /// How far apart two articles of one story may be.
    pub(crate) story_window_days: u32,
    /// Similarity above which two articles are one story (default: the merger's own).
    pub(crate) story_threshold: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        validate(None, &mut Collector::new("", ""))
    }
}

/// Checks `[settings]`: a known timezone, non-zero limits.
pub(super) fn validate(raw: Option<RawSettings>, c: &mut Collector) -> Settings {
    let raw = raw.unwrap_or_default();
    let timezone = match raw.timezone.parse::<Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            c.push_at(
                &raw.timezone,
                format!("fuseau horaire inconnu « {} »", raw.timezone),
                Some("exemple : timezone = \"Europe/Paris\"".into()),
            );
            chrono_tz::Europe::Paris
        }
    };
    for (key, value) in [
        ("concurrency", raw.concurrency as u64),
        ("per_host", raw.per_host as u64),
        ("timeout_secs", raw.timeout_secs),
        ("connect_timeout_secs", raw.connect_timeout_secs),
        ("max_body_mib", raw.max_body_mib),
    ] {
        c.positive(key, value, "");
    }
    Settings {
        timezone,
        user_agent: raw.user_agent,
        concurrency: raw.concurrency,
        per_host: raw.per_host,
        connect_timeout_secs: raw.connect_timeout_secs,
        timeout_secs: raw.timeout_secs,
        max_body_mib: raw.max_body_mib,
        retry_base_secs: raw.retry_base_secs,
        retry_max_secs: raw.retry_max_secs,
        story_window_days: raw.story_window_days,
        story_threshold: raw.story_threshold,
    }
}

fn default_timezone() -> String {
    "Europe/Paris".into()
}
fn default_user_agent() -> String {
    concat!("veille/", env!("CARGO_PKG_VERSION")).into()
}
fn default_concurrency() -> usize {
    16
}
fn default_per_host() -> usize {
    2
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_timeout() -> u64 {
    30
}
fn default_max_body_mib() -> u64 {
    10
}
fn default_retry_base() -> u64 {
    300
}
fn default_retry_max() -> u64 {
    6 * 3600
}
fn default_story_window() -> u32 {
    7
}
