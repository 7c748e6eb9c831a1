//! What a command gives back: a report that is at once its French text (`Display`) and its
//! `--json` document (`Serialize`), so that the two cannot drift apart; or an error that says
//! who must act: the user (exit 2) or whoever runs veille (exit 1).
//!
//! Every command that prints a result goes through `emit`; the few left outside (`run`,
//! `serve`, `triage`, the CSV and OPML exports) print no report: they serve, or write a file
//! format on stdout.

use std::fmt;

use serde::Serialize;

use super::{EXIT_FAILURE, EXIT_OK, EXIT_USAGE};

/// Why a command did not give its report.
#[derive(Debug)]
pub(crate) enum CommandError {
    /// The command line or the values it names are wrong (exit 2); the message is French.
    Usage(String),
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
    /// Something failed while running (exit 1), said in full: the French message carries its
    /// own `erreur :` and what veille was doing.
    Failed(String),
}

impl From<anyhow::Error> for CommandError {
    fn from(e: anyhow::Error) -> Self {
        CommandError::Runtime(e)
    }
}

impl CommandError {
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CommandError::Usage(_) => EXIT_USAGE,
            CommandError::Runtime(_) | CommandError::Failed(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Usage(message) | CommandError::Failed(message) => f.write_str(message),
            CommandError::Runtime(e) => write!(f, "erreur : {}", crate::wording::chain(e)),
        }
    }
}

/// A command's outcome, for people (`Display`, French) and for programs (`Serialize`: the
/// `--json` document; fields in alphabetical order, as `serde_json::json!` wrote them).
pub(crate) trait Report: Serialize + fmt::Display {
    /// Whether `--json` is indented (the documents people also read) or on one line.
    const PRETTY: bool = false;
    /// Whether the document's keys are sorted at every depth, as `serde_json::json!` wrote
    /// them when it held this report's values (whatever order their fields are declared in).
    const SORTED: bool = false;

    /// The exit code once the report is printed: a report can say that part of the work
    /// failed (a test copy refused, an unreadable file) and still be shown in full.
    fn exit_code(&self) -> i32 {
        EXIT_OK
    }
}

/// The `--json` document of a report, indented or not, its keys sorted or not, as it asks.
pub(crate) fn document<R: Report>(report: &R) -> serde_json::Result<String> {
    if R::SORTED {
        let value = serde_json::to_value(report)?;
        if R::PRETTY {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
    } else if R::PRETTY {
        serde_json::to_string_pretty(report)
    } else {
        serde_json::to_string(report)
    }
}

/// Writes the text `body` builds line by line, less its last line end: `emit` prints a report
/// with `println!`, so reports converted from a run of `println!` keep their exact bytes.
pub(crate) fn lines(
    f: &mut fmt::Formatter<'_>,
    body: impl FnOnce(&mut String) -> fmt::Result,
) -> fmt::Result {
    let mut text = String::new();
    body(&mut text)?;
    f.write_str(text.strip_suffix('\n').unwrap_or(&text))
}

/// Serialises `value` with its keys in alphabetical order at every depth, as `serde_json::json!`
/// did when it held a library type whose fields are declared in another order
/// (`#[serde(serialize_with = "sorted")]`).
pub(crate) fn sorted<T: Serialize, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(s)
}

/// Prints a command's outcome on stdout (its error on stderr) and gives the exit code.
pub(crate) fn emit<R: Report>(result: Result<R, CommandError>, json: bool) -> i32 {
    match result {
        // The one place that chooses between the two forms of a report.
        Ok(report) if json => match document(&report) {
            Ok(document) => {
                println!("{document}");
                report.exit_code()
            }
            Err(e) => {
                eprintln!("erreur : rapport illisible en JSON : {e}");
                EXIT_FAILURE
            }
        },
        Ok(report) => {
            println!("{report}");
            report.exit_code()
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

    /// A report whose fields are declared out of alphabetical order, shown in full yet failed.
    #[derive(Serialize)]
    struct Partial {
        read: u64,
        failed: Vec<&'static str>,
    }

    impl Report for Partial {
        const SORTED: bool = true;

        fn exit_code(&self) -> i32 {
            if self.failed.is_empty() {
                EXIT_OK
            } else {
                EXIT_FAILURE
            }
        }
    }

    impl fmt::Display for Partial {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            use std::fmt::Write;
            lines(f, |out| {
                writeln!(out, "{} lus", self.read)?;
                for name in &self.failed {
                    writeln!(out, "  illisible : {name}")?;
                }
                Ok(())
            })
        }
    }

    #[test]
    fn a_sorted_report_keeps_json_order_and_its_text_loses_only_the_last_line_end() {
        let partial = Partial {
            read: 2,
            failed: vec!["a.eml"],
        };
        assert_eq!(
            document(&partial).unwrap(),
            "{\"failed\":[\"a.eml\"],\"read\":2}"
        );
        assert_eq!(partial.to_string(), "2 lus\n  illisible : a.eml");
        assert_eq!(emit(Ok(partial), false), EXIT_FAILURE);
        let whole = Partial {
            read: 1,
            failed: Vec::new(),
        };
        assert_eq!(whole.to_string(), "1 lus");
        assert_eq!(emit(Ok(whole), true), EXIT_OK);
        let failed = CommandError::Failed("erreur : import de x.opml : illisible".into());
        assert_eq!(failed.to_string(), "erreur : import de x.opml : illisible");
        assert_eq!(failed.exit_code(), EXIT_FAILURE);
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
