//! Story assignment throughput: fingerprint, find the story in the window, insert; over 200,000
//! articles built from the French fixture texts, in publication order over about 60 days.
//!
//! The fixtures give about 540 distinct texts; they are varied deterministically (another
//! title's end appended, two words swapped, and a numbered suffix on every one) so that some
//! articles repeat a story and most do not. The window holds about 23,000 articles at any
//! time, and each stem of this small vocabulary is shared by thousands of them: a harder case
//! for the inverted index than real news.
//!
//! An additional figure runs the same assignment in the shape of `veille fetch`, where each
//! source's items are fingerprinted in their own blocking task and only the lookup and insert
//! are done one article at a time: one thread fingerprints while another assigns, with the
//! same stories, article by article; its summary line says `(2 fils)`, and the one-thread lines
//! stay as they were.
//!
//! The anchor, in the same run: datasketch's MinHashLSH (`benches/datasketch_bench.py`, run
//! with `.venv/bin/python`, which `make deps` creates) over the first `ANCHOR_ARTICLES` of the
//! same articles, query then insert, as veille does.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use veille::dedup::{self, Fingerprint, StoryIndex};

const ARTICLES: usize = 200_000;
const DAYS: i64 = 60;
/// Distinct suffix numbers: each text comes back about 40 times a week, so about a third of
/// the articles meet an earlier article with the same text and number.
const SUFFIXES: usize = 120;
/// Articles given to datasketch: at its few thousand articles a second, all 200,000 would
/// take a minute; its rate barely depends on how many it holds.
const ANCHOR_ARTICLES: usize = 20_000;

/// A small deterministic generator (64-bit LCG), so every run builds the same articles.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// (title, summary) pairs from the two labelled files.
fn fixture_texts(root: &Path) -> Option<Vec<(String, String)>> {
    let pairs = std::fs::read_to_string(root.join("eval/dedup-pairs-fr.tsv")).ok()?;
    let labels = std::fs::read_to_string(root.join("eval/dossier-labels-fr.tsv")).ok()?;
    let mut texts = Vec::new();
    for line in pairs.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() >= 5 {
            texts.push((cells[1].to_string(), cells[2].to_string()));
            texts.push((cells[3].to_string(), cells[4].to_string()));
        }
    }
    for line in labels.lines().skip(1) {
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() >= 3 {
            texts.push((cells[1].to_string(), cells[2].to_string()));
        }
    }
    texts.sort();
    texts.dedup();
    Some(texts)
}

fn vary(texts: &[(String, String)], i: usize, rng: &mut Lcg) -> (String, String) {
    let (title, summary) = &texts[rng.below(texts.len())];
    let title = match i % 3 {
        // As published.
        0 => title.clone(),
        // Another title's end appended: a longer headline.
        1 => {
            let (other, _) = &texts[rng.below(texts.len())];
            let words: Vec<&str> = other.split_whitespace().collect();
            format!("{title} : {}", words[words.len() / 2..].join(" "))
        }
        // Two words swapped.
        _ => {
            let mut words: Vec<&str> = title.split_whitespace().collect();
            if words.len() > 2 {
                let a = rng.below(words.len());
                let b = rng.below(words.len());
                words.swap(a, b);
            }
            words.join(" ")
        }
    };
    // A numbered suffix: the same text with another number is another story (numbers that
    // differ veto a merge), so that only some articles repeat a story.
    (
        format!("{title} ({})", 1 + rng.below(SUFFIXES)),
        summary.clone(),
    )
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    let Some(texts) = fixture_texts(&root) else {
        // The line libtest prints for an ignored test, so that `make test` counts it.
        println!("bench dedup ... ignored, ../shared/fixtures absent");
        return;
    };
    // `cargo test --all-targets` runs benches without `--bench`: a smoke run, no figures.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let count = if bench_mode { ARTICLES } else { 2_000 };
    let mut rng = Lcg(42);
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let step = Duration::days(DAYS).num_milliseconds() / count as i64;
    let articles: Vec<(String, String)> = (0..count).map(|i| vary(&texts, i, &mut rng)).collect();

    let (assigned, in_fingerprint, index_len, elapsed) = assign_one_thread(&articles, start, step);
    let stories = assigned.iter().copied().max().unwrap_or(0);
    let merged = assigned.len() - stories as usize;
    let (assigned_two, two_seconds) = assign_two_threads(&articles, start, step);
    // The same stories, article by article: only where the fingerprints are computed changes.
    assert!(
        assigned_two == assigned,
        "the two-thread run assigned other stories than the one-thread run"
    );
    assert!(
        merged > 0 && stories > 1,
        "story merging did nothing: {merged} merged, {stories} stories"
    );
    if !bench_mode {
        println!("bench dedup: smoke test passed (run `cargo bench --bench dedup` for figures)");
        return;
    }
    let rate = count as f64 / elapsed;
    println!(
        "bench dedup: {count} articles in {elapsed:.2} s, {rate:.0} articles/s, {stories} stories"
    );
    println!(
        "bench dedup: fingerprint {:.2} s, lookup and insert {:.2} s; {merged} articles joined a story; {} articles in the window at the end",
        in_fingerprint.as_secs_f64(),
        elapsed - in_fingerprint.as_secs_f64(),
        index_len
    );
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let anchor = &articles[..articles.len().min(ANCHOR_ARTICLES)];
    let (n, seconds) = bench_datasketch(manifest, anchor);
    let theirs = n as f64 / seconds;
    println!(
        "bench dedup: veille {rate:.0} articles/s, datasketch MinHashLSH {theirs:.0} articles/s ({n} articles), ratio {:.1}x",
        rate / theirs
    );
    let two_rate = count as f64 / two_seconds;
    println!(
        "bench dedup: veille (2 fils) {two_rate:.0} articles/s, datasketch MinHashLSH (1 fil) {theirs:.0} articles/s, ratio {:.1}x (2 fils)",
        two_rate / theirs
    );
}

/// The story index of the bench, empty.
fn new_index() -> StoryIndex {
    StoryIndex::new(
        Duration::days(dedup::DEFAULT_WINDOW_DAYS),
        dedup::DEFAULT_THRESHOLD,
    )
}

/// Finds the story of an article, given its fingerprint, and adds it to the index; `stories`
/// counts the stories so far (a new story takes the next number). Returns its story.
fn assign(index: &mut StoryIndex, fp: Fingerprint, at: DateTime<Utc>, stories: &mut i64) -> i64 {
    let story = index.find(&fp, at).unwrap_or_else(|| {
        *stories += 1;
        *stories
    });
    index.insert(story, at, fp);
    // Articles come in date order here, so nothing older than a window is asked for again.
    index.evict_before(at - index.window());
    story
}

/// Every article fingerprinted, then assigned, one after the other on one thread: (each
/// article's story, time fingerprinting, articles held at the end, total seconds).
fn assign_one_thread(
    articles: &[(String, String)],
    start: DateTime<Utc>,
    step: i64,
) -> (Vec<i64>, StdDuration, usize, f64) {
    let mut index = new_index();
    let mut stories = 0i64;
    let mut assigned = Vec::with_capacity(articles.len());
    let mut in_fingerprint = StdDuration::ZERO;
    let began = Instant::now();
    for (i, (title, summary)) in articles.iter().enumerate() {
        let at = start + Duration::milliseconds(step * i as i64);
        let t = Instant::now();
        let fp = dedup::fingerprint(title, summary);
        in_fingerprint += t.elapsed();
        assigned.push(assign(&mut index, fp, at, &mut stories));
    }
    let elapsed = began.elapsed().as_secs_f64();
    (assigned, in_fingerprint, index.len(), elapsed)
}

/// The shape of `veille fetch`: each source's items are fingerprinted in its own blocking task
/// (`harvest::prepare`), and only finding and adding stories is done one article at a time.
/// Here one thread fingerprints the articles in chunks while this one assigns them, in
/// order: (each article's story, total seconds).
fn assign_two_threads(
    articles: &[(String, String)],
    start: DateTime<Utc>,
    step: i64,
) -> (Vec<i64>, f64) {
    const CHUNK: usize = 256;
    let began = Instant::now();
    let mut index = new_index();
    let mut stories = 0i64;
    let mut assigned = Vec::with_capacity(articles.len());
    std::thread::scope(|scope| {
        // A few chunks ahead at most, as a pass holds a few sources' items at a time.
        let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Fingerprint>>(8);
        scope.spawn(move || {
            for chunk in articles.chunks(CHUNK) {
                let fps = chunk
                    .iter()
                    .map(|(title, summary)| dedup::fingerprint(title, summary))
                    .collect();
                if send.send(fps).is_err() {
                    return;
                }
            }
        });
        for fp in receive.into_iter().flatten() {
            let at = start + Duration::milliseconds(step * assigned.len() as i64);
            assigned.push(assign(&mut index, fp, at, &mut stories));
        }
    });
    let seconds = began.elapsed().as_secs_f64();
    assert_eq!(assigned.len(), articles.len(), "every article assigned");
    (assigned, seconds)
}

/// Runs `benches/datasketch_bench.py` over `articles`; returns how many it read and its time.
fn bench_datasketch(manifest: &Path, articles: &[(String, String)]) -> (usize, f64) {
    let python = manifest.join(".venv/bin/python");
    let script = manifest.join("benches/datasketch_bench.py");
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    for (title, summary) in articles {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        writeln!(file, "{}\t{}", clean(title), clean(summary)).expect("write articles");
    }
    file.flush().expect("write articles");
    let output = Command::new(&python)
        .arg(&script)
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("running {} {}: {e}", python.display(), script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}), `make deps` installs datasketch:\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{} printed no JSON ({e})", script.display()));
    let number = |key: &str| {
        doc[key]
            .as_f64()
            .unwrap_or_else(|| panic!("datasketch_bench.py: no number `{key}` in {doc}"))
    };
    assert_eq!(number("articles") as usize, articles.len());
    (articles.len(), number("seconds"))
}
