//! Prints what the French analyser makes of words or phrases (stems with their positions),
//! to write or debug dossier rules: `cargo run --example stems -- "sans-abri" "l'État"`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    if words.is_empty() {
        eprintln!("usage : cargo run --example stems -- MOT_OU_EXPRESSION…");
        return ExitCode::from(2);
    }
    for word in &words {
        let stems: Vec<String> = veille::text::stems(word)
            .into_iter()
            .map(|w| format!("{}@{}", w.text, w.position))
            .collect();
        println!("{word:>40} → {}", stems.join(" "));
    }
    ExitCode::SUCCESS
}
