//! The `veille` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use veille::commands;
use veille::harvest::PassOptions;
use veille::store::ArticleFilter;

#[derive(Parser)]
#[command(
    name = "veille",
    version,
    about = "Veille de presse : relève des flux et des pages, stockage, publication"
)]
struct Cli {
    /// Fichier de configuration
    #[arg(
        long,
        global = true,
        env = "VEILLE_CONFIG",
        default_value = "feeds.toml"
    )]
    config: PathBuf,
    /// Dossier d'archive (base, index, publications)
    #[arg(long, global = true, env = "VEILLE_ARCHIVE", default_value = "archive")]
    archive: PathBuf,
    /// Format du journal sur la sortie d'erreur : text (lisible, préfixes journald sous
    /// systemd) ou json (un objet par ligne)
    #[arg(long, global = true, env = "VEILLE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        #[arg(long)]
        state: Option<String>,
        /// Depuis cette date (AAAA-MM-JJ ou RFC 3339)
        #[arg(long)]
        since: Option<String>,
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
    /// Données personnelles : rapport pour le registre RGPD, purge des journaux d'envoi
    Privacy {
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
        /// Un seul document JSON sur la sortie standard
        #[arg(long)]
        json: bool,
    },
    /// Éditions : Flash Info, Lettre Pauvreté, lettres de réseau (GENRE/NUMÉRO, ex. flash-info/12)
    Edition {
        #[command(subcommand)]
        what: EditionCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Abonné·e·s : import (CSV, XLSX), liste, export, effacement
    Subscribers {
        #[command(subcommand)]
        what: SubscribersCommand,
        /// Un seul document JSON sur la sortie standard
        #[arg(long, global = true)]
        json: bool,
    },
    /// Retours de la boîte des échecs : lecture (fetch) ou analyse de fichiers (parse)
    Bounces {
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

#[derive(Subcommand)]
enum BouncesCommand {
    /// Lit les nouveaux messages de la boîte des retours ([bounces]) et applique la politique
    Fetch,
    /// Classe des messages (fichiers, ou tous les fichiers d'un dossier) sans rien enregistrer
    Parse {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SourcesCommand {
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

#[derive(Subcommand)]
enum SubscribersCommand {
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

#[derive(Subcommand)]
enum EditionCommand {
    /// Crée la prochaine édition d'un genre (brouillon)
    New {
        /// flash-info, lettre-pauvrete ou un genre de [publications]
        kind: String,
        /// Premier jour de la période (AAAA-MM-JJ ; par défaut : le mois en cours)
        #[arg(long)]
        from: Option<String>,
        /// Dernier jour de la période (AAAA-MM-JJ)
        #[arg(long)]
        to: Option<String>,
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

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Quelles données personnelles sont tenues, où, et combien de temps
    Report,
    /// Efface maintenant les adresses des journaux d'envoi plus anciens que la durée fixée
    Purge,
}

#[derive(Subcommand)]
enum EvalCommand {
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

fn main() -> ExitCode {
    // `veille articles | head` must end quietly, as other Unix tools do, not panic.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // clap parses; veille words every message in French (commands::parser).
    let parsed = commands::parser::frenchify(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let (text, to_stdout, code) = commands::parser::render(&e);
            if to_stdout {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            return ExitCode::from(code as u8);
        }
    };
    if matches!(cli.command, Command::Run { .. } | Command::Serve { .. }) {
        // A server outlives the pipe its log was first written to: a closed stderr must
        // cost log lines, not the process (write errors are ignored by the logger).
        // SAFETY: still single-threaded; the runtime starts below.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    }
    if matches!(cli.command, Command::Triage) {
        // The screen belongs to the TUI: its log goes to a file in the archive.
        let filter = tracing_subscriber::EnvFilter::try_from_env("VEILLE_LOG")
            .unwrap_or_else(|_| "warn".into());
        let _ = std::fs::create_dir_all(&cli.archive);
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(cli.archive.join("triage.log"))
        {
            Ok(file) => tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init(),
            Err(e) => {
                eprintln!(
                    "impossible d'ouvrir le journal {} : {e}",
                    cli.archive.join("triage.log").display()
                );
                return ExitCode::from(commands::EXIT_FAILURE as u8);
            }
        }
    } else {
        // The daemon tells what it does; other commands only warn.
        let level = if matches!(cli.command, Command::Run { .. }) {
            "info"
        } else {
            "warn"
        };
        veille::logging::init(
            veille::logging::LogFormat::parse(&cli.log_format).unwrap_or_default(),
            level,
        );
    }
    // Classifying files needs neither the configuration nor the store (outside checks run it).
    if let Command::Bounces {
        what: BouncesCommand::Parse { paths },
        json,
    } = &cli.command
    {
        return exit(commands::bounces_parse(paths, *json));
    }
    // Extraction needs no configuration: it works on a saved page.
    if let Command::Extract { file, url, json } = &cli.command {
        return ExitCode::from(commands::extract(file, url.as_deref(), *json) as u8);
    }
    // Backup and restore need no valid configuration: restoring brings one back.
    if let Command::Backup { dest, json }
    | Command::Restore {
        src: dest, json, ..
    } = &cli.command
    {
        let runtime = match runtime() {
            Ok(r) => r,
            Err(code) => return code,
        };
        let result = runtime.block_on(async {
            match &cli.command {
                Command::Restore { replace, .. } => {
                    commands::restore(&cli.archive, &cli.config, dest, *replace, *json).await
                }
                _ => commands::backup(&cli.archive, &cli.config, dest, *json).await,
            }
        });
        return exit(result);
    }
    let config = match commands::load_config(&cli.config) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code as u8),
    };
    let offline = match &cli.command {
        Command::Check { json, fetch: None } => Some(Ok(commands::check(&config, *json))),
        Command::Schedule {
            expr,
            from,
            count,
            json,
        } => Some(Ok(commands::schedule(
            &config,
            expr,
            from.as_deref(),
            *count,
            *json,
        ))),
        Command::Eval {
            what:
                EvalCommand::Tags {
                    file,
                    train,
                    folds,
                    json,
                    verbose,
                },
        } => Some(commands::quality::eval_tags(
            &config,
            file,
            train.as_deref(),
            *folds,
            *json,
            *verbose,
        )),
        Command::Eval {
            what:
                EvalCommand::Dedup {
                    file,
                    threshold,
                    folds,
                    json,
                    verbose,
                },
        } => Some(commands::quality::eval_dedup(
            &config, file, *threshold, *folds, *json, *verbose,
        )),
        _ => None,
    };
    if let Some(result) = offline {
        return exit(result);
    }
    if matches!(cli.command, Command::Run { .. }) {
        veille::daemon::limit_malloc_arenas();
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check {
                json,
                fetch: Some(name),
            } => Ok(commands::check_fetch(&config, &name, json).await),
            Command::Check { fetch: None, .. }
            | Command::Eval { .. }
            | Command::Schedule { .. }
            | Command::Extract { .. }
            | Command::Backup { .. }
            | Command::Restore { .. } => {
                unreachable!("handled above")
            }
            Command::Run { listen } => {
                commands::run(&config, &cli.archive, listen.as_deref()).await
            }
            Command::Status { json } => commands::status(&config, &cli.archive, json).await,
            Command::Privacy { what, json } => match what {
                PrivacyCommand::Report => {
                    commands::privacy::report(&config, &cli.archive, json).await
                }
                PrivacyCommand::Purge => {
                    commands::privacy::purge(&config, &cli.archive, json).await
                }
            },
            Command::Retag { json } => commands::retag(&config, &cli.archive, json).await,
            Command::Reindex { json } => commands::reindex(&config, &cli.archive, json).await,
            Command::Search {
                query,
                dossier,
                limit,
                json,
            } => {
                commands::search(
                    &config,
                    &cli.archive,
                    &query,
                    dossier.as_deref(),
                    limit,
                    json,
                )
                .await
            }
            Command::Fetch {
                dossier,
                source,
                force,
                json,
            } => {
                commands::fetch(
                    &config,
                    &cli.archive,
                    &PassOptions {
                        dossier,
                        source,
                        force,
                    },
                    json,
                )
                .await
            }
            Command::Sources {
                what: None,
                failing: true,
                json,
            } => commands::failing(&config, &cli.archive, json).await,
            Command::Sources {
                what: None, json, ..
            } => commands::sources(&config, &cli.archive, json).await,
            Command::Sources {
                what: Some(SourcesCommand::Suggest { url }),
                json,
                ..
            } => Ok(commands::suggest(&config, &url, json).await),
            Command::Sources {
                what: Some(SourcesCommand::Export { .. }),
                ..
            } => Ok(commands::export_opml(&config)),
            Command::Sources {
                what: Some(SourcesCommand::Import { file, dossier }),
                json,
                ..
            } => Ok(commands::import_opml(
                &config,
                &file,
                dossier.as_deref(),
                json,
            )),
            Command::Decide {
                story,
                action,
                dossier,
                json,
            } => {
                commands::decide(
                    &config,
                    &cli.archive,
                    story,
                    &action,
                    dossier.as_deref(),
                    json,
                )
                .await
            }
            Command::ToCheck { dossier, json } => {
                commands::quality::to_check(&config, &cli.archive, &dossier, json).await
            }
            Command::Panorama { dossier, json } => {
                commands::panorama(&config, &cli.archive, dossier.as_deref(), json).await
            }
            Command::Triage => match commands::known_curator() {
                Some(curator) => veille::curate::run(config.clone(), &cli.archive, curator)
                    .await
                    .map(|()| commands::EXIT_OK),
                None => {
                    eprintln!("{}", commands::NO_CURATOR);
                    Ok(commands::EXIT_USAGE)
                }
            },
            Command::Serve { listen } => {
                commands::serve(&config, &cli.archive, listen.as_deref()).await
            }
            Command::Edition {
                what:
                    EditionCommand::Send {
                        edition,
                        test,
                        dry_run,
                        resend_uncertain,
                    },
                json,
            } => {
                let options = veille::mail::send::SendOptions {
                    test,
                    dry_run,
                    resend_uncertain,
                };
                commands::edition_send(&config, &cli.archive, &edition, &options, json).await
            }
            Command::Bounces { what, json } => match what {
                BouncesCommand::Fetch => commands::bounces_fetch(&config, &cli.archive, json).await,
                BouncesCommand::Parse { .. } => unreachable!("handled before"),
            },
            Command::Edition {
                what: EditionCommand::Report { edition },
                json,
            } => commands::edition_report(&config, &cli.archive, &edition, json).await,
            Command::Subscribers { what, json } => match what {
                SubscribersCommand::Import { file, list } => {
                    commands::subscribers_import(&config, &cli.archive, &file, &list, json).await
                }
                SubscribersCommand::List { list } => {
                    commands::subscribers_list(&config, &cli.archive, list.as_deref(), json).await
                }
                SubscribersCommand::Export { list } => {
                    commands::subscribers_export(&config, &cli.archive, list.as_deref()).await
                }
                SubscribersCommand::Forget { email } => {
                    commands::subscribers_forget(&cli.archive, &email, json).await
                }
                SubscribersCommand::Show { email } => {
                    commands::subscriber_show(&cli.archive, &email, json).await
                }
            },
            Command::Edition { what, json } => {
                let action = match edition_action(what) {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("{e}");
                        return Ok(commands::EXIT_USAGE);
                    }
                };
                commands::edition(&config, &cli.archive, action, json).await
            }
            Command::Articles {
                dossier,
                state,
                since,
                source,
                limit,
                json,
            } => {
                let state = match state.as_deref().map(parse_state).transpose() {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{e}");
                        return Ok(commands::EXIT_USAGE);
                    }
                };
                let since = match since.as_deref().map(parse_since).transpose() {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("{e}");
                        return Ok(commands::EXIT_USAGE);
                    }
                };
                commands::articles(
                    &config,
                    &cli.archive,
                    &ArticleFilter {
                        since,
                        source,
                        dossier,
                        state,
                        limit,
                    },
                    json,
                )
                .await
            }
        }
    });
    exit(result)
}

fn exit(result: anyhow::Result<i32>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("erreur : {}", veille::wording::chain(&e));
            ExitCode::from(commands::EXIT_FAILURE as u8)
        }
    }
}

fn edition_action(command: EditionCommand) -> Result<commands::EditionAction, String> {
    use commands::EditionAction as A;
    use veille::model::EditionStatus;
    let day = |text: Option<String>, flag: &str| {
        text.map(|t| {
            chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .map_err(|_| format!("date invalide « {t} » : attendu AAAA-MM-JJ ({flag})"))
        })
        .transpose()
    };
    Ok(match command {
        EditionCommand::New { kind, from, to } => A::New {
            kind,
            from: day(from, "--from")?,
            to: day(to, "--to")?,
        },
        EditionCommand::Add {
            edition,
            story,
            section,
            title,
            lede,
        } => A::Add {
            edition,
            story,
            section,
            title,
            lede,
        },
        EditionCommand::Remove { edition, story } => A::Remove { edition, story },
        EditionCommand::Up { edition, story } => A::Move {
            edition,
            story,
            up: true,
        },
        EditionCommand::Down { edition, story } => A::Move {
            edition,
            story,
            up: false,
        },
        EditionCommand::Block {
            edition,
            kind,
            title,
            text,
            file,
            date,
            place,
        } => A::Block {
            edition,
            kind,
            title,
            text,
            file,
            date,
            place,
        },
        EditionCommand::Ready { edition } => A::Status {
            edition,
            status: EditionStatus::Ready,
        },
        EditionCommand::Draft { edition } => A::Status {
            edition,
            status: EditionStatus::Draft,
        },
        EditionCommand::Show { edition } => A::Show { edition },
        EditionCommand::Render { edition } => A::Render { edition },
        EditionCommand::List => A::List,
        EditionCommand::Send { .. } | EditionCommand::Report { .. } => {
            unreachable!("handled before")
        }
    })
}

fn parse_state(text: &str) -> Result<veille::model::DecisionState, String> {
    veille::model::DecisionState::parse(text).ok_or_else(|| {
        format!("état inconnu « {text} » : attendu new, kept, rejected ou starred (--state)")
    })
}

fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(d.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .map_err(|_| format!("date invalide « {text} » : attendu AAAA-MM-JJ ou RFC 3339 (--since)"))
}

/// The tokio runtime of the commands that need one; a failure is said in French.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("erreur : impossible de démarrer : {e}");
            ExitCode::from(commands::EXIT_FAILURE as u8)
        })
}
