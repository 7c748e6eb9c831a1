//! Reads and validates `feeds.toml`: settings, dossiers, sources, mail and lists.
//!
//! Every mistake is reported as `FILE:LINE:COLUMN: message` with a hint, so that the team can
//! fix the file without reading Rust.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::Source;

mod alerts;
mod bounces;
pub mod centre;
mod collector;
mod dossiers;
mod full_text;
mod mail;
pub(crate) mod network;
mod publications;
mod publishing;
mod schedule;
mod settings;
mod sources;
pub mod store;
mod toml_errors;
pub(crate) mod trust;
mod web;
pub(crate) use alerts::AlertSettings;
pub(crate) use bounces::BounceSettings;
pub(crate) use dossiers::Dossier;
pub(crate) use full_text::FullTextSettings;
pub(crate) use mail::{MailSettings, MailingList};
pub(crate) use publications::Publication;
pub(crate) use publishing::PublishSettings;
pub(crate) use schedule::{ScheduleSpec, Schedules};
pub(crate) use settings::Settings;
pub(crate) use sources::google_news_url;
pub(crate) use web::WebSettings;

/// The ten dossiers of the centre; their ids are fixed (ARCHITECTURE.md, "The contract outside checks rely on").
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
    pub(crate) path: PathBuf,
    pub(crate) settings: Settings,
    pub(crate) dossiers: BTreeMap<String, Dossier>,
    pub(crate) sources: Vec<Source>,
    pub(crate) mail: Option<MailSettings>,
    /// The bounce mailbox and its policy (`[bounces]`).
    pub(crate) bounces: Option<BounceSettings>,
    /// `[alerts]`: mails about broken or silent sources (sent through `[mail]`).
    pub(crate) alerts: Option<AlertSettings>,
    /// Full-text settings of each source, by name.
    pub(crate) full_text: BTreeMap<String, FullTextSettings>,
    pub(crate) lists: BTreeMap<String, MailingList>,
    pub(crate) publish: PublishSettings,
    pub(crate) web: WebSettings,
    /// Edition kinds: the two built-in ones, plus any declared under `[publications.KIND]`.
    pub(crate) publications: BTreeMap<String, Publication>,
    /// When the daemon (`veille run`) polls, refreshes panoramas and prepares drafts.
    pub(crate) schedule: Schedules,
    /// The daemon's nightly backup (`[backup]`).
    pub(crate) backup: trust::BackupSettings,
    /// Retention of personal data (`[privacy]`).
    pub(crate) privacy: trust::PrivacySettings,
    /// Where the store lives (`[store] url`; `VEILLE_DATABASE_URL` overrides it).
    pub(crate) store: store::StoreLocation,
    /// Which centre of the network this is (`[centre]`; the single-centre default without).
    pub(crate) centre: centre::Centre,
    /// The collective panoramas this centre publishes (`[network]`; none without).
    pub(crate) network: network::Network,
    /// The file's text and where each dossier's `rules` string sits in it, so that later
    /// stages can point at a mistake inside a rule.
    pub(crate) text: String,
    pub(crate) rule_spans: BTreeMap<String, Range<usize>>,
}

/// A configuration mistake, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
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
pub struct ConfigErrors(pub(crate) Vec<ConfigError>);

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
    settings: Option<settings::RawSettings>,
    #[serde(default)]
    dossiers: BTreeMap<Spanned<String>, dossiers::RawDossier>,
    #[serde(default)]
    sources: Vec<Spanned<sources::RawSource>>,
    #[serde(default)]
    mail: Option<MailSettings>,
    #[serde(default)]
    bounces: Option<BounceSettings>,
    #[serde(default)]
    lists: BTreeMap<String, MailingList>,
    #[serde(default)]
    publish: Option<PublishSettings>,
    #[serde(default)]
    web: Option<web::RawWeb>,
    #[serde(default)]
    publications: BTreeMap<Spanned<String>, Publication>,
    #[serde(default)]
    schedule: Option<schedule::RawSchedule>,
    #[serde(default)]
    alerts: Option<AlertSettings>,
    backup: Option<trust::BackupSettings>,
    #[serde(default)]
    privacy: Option<trust::PrivacySettings>,
    #[serde(default)]
    store: Option<store::RawStore>,
    #[serde(default)]
    centre: Option<centre::RawCentre>,
    #[serde(default)]
    network: Option<network::RawNetwork>,
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

/// Parses and validates configuration text; `file` only names it in errors. Each table has
/// its validator; they share one collector, so every mistake of the file is reported at once.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let mut c = collector::Collector::new(text, file);
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let (message, hint) = toml_errors::translate_toml_error(e.message());
        ConfigErrors(vec![c.error(span, message, hint)])
    })?;
    let settings = settings::validate(raw.settings, &mut c);
    let mut schedules = schedule::validate(raw.schedule, &mut c);
    let (dossiers, rule_spans) = dossiers::validate(raw.dossiers, &mut c, &mut schedules);
    let known: Vec<&str> = dossiers.keys().map(String::as_str).collect();
    let (sources, full_text) = sources::validate(raw.sources, &known, &mut c, &mut schedules);
    let publish = publishing::validate(raw.publish, raw.mail.as_ref(), &mut c);
    mail::validate(raw.mail.as_ref(), &mut c);
    let backup = trust::validate_backup(raw.backup, &mut c);
    let web = web::validate(raw.web, &mut c);
    let publications = publications::validate(raw.publications, &raw.lists, &mut c, &mut schedules);
    let store = store::validate(raw.store, &mut c);
    let centre = centre::validate(raw.centre, &mut c);
    let network = network::validate(raw.network, &known, &schedules, &mut c);
    c.finish(Config {
        path: PathBuf::from(file),
        settings,
        dossiers,
        sources,
        mail: raw.mail,
        bounces: raw.bounces,
        alerts: raw.alerts,
        full_text,
        lists: raw.lists,
        publish,
        web,
        publications,
        schedule: schedules,
        backup,
        privacy: raw.privacy.unwrap_or_default(),
        store,
        centre,
        network,
        text: text.to_string(),
        rule_spans,
    })
}

impl Config {
    /// The configured timezone (checked when the file is read).
    pub(crate) fn tz(&self) -> chrono_tz::Tz {
        self.settings.timezone
    }

    /// A source's full-text settings (defaults for a name not in the file).
    pub(crate) fn full_text_for(&self, source: &str) -> FullTextSettings {
        self.full_text.get(source).cloned().unwrap_or_default()
    }

    /// Where published files are served from, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        self.publish
            .base_url
            .as_deref()
            .or(self.mail.as_ref().and_then(|m| m.base_url.as_deref()))
            .map(|b| b.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{}", self.web.listen))
    }

    /// The template folder (relative paths are read from the configuration file's folder).
    pub(crate) fn templates_dir(&self) -> PathBuf {
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
    pub(crate) fn rule_error(
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

/// The closest candidate to a mistyped word, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::web::DEFAULT_LISTEN;
    use super::*;
    use crate::model::SourceKind;

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
    fn every_table_reports_into_one_collector_with_real_types() {
        // Mistakes of several tables come out together, in the order of the tables.
        let errors = parse(
            "[settings]\ntimezone = \"Europe/Pariss\"\nconcurrency = 0\n\n[web]\nlisten = \"localhost\"\n\n[backup]\nschedule = \"0 25 * * *\"\n",
            "feeds.toml",
        )
        .unwrap_err()
        .0;
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.split(" «").next().unwrap_or("")))
            .collect();
        assert_eq!(
            found,
            [
                (2, "fuseau horaire inconnu"),
                (3, "`concurrency` doit être supérieur à 0"),
                (9, "horaire de sauvegarde invalide"),
                (6, "adresse d'écoute invalide"),
            ],
            "{errors:#?}"
        );
        // Once valid, the values are typed: nothing downstream parses them again.
        let c = parse(
            "[settings]\ntimezone = \"America/Cayenne\"\n[web]\nlisten = \"[::1]:9000\"\n",
            "feeds.toml",
        )
        .unwrap();
        assert_eq!(c.tz(), chrono_tz::America::Cayenne);
        assert_eq!(c.web.listen, "[::1]:9000".parse().unwrap());
        assert_eq!(c.base_url(), "http://[::1]:9000");
        let defaults = parse("", "feeds.toml").unwrap();
        assert_eq!(defaults.tz(), chrono_tz::Europe::Paris);
        assert_eq!(defaults.web.listen, DEFAULT_LISTEN);
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
