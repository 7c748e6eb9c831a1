//! Prints what `parse_feed` makes of every feed file under a directory, one JSON line per
//! file, to compare the output of two versions of the parser over all the fixtures:
//! `cargo run --example parse_dump -- ../shared/fixtures/feeds > new.jsonl`, then `diff`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "atom" | "json" | "rss" | "rdf")
        ) {
            out.push(path);
        }
    }
}

fn main() -> ExitCode {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage : cargo run --example parse_dump -- DOSSIER");
        return ExitCode::from(2);
    };
    let mut paths = Vec::new();
    collect(Path::new(&root), &mut paths);
    paths.sort();
    // A fixed fetch time: the clamping of future dates must not differ between two runs.
    let now: chrono::DateTime<chrono::Utc> = "2026-11-28T12:00:00Z".parse().expect("date");
    for path in &paths {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let line =
            match veille::ingest::parse_feed(&bytes, None, "http://example.com/feed.xml", now) {
                Ok(feed) => serde_json::json!({
                    "file": path.display().to_string(),
                    "title": feed.title,
                    "link": feed.link,
                    "without_link": feed.without_link,
                    "items": feed.items,
                }),
                Err(e) => serde_json::json!({
                    "file": path.display().to_string(),
                    "error": e.to_string(),
                }),
            };
        println!("{line}");
    }
    ExitCode::SUCCESS
}
