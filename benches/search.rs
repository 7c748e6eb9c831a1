//! Search latency of `veille::search` (tantivy) side by side with SQLite FTS5, on the same
//! synthetic French articles and the same queries, in the same run.
//!
//! The articles are generated deterministically: words drawn with a Zipf law from a
//! vocabulary made of the words of `../shared/fixtures/eval/*.tsv` (read in place; ranked by
//! their frequency there) followed by a tail of made-up words, so that frequent words are
//! common and most words rare, as in real text; titles of 6 to 14 words, summaries of 20 to
//! 60. The queries (about 200) are single words, two words (AND), and two-word phrases taken
//! from generated titles; no stop words, since FTS5 does not drop them.
//!
//! Both engines return the top 20 by relevance with a snippet: tantivy through
//! `SearchIndex::search` (the `veille search` path: query parsing, stemmed and folded fields,
//! stored fields, snippet), FTS5 through `MATCH … ORDER BY rank LIMIT 20` with `snippet()`
//! and title weight 2 (as tantivy). Both indexes are merged once built (tantivy to one
//! segment, FTS5 `optimize`) and both read through mmap. One untimed warm-up pass, then
//! `ROUNDS` timed passes, each query run on one engine then the other. FTS5 goes through
//! sqlx, whose worker thread adds some tens of microseconds per query.
//!
//! Size: `VEILLE_BENCH_DOCS` or the first numeric argument, 1,000,000 by default. Without
//! `--bench` (`cargo test --all-targets`), a smoke test on 3,000 articles that prints no
//! figures. Files go to a temporary folder under `target/`, removed at the end.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection};
use tantivy::collector::Count;
use veille::search::{SearchDoc, SearchIndex};

const DEFAULT_DOCS: usize = 1_000_000;
const SMOKE_DOCS: usize = 3_000;
const VOCABULARY: usize = 60_000;
const ROUNDS: usize = 3;
const LIMIT: usize = 20;
const SEED: u64 = 0x7665_696c_6c65;

const SOURCES: &[&str] = &[
    "Le Monde",
    "La Dépêche du Midi",
    "Midi Libre",
    "Ouest-France",
    "Libération",
    "Le Figaro",
    "France Info",
    "L'Indépendant",
    "Centre Presse Aveyron",
    "La Gazette des communes",
    "Observatoire des inégalités",
    "Préfecture de la région Occitanie",
    "Défenseur des droits",
    "Insee",
    "Le Parisien",
    "20 Minutes Toulouse",
    "Actu Toulouse",
    "France 3 Occitanie",
    "Mediapart",
    "L'Humanité",
];
const TERRITORIES: &[&str] = &[
    "ariege",
    "aude",
    "aveyron",
    "gard",
    "haute-garonne",
    "gers",
    "herault",
    "lot",
    "lozere",
    "hautes-pyrenees",
    "pyrenees-orientales",
    "tarn",
    "tarn-et-garonne",
];
/// Used when the fixtures are not there.
const BUILT_IN: &str = "de la le les des et à en un une du pour sur dans au par est qui que \
    pas plus avec ce son ses aux se il elle ont sont été être a été nouveau nouvelle france \
    gouvernement ministre président loi projet plan réforme ville commune région département \
    préfet maire conseil école collège lycée élèves enseignants laïcité sécurité police \
    gendarmerie délinquance prévention pauvreté précarité logement emploi chômage santé \
    hôpital femmes hommes égalité violences discrimination racisme justice tribunal procès \
    rapport étude enquête association quartier quartiers prioritaires habitants jeunes \
    familles enfants aide aides social solidarité revenu insertion formation langue \
    apprentissage illettrisme radicalisation religion islam église culture sport budget";

/// Words with their Zipf cumulative distribution.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
    /// Ranks of the real (non-synthetic), non-stop words: query material.
    content: Vec<usize>,
    real: usize,
}

fn fixture_words(manifest: &Path) -> (Vec<String>, String) {
    let dir = manifest.join("../shared/fixtures/eval");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let columns: Vec<usize> = (0..header.len())
            .filter(|&i| header[i].starts_with("title") || header[i].starts_with("summary"))
            .collect();
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            for &c in &columns {
                for word in cells
                    .get(c)
                    .unwrap_or(&"")
                    .split(|ch: char| !ch.is_alphanumeric())
                {
                    if !word.is_empty() && word.chars().count() <= 20 {
                        *counts.entry(word.to_lowercase()).or_default() += 1;
                    }
                }
            }
        }
    }
    if counts.len() < 200 {
        let words = BUILT_IN.split_whitespace().map(str::to_string).collect();
        return (words, "a built-in word list".into());
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let origin = format!("{} ({} files)", dir.display(), files.len());
    (ranked.into_iter().map(|(w, _)| w).collect(), origin)
}

impl Vocabulary {
    fn new(manifest: &Path) -> (Vocabulary, String) {
        let (mut words, origin) = fixture_words(manifest);
        let real = words.len();
        // Made-up words for the long tail, pronounceable and distinct.
        const SYLLABLES: &[&str] = &[
            "ba", "ri", "lo", "mé", "tu", "ca", "ni", "vo", "sé", "pa", "lu", "dra", "ten", "gor",
            "fi", "mon", "cha", "vel", "ru", "zin", "por", "què", "lan", "bi",
        ];
        let mut rng = fastrand::Rng::with_seed(SEED);
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < VOCABULARY {
            let n = rng.usize(2..=4);
            let word: String = (0..n)
                .map(|_| SYLLABLES[rng.usize(..SYLLABLES.len())])
                .collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut cumulative = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for rank in 1..=words.len() {
            total += 1.0 / rank as f64;
            cumulative.push(total);
        }
        for c in &mut cumulative {
            *c /= total;
        }
        let content = (0..real)
            .filter(|&r| {
                let w = &words[r];
                w.chars().count() >= 4
                    && w.chars().all(char::is_alphabetic)
                    && !veille::text::stems(w).is_empty()
            })
            .collect();
        (
            Vocabulary {
                words,
                cumulative,
                content,
                real,
            },
            origin,
        )
    }

    fn draw(&self, rng: &mut fastrand::Rng) -> &str {
        let u = rng.f64();
        let rank = self.cumulative.partition_point(|&c| c < u);
        &self.words[rank.min(self.words.len() - 1)]
    }

    fn sentence(&self, rng: &mut fastrand::Rng, words: usize) -> String {
        let mut out = String::with_capacity(words * 8);
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            let word = self.draw(rng);
            if i == 0 {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push_str(word);
            }
        }
        out
    }

    /// Article `i`, the same on every call.
    fn article(&self, i: usize) -> SearchDoc {
        let mut rng =
            fastrand::Rng::with_seed(SEED ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let title_len = rng.usize(6..=14);
        let title = self.sentence(&mut rng, title_len);
        let summary_len = rng.usize(20..=60);
        let summary = format!("{}.", self.sentence(&mut rng, summary_len));
        let dossiers = (0..rng.usize(0..=2))
            .map(|_| {
                veille::config::DOSSIER_IDS[rng.usize(..veille::config::DOSSIER_IDS.len())]
                    .to_string()
            })
            .collect();
        let territories = (0..rng.usize(0..=1))
            .map(|_| TERRITORIES[rng.usize(..TERRITORIES.len())].to_string())
            .collect();
        // Two years from 2024-01-01.
        let published = DateTime::<Utc>::from_timestamp(1_704_067_200 + rng.i64(0..63_072_000), 0);
        SearchDoc {
            id: i as i64 + 1,
            story: i as i64 + 1,
            title,
            summary,
            body: String::new(),
            url: format!("https://example.org/articles/{}", i + 1),
            source: SOURCES[rng.usize(..SOURCES.len())].to_string(),
            dossiers,
            territories,
            published,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    And,
    Phrase,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Word => "one word",
            Kind::And => "two words (AND)",
            Kind::Phrase => "phrase",
        }
    }
}

struct BenchQuery {
    kind: Kind,
    tantivy: String,
    fts5: String,
}

/// About 200 queries: 80 single words, 80 pairs, 40 phrases.
fn queries(vocab: &Vocabulary, docs: usize, count: usize) -> Vec<BenchQuery> {
    let mut rng = fastrand::Rng::with_seed(SEED + 1);
    // Log-uniform over the content ranks: frequent, middling and rare words alike.
    let word = |rng: &mut fastrand::Rng| -> String {
        let max = vocab.content.len() as f64;
        let i = (max.powf(rng.f64()) as usize).min(vocab.content.len() - 1);
        vocab.words[vocab.content[i]].clone()
    };
    let is_content = |w: &str| {
        w.chars().count() >= 4
            && w.chars().all(char::is_alphabetic)
            && !veille::text::stems(w).is_empty()
    };
    let mut out = Vec::new();
    let singles = count * 2 / 5;
    let pairs = count * 2 / 5;
    for _ in 0..singles {
        let w = word(&mut rng);
        out.push(BenchQuery {
            kind: Kind::Word,
            fts5: format!("\"{w}\""),
            tantivy: w,
        });
    }
    for _ in 0..pairs {
        let (a, b) = (word(&mut rng), word(&mut rng));
        out.push(BenchQuery {
            kind: Kind::And,
            tantivy: format!("{a} {b}"),
            fts5: format!("\"{a}\" \"{b}\""),
        });
    }
    let mut doc = 0;
    while out.len() < count {
        doc = (doc + 7919) % docs;
        let title = vocab.article(doc).title.to_lowercase();
        let words: Vec<&str> = title.split(' ').collect();
        if let Some(pair) = words
            .windows(2)
            .find(|p| is_content(p[0]) && is_content(p[1]))
        {
            let phrase = format!("{} {}", pair[0], pair[1]);
            out.push(BenchQuery {
                kind: Kind::Phrase,
                tantivy: format!("\"{phrase}\""),
                fts5: format!("\"{phrase}\""),
            });
        }
    }
    out
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn build_tantivy(dir: &Path, vocab: &Vocabulary, docs: usize) -> (Duration, Duration) {
    let started = Instant::now();
    let (index, _) = SearchIndex::open(dir).expect("open the tantivy index");
    let indexed = index
        .rebuild((0..docs).map(|i| vocab.article(i)))
        .expect("tantivy rebuild");
    assert_eq!(indexed, docs as u64);
    let built = started.elapsed();
    // One segment, like FTS5 after `optimize`.
    let started = Instant::now();
    let mut writer = index.writer().expect("tantivy writer");
    let segments = index.index().searchable_segment_ids().expect("segments");
    if segments.len() > 1 {
        writer.merge(&segments).wait().expect("merge");
    }
    writer.commit().expect("commit");
    writer.wait_merging_threads().expect("merges");
    (built, started.elapsed())
}

async fn build_fts5(
    path: &Path,
    vocab: &Vocabulary,
    docs: usize,
) -> anyhow::Result<(SqliteConnection, Duration, Duration)> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        // A throwaway file: no journal, no fsync (tantivy does not fsync much either).
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .pragma("mmap_size", "17179869184")
        .pragma("cache_size", "-262144");
    let mut db = SqliteConnection::connect_with(&options).await?;
    sqlx::query(
        "CREATE VIRTUAL TABLE docs USING fts5(title, summary, url UNINDEXED,
         tokenize = 'unicode61 remove_diacritics 2')",
    )
    .execute(&mut db)
    .await
    .map_err(|e| anyhow::anyhow!("FTS5 is not available in the bundled SQLite: {e}"))?;
    // Titles weigh double, as in veille's index.
    sqlx::query("INSERT INTO docs(docs, rank) VALUES ('rank', 'bm25(2.0, 1.0)')")
        .execute(&mut db)
        .await?;
    let started = Instant::now();
    const BATCH: usize = 100;
    let mut tx = db.begin().await?;
    let mut start = 0;
    while start < docs {
        let end = (start + BATCH).min(docs);
        let placeholders = (0..end - start)
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, ${})",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO docs (rowid, title, summary, url) VALUES {placeholders}");
        // Only numbered placeholders are spliced in; the data goes through bindings.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for i in start..end {
            let a = vocab.article(i);
            query = query.bind(a.id).bind(a.title).bind(a.summary).bind(a.url);
        }
        query.execute(&mut *tx).await?;
        start = end;
        if start % 100_000 == 0 {
            // Keep each transaction's pending FTS data bounded.
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    tx.commit().await?;
    let built = started.elapsed();
    let started = Instant::now();
    sqlx::query("INSERT INTO docs(docs) VALUES ('optimize')")
        .execute(&mut db)
        .await?;
    Ok((db, built, started.elapsed()))
}

const FTS5_QUERY: &str = "SELECT rowid, title, url, snippet(docs, 1, '[', ']', '…', 24) AS snippet
     FROM docs WHERE docs MATCH $1 ORDER BY rank LIMIT $2";

/// p50 and p99 of the timings of one kind of query (all kinds for `None`).
fn latencies(times: &[(Kind, Duration)], kind: Option<Kind>) -> (Duration, Duration) {
    let mut v: Vec<Duration> = times
        .iter()
        .filter(|(k, _)| kind.is_none_or(|kind| *k == kind))
        .map(|(_, d)| *d)
        .collect();
    v.sort();
    (percentile(&v, 50.0), percentile(&v, 99.0))
}

/// The latency table, one line per kind of query and one for all.
fn print_table(
    queries: &[BenchQuery],
    tantivy_times: &[(Kind, Duration)],
    fts5_times: &[(Kind, Duration)],
) {
    println!();
    println!(
        "{:<18} {:>8} {:>14} {:>14} {:>14} {:>14}",
        "queries", "count", "tantivy p50", "tantivy p99", "FTS5 p50", "FTS5 p99"
    );
    for kind in [Some(Kind::Word), Some(Kind::And), Some(Kind::Phrase), None] {
        let (tp50, tp99) = latencies(tantivy_times, kind);
        let (fp50, fp99) = latencies(fts5_times, kind);
        let n = queries
            .iter()
            .filter(|q| kind.is_none_or(|k| q.kind == k))
            .count();
        println!(
            "{:<18} {:>8} {:>11.3} ms {:>11.3} ms {:>11.3} ms {:>11.3} ms",
            kind.map_or("all", Kind::name),
            n,
            ms(tp50),
            ms(tp99),
            ms(fp50),
            ms(fp99)
        );
    }
}

/// The number of synthetic articles: `VEILLE_BENCH_DOCS`, else a number among the
/// arguments (`cargo bench --bench search -- 1_000_000`), else the default of the mode.
fn doc_count(bench_mode: bool) -> anyhow::Result<usize> {
    Ok(std::env::var("VEILLE_BENCH_DOCS")
        .ok()
        .or_else(|| {
            std::env::args()
                .skip(1)
                .find(|a| a.parse::<usize>().is_ok())
        })
        .map(|n| n.replace('_', "").parse::<usize>())
        .transpose()?
        .unwrap_or(if bench_mode { DEFAULT_DOCS } else { SMOKE_DOCS }))
}

/// Articles matching each query in all, by tantivy and by FTS5.
fn count_matches(
    index: &SearchIndex,
    runtime: &tokio::runtime::Runtime,
    db: &mut SqliteConnection,
    queries: &[BenchQuery],
) -> anyhow::Result<(usize, usize)> {
    let searcher = index.index().reader()?.searcher();
    let (mut tantivy_total, mut fts5_total) = (0usize, 0usize);
    for q in queries {
        tantivy_total += searcher.search(&*index.parse(&q.tantivy)?, &Count)?;
        let count: i64 = runtime
            .block_on(
                sqlx::query("SELECT count(*) AS n FROM docs WHERE docs MATCH $1")
                    .bind(&q.fts5)
                    .fetch_one(&mut *db),
            )?
            .get("n");
        fts5_total += count as usize;
    }
    Ok((tantivy_total, fts5_total))
}

fn main() -> anyhow::Result<()> {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let docs = doc_count(bench_mode)?;
    let query_count = if bench_mode { 200 } else { 20 };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (vocab, origin) = Vocabulary::new(manifest);
    let queries = queries(&vocab, docs, query_count);
    let tmp = tempfile::Builder::new()
        .prefix("bench-search-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    println!(
        "bench search: {docs} synthetic articles, vocabulary of {} words ({} from {origin}), {} queries, files in {}",
        vocab.words.len(),
        vocab.real,
        queries.len(),
        tmp.path().display()
    );

    let tantivy_dir = tmp.path().join("search");
    let (tantivy_build, tantivy_merge) = build_tantivy(&tantivy_dir, &vocab, docs);
    println!(
        "bench search: tantivy index built in {:.1} s (+ {:.1} s merging to one segment), {:.0} MiB",
        tantivy_build.as_secs_f64(),
        tantivy_merge.as_secs_f64(),
        mib(dir_size(&tantivy_dir))
    );
    let (index, needs_rebuild) = SearchIndex::open(&tantivy_dir)?;
    assert!(!needs_rebuild);
    assert_eq!(index.num_docs(), docs as u64);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let sqlite_path = tmp.path().join("fts5.sqlite");
    let (mut db, fts5_build, fts5_optimize) =
        runtime.block_on(build_fts5(&sqlite_path, &vocab, docs))?;
    println!(
        "bench search: FTS5 index built in {:.1} s (+ {:.1} s optimize), {:.0} MiB",
        fts5_build.as_secs_f64(),
        fts5_optimize.as_secs_f64(),
        mib(std::fs::metadata(&sqlite_path)?.len())
    );

    let run_tantivy = |q: &BenchQuery| -> anyhow::Result<(Duration, usize)> {
        let started = Instant::now();
        let hits = index.search(&q.tantivy, None, LIMIT)?;
        Ok((started.elapsed(), hits.len()))
    };
    let mut run_fts5 = |q: &BenchQuery| -> anyhow::Result<(Duration, usize)> {
        let started = Instant::now();
        let rows = runtime.block_on(
            sqlx::query(FTS5_QUERY)
                .bind(&q.fts5)
                .bind(LIMIT as i64)
                .fetch_all(&mut db),
        )?;
        // Decode what the CLI would show, as tantivy's side does.
        let shown: Vec<(i64, String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.get("rowid"),
                    r.get("title"),
                    r.get("url"),
                    r.get("snippet"),
                )
            })
            .collect();
        Ok((started.elapsed(), shown.len()))
    };

    // Warm-up: page cache, tantivy's and SQLite's caches.
    for q in &queries {
        run_tantivy(q)?;
        run_fts5(q)?;
    }
    let rounds = if bench_mode { ROUNDS } else { 1 };
    let mut tantivy_times: Vec<(Kind, Duration)> = Vec::new();
    let mut fts5_times: Vec<(Kind, Duration)> = Vec::new();
    let (mut tantivy_hits, mut fts5_hits) = (0, 0);
    for round in 0..rounds {
        for q in &queries {
            let (t, n) = run_tantivy(q)?;
            tantivy_times.push((q.kind, t));
            let (f, m) = run_fts5(q)?;
            fts5_times.push((q.kind, f));
            if round == 0 {
                tantivy_hits += n;
                fts5_hits += m;
            }
        }
    }
    assert!(
        tantivy_hits > 0 && fts5_hits > 0,
        "the queries must find something"
    );

    if !bench_mode {
        println!("bench search: smoke test passed (run `cargo bench --bench search` for figures)");
        return Ok(());
    }

    // How many articles match in all (untimed): tantivy also matches other forms of a word
    // (stems), so it may find more.
    let (tantivy_total, fts5_total) = count_matches(&index, &runtime, &mut db, &queries)?;

    print_table(&queries, &tantivy_times, &fts5_times);
    println!();
    println!(
        "bench search: top-{LIMIT} hits returned over {} queries: tantivy {tantivy_hits}, FTS5 {fts5_hits}; matching articles in all: tantivy {tantivy_total}, FTS5 {fts5_total}",
        queries.len()
    );
    let (tp50, tp99) = latencies(&tantivy_times, None);
    let (fp50, fp99) = latencies(&fts5_times, None);
    println!(
        "bench search: FTS5 / tantivy latency ratio: p50 {:.1}x, p99 {:.1}x ({rounds} timed rounds)",
        ms(fp50) / ms(tp50),
        ms(fp99) / ms(tp99)
    );
    println!(
        "bench search: tantivy p50 {:.2} ms p99 {:.2} ms | FTS5 p50 {:.2} ms p99 {:.2} ms ({docs} docs, {} queries)",
        ms(tp50),
        ms(tp99),
        ms(fp50),
        ms(fp99),
        queries.len()
    );
    drop(index);
    runtime.block_on(db.close())?;
    tmp.close()?;
    Ok(())
}
