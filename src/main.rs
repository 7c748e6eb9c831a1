//! The `veille` command line: parses arguments, sets up logging and runs the command.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use veille::cli::{Cli, Command};
use veille::commands;

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
        // SAFETY: still single-threaded; the runtime starts later.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        }
    }
    if let Err(code) = init_logging(&cli) {
        return code;
    }
    commands::dispatch::run(cli)
}

/// Logs go to stderr, except in the TUI, whose screen they would spoil: a file in the
/// archive then.
fn init_logging(cli: &Cli) -> Result<(), ExitCode> {
    if !matches!(cli.command, Command::Triage) {
        veille::logging::init(
            veille::logging::LogFormat::parse(&cli.log_format).unwrap_or_default(),
            cli.log_level(),
        );
        return Ok(());
    }
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("VEILLE_LOG").unwrap_or_else(|_| "warn".into());
    let _ = std::fs::create_dir_all(&cli.archive);
    let path = cli.archive.join("triage.log");
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        Ok(file) => {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
            Ok(())
        }
        Err(e) => {
            eprintln!("impossible d'ouvrir le journal {} : {e}", path.display());
            Err(ExitCode::from(commands::EXIT_FAILURE as u8))
        }
    }
}
