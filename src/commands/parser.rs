//! The command-line parser in French: clap builds the parser, veille words what people read —
//! placeholders (`<HISTOIRE>`), help headings and annotations, and every parse error, from
//! the error's kind and context rather than from clap's English text.

use clap::Command;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::{EXIT_OK, EXIT_USAGE};

/// French placeholders for the argument ids of the CLI (an id not listed keeps clap's).
const VALUE_NAMES: &[(&str, &str)] = &[
    ("action", "ACTION"),
    ("archive", "DOSSIER"),
    ("config", "FICHIER"),
    ("count", "NOMBRE"),
    ("date", "DATE"),
    ("dossier", "DOSSIER"),
    ("edition", "ÉDITION"),
    ("email", "ADRESSE"),
    ("expr", "EXPRESSION"),
    ("file", "FICHIER"),
    ("from", "DÉBUT"),
    ("kind", "GENRE"),
    ("lede", "CHAPEAU"),
    ("limit", "NOMBRE"),
    ("list", "LISTE"),
    ("listen", "ADRESSE"),
    ("log_format", "FORMAT"),
    ("place", "LIEU"),
    ("query", "REQUÊTE"),
    ("section", "RUBRIQUE"),
    ("since", "DATE"),
    ("source", "SOURCE"),
    ("state", "ÉTAT"),
    ("story", "HISTOIRE"),
    ("test", "ADRESSE"),
    ("text", "TEXTE"),
    ("threshold", "SEUIL"),
    ("title", "TITRE"),
    ("to", "FIN"),
];

/// The same parser with French placeholders and headings, at every level.
pub fn frenchify(command: Command) -> Command {
    let command = command
        .disable_help_subcommand(true)
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .mut_args(|arg| {
            let id = arg.get_id().as_str().to_string();
            let takes_value = arg.get_num_args().is_none_or(|n| n.takes_values());
            match VALUE_NAMES.iter().find(|(k, _)| *k == id) {
                Some((_, name)) if takes_value || arg.is_positional() => arg.value_name(*name),
                _ => arg,
            }
        });
    command.mut_subcommands(frenchify)
}

/// clap's own words in help texts, and their French.
const HELP_WORDS: &[(&str, &str)] = &[
    ("Usage:", "Utilisation :"),
    ("Commandes:", "Commandes :"),
    ("Commands:", "Commandes :"),
    ("Options:", "Options :"),
    ("Arguments:", "Arguments :"),
    ("[default: ", "[par défaut : "),
    ("[env: ", "[variable d'environnement : "),
    ("[possible values: ", "[valeurs possibles : "),
    ("[aliases: ", "[autres noms : "),
    ("[alias: ", "[autre nom : "),
    (
        "Print help (see a summary with '-h')",
        "Affiche l'aide (un résumé avec -h)",
    ),
    (
        "Print help (see more with '--help')",
        "Affiche l'aide (plus détaillée avec --help)",
    ),
    ("Print help", "Affiche l'aide"),
    ("Print version", "Affiche la version"),
];

/// A help text with clap's words in French.
pub(crate) fn french_help(text: &str) -> String {
    let mut out = text.to_string();
    for (english, french) in HELP_WORDS {
        out = out.replace(english, french);
    }
    out
}

fn strings(error: &clap::Error, kind: ContextKind) -> Vec<String> {
    match error.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        Some(ContextValue::StyledStrs(v)) => v.iter().map(ToString::to_string).collect(),
        Some(ContextValue::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn first(error: &clap::Error, kind: ContextKind) -> String {
    strings(error, kind).into_iter().next().unwrap_or_default()
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("« {s} »"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a value was refused by a typed parser (a number, a path…), in French; the English
/// original goes to the debug log.
fn value_reason(error: &clap::Error) -> String {
    use std::error::Error as _;
    let Some(source) = error.source() else {
        return String::new();
    };
    tracing::debug!("valeur refusée par l'analyseur de la ligne de commande : {source}");
    if source.is::<std::num::ParseIntError>() {
        " : un nombre entier est attendu".into()
    } else if source.is::<std::num::ParseFloatError>() {
        " : un nombre est attendu (avec un point décimal, par exemple 0.5)".into()
    } else {
        String::new()
    }
}

/// The French message of a parse error (without the usage lines).
fn message(error: &clap::Error) -> String {
    let arg = first(error, ContextKind::InvalidArg);
    let value = first(error, ContextKind::InvalidValue);
    let suggestion = |kind: ContextKind| {
        let s = strings(error, kind);
        if s.is_empty() {
            String::new()
        } else {
            format!(" (vouliez-vous dire {} ?)", quoted(&s))
        }
    };
    match error.kind() {
        ErrorKind::InvalidValue => {
            let valid = strings(error, ContextKind::ValidValue);
            let mut text = if value.is_empty() {
                format!("{arg} demande une valeur")
            } else {
                format!("valeur « {value} » non reconnue pour {arg}")
            };
            text.push_str(&suggestion(ContextKind::SuggestedValue));
            if !valid.is_empty() {
                text.push_str(&format!(" ; valeurs acceptées : {}", valid.join(", ")));
            }
            text
        }
        ErrorKind::UnknownArgument => {
            let mut text = format!("argument inattendu « {arg} »");
            text.push_str(&suggestion(ContextKind::SuggestedArg));
            if error.get(ContextKind::TrailingArg).is_some() {
                text.push_str(&format!(
                    " ; pour donner « {arg} » comme valeur, écrivez « -- {arg} »"
                ));
            }
            text
        }
        ErrorKind::InvalidSubcommand => {
            let name = first(error, ContextKind::InvalidSubcommand);
            format!(
                "commande inconnue « {name} »{}",
                suggestion(ContextKind::SuggestedSubcommand)
            )
        }
        ErrorKind::NoEquals => format!("{arg} demande sa valeur après un = ({arg}=…)"),
        ErrorKind::ValueValidation => {
            format!(
                "valeur « {value} » non valable pour {arg}{}",
                value_reason(error)
            )
        }
        ErrorKind::TooManyValues => format!("trop de valeurs pour {arg} (« {value} » en trop)"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("nombre de valeurs incorrect pour {arg}")
        }
        ErrorKind::ArgumentConflict => {
            let prior = strings(error, ContextKind::PriorArg);
            if prior.is_empty() {
                format!("{arg} ne peut pas être donné ici, ou pas deux fois")
            } else if prior.contains(&arg) {
                format!("{arg} est donné deux fois")
            } else {
                format!("{arg} ne peut pas être donné avec {}", prior.join(", "))
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = strings(error, ContextKind::InvalidArg);
            format!("il manque : {}", missing.join(", "))
        }
        ErrorKind::MissingSubcommand => {
            let valid = strings(error, ContextKind::ValidSubcommand);
            format!("il manque la commande ; au choix : {}", valid.join(", "))
        }
        ErrorKind::InvalidUtf8 => "un argument n'est pas du texte UTF-8 valable".into(),
        _ => {
            tracing::debug!("erreur de la ligne de commande : {error}");
            "ligne de commande incorrecte".into()
        }
    }
}

/// What to print for a parse error (or for `--help`/`--version`, which clap reports as
/// errors), where, and the exit code: (text, to stdout, code).
pub fn render(error: &clap::Error) -> (String, bool, i32) {
    // A value refused by one of veille's own parsers carries its whole French message.
    if let Some(own) =
        std::error::Error::source(error).and_then(|e| e.downcast_ref::<crate::cli::UsageMessage>())
    {
        return (format!("{own}\n"), false, EXIT_USAGE);
    }
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            (french_help(&error.render().to_string()), true, EXIT_OK)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            (french_help(&error.render().to_string()), false, EXIT_USAGE)
        }
        _ => {
            let mut text = format!("erreur : {}\n", message(error));
            let usage = first(error, ContextKind::Usage);
            let usage = usage.trim().trim_start_matches("Usage:").trim();
            if !usage.is_empty() {
                text.push_str(&format!("\nUtilisation : {usage}\n"));
                // The command path: the usage's words before the first placeholder.
                let path: Vec<&str> = usage
                    .split_whitespace()
                    .take_while(|w| !w.starts_with(['[', '<', '-']))
                    .collect();
                text.push_str(&format!(
                    "\nPour en savoir plus : {} --help\n",
                    path.join(" ")
                ));
            }
            (text, false, EXIT_USAGE)
        }
    }
}
