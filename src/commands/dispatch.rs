//! From a parsed command line to the command that serves it, and its exit code: commands
//! that need no configuration first, then those that need no runtime, then the rest on one
//! tokio runtime.

use std::path::Path;
use std::process::ExitCode;

use super::report::emit;
use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use crate::cli::{
    BouncesCommand, Cli, Command, EditionCommand, EvalCommand, PrivacyCommand, SourcesCommand,
    StoreCommand, SubscribersCommand,
};
use crate::config::Config;
use crate::harvest::PassOptions;
use crate::prepared::Prepared;
use crate::store::ArticleFilter;

/// Runs the command `cli` asks for; logging is already set up.
pub fn run(cli: Cli) -> ExitCode {
    if let Some(code) = without_config(&cli) {
        return code;
    }
    let prepared = match super::load_config(&cli.config) {
        Ok(p) => p,
        Err(code) => return code_of(code),
    };
    crate::store::configure(prepared.config.store.clone());
    crate::store::centres::configure(prepared.config.centre.clone());
    if let Some(result) = offline(&prepared.config, &cli.command) {
        return exit(result);
    }
    if matches!(cli.command, Command::Run { .. }) {
        crate::daemon::limit_malloc_arenas();
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let Cli {
        archive, command, ..
    } = cli;
    exit(runtime.block_on(online(&prepared, &archive, command)))
}

fn code_of(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// What a command's result means for the process: its code, or the error said in French.
fn exit(result: anyhow::Result<i32>) -> ExitCode {
    match result {
        Ok(code) => code_of(code),
        Err(e) => {
            eprintln!("erreur : {}", crate::wording::chain(&e));
            code_of(EXIT_FAILURE)
        }
    }
}

/// The tokio runtime of the commands that need one; a failure is said in French.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("erreur : impossible de démarrer : {e}");
            code_of(EXIT_FAILURE)
        })
}

/// Commands that work without a valid configuration: classifying files (outside checks run
/// it), extracting a saved page, backup and restore (restoring brings one back), and the
/// store's copy (its source may be the PostgreSQL of `VEILLE_DATABASE_URL`).
fn without_config(cli: &Cli) -> Option<ExitCode> {
    match &cli.command {
        Command::Bounces {
            what: BouncesCommand::Parse { paths },
            json,
        } => Some(code_of(emit(Ok(super::bounces_parse(paths)), *json))),
        Command::Extract { file, url, json } => {
            Some(code_of(emit(super::extract(file, url.as_deref()), *json)))
        }
        Command::Backup { dest, json } => Some(with_runtime(|runtime| {
            let report = runtime.block_on(super::backup(&cli.archive, &cli.config, dest));
            Ok(emit(report, *json))
        })),
        Command::Restore { src, replace, json } => Some(with_runtime(|runtime| {
            let report = runtime.block_on(super::restore(&cli.archive, &cli.config, src, *replace));
            Ok(emit(report, *json))
        })),
        Command::Store {
            what: StoreCommand::Copy { target },
            json,
        } => Some(with_runtime(|runtime| {
            let report = runtime.block_on(super::store::store_copy(&cli.archive, target));
            Ok(emit(report, *json))
        })),
        _ => None,
    }
}

fn with_runtime(body: impl FnOnce(&tokio::runtime::Runtime) -> anyhow::Result<i32>) -> ExitCode {
    match runtime() {
        Ok(runtime) => exit(body(&runtime)),
        Err(code) => code,
    }
}

/// Commands that read the configuration but need no runtime.
fn offline(config: &Config, command: &Command) -> Option<anyhow::Result<i32>> {
    match command {
        Command::Check { json, fetch: None } => Some(Ok(emit(Ok(super::check(config)), *json))),
        Command::Schedule {
            expr,
            from,
            count,
            json,
        } => Some(Ok(emit(
            super::schedule(config, expr, from.as_deref(), *count),
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
        } => Some(Ok(emit(
            super::quality::eval_tags(config, file, train.as_deref(), *folds, *verbose),
            *json,
        ))),
        Command::Eval {
            what:
                EvalCommand::Dedup {
                    file,
                    threshold,
                    folds,
                    json,
                    verbose,
                },
        } => Some(Ok(emit(
            super::quality::eval_dedup(config, file, *threshold, *folds, *verbose),
            *json,
        ))),
        _ => None,
    }
}

/// Commands that run on the runtime: the store, the network, the servers.
async fn online(prepared: &Prepared, archive: &Path, command: Command) -> anyhow::Result<i32> {
    let config = &prepared.config;
    match command {
        Command::Check {
            json,
            fetch: Some(name),
        } => Ok(emit(super::check_fetch(prepared, &name).await, json)),
        Command::Run { listen } => super::run(prepared, archive, listen.as_deref()).await,
        Command::Serve { listen } => super::serve(config, archive, listen.as_deref()).await,
        Command::Status { json } => Ok(emit(super::status(config, archive).await, json)),
        Command::Privacy { what, json } => match what {
            PrivacyCommand::Report => Ok(emit(super::privacy::report(config, archive).await, json)),
            PrivacyCommand::Purge => Ok(emit(super::privacy::purge(config, archive).await, json)),
        },
        Command::Retag { json } => Ok(emit(super::retag(prepared, archive).await, json)),
        Command::Reindex { json } => Ok(emit(super::reindex(config, archive).await, json)),
        Command::Search {
            query,
            dossier,
            limit,
            json,
        } => Ok(emit(
            super::search(config, archive, &query, dossier.as_deref(), limit).await,
            json,
        )),
        Command::Fetch {
            dossier,
            source,
            force,
            json,
        } => {
            let options = PassOptions {
                dossier,
                source,
                force,
            };
            Ok(emit(
                super::fetch(prepared, archive, &options, json).await,
                json,
            ))
        }
        Command::Sources {
            what,
            failing,
            json,
        } => sources(config, archive, what, failing, json).await,
        Command::Articles {
            dossier,
            state,
            since,
            source,
            limit,
            json,
        } => {
            let filter = ArticleFilter {
                since,
                source,
                dossier,
                state,
                limit,
            };
            let listed = super::articles(prepared, archive, &filter).await;
            Ok(emit(listed, json))
        }
        Command::Decide {
            story,
            action,
            dossier,
            json,
        } => {
            let decided = super::decide(config, archive, story, &action, dossier.as_deref()).await;
            Ok(emit(decided, json))
        }
        Command::ToCheck { dossier, json } => Ok(emit(
            super::quality::to_check(config, archive, &dossier).await,
            json,
        )),
        Command::Panorama {
            dossier,
            network,
            json,
        } => Ok(emit(
            super::panorama(config, archive, dossier.as_deref(), network).await,
            json,
        )),
        Command::Triage => triage(config, archive).await,
        Command::Edition { what, json } => edition(config, archive, what, json).await,
        Command::Subscribers { what, json } => subscribers(config, archive, what, json).await,
        Command::Bounces { what, json } => match what {
            BouncesCommand::Fetch => Ok(emit(super::bounces_fetch(config, archive).await, json)),
            BouncesCommand::Parse { .. } => unreachable!("needs no configuration"),
        },
        Command::Check { fetch: None, .. }
        | Command::Eval { .. }
        | Command::Schedule { .. }
        | Command::Extract { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Store { .. } => unreachable!("dispatched before the runtime"),
    }
}

async fn sources(
    config: &Config,
    archive: &Path,
    what: Option<SourcesCommand>,
    failing: bool,
    json: bool,
) -> anyhow::Result<i32> {
    match what {
        None if failing => Ok(emit(super::failing(config, archive).await, json)),
        None => Ok(emit(super::sources(config, archive).await, json)),
        Some(SourcesCommand::Suggest { url }) => Ok(emit(super::suggest(config, &url).await, json)),
        Some(SourcesCommand::Export { .. }) => Ok(super::export_opml(config)),
        Some(SourcesCommand::Import { file, dossier }) => Ok(emit(
            super::import_opml(config, &file, dossier.as_deref()),
            json,
        )),
    }
}

async fn triage(config: &Config, archive: &Path) -> anyhow::Result<i32> {
    match super::known_curator() {
        Some(curator) => crate::curate::run(config.clone(), archive, curator)
            .await
            .map(|()| EXIT_OK),
        None => {
            eprintln!("{}", super::NO_CURATOR);
            Ok(EXIT_USAGE)
        }
    }
}

async fn edition(
    config: &Config,
    archive: &Path,
    what: EditionCommand,
    json: bool,
) -> anyhow::Result<i32> {
    match what {
        EditionCommand::Send {
            edition,
            test,
            dry_run,
            resend_uncertain,
        } => {
            let options = crate::mail::send::SendOptions {
                test,
                dry_run,
                resend_uncertain,
            };
            Ok(emit(
                super::edition_send(config, archive, &edition, &options, json).await,
                json,
            ))
        }
        EditionCommand::Report { edition } => Ok(emit(
            super::edition_report(config, archive, &edition).await,
            json,
        )),
        other => Ok(super::edition(config, archive, other, json).await),
    }
}

async fn subscribers(
    config: &Config,
    archive: &Path,
    what: SubscribersCommand,
    json: bool,
) -> anyhow::Result<i32> {
    match what {
        SubscribersCommand::Import { file, list } => Ok(emit(
            super::subscribers_import(config, archive, &file, &list).await,
            json,
        )),
        SubscribersCommand::List { list } => Ok(emit(
            super::subscribers_list(config, archive, list.as_deref()).await,
            json,
        )),
        SubscribersCommand::Export { list } => {
            super::subscribers_export(config, archive, list.as_deref()).await
        }
        SubscribersCommand::Forget { email } => {
            Ok(emit(super::subscribers_forget(archive, &email).await, json))
        }
        SubscribersCommand::Show { email } => {
            Ok(emit(super::subscriber_show(archive, &email).await, json))
        }
    }
}
