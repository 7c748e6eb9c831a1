//! What a command gives back: a report that is at once its French text (`Display`) and its
//! `--json` document (`Serialize`), so that the two cannot drift apart; or an error that says
//! who must act: the user (exit 2) or whoever runs veille (exit 1).
//!
//! Converted so far: `retag`, `reindex`, `edition list`, `extract`, `backup`, `restore`, `sources`,
//! `sources --failing`, `decide`, `privacy purge`, `privacy report`, `schedule`, `panorama`. The
//! other commands still print as they go and return their exit code; they move to this shape one by
//! one.

use std::fmt;

use serde::Serialize;

use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// Why a command did not give its report.
#[derive(Debug)]
pub enum CommandError {
    /// The command line or the values it names are wrong (exit 2); the message is French.
    Usage(String),
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        CommandError::Runtime(e)
    }
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => EXIT_USAGE,
            CommandError::Runtime(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Usage(message) => f.write_str(message),
            CommandError::Runtime(e) => write!(f, "erreur : {}", crate::wording::chain(e)),
        }
    }
}

/// A command's outcome, for people (`Display`, French) and for programs (`Serialize`: the
/// `--json` document; fields in alphabetical order, as `serde_json::json!` wrote them).
pub trait Report: Serialize + fmt::Display {
    /// Whether `--json` is indented (the documents people also read) or on one line.
    const PRETTY: bool = false;
}

/// Serialises `value` with its keys in alphabetical order at every depth, as `serde_json::json!`
/// did when it held a library type whose fields are declared in another order
/// (`#[serde(serialize_with = "sorted")]`).
pub fn sorted<T: Serialize, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

/// Prints a command's outcome on stdout (its error on stderr) and gives the exit code.
pub fn emit<R: Report>(result: Result<R, CommandError>, json: bool) -> i32 {
    match result {
        Ok(report) if json => match if R::PRETTY {
            serde_json::to_string_pretty(&report)
        } else {
            serde_json::to_string(&report)
        } {
            Ok(document) => {
                println!("{document}");
                EXIT_OK
            }
            Err(e) => {
                eprintln!("erreur : rapport illisible en JSON : {e}");
                EXIT_FAILURE
            }
        },
        Ok(report) => {
            println!("{report}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Counted {
        indexed: u64,
    }

    impl Report for Counted {}

    impl fmt::Display for Counted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} indexés", self.indexed)
        }
    }

    #[test]
    fn errors_carry_their_exit_code_and_french_words() {
        assert_eq!(emit(Ok(Counted { indexed: 3 }), true), EXIT_OK);
        assert_eq!(emit(Ok(Counted { indexed: 3 }), false), EXIT_OK);
        let usage = CommandError::Usage("dossier inconnu « x »".into());
        assert_eq!(usage.to_string(), "dossier inconnu « x »");
        assert_eq!(emit::<Counted>(Err(usage), false), EXIT_USAGE);
        let runtime = CommandError::from(anyhow::anyhow!("base verrouillée"));
        assert_eq!(runtime.to_string(), "erreur : base verrouillée");
        assert_eq!(runtime.exit_code(), EXIT_FAILURE);
        assert_eq!(
            serde_json::to_string(&Counted { indexed: 3 }).unwrap(),
            "{\"indexed\":3}"
        );
    }
}
