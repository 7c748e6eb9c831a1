//! `[publish]`: how publications are rendered, and where they are served from.

use serde::Deserialize;

use super::collector::Collector;
use super::mail::MailSettings;

/// How publications are rendered (`[publish]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishSettings {
    /// The centre's name, shown in headers and feeds.
    #[serde(default = "default_site_name")]
    pub(crate) site_name: String,
    /// Where `archive/published/` is served (web versions, feeds, unsubscribe links);
    /// `[mail] base_url` when absent.
    pub(crate) base_url: Option<String>,
    /// Template folder, relative to the configuration file.
    #[serde(default = "default_templates")]
    pub(crate) templates: String,
    /// A panorama shows the kept stories of the last `panorama_days` days…
    #[serde(default = "default_panorama_days")]
    pub(crate) panorama_days: u32,
    /// …at most this many.
    #[serde(default = "default_panorama_max_items")]
    pub(crate) panorama_max_items: u32,
}

impl Default for PublishSettings {
    fn default() -> Self {
        PublishSettings {
            site_name: default_site_name(),
            base_url: None,
            templates: default_templates(),
            panorama_days: default_panorama_days(),
            panorama_max_items: default_panorama_max_items(),
        }
    }
}

fn default_site_name() -> String {
    "Centre de ressources".into()
}
fn default_templates() -> String {
    "templates".into()
}
fn default_panorama_days() -> u32 {
    30
}
fn default_panorama_max_items() -> u32 {
    40
}

/// Checks `[publish]`: a web base URL (its own, else `[mail] base_url`), non-zero counts.
pub(super) fn validate(
    raw: Option<PublishSettings>,
    mail: Option<&MailSettings>,
    c: &mut Collector,
) -> PublishSettings {
    let publish = raw.unwrap_or_default();
    let base_url = publish
        .base_url
        .as_deref()
        .or(mail.and_then(|m| m.base_url.as_deref()));
    if let Some(base) = base_url
        && !matches!(url::Url::parse(base), Ok(u) if u.scheme() == "http" || u.scheme() == "https")
    {
        c.push_at(
            base,
            format!("adresse de base invalide « {base} »"),
            Some("exemple : base_url = \"https://veille.example.org\"".into()),
        );
    }
    for (key, value) in [
        ("panorama_days", publish.panorama_days),
        ("panorama_max_items", publish.panorama_max_items),
    ] {
        if value == 0 {
            c.push_at(key, format!("`{key}` doit être supérieur à 0"), None);
        }
    }
    publish
}
