//! Article extraction throughput of `veille::extract` on the 181 pages of the zyte benchmark
//! (`../shared/fixtures/extraction/zyte`), side by side with Python trafilatura on the same
//! pages in the same run (`benches/trafilatura_bench.py`, run with `.venv/bin/python`, which
//! `make deps` creates), with the F1 of both sides against the ground truth.
//!
//! Both sides hold every page in memory (decompressed) first, run one untimed round (whose
//! texts are scored), then time whole rounds until `MIN_SECONDS` have passed. veille decodes
//! bytes (charset sniffing included); trafilatura receives already-decoded text.
//!
//! `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) this only runs one
//! round of veille as a smoke test, and prints no figures.

use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use veille::extract::eval::{page_counts, precision_recall_f1};

const MIN_SECONDS: f64 = 5.0;

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../shared/fixtures/extraction/zyte");
    if !root.is_dir() {
        // The line libtest prints for an ignored test, so that `make test` counts it.
        println!("bench extract ... ignored, ../shared/fixtures absent");
        return;
    }
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("ground-truth.json")).unwrap()).unwrap();
    let mut pages: Vec<(String, String, Vec<u8>, String)> = truth
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, item)| {
            let file = std::fs::File::open(root.join(format!("html/{id}.html.gz"))).unwrap();
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut bytes)
                .unwrap();
            (
                id.clone(),
                item["url"].as_str().unwrap().to_owned(),
                bytes,
                item["articleBody"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pages.sort_by(|a, b| a.0.cmp(&b.0));
    let bytes: usize = pages.iter().map(|p| p.2.len()).sum();
    println!(
        "bench extract: {} pages, {:.1} MiB, from {}",
        pages.len(),
        bytes as f64 / 1_048_576.0,
        root.display()
    );

    let counts: Vec<_> = pages
        .iter()
        .map(|(_, url, html, truth)| {
            let text = veille::extract::extract(html, None, Some(url))
                .map(|a| a.text)
                .unwrap_or_default();
            page_counts(truth, &text)
        })
        .collect();
    let (p, r, f1) = precision_recall_f1(&counts);
    if !bench_mode {
        println!("bench extract: smoke test passed (one round; run `cargo bench` for figures)");
        return;
    }
    let mut rounds = 0;
    let start = Instant::now();
    let veille_seconds = loop {
        for (_, url, html, _) in &pages {
            let _ = black_box(veille::extract::extract(black_box(html), None, Some(url)));
        }
        rounds += 1;
        let s = start.elapsed().as_secs_f64();
        if s >= MIN_SECONDS {
            break s;
        }
    };
    let veille_rate = (pages.len() * rounds) as f64 / veille_seconds;
    println!(
        "bench extract: veille (rs-trafilatura) {rounds} rounds in {veille_seconds:.2} s: {veille_rate:.1} pages/s; P {p:.3} R {r:.3} F1 {f1:.3}"
    );

    let python = manifest.join(".venv/bin/python");
    // The comparison is part of the run: a missing oracle fails instead of passing unseen.
    assert!(
        python.exists(),
        "{} absent : lancez `make deps` (il crée le venv avec Python trafilatura ; `make bench` \
         le lance d'abord)",
        python.display()
    );
    let out = Command::new(&python)
        .arg(manifest.join("benches/trafilatura_bench.py"))
        .arg(MIN_SECONDS.to_string())
        .arg(&root)
        .output()
        .expect("run trafilatura_bench.py");
    assert!(
        out.status.success(),
        "trafilatura_bench.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from python");
    let py_counts: Vec<_> = pages
        .iter()
        .map(|(id, _, _, truth)| page_counts(truth, py["texts"][id].as_str().unwrap_or("")))
        .collect();
    let (pp, pr, pf1) = precision_recall_f1(&py_counts);
    let py_rate = (py["pages"].as_f64().unwrap() * py["rounds"].as_f64().unwrap())
        / py["seconds"].as_f64().unwrap();
    println!(
        "bench extract: trafilatura {} {} rounds in {:.2} s: {py_rate:.1} pages/s; P {pp:.3} R {pr:.3} F1 {pf1:.3}",
        py["version"].as_str().unwrap_or("?"),
        py["rounds"],
        py["seconds"].as_f64().unwrap()
    );
    println!(
        "bench extract: veille {veille_rate:.1} pages/s, trafilatura {py_rate:.1} pages/s, ratio {:.2}x",
        veille_rate / py_rate
    );
}
