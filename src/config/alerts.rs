//! `[alerts]`: who is mailed when a source breaks, and after how long.

use serde::Deserialize;

/// Mails to the curators when a source fails, its selectors find nothing, or it goes silent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertSettings {
    /// Recipients (the curators' addresses).
    pub(crate) to: Vec<String>,
    /// A source failing for this long is reported (hours).
    #[serde(default = "default_after_hours")]
    pub(crate) alert_after_hours: u64,
    /// A source bringing nothing new for this long is reported (days).
    #[serde(default = "default_silent_days")]
    pub(crate) silent_after_days: u64,
}

fn default_after_hours() -> u64 {
    48
}

fn default_silent_days() -> u64 {
    21
}
