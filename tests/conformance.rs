//! Conformance of feed ingest over `../shared/fixtures/feeds/` (issue 2).
//!
//! 1. No panic: every file of the feedparser suites (well-formed, ill-formed, entities,
//!    JSON), of gofeed and of the real-world folder goes through `parse_feed`, whatever its
//!    extension. An `Err` is fine; a panic fails the test with the list of files.
//! 2. Agreement with Python feedparser (the oracle `tests/oracle/feedparser_oracle.py`, run
//!    once over all files with `.venv/bin/python`, made by `make deps`): for the feedparser
//!    suites and the real-world feeds, feed title and link, and for each entry its title,
//!    link and date are compared. Each value feedparser has is one check. The test prints the
//!    agreement rate, per suite, and the most common kinds of disagreement with an example,
//!    then fails below `FLOOR`.
//!
//! How values are compared:
//! - titles: feedparser's HTML/XHTML titles are turned into plain text by the oracle (tags
//!   removed, entities unescaped); on both sides control characters become spaces and
//!   whitespace runs (non-breaking spaces included) collapse to one space.
//! - links: both sides absolute; compared after a round trip through `url::Url` (so
//!   `http://a.b` and `http://a.b/`, or host case, do not count as disagreements).
//! - dates: feedparser's `published_parsed`, else `updated_parsed`, against our `published`
//!   (which is published, else updated), equal to the second.
//! - entries: feedparser's entries that have a link, against our items (which are exactly the
//!   entries with a link). Same count: aligned in order; otherwise each feedparser entry is
//!   matched with the next item of ours that has the same link, and the unmatched ones count
//!   as disagreements on every field feedparser has.
//! - cases whose feedparser `SkipUnless` condition fails (chardet is not installed) only go
//!   through the no-panic pass; feedparser 6.0.14 does not read JSON Feed, so the JSON suite
//!   gives no check.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use veille::ingest::{ParsedFeed, parse_feed};

/// Measured 2026-11-28: TODO% agreement. Set a little below so that regressions show.
const FLOOR: f64 = 0.0;

/// The base URL when the case gives no `Content-Location`.
const DEFAULT_BASE: &str = "http://example.com/feed.xml";

/// Extensions of the real-world files that are feeds (the others are HTML pages and
/// extraction results, which only go through the no-panic pass).
const FEED_EXTENSIONS: [&str; 5] = ["xml", "atom", "rss", "rdf", "json"];

thread_local! {
    /// Set while `parse_feed` runs under `catch_unwind`, so that the panic hook stays quiet
    /// there and only there.
    static IN_INGEST: Cell<bool> = const { Cell::new(false) };
}

/// One file read by ingest (and maybe by feedparser).
struct Case {
    path: PathBuf,
    /// Path under `feeds/`, for messages.
    name: String,
    /// `wellformed`, `illformed`, `entities`, `json`, `realworld`; `None`: no comparison.
    suite: Option<String>,
    content_type: Option<String>,
    base: String,
    skip_unless: Option<String>,
}

#[derive(Default)]
struct Tally {
    files: usize,
    checked: usize,
    agreed: usize,
}

impl Tally {
    fn rate(&self) -> f64 {
        if self.checked == 0 {
            100.0
        } else {
            100.0 * self.agreed as f64 / self.checked as f64
        }
    }
}

/// Disagreements by kind: count and first example.
#[derive(Default)]
struct Kinds(HashMap<String, (usize, String)>);

impl Kinds {
    fn add(&mut self, kind: String, example: impl FnOnce() -> String) {
        self.0
            .entry(kind)
            .and_modify(|(n, _)| *n += 1)
            .or_insert_with(|| (1, example()));
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `Content-Location` resolved against the default base; unusable values give the default.
fn base_from(location: &str) -> String {
    let default = url::Url::parse(DEFAULT_BASE).expect("default base");
    match default.join(location.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.into(),
        _ => DEFAULT_BASE.to_string(),
    }
}

/// `path -> (suite, http header, skip_unless)` from `feedparser/manifest.tsv`.
fn manifest(root: &Path) -> HashMap<String, (String, String, String)> {
    let text = std::fs::read_to_string(root.join("feedparser/manifest.tsv"))
        .expect("feedparser/manifest.tsv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (cols.len() >= 6).then(|| {
                (
                    cols[0].to_string(),
                    (
                        cols[1].to_string(),
                        cols[4].to_string(),
                        cols[5].to_string(),
                    ),
                )
            })
        })
        .collect()
}

fn cases(root: &Path) -> Vec<Case> {
    let manifest = manifest(root);
    let mut paths = Vec::new();
    for folder in ["feedparser", "gofeed", "realworld"] {
        files_under(&root.join(folder), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let mut case = Case {
                path: path.clone(),
                name: name.clone(),
                suite: None,
                content_type: None,
                base: DEFAULT_BASE.to_string(),
                skip_unless: None,
            };
            let extension = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if let Some(rel) = name.strip_prefix("feedparser/") {
                if let Some((suite, header, skip_unless)) = manifest.get(rel) {
                    case.suite = Some(suite.clone());
                    if let Some((key, value)) = header.split_once(':') {
                        if key.trim().eq_ignore_ascii_case("content-type") {
                            case.content_type = Some(value.trim().to_string());
                        } else if key.trim().eq_ignore_ascii_case("content-location") {
                            case.base = base_from(value);
                        }
                    }
                    case.skip_unless = Some(skip_unless.clone()).filter(|s| !s.is_empty());
                } else if rel.starts_with("json/") && extension == "json" {
                    case.suite = Some("json".to_string());
                }
            } else if name.starts_with("realworld/") && FEED_EXTENSIONS.contains(&&*extension) {
                case.suite = Some("realworld".to_string());
            }
            case
        })
        .collect()
}

/// Runs the oracle once over the compared cases; its answers by path.
fn oracle(cases: &[&Case]) -> HashMap<String, Value> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = manifest_dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make deps` (it creates the venv with Python feedparser, the \
         oracle of this test; `make test` runs it)",
        python.display()
    );
    let script = manifest_dir.join("tests/oracle/feedparser_oracle.py");
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            serde_json::json!([
                c.path.to_string_lossy(),
                c.content_type,
                c.base,
                c.skip_unless
            ])
        })
        .collect();
    let input = serde_json::to_vec(&input).expect("oracle input");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("oracle output");
    writer
        .join()
        .expect("oracle writer")
        .expect("write oracle input");
    assert!(
        output.status.success(),
        "the feedparser oracle failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("oracle line is not JSON ({e}): {line}"));
            (
                value["path"].as_str().unwrap_or_default().to_string(),
                value,
            )
        })
        .collect()
}

fn norm_title(text: &str) -> Option<String> {
    let text = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!text.is_empty()).then_some(text)
}

/// Our links, for comparison: parsed and printed again when they parse.
fn norm_link(link: &str) -> Option<String> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    Some(url::Url::parse(link).map_or_else(|_| link.to_string(), String::from))
}

/// feedparser's links that a reader can open: absolute http(s) URLs. feedparser also makes
/// a link of any Atom id or RSS guid (`tag:…`, `urn:…`, plain words), which veille rightly
/// does not treat as a link.
fn usable_link(link: &str) -> Option<String> {
    url::Url::parse(link.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}

fn norm_date(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.timestamp())
}

fn show(value: Option<&str>) -> String {
    match value {
        None => "none".to_string(),
        Some(v) if v.chars().count() > 90 => {
            format!("`{}…`", v.chars().take(90).collect::<String>())
        }
        Some(v) => format!("`{v}`"),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Title,
    Link,
    Date,
}

/// The kind of a disagreement between feedparser's `theirs` and our `ours`.
fn kind(field: Field, theirs: &str, ours: Option<&str>) -> String {
    let Some(ours) = ours else {
        return "missing in ours".to_string();
    };
    match field {
        Field::Title => {
            let squeeze = |s: &str| s.split_whitespace().collect::<String>();
            if squeeze(theirs) == squeeze(ours) {
                "spacing differs".to_string()
            } else if theirs.to_lowercase() == ours.to_lowercase() {
                "case differs".to_string()
            } else if ours.contains(theirs) {
                "ours longer (contains theirs)".to_string()
            } else if theirs.contains(ours) {
                "ours shorter (inside theirs)".to_string()
            } else if ours.contains('<') || ours.contains('&') {
                "ours keeps markup or entities".to_string()
            } else if theirs.contains('<') || theirs.contains('&') {
                "theirs keeps markup or entities".to_string()
            } else if ours.contains('\u{fffd}')
                || ours.chars().any(|c| ('\u{80}'..'\u{a0}').contains(&c))
            {
                "ours mis-decoded".to_string()
            } else {
                "differs".to_string()
            }
        }
        Field::Link => {
            let (t, o) = (url::Url::parse(theirs).ok(), url::Url::parse(ours).ok());
            match (t, o) {
                (Some(t), Some(o)) if t.host_str() != o.host_str() => "other host".to_string(),
                (Some(t), Some(o)) if t.path() != o.path() => "other path".to_string(),
                (Some(_), Some(_)) => "other query or fragment".to_string(),
                (None, _) => "theirs not absolute".to_string(),
                (_, None) => "ours not absolute".to_string(),
            }
        }
        Field::Date => match (norm_date(theirs), norm_date(ours)) {
            (Some(t), Some(o)) if (o - t) % 3600 == 0 && (o - t).abs() <= 14 * 3600 => {
                format!("off by {}h (zone)", (o - t) / 3600)
            }
            (Some(t), Some(o)) if (o - t).abs() < 86_400 => "off by under a day".to_string(),
            _ => "other day".to_string(),
        },
    }
}

struct Compare<'a> {
    suites: BTreeMap<String, Tally>,
    kinds: Kinds,
    case: &'a Case,
}

impl Compare<'_> {
    /// One check: feedparser's value (when it has one) against ours.
    fn check(&mut self, what: &str, field: Field, theirs: Option<&str>, ours: Option<&str>) {
        let Some(theirs_norm) = theirs.and_then(|v| normalise(field, v)) else {
            return;
        };
        let ours_norm = ours.and_then(|v| match field {
            Field::Link => norm_link(v),
            _ => normalise(field, v),
        });
        let suite = self.case.suite.clone().unwrap_or_default();
        let tally = self.suites.entry(suite).or_default();
        tally.checked += 1;
        if Some(&theirs_norm) == ours_norm.as_ref() {
            tally.agreed += 1;
            return;
        }
        let label = match field {
            Field::Title => "title",
            Field::Link => "link",
            Field::Date => "date",
        };
        let (t, o) = (
            theirs.and_then(|v| norm_title(v)).unwrap_or_default(),
            ours.and_then(norm_title),
        );
        let name = &self.case.name;
        if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
            println!(
                "{name}: {what}.{label}: feedparser {} / ours {}",
                show(Some(&t)),
                show(o.as_deref())
            );
        }
        self.kinds.add(
            format!("{what}.{label}: {}", kind(field, &t, o.as_deref())),
            || {
                format!(
                    "{name}: feedparser {} / ours {}",
                    show(Some(&t)),
                    show(o.as_deref())
                )
            },
        );
    }

    /// Every check feedparser offers for this file, when ingest gave nothing.
    fn missing(&mut self, reason: &str, theirs: &Value) {
        let mut values = vec![
            ("feed.title", Field::Title, theirs["feed"]["title"].as_str()),
            ("feed.link", Field::Link, theirs["feed"]["link"].as_str()),
        ];
        for entry in linked(theirs) {
            values.push(("entry.title", Field::Title, entry["title"].as_str()));
            values.push(("entry.link", Field::Link, entry["link"].as_str()));
            values.push(("entry.date", Field::Date, entry["date"].as_str()));
        }
        for (what, field, value) in values {
            if value.and_then(|v| normalise(field, v)).is_none() {
                continue;
            }
            let suite = self.case.suite.clone().unwrap_or_default();
            self.suites.entry(suite).or_default().checked += 1;
            let name = &self.case.name;
            if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
                println!("{name}: {what}: {reason}: feedparser {}", show(value));
            }
            self.kinds.add(format!("{what}: {reason}"), || {
                format!("{name}: feedparser {}", show(value))
            });
        }
    }
}

/// feedparser's value as compared: `None` when it has none that counts.
fn normalise(field: Field, value: &str) -> Option<String> {
    match field {
        Field::Title => norm_title(value),
        Field::Link => usable_link(value),
        Field::Date => norm_date(value).map(|s| s.to_string()),
    }
}

/// feedparser's entries that have a link.
fn linked(theirs: &Value) -> Vec<&Value> {
    theirs["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["link"].as_str().and_then(usable_link).is_some())
                .collect()
        })
        .unwrap_or_default()
}

fn compare_feed(cmp: &mut Compare, theirs: &Value, ours: &ParsedFeed) {
    cmp.check(
        "feed",
        Field::Title,
        theirs["feed"]["title"].as_str(),
        ours.title.as_deref(),
    );
    cmp.check(
        "feed",
        Field::Link,
        theirs["feed"]["link"].as_str(),
        ours.link.as_deref(),
    );
    let entries = linked(theirs);
    // Index of our item aligned with each feedparser entry.
    let aligned: Vec<Option<usize>> = if entries.len() == ours.items.len() {
        (0..entries.len()).map(Some).collect()
    } else {
        let mut next = 0;
        entries
            .iter()
            .map(|e| {
                let link = e["link"].as_str().and_then(usable_link);
                let found =
                    (next..ours.items.len()).find(|&i| norm_link(&ours.items[i].url) == link)?;
                next = found + 1;
                Some(found)
            })
            .collect()
    };
    for (entry, index) in entries.iter().zip(aligned) {
        let item = index.map(|i| &ours.items[i]);
        let date = item.and_then(|i| i.published).map(|d| d.to_rfc3339());
        if item.is_none() {
            let missing = serde_json::json!({"feed": {}, "entries": [entry]});
            cmp.missing("no matching item in ours", &missing);
            continue;
        }
        cmp.check(
            "entry",
            Field::Title,
            entry["title"].as_str(),
            item.map(|i| i.title.as_str()),
        );
        cmp.check(
            "entry",
            Field::Link,
            entry["link"].as_str(),
            item.map(|i| i.url.as_str()),
        );
        cmp.check(
            "entry",
            Field::Date,
            entry["date"].as_str(),
            date.as_deref(),
        );
    }
}

/// An ingest error message without its positions, to group errors by kind.
fn error_kind(message: &str) -> String {
    let message = message.rsplit(" : ").next().unwrap_or(message);
    let message = message.split(" at position").next().unwrap_or(message);
    message.chars().take(70).collect()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_string())
}

#[test]
fn ingest_conforms_to_feedparser() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feeds");
    if !root.is_dir() {
        println!("skipped: ../shared/fixtures not found");
        return;
    }
    let cases = cases(&root);
    assert!(!cases.is_empty(), "no file under {}", root.display());

    // Pass 1: every file through ingest, panics caught.
    let now = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap();
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !IN_INGEST.with(Cell::get) {
            default_hook(info);
        }
    }));
    let mut panics = Vec::new();
    let mut errors = 0;
    let mut parsed: HashMap<&str, Result<ParsedFeed, String>> = HashMap::new();
    for case in &cases {
        let bytes = std::fs::read(&case.path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", case.path.display()));
        IN_INGEST.with(|f| f.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            parse_feed(&bytes, case.content_type.as_deref(), &case.base, now)
        }));
        IN_INGEST.with(|f| f.set(false));
        let feed = match result {
            Ok(Ok(feed)) => Ok(feed),
            Ok(Err(e)) => {
                errors += 1;
                Err(e.to_string())
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                panics.push(format!("{}: {message}", case.name));
                Err(format!("panic: {message}"))
            }
        };
        if case.suite.is_some() {
            parsed.insert(&case.name, feed);
        }
    }
    println!(
        "conformance: {} files through ingest, {} errors, {} panics",
        cases.len(),
        errors,
        panics.len()
    );

    // Pass 2: comparison with feedparser.
    let compared: Vec<&Case> = cases.iter().filter(|c| c.suite.is_some()).collect();
    let answers = oracle(&compared);
    let mut skipped = 0;
    let mut cmp = Compare {
        suites: BTreeMap::new(),
        kinds: Kinds::default(),
        case: compared[0],
    };
    for case in &compared {
        let path = case.path.to_string_lossy();
        let theirs = answers
            .get(&*path)
            .unwrap_or_else(|| panic!("no oracle answer for {}", case.name));
        if !theirs["skipped"].is_null() {
            skipped += 1;
            continue;
        }
        assert!(
            theirs["error"].is_null(),
            "feedparser failed on {}: {}",
            case.name,
            theirs["error"]
        );
        cmp.case = case;
        cmp.suites
            .entry(case.suite.clone().unwrap_or_default())
            .or_default()
            .files += 1;
        match &parsed[&*case.name] {
            Ok(ours) => compare_feed(&mut cmp, theirs, ours),
            Err(e) => {
                if std::env::var_os("CONFORMANCE_VERBOSE").is_some() {
                    println!("{}: ingest error: {e}", case.name);
                }
                cmp.missing(&format!("ingest error ({})", error_kind(e)), theirs)
            }
        }
    }

    let total = cmp.suites.values().fold(Tally::default(), |mut t, s| {
        t.files += s.files;
        t.checked += s.checked;
        t.agreed += s.agreed;
        t
    });
    let feedparser = cmp
        .suites
        .iter()
        .filter(|(name, _)| *name != "realworld")
        .fold(Tally::default(), |mut t, (_, s)| {
            t.checked += s.checked;
            t.agreed += s.agreed;
            t
        });
    let realworld = cmp.suites.get("realworld");
    for (name, tally) in &cmp.suites {
        println!(
            "  {name:<10} {:5.1}% ({}/{} checks, {} files)",
            tally.rate(),
            tally.agreed,
            tally.checked,
            tally.files
        );
    }
    println!("  ({skipped} cases skipped: their feedparser SkipUnless condition fails)");
    let mut kinds: Vec<_> = cmp.kinds.0.iter().collect();
    kinds.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    println!("most common disagreements ({} kinds):", kinds.len());
    for (kind, (count, example)) in kinds.iter().take(15) {
        println!("  {count:5}  {kind}\n         e.g. {example}");
    }
    println!(
        "conformance: {:.1}% agreement ({}/{} checks) over {} files; feedparser suites {:.1}%, realworld {:.1}%",
        total.rate(),
        total.agreed,
        total.checked,
        total.files,
        feedparser.rate(),
        realworld.map_or(100.0, Tally::rate)
    );

    assert!(
        panics.is_empty(),
        "ingest panicked on {} files:\n{}",
        panics.len(),
        panics.join("\n")
    );
    assert!(
        total.rate() >= FLOOR,
        "agreement with feedparser fell to {:.1}% (floor {FLOOR}%)",
        total.rate()
    );
}
