//! The command line as clap types: what `veille` accepts, with its French help. Values with
//! a shape of their own (states, dates) are parsed here, once; their mistakes are worded by
//! veille (`UsageMessage`, printed as is by `commands::parser`).

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::model::DecisionState;

/// The whole command line: the options every command shares, then the command.
// clap makes the `///` comments of arguments and commands their French help; those of the
// types and of the subcommand fields it leaves aside (and `about` is given here), so they
// are for developers, in English.
#[derive(Parser)]
#[command(
    long_about = None,
    name = "veille",
    version,
    about = "Veille de presse : relève des flux et des pages, stockage, publication"
)]
pub struct Cli {
    /// Fichier de configuration
    #[arg(
        long,
        global = true,
        env = "VEILLE_CONFIG",
        default_value = "feeds.toml"
    )]
    pub config: PathBuf,
    /// Dossier d'archive (base, index, publications)
    #[arg(long, global = true, env = "VEILLE_ARCHIVE", default_value = "archive")]
    pub archive: PathBuf,
    /// Format du journal sur la sortie d'erreur : text (lisible, préfixes journald sous
    /// systemd) ou json (un objet par ligne)
    #[arg(long, global = true, env = "VEILLE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `veille`, each with its own arguments.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum Command {
    /// Valide la configuration ; liste dossiers et sources
    Check {
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
        /// Relève cette source maintenant et montre ce qu'elle donne (rien n'est enregistré)
        #[arg(long, value_name = "SOURCE")]
        fetch: Option<String>,
    },
    /// Une relève : télécharge, lit et enregistre chaque source
    Fetch {
        /// Seulement les sources de ce dossier
        #[arg(long)]
        dossier: Option<String>,
        /// Seulement cette source (même désactivée)
        #[arg(long)]
        source: Option<String>,
        /// Relever aussi les sources ralenties après des erreurs
        #[arg(long)]
        force: bool,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Le texte d'un article enregistré en HTML : titre, auteur, date, image, texte
    Extract {
        /// La page HTML (enregistrée depuis le navigateur, ou téléchargée)
        file: PathBuf,
        /// L'adresse d'origine de la page (liens relatifs, type de page)
        #[arg(long)]
        url: Option<String>,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// État de santé de chaque source ; propositions de sélecteurs ; OPML
    Sources {
        /// The action; none shows the health of every source.
        #[command(subcommand)]
        what: Option<SourcesCommand>,
        /// Seulement les sources en difficulté : en erreur depuis `alert_after_hours`,
        /// sélecteurs sans résultat, rien de nouveau depuis `silent_after_days`
        #[arg(long)]
        failing: bool,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Articles enregistrés, du plus récent au plus ancien, une ligne par histoire
    Articles {
        /// Seulement les articles classés dans ce dossier
        #[arg(long)]
        dossier: Option<String>,
        /// Seulement les histoires dans cet état (new, kept, rejected, starred)
        #[arg(long, value_parser = parse_state)]
        state: Option<DecisionState>,
        /// Depuis cette date (AAAA-MM-JJ ou RFC 3339)
        #[arg(long, value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Seulement cette source
        #[arg(long)]
        source: Option<String>,
        /// Nombre maximal d'articles
        #[arg(long)]
        limit: Option<u32>,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Mesure la qualité du regroupement ou du classement sur un fichier étiqueté
    Eval {
        /// What to measure.
        #[command(subcommand)]
        what: EvalCommand,
    },
    /// Recherche plein texte (analyseur français) : "expression", -mot, dossier:x, source:x
    Search {
        query: String,
        /// Seulement dans ce dossier
        #[arg(long)]
        dossier: Option<String>,
        /// Nombre maximal de résultats
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Reconstruit l'index de recherche à partir de la base
    Reindex {
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Copie cohérente de l'archive (base, clé secrète, feeds.toml) dans un dossier nouveau,
    /// même pendant que le démon tourne
    Backup {
        /// Dossier de la sauvegarde (nouveau ou vide)
        dest: PathBuf,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Restaure une sauvegarde dans l'archive (refusé pendant que le démon tourne)
    Restore {
        /// Dossier d'une sauvegarde faite par `veille backup`
        src: PathBuf,
        /// Remplacer la base existante de l'archive
        #[arg(long = "remplacer")]
        replace: bool,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// La base elle-même : copie vers une autre base (passer sur PostgreSQL, ou en revenir)
    Store {
        /// The action on the store.
        #[command(subcommand)]
        what: StoreCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Données personnelles : rapport pour le registre RGPD, purge des journaux d'envoi
    Privacy {
        /// The report or the purge.
        #[command(subcommand)]
        what: PrivacyCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Réapplique les règles de classement à tous les articles (décisions conservées)
    Retag {
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Enregistre une décision sur une histoire (garder, rejeter, étoiler)
    Decide {
        /// Numéro de l'histoire (colonne `story`)
        story: i64,
        /// garder, rejeter ou etoiler (ou keep, reject, star)
        #[arg(value_parser = ["garder", "rejeter", "etoiler", "étoiler", "keep", "reject", "star"], hide_possible_values = true)]
        action: String,
        /// Dans ce dossier seulement (sinon : tous les dossiers de l'histoire)
        #[arg(long)]
        dossier: Option<String>,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Histoires « à vérifier » d'un dossier : non classées par ses règles, proposées par ce que
    /// le classement a appris des décisions des veilleurs
    ToCheck {
        dossier: String,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Produit les panoramas de presse (fragment, page, Atom, JSON Feed) dans archive/published/
    Panorama {
        /// Seulement ce dossier
        dossier: Option<String>,
        /// Le panorama collectif du réseau ([network] shared_dossiers) : ce que tous les
        /// centres ont gardé, dans archive/published/reseau/
        #[arg(long = "reseau")]
        network: bool,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Éditions : Flash Info, Lettre Pauvreté, lettres de réseau (GENRE/NUMÉRO, ex. flash-info/12)
    Edition {
        /// The action on editions.
        #[command(subcommand)]
        what: EditionCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Abonné·e·s : import (CSV, XLSX), liste, export, effacement
    Subscribers {
        /// The action on subscribers.
        #[command(subcommand)]
        what: SubscribersCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Retours de la boîte des échecs : lecture (fetch) ou analyse de fichiers (parse)
    Bounces {
        /// Mailbox or files.
        #[command(subcommand)]
        what: BouncesCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Le tri des histoires dans le terminal (chargé·e·s de mission)
    Triage,
    /// Sert archive/published/ en HTTP (pages, fragments, flux) et les pages d'abonnement
    Serve {
        /// Adresse d'écoute (sinon [web] listen, par défaut 127.0.0.1:8080)
        #[arg(long)]
        listen: Option<String>,
    },
    /// Le démon : relèves, panoramas et brouillons planifiés, et le serveur web de `serve`
    Run {
        /// Adresse d'écoute (sinon [web] listen, par défaut 127.0.0.1:8080)
        #[arg(long)]
        listen: Option<String>,
    },
    /// Prochaines exécutions d'une expression de planification (5 champs, fuseau configuré)
    Schedule {
        /// Expression cron à 5 champs, par exemple "*/30 6-21 * * 1-5"
        expr: String,
        /// Point de départ : RFC 3339, ou heure locale AAAA-MM-JJTHH:MM (par défaut : maintenant)
        #[arg(long)]
        from: Option<String>,
        /// Nombre d'exécutions
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// État du démon : tâches planifiées, éditions à préparer, relèves et erreurs par source
    Status {
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
}

/// `veille bounces …`: reading the bounce mailbox, or classifying message files.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum BouncesCommand {
    /// Lit les nouveaux messages de la boîte des retours ([bounces]) et applique la politique
    Fetch,
    /// Classe des messages (fichiers, ou tous les fichiers d'un dossier) sans rien enregistrer
    Parse {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

/// `veille sources …`: selectors for a listing page, OPML out and in.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum SourcesCommand {
    /// Propose les sélecteurs [sources.select] d'une page de liste sans flux
    Suggest {
        /// L'adresse de la page (liste d'actualités)
        url: String,
    },
    /// Exporte toutes les sources en OPML 2.0 (sortie standard), groupées par dossier
    Export {
        /// Format OPML (le seul proposé)
        #[arg(long, required = true)]
        opml: bool,
    },
    /// Ajoute à feeds.toml les flux d'un fichier OPML (Miniflux, FreshRSS, Feedly…)
    Import {
        file: PathBuf,
        /// Dossier donné aux sources importées
        #[arg(long)]
        dossier: Option<String>,
    },
}

/// `veille subscribers …`: the mailing lists' people.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum SubscribersCommand {
    /// Importe un fichier CSV (, ; ou tabulation ; UTF-8 ou Windows-1252) ou XLSX
    Import {
        file: PathBuf,
        /// La liste (section [lists.*] de feeds.toml)
        #[arg(long)]
        list: String,
    },
    /// Liste les abonné·e·s et leur état par liste
    List {
        /// Seulement cette liste
        #[arg(long)]
        list: Option<String>,
    },
    /// Exporte en CSV (; et UTF-8, pour Excel) sur la sortie standard
    Export {
        /// Seulement cette liste
        #[arg(long)]
        list: Option<String>,
    },
    /// Efface une adresse (données personnelles supprimées, empreinte gardée pour ne plus l'abonner)
    Forget { email: String },
    /// Une adresse : ses listes et les retours reçus (échecs, plaintes, réponses automatiques)
    Show { email: String },
}

/// `veille edition …`: making, showing, rendering and sending editions.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum EditionCommand {
    /// Crée la prochaine édition d'un genre (brouillon)
    New {
        /// flash-info, lettre-pauvrete ou un genre de [publications]
        kind: String,
        /// Premier jour de la période (AAAA-MM-JJ ; par défaut : le mois en cours)
        #[arg(long, value_parser = parse_from)]
        from: Option<NaiveDate>,
        /// Dernier jour de la période (AAAA-MM-JJ)
        #[arg(long, value_parser = parse_to)]
        to: Option<NaiveDate>,
    },
    /// Ajoute une histoire à une édition (à la fin de sa rubrique)
    Add {
        /// GENRE/NUMÉRO
        edition: String,
        /// Numéro de l'histoire
        story: i64,
        /// Rubrique (par défaut : la première du genre)
        #[arg(long)]
        section: Option<String>,
        /// Titre retouché pour cette édition
        #[arg(long)]
        title: Option<String>,
        /// Chapeau retouché pour cette édition
        #[arg(long)]
        lede: Option<String>,
    },
    /// Retire une histoire d'une édition
    Remove { edition: String, story: i64 },
    /// Remonte une histoire dans sa rubrique
    Up { edition: String, story: i64 },
    /// Descend une histoire dans sa rubrique
    Down { edition: String, story: i64 },
    /// Ajoute un bloc libre en Markdown : intro, agenda, news (actualités du centre) ou text
    Block {
        edition: String,
        #[arg(value_parser = ["intro", "agenda", "news", "text"])]
        kind: String,
        /// Titre du bloc
        #[arg(long)]
        title: Option<String>,
        /// Texte Markdown
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        /// Fichier Markdown
        #[arg(long)]
        file: Option<PathBuf>,
        /// Date de l'événement (agenda) : AAAA-MM-JJ, éventuellement suivie de l'heure
        #[arg(long)]
        date: Option<String>,
        /// Lieu de l'événement (agenda)
        #[arg(long)]
        place: Option<String>,
    },
    /// Marque l'édition prête à l'envoi
    Ready { edition: String },
    /// Remet l'édition en brouillon
    Draft { edition: String },
    /// Affiche une édition
    Show { edition: String },
    /// Produit la version web, l'email HTML et le texte de l'édition
    Render { edition: String },
    /// Liste les éditions
    List,
    /// Bilan d'un envoi : acceptés, refusés, échecs revenus, plaintes, désabonnements
    Report { edition: String },
    /// Envoie l'édition aux abonné·e·s de sa liste (reprend un envoi interrompu)
    Send {
        edition: String,
        /// Une seule copie marquée [TEST], à cette adresse
        #[arg(long, conflicts_with = "dry_run")]
        test: Option<String>,
        /// Prépare et signe tous les messages sans rien envoyer
        #[arg(long)]
        dry_run: bool,
        /// Renvoie aussi les envois restés incertains après une interruption (risque de doublon)
        #[arg(long)]
        resend_uncertain: bool,
    },
}

/// `veille store …`: the database as a whole.
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copie toute la base actuelle (celle de l'archive, ou celle de VEILLE_DATABASE_URL si
    /// elle est définie) dans une base vide, table par table, puis compare les nombres de
    /// lignes et les sommes de contrôle des deux côtés ; l'index de recherche n'est pas copié
    Copy {
        /// Base cible, vide : postgres://utilisateur@serveur:port/base, ou sqlite://CHEMIN
        /// d'un fichier SQLite (sqlite:///chemin/absolu/veille.sqlite, ou
        /// sqlite://chemin/relatif/veille.sqlite depuis le dossier courant), créé s'il
        /// n'existe pas
        // Not `to`: that id is the `--to` date's, which the French help names FIN.
        #[arg(long = "to", value_name = "URL")]
        target: String,
    },
}

/// `veille privacy …`: the GDPR register report and the purge of sending logs.
#[derive(Subcommand)]
pub enum PrivacyCommand {
    /// Quelles données personnelles sont tenues, où, et combien de temps
    Report,
    /// Efface maintenant les adresses des journaux d'envoi plus anciens que la durée fixée
    Purge,
}

/// `veille eval …`: quality measured on labelled files.
// Positional arguments without help (`<EDITION>`, `<FILE>`: their names say it): a `///`
// on them would become new `--help` text, and the help is part of the contract.
#[allow(missing_docs)]
#[derive(Subcommand)]
pub enum EvalCommand {
    /// Précision, rappel et F1 du regroupement en histoires (paires étiquetées)
    Dedup {
        file: PathBuf,
        /// Seuil de similarité (sinon celui de la configuration)
        #[arg(long)]
        threshold: Option<f64>,
        /// Validation croisée : seuil choisi sur les autres plis, mesuré sur chaque pli
        #[arg(long, conflicts_with = "threshold")]
        folds: Option<usize>,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
        /// Liste aussi chaque erreur
        #[arg(long)]
        verbose: bool,
    },
    /// Précision, rappel et F1 du classement par dossier et par territoire
    Tags {
        file: PathBuf,
        /// Apprend aussi des étiquettes de ce fichier, prises comme décisions des veilleurs
        #[arg(long, conflicts_with = "folds")]
        train: Option<PathBuf>,
        /// Validation croisée : règles + apprentissage sur les autres plis du fichier
        #[arg(long)]
        folds: Option<usize>,
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
        /// Liste aussi chaque erreur
        #[arg(long)]
        verbose: bool,
    },
}

impl Cli {
    /// The daemon tells what it does; other commands only warn.
    pub fn log_level(&self) -> &'static str {
        if matches!(self.command, Command::Run { .. }) {
            "info"
        } else {
            "warn"
        }
    }
}

/// A value clap accepted as text but veille refused, with veille's own French message:
/// `commands::parser::render` prints it as it is, with exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageMessage(pub String);

impl std::fmt::Display for UsageMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageMessage {}

fn parse_state(text: &str) -> Result<DecisionState, UsageMessage> {
    DecisionState::parse(text).ok_or_else(|| {
        UsageMessage(format!(
            "état inconnu « {text} » : attendu new, kept, rejected ou starred (--state)"
        ))
    })
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, UsageMessage> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .map_err(|_| {
            UsageMessage(format!(
                "date invalide « {text} » : attendu AAAA-MM-JJ ou RFC 3339 (--since)"
            ))
        })
}

fn parse_day(text: &str, flag: &str) -> Result<NaiveDate, UsageMessage> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        UsageMessage(format!(
            "date invalide « {text} » : attendu AAAA-MM-JJ ({flag})"
        ))
    })
}

fn parse_from(text: &str) -> Result<NaiveDate, UsageMessage> {
    parse_day(text, "--from")
}

fn parse_to(text: &str) -> Result<NaiveDate, UsageMessage> {
    parse_day(text, "--to")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_are_parsed_once_with_french_refusals() {
        assert_eq!(parse_state("kept"), Ok(DecisionState::Kept));
        assert_eq!(
            parse_state("gardé").unwrap_err().0,
            "état inconnu « gardé » : attendu new, kept, rejected ou starred (--state)"
        );
        assert_eq!(
            parse_since("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-03-01T10:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T08:00:00+00:00"
        );
        assert!(parse_since("hier").unwrap_err().0.contains("(--since)"));
        assert_eq!(
            parse_to("31/03/2026").unwrap_err().0,
            "date invalide « 31/03/2026 » : attendu AAAA-MM-JJ (--to)"
        );
    }
}
