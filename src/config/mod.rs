//! Reads and validates `feeds.toml`: settings, dossiers, sources, mail and lists.
//!
//! Every mistake is reported as `FILE:LINE:COLUMN: message` with a hint, so that the team can
//! fix the file without reading Rust.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::{PageSelectors, Source, SourceKind};

mod alerts;
mod bounces;
mod full_text;
mod schedule;
pub use alerts::AlertSettings;
pub use bounces::BounceSettings;
pub use full_text::{DEFAULT_MIN_WORDS, FullTextMode, FullTextSettings};
pub mod trust;
pub use schedule::{
    DEFAULT_PANORAMAS, DEFAULT_POLL, DEFAULT_STOP_GRACE_SECS, ScheduleSpec, Schedules,
    default_draft,
};

/// The ten dossiers of the centre; their ids are fixed (DESIGN.md §1).
pub const DOSSIER_IDS: [&str; 10] = [
    "discrimination",
    "pauvrete",
    "radicalisation",
    "securite",
    "laicite",
    "politique-de-la-ville",
    "education",
    "illettrisme",
    "integration-langue",
    "egalite-femmes-hommes",
];

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub settings: Settings,
    pub dossiers: BTreeMap<String, Dossier>,
    pub sources: Vec<Source>,
    pub mail: Option<MailSettings>,
    /// The bounce mailbox and its policy (`[bounces]`).
    pub bounces: Option<BounceSettings>,
    /// `[alerts]`: mails about broken or silent sources (sent through `[mail]`).
    pub alerts: Option<AlertSettings>,
    /// Full-text settings of each source, by name.
    pub full_text: BTreeMap<String, FullTextSettings>,
    pub lists: BTreeMap<String, MailingList>,
    pub publish: PublishSettings,
    pub web: WebSettings,
    /// Edition kinds: the two built-in ones, plus any declared under `[publications.KIND]`.
    pub publications: BTreeMap<String, Publication>,
    /// When the daemon (`veille run`) polls, refreshes panoramas and prepares drafts.
    pub schedule: Schedules,
    /// The daemon's nightly backup (`[backup]`).
    pub backup: trust::BackupSettings,
    /// Retention of personal data (`[privacy]`).
    pub privacy: trust::PrivacySettings,
    /// The file's text and where each dossier's `rules` string sits in it, so that later
    /// stages can point at a mistake inside a rule.
    pub text: String,
    pub rule_spans: BTreeMap<String, Range<usize>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    /// Parallel fetches over all hosts.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Parallel fetches to one host.
    #[serde(default = "default_per_host")]
    pub per_host: usize,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Whole request, body included.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Largest body accepted, after decompression.
    #[serde(default = "default_max_body_mib")]
    pub max_body_mib: u64,
    /// First delay after a failure; doubled at each further failure.
    #[serde(default = "default_retry_base")]
    pub retry_base_secs: u64,
    /// Longest delay between two tries of a failing source.
    #[serde(default = "default_retry_max")]
    pub retry_max_secs: u64,
    /// How far apart two articles of one story may be.
    #[serde(default = "default_story_window")]
    pub story_window_days: u32,
    /// Similarity above which two articles are one story (default: the merger's own).
    pub story_threshold: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
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

#[derive(Debug, Clone)]
pub struct Dossier {
    pub title: String,
    /// A sentence for readers, shown under the panorama's title.
    pub description: Option<String>,
    pub panorama: bool,
    /// Research keywords, kept as a reference for the tagging rules.
    pub keywords: Vec<String>,
    /// The tagging rule (syntax in README, parsed by `tag`).
    pub rules: Option<String>,
    /// Score an article needs to be tagged.
    pub threshold: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDossier {
    title: String,
    description: Option<String>,
    #[serde(default)]
    panorama: bool,
    #[serde(default)]
    keywords: Vec<String>,
    rules: Option<Spanned<String>>,
    threshold: Option<f64>,
    /// Polling of this dossier's sources (instead of `[schedule] poll`).
    poll_schedule: Option<Spanned<ScheduleSpec>>,
    /// Panorama refresh (instead of `[schedule] panoramas`).
    panorama_schedule: Option<Spanned<ScheduleSpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub from: String,
    /// `smtp://host:port` (STARTTLS when offered) or `smtps://host:port` (TLS); a user name
    /// may come before the host (`smtp://user@host`); the password is `VEILLE_SMTP_PASSWORD`.
    pub smtp: String,
    pub base_url: Option<String>,
    pub reply_to: Option<String>,
    /// Path of the DKIM private key: PKCS#1 PEM (RSA 2048) or base64 (Ed25519).
    pub dkim_key: Option<String>,
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    /// Where `mailto:` unsubscribe requests go (the From address when absent).
    pub unsubscribe_mailto: Option<String>,
    /// Parallel SMTP connections.
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// Messages per second, all connections together.
    #[serde(default = "default_rate")]
    pub per_second: u32,
    /// Messages per hour (0: no cap); a send waits when the cap is reached.
    #[serde(default)]
    pub per_hour: u32,
    /// Longest time one message may take (connection included).
    #[serde(default = "default_send_timeout")]
    pub timeout_secs: u64,
    /// First wait after a temporary (4xx) refusal; doubled at each further one.
    #[serde(default = "default_retry_secs")]
    pub retry_secs: u64,
    /// Tries per recipient before a temporary refusal counts as a failure.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The address bounces come back to; each message leaves with the envelope sender
    /// `local+TOKEN@domain` (VERP) naming its delivery. Without it, the From address.
    pub bounce_address: Option<String>,
    /// Permanent refusals (5xx) after which an address is marked bounced.
    #[serde(default = "default_bounce_limit")]
    pub bounce_limit: u32,
}

fn default_connections() -> usize {
    4
}
fn default_rate() -> u32 {
    20
}
fn default_send_timeout() -> u64 {
    60
}
fn default_retry_secs() -> u64 {
    60
}
fn default_max_attempts() -> u32 {
    5
}
fn default_bounce_limit() -> u32 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailingList {
    pub title: String,
}

/// How publications are rendered (`[publish]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSettings {
    /// The centre's name, shown in headers and feeds.
    #[serde(default = "default_site_name")]
    pub site_name: String,
    /// Where `archive/published/` is served (web versions, feeds, unsubscribe links);
    /// `[mail] base_url` when absent.
    pub base_url: Option<String>,
    /// Template folder, relative to the configuration file.
    #[serde(default = "default_templates")]
    pub templates: String,
    /// A panorama shows the kept stories of the last `panorama_days` days…
    #[serde(default = "default_panorama_days")]
    pub panorama_days: u32,
    /// …at most this many.
    #[serde(default = "default_panorama_max_items")]
    pub panorama_max_items: u32,
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

/// The web server (`[web]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Origins allowed to frame the pages and fetch the fragments (the website), e.g.
    /// `["https://www.example.org"]`. Empty: only veille's own origin may frame them, and
    /// fragments may be fetched from anywhere.
    #[serde(default)]
    pub site_origins: Vec<String>,
    /// Subscription requests accepted per client IP and minute.
    #[serde(default = "default_subscribe_per_minute")]
    pub subscribe_per_minute: u32,
    /// Valid subscription requests accepted per hour from all clients together: many
    /// addresses (a botnet) must not make veille mail thousands of strangers.
    #[serde(default = "default_subscribe_per_hour")]
    pub subscribe_per_hour: u32,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
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

/// An edition kind (`[publications.KIND]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    pub title: String,
    /// Template name: `templates/<template>.html`, `.email.html` and `.txt`; the kind when
    /// absent.
    pub template: Option<String>,
    /// The mailing list it goes to (a `[lists.*]` entry); the kind when absent.
    pub list: Option<String>,
    /// Months covered by one edition (1 for monthly, 2 for every two months).
    #[serde(default = "default_months")]
    pub months: u32,
    /// Section titles, in order; items in other sections come after them.
    #[serde(default)]
    pub sections: Vec<String>,
    /// When the daemon creates the next draft (default from `months`: `0 8 1 * *` monthly,
    /// `0 8 1 */2 *` every two months); `[]` never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_schedule: Option<Spanned<ScheduleSpec>>,
    /// Whether the email shows the articles' images (the web version always does): off by
    /// default, since many mail clients block remote images and show an empty frame.
    #[serde(default)]
    pub images: bool,
}

fn default_months() -> u32 {
    1
}

impl Publication {
    pub fn template_name(&self, kind: &str) -> String {
        self.template.clone().unwrap_or_else(|| kind.to_string())
    }

    pub fn list_name(&self, kind: &str) -> String {
        self.list.clone().unwrap_or_else(|| kind.to_string())
    }

    /// The sections an item may go in: those configured, else the one default heading.
    pub fn section_names(&self) -> Vec<String> {
        if self.sections.is_empty() {
            vec![DEFAULT_SECTION.to_string()]
        } else {
            self.sections.clone()
        }
    }

    /// The configured section a curator meant, ignoring case and accents (`dans nos
    /// dossiers` is « Dans nos dossiers »), so that a typo never opens a second heading.
    /// The error is a French message with a "vouliez-vous dire" hint and the choices.
    pub fn section(&self, kind: &str, asked: &str) -> Result<String, String> {
        let names = self.section_names();
        let key = crate::text::fold(asked);
        if let Some(found) = names.iter().find(|n| crate::text::fold(n) == key) {
            return Ok(found.clone());
        }
        let folded: Vec<String> = names.iter().map(|n| crate::text::fold(n)).collect();
        let candidates: Vec<&str> = folded.iter().map(String::as_str).collect();
        let hint = suggest(&key, &candidates)
            .and_then(|f| folded.iter().position(|x| x == f))
            .map(|i| format!(" (vouliez-vous dire « {} » ?)", names[i]))
            .unwrap_or_default();
        Err(format!(
            "rubrique inconnue « {asked} » pour {kind}{hint} ; rubriques de ce genre : {}",
            names
                .iter()
                .map(|n| format!("« {n} »"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The heading of items when a kind configures no section.
pub const DEFAULT_SECTION: &str = "À la une";

/// The two publications every centre has (DESIGN.md §1), used unless `feeds.toml`
/// redeclares them.
fn builtin_publications() -> BTreeMap<String, Publication> {
    let mut map = BTreeMap::new();
    map.insert(
        "flash-info".to_string(),
        Publication {
            title: "Flash Info".into(),
            template: None,
            list: None,
            months: 1,
            sections: vec![
                "À la une".into(),
                "Dans nos dossiers".into(),
                "Agenda".into(),
                "Actualités du centre".into(),
            ],
            draft_schedule: None,
            images: false,
        },
    );
    map.insert(
        "lettre-pauvrete".to_string(),
        Publication {
            title: "Lettre d'information Pauvreté".into(),
            template: None,
            list: None,
            months: 2,
            sections: vec![
                "Actualités de la stratégie".into(),
                "Appels à projets".into(),
                "Ressources".into(),
                "Panorama de presse".into(),
            ],
            draft_schedule: None,
            images: false,
        },
    );
    map
}

/// A configuration mistake, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  aide : {hint}")?;
        }
        Ok(())
    }
}

/// All the mistakes found in one file.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: Option<Settings>,
    #[serde(default)]
    dossiers: BTreeMap<Spanned<String>, RawDossier>,
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
    #[serde(default)]
    mail: Option<MailSettings>,
    #[serde(default)]
    bounces: Option<BounceSettings>,
    #[serde(default)]
    lists: BTreeMap<String, MailingList>,
    #[serde(default)]
    publish: Option<PublishSettings>,
    #[serde(default)]
    web: Option<WebSettings>,
    #[serde(default)]
    publications: BTreeMap<Spanned<String>, Publication>,
    #[serde(default)]
    schedule: Option<schedule::RawSchedule>,
    #[serde(default)]
    alerts: Option<AlertSettings>,
    backup: Option<trust::BackupSettings>,
    #[serde(default)]
    privacy: Option<trust::PrivacySettings>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    feed: Option<Spanned<String>>,
    page: Option<Spanned<String>>,
    search: Option<Spanned<String>>,
    #[serde(default)]
    dossiers: Vec<Spanned<String>>,
    select: Option<Spanned<RawSelect>>,
    #[serde(default = "yes")]
    enabled: bool,
    /// This source's own polling schedule.
    schedule: Option<Spanned<ScheduleSpec>>,
    /// Fetch the article pages: "auto" (default), true or false.
    full_text: Option<Spanned<full_text::RawFullText>>,
    full_text_min_words: Option<usize>,
    /// CSS selector of the article text on this site's pages.
    content: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelect {
    item: Spanned<String>,
    title: Spanned<String>,
    link: Spanned<String>,
    date: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: display.clone(),
            line: 1,
            column: 1,
            message: format!("impossible de lire le fichier : {}", crate::wording::io(&e)),
            hint: Some(
                "indiquez le fichier avec --config FICHIER ou la variable VEILLE_CONFIG".into(),
            ),
        }])
    })?;
    let mut config = parse(&text, &display)?;
    config.path = path.to_path_buf();
    Ok(config)
}

/// Parses and validates configuration text; `file` only names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let at = |span: Range<usize>, message: String, hint: Option<String>| {
        let (line, column) = line_column(text, span.start);
        ConfigError {
            file: file.to_string(),
            line,
            column,
            message,
            hint,
        }
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (message, hint) = translate_toml_error(e.message());
        ConfigErrors(vec![at(span, message, hint)])
    })?;

    let mut errors = Vec::new();
    let settings = raw.settings.unwrap_or_default();
    if settings.timezone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(at(
            find_span(text, &settings.timezone),
            format!("fuseau horaire inconnu « {} »", settings.timezone),
            Some("exemple : timezone = \"Europe/Paris\"".into()),
        ));
    }
    for (key, value) in [
        ("concurrency", settings.concurrency as u64),
        ("per_host", settings.per_host as u64),
        ("timeout_secs", settings.timeout_secs),
        ("connect_timeout_secs", settings.connect_timeout_secs),
        ("max_body_mib", settings.max_body_mib),
    ] {
        if value == 0 {
            errors.push(at(
                find_span(text, key),
                format!("`{key}` doit être supérieur à 0"),
                None,
            ));
        }
    }

    // Every schedule expression is checked where it is written.
    let check_schedule = |spec: &Spanned<ScheduleSpec>, errors: &mut Vec<ConfigError>| {
        let (texts, problems) = schedule::check(spec, text);
        for (span, message) in problems {
            errors.push(at(span, message, Some(crate::cron::SYNTAX_HINT.into())));
        }
        texts
    };
    let mut schedules = Schedules::default();
    if let Some(raw_schedule) = &raw.schedule {
        if let Some(spec) = &raw_schedule.poll {
            schedules.poll = check_schedule(spec, &mut errors);
        }
        if let Some(spec) = &raw_schedule.panoramas {
            schedules.panoramas = check_schedule(spec, &mut errors);
        }
        if let Some(spec) = &raw_schedule.bounces {
            schedules.bounces = check_schedule(spec, &mut errors);
        }
        if let Some(grace) = &raw_schedule.stop_grace_secs {
            if *grace.get_ref() > 60 {
                errors.push(at(
                    grace.span(),
                    "`stop_grace_secs` doit être au plus 60".into(),
                    Some("au-delà, systemd ou l'opérateur perdent patience ; 5 par défaut".into()),
                ));
            }
            schedules.stop_grace_secs = *grace.get_ref();
        }
    }

    let mut dossiers = BTreeMap::new();
    let mut rule_spans = BTreeMap::new();
    for (id, dossier) in raw.dossiers {
        if let Some(spec) = &dossier.poll_schedule {
            let texts = check_schedule(spec, &mut errors);
            schedules.dossier_poll.insert(id.get_ref().clone(), texts);
        }
        if let Some(spec) = &dossier.panorama_schedule {
            let texts = check_schedule(spec, &mut errors);
            if !dossier.panorama {
                errors.push(at(
                    spec.span(),
                    format!(
                        "`panorama_schedule` dans le dossier `{}`, qui n'a pas de panorama",
                        id.get_ref()
                    ),
                    Some("ajoutez panorama = true, ou retirez panorama_schedule".into()),
                ));
            }
            schedules
                .dossier_panorama
                .insert(id.get_ref().clone(), texts);
        }
        if !DOSSIER_IDS.contains(&id.get_ref().as_str()) {
            errors.push(at(
                id.span(),
                format!("dossier inconnu `{}`", id.get_ref()),
                Some(suggest(id.get_ref(), &DOSSIER_IDS).map_or_else(
                    || format!("les dossiers sont : {}", DOSSIER_IDS.join(", ")),
                    |s| format!("vouliez-vous dire `{s}` ?"),
                )),
            ));
        }
        if let Some(rules) = &dossier.rules {
            rule_spans.insert(id.get_ref().clone(), rules.span());
        }
        dossiers.insert(
            id.into_inner(),
            Dossier {
                title: dossier.title,
                description: dossier
                    .description
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty()),
                panorama: dossier.panorama,
                keywords: dossier.keywords,
                rules: dossier.rules.map(Spanned::into_inner),
                threshold: dossier.threshold,
            },
        );
    }
    let known: Vec<&str> = dossiers.keys().map(String::as_str).collect();

    let mut sources = Vec::new();
    let mut full_texts = BTreeMap::new();
    let mut names = HashSet::new();
    for raw_source in raw.sources {
        let source_span = raw_source.span();
        let raw_source = raw_source.into_inner();
        let name = raw_source.name.get_ref().trim().to_string();
        if name.is_empty() {
            errors.push(at(
                raw_source.name.span(),
                "nom de source vide".into(),
                None,
            ));
        } else if !names.insert(name.clone()) {
            errors.push(at(
                raw_source.name.span(),
                format!("deux sources portent le nom « {name} »"),
                Some("chaque source doit avoir un nom unique".into()),
            ));
        }
        let targets: Vec<(SourceKind, &Spanned<String>)> = [
            (SourceKind::Feed, &raw_source.feed),
            (SourceKind::Page, &raw_source.page),
            (SourceKind::Search, &raw_source.search),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.as_ref().map(|v| (kind, v)))
        .collect();
        let (kind, target) = match targets.as_slice() {
            [one] => *one,
            [] => {
                errors.push(at(
                    source_span,
                    format!("la source « {name} » n'a ni `feed`, ni `page`, ni `search`"),
                    Some("ajoutez feed = \"https://…\" (flux), page = \"https://…\" (page sans flux) ou search = \"requête\"".into()),
                ));
                continue;
            }
            [_, second, ..] => {
                errors.push(at(
                    second.1.span(),
                    format!("la source « {name} » a plusieurs cibles (`feed`, `page`, `search`)"),
                    Some("gardez-en une seule par source".into()),
                ));
                continue;
            }
        };
        let url = match kind {
            SourceKind::Search => {
                let query = target.get_ref().trim();
                if query.is_empty() {
                    errors.push(at(target.span(), "requête de recherche vide".into(), None));
                    continue;
                }
                google_news_url(query)
            }
            _ => match check_url(target.get_ref()) {
                Ok(url) => url,
                Err(message) => {
                    errors.push(at(
                        target.span(),
                        message,
                        Some("une adresse complète commence par https:// ou http://".into()),
                    ));
                    continue;
                }
            },
        };
        let mut source_dossiers = Vec::new();
        for d in &raw_source.dossiers {
            if known.contains(&d.get_ref().as_str()) {
                source_dossiers.push(d.get_ref().clone());
            } else {
                let hint = suggest(d.get_ref(), &known).map_or_else(
                    || format!("dossiers déclarés : {}", known.join(", ")),
                    |s| format!("vouliez-vous dire `{s}` ?"),
                );
                errors.push(at(
                    d.span(),
                    format!("dossier inconnu `{}`", d.get_ref()),
                    Some(hint),
                ));
            }
        }
        let select = match (&raw_source.select, kind) {
            (Some(select), SourceKind::Page) => {
                let s = select.get_ref();
                for field in [&s.item, &s.title, &s.link]
                    .into_iter()
                    .chain(s.date.as_ref())
                    .chain(s.summary.as_ref())
                {
                    if let Err(e) = scraper::Selector::parse(field.get_ref()) {
                        // scraper's messages are for developers when the parser is surprised.
                        let detail = e.to_string();
                        let detail = if detail.contains('\n') || detail.contains("Unexpected error")
                        {
                            String::new()
                        } else {
                            format!(" : {detail}")
                        };
                        errors.push(at(
                            field.span(),
                            format!("sélecteur CSS invalide `{}`{detail}", field.get_ref()),
                            Some("exemples valides : \"article.news\", \"h3 a\", \"time\"".into()),
                        ));
                    }
                }
                Some(PageSelectors {
                    item: s.item.get_ref().clone(),
                    title: s.title.get_ref().clone(),
                    link: s.link.get_ref().clone(),
                    date: s.date.as_ref().map(|d| d.get_ref().clone()),
                    summary: s.summary.as_ref().map(|d| d.get_ref().clone()),
                })
            }
            (Some(select), _) => {
                errors.push(at(
                    select.span(),
                    format!("`select` ne sert qu'aux sources `page` (« {name} »)"),
                    Some(
                        "retirez la section [sources.select] ou remplacez `feed` par `page`".into(),
                    ),
                ));
                None
            }
            (None, SourceKind::Page) => {
                errors.push(at(
                    target.span(),
                    format!("la page « {name} » n'a pas de sélecteurs"),
                    Some("ajoutez [sources.select] avec item, title et link".into()),
                ));
                None
            }
            (None, _) => None,
        };
        if let Some(spec) = &raw_source.schedule {
            let texts = check_schedule(spec, &mut errors);
            schedules.sources.insert(name.clone(), texts);
        }
        let mut text_settings = FullTextSettings {
            min_words: raw_source
                .full_text_min_words
                .unwrap_or(full_text::DEFAULT_MIN_WORDS),
            ..Default::default()
        };
        if let Some(raw) = &raw_source.full_text {
            match raw.get_ref().mode() {
                Some(mode) => text_settings.mode = mode,
                None => errors.push(at(
                    raw.span(),
                    format!("`full_text` de « {name} » : \"auto\", true ou false"),
                    Some("full_text = \"auto\" (défaut) relève la page quand le flux a moins de full_text_min_words mots".into()),
                )),
            }
        }
        if let Some(content) = &raw_source.content {
            if scraper::Selector::parse(content.get_ref()).is_err() {
                errors.push(at(
                    content.span(),
                    format!("sélecteur CSS invalide `{}`", content.get_ref()),
                    Some("exemples valides : \"article .texte\", \"div.fr-content\"".into()),
                ));
            }
            text_settings.content = Some(content.get_ref().clone());
        }
        full_texts.insert(name.clone(), text_settings);
        sources.push(Source {
            name,
            kind,
            url,
            dossiers: source_dossiers,
            select,
            enabled: raw_source.enabled,
        });
    }

    let publish = raw.publish.unwrap_or_default();
    let base_url = publish
        .base_url
        .as_deref()
        .or(raw.mail.as_ref().and_then(|m| m.base_url.as_deref()));
    if let Some(base) = base_url
        && !matches!(url::Url::parse(base), Ok(u) if u.scheme() == "http" || u.scheme() == "https")
    {
        errors.push(at(
            find_span(text, base),
            format!("adresse de base invalide « {base} »"),
            Some("exemple : base_url = \"https://veille.example.org\"".into()),
        ));
    }
    for (key, value) in [
        ("panorama_days", publish.panorama_days),
        ("panorama_max_items", publish.panorama_max_items),
    ] {
        if value == 0 {
            errors.push(at(
                find_span(text, key),
                format!("`{key}` doit être supérieur à 0"),
                None,
            ));
        }
    }
    if let Some(mail) = &raw.mail {
        if !(mail.smtp.starts_with("smtp://") || mail.smtp.starts_with("smtps://"))
            || url::Url::parse(&mail.smtp).is_err()
        {
            errors.push(at(
                find_span(text, &mail.smtp),
                format!("serveur SMTP invalide « {} »", mail.smtp),
                Some("exemples : smtp = \"smtp://127.0.0.1:2525\", smtp = \"smtps://smtp.example.org:465\"".into()),
            ));
        }
        for (key, value) in [
            ("connections", mail.connections as u64),
            ("per_second", u64::from(mail.per_second)),
            ("timeout_secs", mail.timeout_secs),
            ("max_attempts", u64::from(mail.max_attempts)),
            ("bounce_limit", u64::from(mail.bounce_limit)),
        ] {
            if value == 0 {
                errors.push(at(
                    find_span(text, key),
                    format!("`{key}` de [mail] doit être supérieur à 0"),
                    None,
                ));
            }
        }
        if mail.from.parse::<lettre::message::Mailbox>().is_err() {
            errors.push(at(
                find_span(text, &mail.from),
                format!("adresse d'expédition invalide « {} »", mail.from),
                Some("exemple : from = \"Ressources & Territoires <lettre@example.org>\"".into()),
            ));
        }
    }
    let backup = raw.backup.unwrap_or_default();
    if let Err(e) = crate::cron::Expr::parse(&backup.schedule) {
        errors.push(at(
            find_span(text, &backup.schedule),
            format!(
                "horaire de sauvegarde invalide « {} » : {}",
                backup.schedule, e.message
            ),
            Some(crate::cron::SYNTAX_HINT.into()),
        ));
    }
    let privacy = raw.privacy.unwrap_or_default();
    let web = raw.web.unwrap_or_default();
    if web.listen.parse::<std::net::SocketAddr>().is_err() {
        errors.push(at(
            find_span(text, &web.listen),
            format!("adresse d'écoute invalide « {} »", web.listen),
            Some("exemple : listen = \"127.0.0.1:8080\"".into()),
        ));
    }
    for origin in &web.site_origins {
        if !matches!(url::Url::parse(origin), Ok(u) if u.scheme() == "https" || u.scheme() == "http")
            || origin.ends_with('/')
        {
            errors.push(at(
                find_span(text, origin),
                format!("origine invalide « {origin} »"),
                Some("une origine est un schéma et un hôte, sans chemin : \"https://www.example.org\"".into()),
            ));
        }
    }
    let mut publications = builtin_publications();
    for (kind, publication) in raw.publications {
        let valid_kind = !kind.get_ref().is_empty()
            && kind
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_kind {
            errors.push(at(
                kind.span(),
                format!("nom de publication invalide « {} »", kind.get_ref()),
                Some(
                    "lettres minuscules sans accents, chiffres et tirets : \"lettre-reseau\""
                        .into(),
                ),
            ));
        }
        if publication.months == 0 || publication.months > 12 {
            errors.push(at(
                kind.span(),
                format!("`months` de « {} » doit être entre 1 et 12", kind.get_ref()),
                None,
            ));
        }
        let list = publication.list_name(kind.get_ref());
        let builtin = matches!(kind.get_ref().as_str(), "flash-info" | "lettre-pauvrete");
        if !builtin && !raw.lists.contains_key(&list) {
            errors.push(at(
                kind.span(),
                format!(
                    "la publication « {} » va à la liste « {list} », qui n'est pas déclarée",
                    kind.get_ref()
                ),
                Some(format!(
                    "ajoutez [lists.{list}] avec son title, ou indiquez list = \"…\""
                )),
            ));
        }
        if let Some(spec) = &publication.draft_schedule {
            let texts = check_schedule(spec, &mut errors);
            schedules.drafts.insert(kind.get_ref().clone(), texts);
        }
        publications.insert(kind.into_inner(), publication);
    }

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Config {
        path: PathBuf::from(file),
        settings,
        dossiers,
        sources,
        mail: raw.mail,
        bounces: raw.bounces,
        alerts: raw.alerts,
        full_text: full_texts,
        lists: raw.lists,
        publish,
        web,
        publications,
        schedule: schedules,
        backup,
        privacy,
        text: text.to_string(),
        rule_spans,
    })
}

impl Config {
    /// A source's full-text settings (defaults for a name not in the file).
    pub fn full_text_for(&self, source: &str) -> FullTextSettings {
        self.full_text.get(source).cloned().unwrap_or_default()
    }

    /// Where published files are served from, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.publish
            .base_url
            .as_deref()
            .or(self.mail.as_ref().and_then(|m| m.base_url.as_deref()))
            .map(|b| b.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{}", self.web.listen))
    }

    /// The template folder (relative paths are read from the configuration file's folder).
    pub fn templates_dir(&self) -> PathBuf {
        let dir = Path::new(&self.publish.templates);
        if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(dir)
        }
    }

    /// An error located at `offset` bytes into the text of a dossier's `rules` string.
    /// Exact for literal strings (`'…'`, `'''…'''`); for basic strings with escapes the column
    /// may be off by the escapes before it.
    pub fn rule_error(
        &self,
        dossier: &str,
        offset: usize,
        message: String,
        hint: Option<String>,
    ) -> ConfigError {
        let file = self.path.display().to_string();
        let Some(span) = self.rule_spans.get(dossier) else {
            return ConfigError {
                file,
                line: 1,
                column: 1,
                message,
                hint,
            };
        };
        let literal = &self.text[span.clone()];
        let mut start = span.start;
        if literal.starts_with("'''") || literal.starts_with("\"\"\"") {
            start += 3;
            // A newline right after the opening delimiter is not part of the string.
            if self.text[start..].starts_with("\r\n") {
                start += 2;
            } else if self.text[start..].starts_with('\n') {
                start += 1;
            }
        } else {
            start += 1;
        }
        let (line, column) = line_column(&self.text, (start + offset).min(span.end));
        ConfigError {
            file,
            line,
            column,
            message,
            hint,
        }
    }
}

/// The Google News RSS search URL for a French query.
pub fn google_news_url(query: &str) -> String {
    let mut url = url::Url::parse("https://news.google.com/rss/search").expect("static URL");
    url.query_pairs_mut()
        .append_pair("q", query)
        .append_pair("hl", "fr")
        .append_pair("gl", "FR")
        .append_pair("ceid", "FR:fr");
    url.into()
}

fn check_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(url.into())
        }
        Ok(url) => Err(format!(
            "adresse non prise en charge `{text}` (schéma `{}`)",
            url.scheme()
        )),
        Err(e) => Err(format!(
            "adresse invalide `{text}` : {}",
            crate::wording::url(&e)
        )),
    }
}

/// Turns a toml/serde message into French, with a "did you mean" hint for unknown keys.
fn translate_toml_error(message: &str) -> (String, Option<String>) {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let unknown = ticked.first().copied().unwrap_or(rest);
        let expected = &ticked[1.min(ticked.len())..];
        let hint = match suggest(unknown, expected) {
            Some(s) => format!("vouliez-vous dire `{s}` ?"),
            None => format!("clés possibles ici : {}", expected.join(", ")),
        };
        return (format!("clé inconnue `{unknown}`"), Some(hint));
    }
    if message.starts_with("missing field") {
        let field = ticked.first().copied().unwrap_or("?");
        return (format!("clé obligatoire manquante `{field}`"), None);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        // `invalid type: string "x", expected u32`
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let found_kind = found.split_whitespace().next().unwrap_or(found);
        let mut text = format!("type de valeur incorrect : {}", toml_kind(found_kind));
        if !expected.is_empty() {
            text.push_str(&format!(", attendu : {}", toml_kind(expected.trim())));
        }
        return (text, None);
    }
    if message.starts_with("duplicate key") {
        let key = ticked.first().copied().unwrap_or("?");
        return (format!("clé en double `{key}`"), None);
    }
    tracing::debug!("erreur TOML : {message}");
    let (what, expected) = message.split_once(", expected ").unwrap_or((message, ""));
    let what = what.trim();
    let french = TOML_SYNTAX
        .iter()
        .find(|(english, _)| *english == what)
        .map(|(_, french)| (*french).to_string())
        .unwrap_or_else(|| "syntaxe TOML invalide".to_string());
    let hint = (!expected.is_empty()).then(|| {
        format!(
            "attendu ici : {}",
            expected
                .replace("nothing", "rien")
                .replace(" or ", " ou ")
                .replace("etc", "…")
        )
    });
    (french, hint)
}

/// A TOML value kind as serde and toml name it, in French.
fn toml_kind(kind: &str) -> String {
    let word = kind.trim_start_matches("a ").trim_start_matches("an ");
    match word {
        "string" => "un texte entre guillemets".into(),
        "integer" | "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => {
            "un nombre entier".into()
        }
        "float" | "f32" | "f64" => "un nombre".into(),
        "boolean" | "bool" => "true ou false".into(),
        "sequence" | "array" => "une liste [ … ]".into(),
        "map" | "table" => "une table".into(),
        "datetime" => "une date".into(),
        other => format!("`{other}`"),
    }
}

/// toml's syntax messages and their French.
const TOML_SYNTAX: &[(&str, &str)] = &[
    (
        "invalid basic string",
        "texte entre guillemets mal formé : guillemet fermant \" manquant, ou retour à la ligne dans le texte",
    ),
    (
        "invalid literal string",
        "texte entre apostrophes mal formé : apostrophe fermante ' manquante",
    ),
    (
        "invalid multi-line basic string",
        "texte sur plusieurs lignes mal formé : \"\"\" fermant manquant",
    ),
    (
        "invalid multi-line literal string",
        "texte sur plusieurs lignes mal formé : ''' fermant manquant",
    ),
    (
        "missing escaped value",
        "barre oblique inverse \\ seule dans un texte : écrivez \\\\",
    ),
    (
        "invalid escape sequence",
        "séquence \\ inconnue dans un texte : écrivez \\\\ pour une barre oblique inverse",
    ),
    (
        "invalid unquoted key",
        "clé invalide : lettres, chiffres, - et _ seulement, sinon entre guillemets",
    ),
    ("unquoted keys cannot be empty", "clé vide"),
    (
        "missing assignment between key-value pairs",
        "il manque « = valeur » après la clé",
    ),
    (
        "key with no value",
        "clé sans valeur : il manque « = valeur »",
    ),
    ("missing value for key", "clé sans valeur après le ="),
    ("missing value", "valeur manquante"),
    ("invalid value", "valeur invalide"),
    (
        "string values must be quoted",
        "un texte doit être entre guillemets \"…\"",
    ),
    (
        "missing comma between array elements",
        "virgule manquante entre deux éléments de la liste",
    ),
    (
        "missing comma between key-value pairs",
        "virgule manquante entre deux clés de la table",
    ),
    ("extra comma in array", "virgule en trop dans la liste"),
    (
        "extra comma in inline table",
        "virgule en trop dans la table",
    ),
    ("unclosed array", "liste non fermée : ] manquant"),
    ("unclosed table", "en-tête de table non fermé : ] manquant"),
    (
        "unclosed array table",
        "en-tête [[…]] non fermé : ]] manquant",
    ),
    (
        "unclosed inline table",
        "table { … } non fermée : } manquant",
    ),
    (
        "missing table open",
        "[ manquant au début de l'en-tête de table",
    ),
    ("invalid table header", "en-tête de table invalide"),
    ("unexpected content", "contenu inattendu à cet endroit"),
    (
        "unexpected key or value",
        "clé ou valeur inattendue à cet endroit",
    ),
    (
        "unexpected content between comment and newline",
        "contenu inattendu après le commentaire",
    ),
    ("extra assignment between key-value pairs", "= en trop"),
    ("extra `=`", "= en trop"),
    ("unexpected leading zero", "un nombre ne commence pas par 0"),
    (
        "`_` may only go between digits",
        "_ seulement entre deux chiffres",
    ),
    (
        "carriage return must be followed by newline",
        "retour chariot isolé (fichier enregistré avec des fins de ligne anciennes Mac ?)",
    ),
];

/// The closest candidate to a mistyped word, if it is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn find_span(text: &str, needle: &str) -> Range<usize> {
    let start = text.find(needle).unwrap_or(0);
    start..start + needle.len()
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse(text, "feeds.toml").unwrap_err().0.remove(0)
    }

    #[test]
    fn publication_settings_are_checked_and_located() {
        let e = err("[web]\nlisten = \"localhost\"\n");
        assert_eq!((e.line, e.column), (2, 11), "{e}");
        assert!(e.message.contains("adresse d'écoute invalide"), "{e}");
        let e = err("[web]\nsite_origins = [\"https://www.example.org/\"]\n");
        assert!(e.message.contains("origine invalide"), "{e}");
        let e = err("[publish]\nbase_url = \"veille.example.org\"\n");
        assert_eq!(e.line, 2, "{e}");
        let e = err("[publications.lettre-reseau]\ntitle = \"Lettre du réseau\"\n");
        assert_eq!(e.line, 1, "{e}");
        assert!(e.message.contains("liste « lettre-reseau »"), "{e}");
        let c = parse(
            "[lists.reseau]\ntitle = \"R\"\n[publications.lettre-reseau]\ntitle = \"Lettre\"\nlist = \"reseau\"\nmonths = 3\n",
            "feeds.toml",
        )
        .unwrap();
        assert_eq!(c.publications["lettre-reseau"].months, 3);
        assert!(
            c.publications.contains_key("flash-info"),
            "les deux publications d'office restent"
        );
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn unknown_key_has_position_and_hint() {
        let e = err(
            "[[sources]]\nname = \"A\"\nfeed = \"https://a.fr/rss\"\ndosiers = [\"pauvrete\"]\n",
        );
        assert_eq!((e.line, e.column), (4, 1), "{e}");
        assert!(e.message.contains("dosiers"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("vouliez-vous dire `dossiers` ?"));
    }

    #[test]
    fn bad_url_selector_and_dossier_are_located() {
        let text = "[dossiers.pauvrete]\ntitle = \"P\"\n\n[[sources]]\nname = \"A\"\nfeed = \"pas une url\"\n\n[[sources]]\nname = \"B\"\npage = \"https://b.fr/\"\ndossiers = [\"pauvretee\"]\n[sources.select]\nitem = \"article[\"\ntitle = \"h3\"\nlink = \"a\"\n";
        let errors = parse(text, "feeds.toml").unwrap_err().0;
        assert_eq!(errors.len(), 3, "{}", ConfigErrors(errors.clone()));
        assert_eq!((errors[0].line, errors[0].column), (6, 8));
        assert!(errors[0].message.contains("adresse invalide"));
        assert_eq!((errors[1].line, errors[1].column), (11, 13));
        assert_eq!(
            errors[1].hint.as_deref(),
            Some("vouliez-vous dire `pauvrete` ?")
        );
        assert_eq!((errors[2].line, errors[2].column), (13, 8));
        assert!(errors[2].message.contains("sélecteur CSS invalide"));
    }

    #[test]
    fn unknown_dossier_id_in_dossiers_table() {
        let e = err("[dossiers.securiteh]\ntitle = \"S\"\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("dossier inconnu"), "{e}");
        assert_eq!(e.hint.as_deref(), Some("vouliez-vous dire `securite` ?"));
    }

    #[test]
    fn search_sources_become_google_news_urls() {
        let c = parse(
            "[[sources]]\nname = \"G\"\nsearch = '\"politique de la ville\" OR QPV when:7d'\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.sources[0].kind, SourceKind::Search);
        assert_eq!(
            c.sources[0].url,
            "https://news.google.com/rss/search?q=%22politique+de+la+ville%22+OR+QPV+when%3A7d&hl=fr&gl=FR&ceid=FR%3Afr"
        );
    }

    #[test]
    fn duplicate_names_and_missing_target() {
        let errors = parse(
            "[[sources]]\nname = \"A\"\nfeed = \"https://a.fr/\"\n[[sources]]\nname = \"A\"\nfeed = \"https://b.fr/\"\n[[sources]]\nname = \"C\"\n",
            "f",
        )
        .unwrap_err()
        .0;
        assert_eq!(errors.len(), 2);
        assert!(errors[0].message.contains("deux sources"));
        assert!(errors[1].message.contains("ni `feed`"));
    }
}
