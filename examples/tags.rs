//! Prints the dossiers and territories the rules of a `feeds.toml` give to each line of a
//! file (`title<TAB>summary`), to read the rules' choices on other text:
//! `cargo run --example tags -- titres.txt [feeds.toml]`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(lines) = args.next() else {
        eprintln!("usage : cargo run --example tags -- FICHIER_DE_TITRES [feeds.toml]");
        return ExitCode::from(2);
    };
    let config_path = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("feeds.toml"),
        PathBuf::from,
    );
    let config = match veille::config::load(&config_path) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let tagger = match veille::tag::Tagger::new(&config) {
        Ok(tagger) => tagger,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(&lines) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("lecture de {lines} impossible : {e}");
            return ExitCode::FAILURE;
        }
    };
    for line in text.lines() {
        let (title, summary) = line.split_once('\t').unwrap_or((line, ""));
        let tagging = tagger.tag(title, summary, &[]);
        if tagging.dossiers.is_empty() && tagging.territories.is_empty() {
            continue;
        }
        let dossiers: Vec<String> = tagging
            .dossiers
            .iter()
            .map(|d| {
                let why: Vec<&str> = d.why.iter().map(|m| m.text.as_str()).collect();
                format!("{}({:.2}: {})", d.dossier, d.score, why.join("/"))
            })
            .collect();
        println!(
            "{} | {} | {}",
            dossiers.join(" "),
            tagging.territories.join(","),
            title
        );
    }
    ExitCode::SUCCESS
}
