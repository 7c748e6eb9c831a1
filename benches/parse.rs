//! Parse + normalise throughput of `veille::ingest::parse_feed` on the real-world feeds of
//! `../shared/fixtures/feeds/realworld` (the .xml and .atom files), side by side with Python
//! feedparser on the same files in the same run (`benches/feedparser_bench.py`, run with
//! `.venv/bin/python`, which `make deps` creates).
//!
//! Both sides read every file into memory first, run one untimed warm-up round (which also
//! gives the counts of one round), then time only the parse loops: whole rounds over all
//! files, as many as it takes to reach `MIN_SECONDS` (the round count is printed). Item
//! counts may differ a little: veille drops entries without any link, feedparser keeps them;
//! both counts are printed.
//!
//! `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this only runs one
//! round of each side as a smoke test, and prints no figures.
//!
//! An additional figure runs the same rounds on `THREADS` threads at once (as `veille fetch`
//! parses many sources at once), each thread at least `MIN_SECONDS`, over the wall time that
//! includes each thread's warm-up round; its summary line says `(2 fils)`, and the
//! single-thread lines stay as they were.
//!
//! For a profiler, `VEILLE_PARSE_PROFILE_SECONDS=N` runs veille's rounds alone for N seconds
//! (no feed-rs timing, no Python) and prints their throughput:
//! `perf record -g --call-graph dwarf <bench binary> --bench` then sees only `parse_feed`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::Utc;

const MIN_SECONDS: f64 = 2.0;
const BASE_URL: &str = "http://example.com/feed.xml";
/// Threads of the additional multi-core figure (the machine of the goals has 2 cores).
const THREADS: usize = 2;

/// Totals of one or more rounds of veille over all files.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Counts {
    items: usize,
    without_link: usize,
    rejected: usize,
}

struct Run {
    name: String,
    rounds: usize,
    items: usize,
    seconds: f64,
}

impl Run {
    fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.seconds
    }
    fn files_per_sec(&self, files: usize) -> f64 {
        (files * self.rounds) as f64 / self.seconds
    }
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../shared/fixtures/feeds/realworld");
    if !root.is_dir() {
        // The line libtest prints for an ignored test, so that `make test` counts it.
        println!("bench parse ... ignored, ../shared/fixtures absent");
        return;
    }
    let mut paths = Vec::new();
    collect_feeds(&root, &mut paths);
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no .xml/.atom file under {}",
        root.display()
    );
    let blobs: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    let bytes: usize = blobs.iter().map(Vec::len).sum();
    println!(
        "bench parse: {} feed files (.xml, .atom), {:.0} KiB, from {}",
        blobs.len(),
        bytes as f64 / 1024.0,
        root.display()
    );

    if let Some(seconds) = std::env::var("VEILLE_PARSE_PROFILE_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        let (run, _) = bench_veille(&blobs, seconds);
        println!(
            "bench parse: profile run, veille alone: {} rounds, {:.0} items/s",
            run.rounds,
            run.items_per_sec()
        );
        return;
    }
    let min_seconds = if bench_mode { MIN_SECONDS } else { 0.0 };
    let (veille, per_round) = bench_veille(&blobs, min_seconds);
    let feed_rs_seconds = time_feed_rs(&blobs, veille.rounds);
    let floor_seconds = bench_mode.then(|| time_crates_floor(&blobs, veille.rounds));
    let threaded = bench_mode.then(|| bench_veille_threads(&blobs, THREADS, per_round));
    let python = manifest.join(".venv/bin/python");
    // The comparison is part of the run: a missing oracle fails instead of passing unseen.
    assert!(
        python.exists(),
        "{} absent : lancez `make deps` (il crée le venv avec Python feedparser ; `make test` \
         et `make bench` le lancent d'abord)",
        python.display()
    );
    let feedparser = Some(bench_feedparser(&python, manifest, &paths, bench_mode));

    if !bench_mode {
        println!("bench parse: smoke test passed (one round each; run `cargo bench` for figures)");
        return;
    }

    let files = blobs.len();
    println!();
    println!(
        "{:<20} {:>7} {:>10} {:>9} {:>9} {:>12} {:>10}",
        "implementation", "rounds", "items", "items/rd", "seconds", "items/s", "files/s"
    );
    let mut runs = vec![&veille];
    runs.extend(threaded.as_ref());
    runs.extend(feedparser.as_ref().map(|(run, _)| run));
    for run in &runs {
        println!(
            "{:<20} {:>7} {:>10} {:>9} {:>9.3} {:>12.0} {:>10.1}",
            run.name,
            run.rounds,
            run.items,
            run.items / run.rounds,
            run.seconds,
            run.items_per_sec(),
            run.files_per_sec(files)
        );
    }
    println!();
    println!(
        "bench parse: veille keeps {} items per round ({} entries without link dropped, {} of {} files rejected as not a feed)",
        per_round.items, per_round.without_link, per_round.rejected, files
    );
    println!(
        "bench parse: breakdown: feed-rs alone (bytes to feed model, no decoding, cleaning or normalising) takes {:.3} s of veille's {:.3} s ({:.0}%), {:.1} files/s",
        feed_rs_seconds,
        veille.seconds,
        100.0 * feed_rs_seconds / veille.seconds,
        (files * veille.rounds) as f64 / feed_rs_seconds
    );
    match &feedparser {
        Some((fp, bozo)) => {
            println!(
                "bench parse: feedparser returns {} entries per round ({} files flagged bozo)",
                fp.items / fp.rounds,
                bozo.map_or_else(|| "?".into(), |b| b.to_string())
            );
            println!(
                "bench parse: veille {:.0} items/s, feedparser {:.0} items/s, ratio {:.1}x",
                veille.items_per_sec(),
                fp.items_per_sec(),
                veille.items_per_sec() / fp.items_per_sec()
            );
            println!(
                "bench parse: veille {:.1} files/s, feedparser {:.1} files/s, ratio {:.1}x",
                veille.files_per_sec(files),
                fp.files_per_sec(files),
                veille.files_per_sec(files) / fp.files_per_sec(files)
            );
            if let Some(floor) = floor_seconds {
                print_floor(&veille, floor, fp);
            }
            print_threaded(threaded.as_ref(), fp);
        }
        None => println!(
            "bench parse: veille {:.0} items/s, {:.1} files/s (feedparser not run)",
            veille.items_per_sec(),
            veille.files_per_sec(files)
        ),
    }
}

/// The additional line of the multi-core run. Production parses many sources at once: the
/// same rounds spread over the cores, against the same single-threaded feedparser run.
fn print_threaded(threaded: Option<&Run>, fp: &Run) {
    if let Some(threaded) = threaded {
        println!(
            "bench parse: veille ({THREADS} fils) {:.0} items/s, feedparser (1 fil) {:.0} items/s, ratio {:.1}x ({THREADS} fils)",
            threaded.items_per_sec(),
            fp.items_per_sec(),
            threaded.items_per_sec() / fp.items_per_sec()
        );
    }
}

/// The line of the design's crates alone: the time feed-rs and ammonia take for the work
/// veille cannot skip (see [`time_crates_floor`]), as the rate veille would reach if all its
/// own work (charset, repair, dates, links, language, text) took no time at all.
fn print_floor(veille: &Run, floor_seconds: f64, fp: &Run) {
    let ceiling = veille.items as f64 / floor_seconds;
    println!(
        "bench parse: ceiling: feed-rs, then ammonia on each HTML summary with markup, alone take {:.3} s of veille's {:.3} s ({:.0}%): at most {:.0} items/s, {:.1}x feedparser, whatever veille's own code",
        floor_seconds,
        veille.seconds,
        100.0 * floor_seconds / veille.seconds,
        ceiling,
        ceiling / fp.items_per_sec()
    );
}

/// The .xml and .atom files under `dir`, recursively (the .html pages are not feeds).
fn collect_feeds(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_feeds(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "atom")
        ) {
            out.push(path);
        }
    }
}

fn veille_round(blobs: &[Vec<u8>], now: chrono::DateTime<Utc>) -> Counts {
    let mut counts = Counts::default();
    for blob in blobs {
        match veille::ingest::parse_feed(black_box(blob), None, BASE_URL, now) {
            Ok(feed) => {
                counts.items += feed.items.len();
                counts.without_link += feed.without_link;
                black_box(feed);
            }
            Err(e) => {
                counts.rejected += 1;
                black_box(e);
            }
        }
    }
    counts
}

/// Returns the timed run and the counts of one round.
fn bench_veille(blobs: &[Vec<u8>], min_seconds: f64) -> (Run, Counts) {
    let now = Utc::now();
    let per_round = veille_round(blobs, now);
    let (mut rounds, mut items) = (0, 0);
    let start = Instant::now();
    let seconds = loop {
        let counts = veille_round(blobs, now);
        assert_eq!(
            counts, per_round,
            "veille gave different counts between rounds"
        );
        items += counts.items;
        rounds += 1;
        let seconds = start.elapsed().as_secs_f64();
        if seconds >= min_seconds {
            break seconds;
        }
    };
    let run = Run {
        name: "veille".into(),
        rounds,
        items,
        seconds,
    };
    (run, per_round)
}

/// [`bench_veille`] on `threads` threads at the same time, each for at least `MIN_SECONDS`:
/// the timed items of all threads over the wall time until the last one ends (warm-up
/// rounds included, which only lowers the figure).
fn bench_veille_threads(blobs: &[Vec<u8>], threads: usize, per_round: Counts) -> Run {
    let start = Instant::now();
    let (rounds, items) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| bench_veille(blobs, MIN_SECONDS)))
            .collect();
        workers.into_iter().fold((0, 0), |(rounds, items), worker| {
            let (run, counts) = worker.join().expect("bench thread");
            assert_eq!(
                counts, per_round,
                "veille gave different counts on a thread"
            );
            (rounds + run.rounds, items + run.items)
        })
    });
    Run {
        name: format!("veille ({threads} fils)"),
        rounds,
        items,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Time of `rounds` rounds of the bare feed-rs parser (the first stage of `parse_feed`), to
/// show how much of veille's time goes to its own decoding, cleaning and normalising.
fn time_feed_rs(blobs: &[Vec<u8>], rounds: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        for blob in blobs {
            let parser = feed_rs::parser::Builder::new()
                .base_uri(Some(BASE_URL))
                .sanitize_content(false)
                .build();
            black_box(parser.parse(black_box(blob.as_slice())).ok());
        }
    }
    start.elapsed().as_secs_f64()
}

/// Time of `rounds` rounds of the least that the design's crates must do for veille: feed-rs
/// reads each file (no decoding or repair first), then ammonia, with veille's settings, cleans
/// each entry's summary (else its content) when it is HTML holding markup — what veille
/// sanitises; a plain text never reaches ammonia (`sanitize::plain_text_clean`). No language,
/// dates, links or text: the time left to veille's own code is the rest of its time. The
/// choice of body and the cleaner's settings copy `ingest::feed::summary` and
/// `ingest::sanitize::cleaner`, which a bench cannot call: keep them in step.
fn time_crates_floor(blobs: &[Vec<u8>], rounds: usize) -> f64 {
    let base = url::Url::parse(BASE_URL).expect("base URL");
    let mut cleaner = ammonia::Builder::default();
    cleaner
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base));
    let start = Instant::now();
    for _ in 0..rounds {
        for blob in blobs {
            let parser = feed_rs::parser::Builder::new()
                .base_uri(Some(BASE_URL))
                .id_generator(|_, _, _| String::new())
                .sanitize_content(false)
                .build();
            let Ok(feed) = parser.parse(black_box(blob.as_slice())) else {
                continue;
            };
            for entry in &feed.entries {
                let body = match (&entry.summary, &entry.content) {
                    (Some(s), _) if !s.content.trim().is_empty() => {
                        let m = &s.content_type;
                        mentions_html([m.ty().as_str(), m.subty().as_str()], m.suffix())
                            .then_some(s.content.as_str())
                    }
                    (_, Some(c)) => {
                        let m = &c.content_type;
                        mentions_html([m.ty().as_str(), m.subty().as_str()], m.suffix())
                            .then_some(c.body.as_deref())
                            .flatten()
                    }
                    _ => None,
                };
                if let Some(body) =
                    body.filter(|b| b.bytes().any(|c| matches!(c, b'<' | b'&' | b'\r' | b'\0')))
                {
                    black_box(cleaner.clean(body).to_string());
                }
            }
        }
    }
    start.elapsed().as_secs_f64()
}

/// Whether a media type says HTML (`text/html`, `application/xhtml+xml`), as veille reads it.
fn mentions_html(parts: [&str; 2], suffix: Option<impl AsRef<str>>) -> bool {
    parts.iter().any(|p| p.contains("html")) || suffix.is_some_and(|s| s.as_ref().contains("html"))
}

/// Runs `benches/feedparser_bench.py`; returns its run and how many files feedparser flagged
/// bozo (not reported by the script: `None`).
fn bench_feedparser(
    python: &Path,
    manifest: &Path,
    paths: &[PathBuf],
    bench_mode: bool,
) -> (Run, Option<usize>) {
    let script = manifest.join("benches/feedparser_bench.py");
    let min_seconds = if bench_mode { MIN_SECONDS } else { 0.0 };
    let output = Command::new(python)
        .arg(&script)
        .arg(min_seconds.to_string())
        .args(paths)
        .output()
        .unwrap_or_else(|e| panic!("running {} {}: {e}", python.display(), script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{} printed no JSON ({e}):\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let number = |key: &str| {
        doc[key]
            .as_f64()
            .unwrap_or_else(|| panic!("feedparser_bench.py: no number `{key}` in {doc}"))
    };
    assert_eq!(
        number("files") as usize,
        paths.len(),
        "feedparser read another number of files"
    );
    let version = doc["version"].as_str().unwrap_or("?");
    let run = Run {
        name: format!("feedparser {version}"),
        rounds: number("rounds") as usize,
        items: number("items") as usize,
        seconds: number("seconds"),
    };
    let bozo = doc["bozo"].as_u64().map(|b| b as usize);
    (run, bozo)
}
