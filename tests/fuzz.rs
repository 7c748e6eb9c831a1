//! Fuzzing on stable Rust: a mutation fuzzer over the parsers that read outside input (feed
//! bytes through ingest, HTML pages through the selectors and through extraction, `feeds.toml`,
//! dossier rules, CSV and XLSX imports, cron expressions, bounce messages, and HTTP requests to
//! `veille serve`'s router, in process). Seeds live in `tests/fuzz/corpus/<target>/`, every
//! input that ever panicked in `tests/fuzz/crashes/<target>-*`.
//!
//! `cargo test --test fuzz` replays the corpus and the crashes (the regression tests);
//! `make fuzz` runs the ignored campaigns, `FUZZ_SECS` seconds per target, and writes each
//! new crash to `tests/fuzz/crashes/` before failing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use veille::model::PageSelectors;

const TARGETS: &[&str] = &[
    "feed", "page", "config", "rules", "csv", "xlsx", "cron", "bounce", "http", "extract",
];
/// An input slower than this is saved as `lent-<target>-*` (a possible hang).
const SLOW: Duration = Duration::from_secs(2);
/// An input larger than this is cut: the parsers cap what they read long before.
const MAX_INPUT: usize = 64 * 1024;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// Runs one input through one target; a panic is the only failure (errors are answers).
fn run(target: &str, data: &[u8]) {
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    match target {
        "feed" => {
            let _ = veille::ingest::parse_feed(
                data,
                Some("application/rss+xml"),
                "http://example.org/flux",
                now,
            );
            let _ = veille::ingest::parse_feed(data, None, "http://example.org/flux", now);
        }
        "page" => {
            let selectors = PageSelectors {
                item: "li.item, article".into(),
                title: "a, h2".into(),
                link: "a".into(),
                date: Some("time".into()),
                summary: Some("p".into()),
            };
            let _ = veille::ingest::parse_page(
                data,
                Some("text/html"),
                "http://example.org/liste",
                &selectors,
                now,
            );
        }
        "config" => {
            let text = String::from_utf8_lossy(data);
            if let Ok(config) = veille::config::parse(&text, "feeds.toml") {
                let _ = veille::tag::Tagger::new(&config);
            }
        }
        "rules" => {
            let _ = veille::tag::rules::parse(&String::from_utf8_lossy(data));
        }
        "csv" => {
            let _ = veille::mail::import::read_csv(data);
            let _ = veille::mail::import::decode(data);
        }
        "xlsx" => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("abonnes.xlsx");
            std::fs::write(&path, data).unwrap();
            let _ = veille::mail::import::read_file(&path);
        }
        "cron" => {
            if let Ok(expr) = veille::schedule::Expr::parse(&String::from_utf8_lossy(data)) {
                let _ = format!("{expr:?}");
            }
        }
        "bounce" => {
            let c = veille::mail::bounce::classify::classify(data);
            let _ = veille::mail::bounce::message_key(data);
            let _ = format!("{:?} {:?}", c.kind, c.recipients);
        }
        "http" => http::request(data),
        "extract" => {
            let _ = veille::extract::extract(
                data,
                Some("text/html"),
                Some("https://www.exemple.fr/article/1"),
            );
            let _ = veille::extract::extract(data, None, None);
        }
        other => panic!("cible inconnue {other}"),
    }
}

/// HTTP requests to `veille serve`'s router, in process (no socket: the fuzzer measures the
/// router, its extractors and its guard, not the kernel). One router per thread, built once.
mod http {
    use std::cell::OnceCell;
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use tower::ServiceExt;

    struct Site {
        _dir: tempfile::TempDir,
        runtime: tokio::runtime::Runtime,
        app: axum::Router,
    }

    thread_local! {
        static SITE: OnceCell<Site> = const { OnceCell::new() };
    }

    fn site() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The repository's templates, so the subscription pages render for real; mail to a
        // closed port, so a confirmation fails fast instead of waiting on a server.
        let text = "[settings]\nuser_agent = \"veille-fuzz/0.1 (+https://example.org/contact)\"\n\n\
                    [dossiers.pauvrete]\ntitle = \"Pauvreté\"\npanorama = true\n\n\
                    [mail]\nfrom = \"Veille <veille@exemple.fr>\"\nsmtp = \"smtp://127.0.0.1:9\"\n\n\
                    [lists.lettre]\ntitle = \"Lettre\"\n";
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml");
        let config = veille::config::parse(text, &file.display().to_string()).unwrap();
        let archive = dir.path().join("archive");
        let app = runtime.block_on(async {
            let store = veille::store::Store::open(&archive).await.unwrap();
            veille::web::guard::protect(veille::web::app(&config, &archive, store).unwrap())
        });
        Site {
            _dir: dir,
            runtime,
            app,
        }
    }

    /// `METHOD TARGET` on the first line, `Name: value` lines, a blank line, the body. What
    /// `http` itself refuses to build never reaches a server either, so it is skipped.
    fn parse(data: &[u8]) -> Option<axum::http::Request<axum::body::Body>> {
        let split = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, i + 4))
            .unwrap_or((data.len(), data.len()));
        let head = String::from_utf8_lossy(&data[..split.0]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.splitn(2, ' ');
        let method = first.next()?;
        let target = first.next().unwrap_or("/");
        // A method or header `http` refuses is left out rather than the whole request, so
        // mutated inputs still reach the router; a target it refuses ends the input.
        let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let uri: axum::http::Uri = target.parse().ok()?;
        let mut builder = axum::http::Request::builder().method(method).uri(uri);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.trim().as_bytes()),
                axum::http::HeaderValue::from_str(value.trim_start()),
            ) else {
                continue;
            };
            builder = builder.header(name, value);
        }
        let mut request = builder
            .body(axum::body::Body::from(data[split.1..].to_vec()))
            .ok()?;
        let peer: SocketAddr = ([127, 0, 0, 1], 40_000).into();
        request.extensions_mut().insert(ConnectInfo(peer));
        Some(request)
    }

    /// Inputs that reached the router (the rest had a target `http` refuses).
    pub(crate) static ROUTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    pub(crate) fn request(data: &[u8]) {
        let Some(request) = parse(data) else {
            return;
        };
        ROUTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SITE.with(|cell| {
            let site = cell.get_or_init(site);
            site.runtime.block_on(async {
                let response = site.app.clone().oneshot(request).await.unwrap();
                assert!(
                    response.headers().contains_key("x-content-type-options"),
                    "réponse sans en-têtes de sécurité : {}",
                    response.status()
                );
                let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
            });
        });
    }
}

fn files(dir: &Path, prefix: Option<&str>) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            prefix.is_none_or(|pre| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{pre}-")))
            })
        })
        .collect();
    found.sort();
    found
}

/// The seeds of a target. XLSX seeds are made by the test itself (a real workbook from
/// rust_xlsxwriter is not a dependency): a zip with a broken sheet still walks calamine's path.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = files(&fuzz_dir().join("corpus").join(target), None)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    if target == "config" {
        // The shipped configuration, read in place.
        seeds
            .push(std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds.toml")).unwrap());
    }
    if target == "xlsx" {
        seeds.push(b"PK\x03\x04\x14\x00\x00\x00\x08\x00xl/worksheets/sheet1.xml".to_vec());
        seeds.extend(
            files(&fuzz_dir().join("corpus").join("csv"), None)
                .iter()
                .map(|p| std::fs::read(p).unwrap()),
        );
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    seeds
}

/// One mutation of a seed: bit flips, interesting bytes, cut, duplicated or spliced chunks.
fn mutate(rng: &mut fastrand::Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.usize(..seeds.len())].clone();
    const TOKENS: &[&[u8]] = &[
        b"<",
        b">",
        b"&",
        b"&#x0;",
        b"]]>",
        b"<![CDATA[",
        b"\"",
        b"'",
        b"\\",
        b"\x00",
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\xc3",
        b"(",
        b")",
        b"NEAR/",
        b" OR ",
        b" NOT ",
        b"*",
        b"/",
        b"-",
        b",",
        b"99999999999999999999",
        b"\n",
        b"\r\n",
        b"[[sources]]\n",
        b"=",
        b"encoding=\"x\"",
    ];
    for _ in 0..rng.usize(1..8) {
        let len = data.len();
        match rng.u8(..6) {
            0 if len > 0 => {
                let i = rng.usize(..len);
                data[i] ^= 1 << rng.u8(..8);
            }
            1 => {
                let token = TOKENS[rng.usize(..TOKENS.len())];
                let at = rng.usize(..=len);
                data.splice(at..at, token.iter().copied());
            }
            2 if len > 1 => {
                let start = rng.usize(..len);
                let end = (start + rng.usize(1..=64)).min(len);
                data.drain(start..end);
            }
            3 if len > 1 => {
                let start = rng.usize(..len);
                let end = (start + rng.usize(1..=256)).min(len);
                let chunk: Vec<u8> = data[start..end].to_vec();
                let at = rng.usize(..=len);
                for _ in 0..rng.usize(1..4) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            4 => {
                let other = &seeds[rng.usize(..seeds.len())];
                if !other.is_empty() {
                    let start = rng.usize(..other.len());
                    let at = rng.usize(..=len);
                    data.splice(at..at, other[start..].iter().copied());
                }
            }
            _ if len > 0 => {
                let i = rng.usize(..len);
                data[i] = rng.u8(..);
            }
            _ => data.push(rng.u8(..)),
        }
    }
    data.truncate(MAX_INPUT);
    data
}

/// Figures of one campaign.
struct Campaign {
    executions: u64,
    slowest: Duration,
    slow: u64,
    crashes: Vec<PathBuf>,
}

fn campaign(target: &str, budget: Duration, seed: u64) -> Campaign {
    let seeds = seeds(target);
    let mut rng = fastrand::Rng::with_seed(seed);
    let start = Instant::now();
    let mut result = Campaign {
        executions: 0,
        slowest: Duration::ZERO,
        slow: 0,
        crashes: Vec::new(),
    };
    std::panic::set_hook(Box::new(|_| {}));
    while start.elapsed() < budget {
        let data = mutate(&mut rng, &seeds);
        let began = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| run(target, &data)));
        let took = began.elapsed();
        result.slowest = result.slowest.max(took);
        result.executions += 1;
        if took > SLOW {
            // Kept for a look, not a failure: on a shared machine a pause may be the scheduler's.
            let name = format!("lent-{target}-{:016x}", fxhash(&data));
            std::fs::write(fuzz_dir().join("crashes").join(name), &data).unwrap();
            result.slow += 1;
        }
        if outcome.is_err() {
            let name = format!("{target}-{:016x}", fxhash(&data));
            let path = fuzz_dir().join("crashes").join(name);
            std::fs::write(&path, &data).unwrap();
            result.crashes.push(path);
        }
    }
    let _ = std::panic::take_hook();
    result
}

fn fxhash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Regression: every seed and every crash ever found goes through its target without panic.
#[test]
fn corpus_and_past_crashes_pass() {
    let mut replayed = 0;
    for target in TARGETS {
        for data in seeds(target) {
            run(target, &data);
            replayed += 1;
        }
        let mut past = files(&fuzz_dir().join("crashes"), Some(target));
        past.extend(files(
            &fuzz_dir().join("crashes"),
            Some(&format!("lent-{target}")),
        ));
        for crash in past {
            run(target, &std::fs::read(&crash).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed >= TARGETS.len(), "{replayed} entrées rejouées");
}

/// A short campaign in the ordinary suite, so the fuzzer itself stays working.
#[test]
fn a_short_campaign_finds_no_crash() {
    for target in TARGETS {
        let c = campaign(target, Duration::from_millis(300), 18);
        assert!(c.executions > 0, "{target} : aucune exécution");
        assert!(c.crashes.is_empty(), "{target} : {:?}", c.crashes);
    }
}

/// `make fuzz`: `FUZZ_SECS` (default 60) per target, `FUZZ_TARGETS` to choose (comma list).
#[test]
#[ignore = "campagne longue : make fuzz"]
fn campaigns() {
    let secs: u64 = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let chosen = std::env::var("FUZZ_TARGETS").unwrap_or_default();
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut crashed = Vec::new();
    for target in TARGETS
        .iter()
        .filter(|t| chosen.is_empty() || chosen.split(',').any(|c| c == **t))
    {
        let c = campaign(target, Duration::from_secs(secs), seed);
        println!(
            "fuzz {target:<7} {secs:>5} s  {:>9} exécutions  {:>8.0}/s  plus lente {:>6.1} ms  lentes {}  plantages {}",
            c.executions,
            c.executions as f64 / secs as f64,
            c.slowest.as_secs_f64() * 1000.0,
            c.slow,
            c.crashes.len()
        );
        if *target == "http" {
            println!(
                "fuzz http : {} requêtes arrivées au routeur",
                http::ROUTED.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
        crashed.extend(c.crashes);
    }
    assert!(
        crashed.is_empty(),
        "plantages enregistrés (graine {seed}) : {crashed:?}"
    );
}
