//! The triage TUI over a store of 100,000 stories (120,000 articles, a sixth of the stories
//! carried by two sources, 70 % tagged): time from start (store opened, inbox loaded) to the
//! first drawn inbox, and to the frame with the dossiers' counts that follows it; then
//! per-keystroke time (the key's work on the store plus a full redraw, to ratatui's
//! TestBackend at 120×40) while moving (`j`) and deciding (`g`), p50 and p99, and the work
//! the loop does once that frame is drawn (reading the next story's detail); one `Tab` to
//! the next dossier, then many through every view in turn, p50 and p99. `cargo bench` passes
//! `--bench`; without it (`cargo test --all-targets`) 2,000 stories are used, as a smoke
//! test. With `VEILLE_BENCH_QUERIES=1`, the statements sent to the store by the start, one
//! `j` and one `g` are listed afterwards with their time (sqlx's statement events), to see
//! where a key's time goes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use veille::curate::{App, ui};
use veille::store::Store;

const DOSSIERS: [&str; 4] = ["pauvrete", "securite", "education", "laicite"];

async fn fill(store: &Store, stories: usize) {
    let pool = store
        .sqlite_pool()
        .expect("the bench fills an SQLite archive it opened itself");
    let mut tx = pool.begin().await.unwrap();
    for s in 0..3 {
        sqlx::query("INSERT INTO sources (id, name, kind, url) VALUES ($1, $2, 'feed', $3)")
            .bind(s + 1)
            .bind(format!("Source {s}"))
            .bind(format!("https://source{s}.example/rss"))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let base = chrono::Utc::now();
    let mut id: i64 = 0;
    for story in 0..stories {
        let copies = if story % 6 == 0 { 2 } else { 1 };
        let story_id = id + 1;
        for copy in 0..copies {
            id += 1;
            let at =
                veille::store::timestamp(base - chrono::Duration::minutes(story as i64 * 3 + copy));
            sqlx::query(
                "INSERT INTO articles (id, source_id, canonical_url, url, title, summary_text, first_seen,
                   updated_at, published, story, territories)
                 VALUES ($1, $2, $3, $3, $4, $5, $6, $6, $6, $7, $8)",
            )
            .bind(id)
            .bind(1 + (copy + story as i64) % 3)
            .bind(format!("https://source.example/{id}"))
            .bind(format!("Histoire {story} : un titre de la presse régionale sur les politiques sociales"))
            .bind("Un chapeau de deux phrases, comme la presse en publie. Il décrit l'événement.")
            .bind(&at)
            .bind(if copy == 0 { None } else { Some(story_id) })
            .bind(if story % 5 == 0 { "[\"haute-garonne\"]" } else { "[]" })
            .execute(&mut *tx)
            .await
            .unwrap();
            if story % 10 < 7 && copy == 0 {
                sqlx::query(
                    "INSERT INTO tags (article_id, dossier, score, why) VALUES ($1, $2, $3, '[]')",
                )
                .bind(id)
                .bind(DOSSIERS[story % 4])
                .bind(0.5 + (story % 17) as f64 / 10.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
}

/// The statements recorded while `STATEMENTS` holds a list: (statement, seconds).
static STATEMENTS: Mutex<Option<Vec<(String, f64)>>> = Mutex::new(None);

/// Records sqlx's statement events (target `sqlx::query`) into `STATEMENTS`.
struct StatementLog;

#[derive(Default)]
struct StatementFields {
    summary: String,
    sql: String,
    secs: f64,
}

impl tracing::field::Visit for StatementFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.sql = value.to_string(),
            _ => {}
        }
    }
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.secs = value;
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = StatementFields::default();
        event.record(&mut fields);
        let text = if fields.sql.trim().is_empty() {
            fields.summary
        } else {
            fields.sql.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        if let Some(list) = STATEMENTS.lock().unwrap().as_mut() {
            list.push((text, fields.secs));
        }
    }
}

/// Runs `work` with the statements recorded, then prints them under `label`.
async fn traced<T>(label: &str, work: impl std::future::Future<Output = T>) -> T {
    *STATEMENTS.lock().unwrap() = Some(Vec::new());
    let t = Instant::now();
    let out = work.await;
    let total = t.elapsed();
    let list = STATEMENTS.lock().unwrap().take().unwrap_or_default();
    // `+ 0.0`: the sum of no term is -0.0 for f64.
    let sum: f64 = list.iter().map(|(_, s)| s).sum::<f64>() + 0.0;
    println!(
        "{label} : {} requêtes, {:.2} ms en requêtes sur {:.2} ms",
        list.len(),
        sum * 1000.0,
        total.as_secs_f64() * 1000.0
    );
    for (sql, secs) in list {
        let short: String = sql.chars().take(110).collect();
        println!("  {:7.3} ms  {short}", secs * 1000.0);
    }
    out
}

/// The statements of a start, of the frame after it, of a `j`, a `g` and a `j` after it,
/// each after the work the loop does once the previous frame is drawn.
async fn trace_keys(dir: &std::path::Path, config: veille::config::Config) {
    let store = Store::open(dir).await.unwrap();
    let app = App::new(store, config, dir.to_path_buf(), "bench".into(), None);
    let mut app = traced("Démarrage", app).await.unwrap();
    traced("Après la première image", app.after_frame())
        .await
        .unwrap();
    for (label, key) in [
        ("Touche j", 'j'),
        ("Touche g", 'g'),
        ("Touche j après g", 'j'),
    ] {
        // The frame after the previous key, as the loop draws it, reads the next detail.
        traced("  après l'image précédente", app.after_frame())
            .await
            .unwrap();
        let press = app.on_key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE));
        traced(label, press).await.unwrap();
    }
}

/// The process's CPU time and context switches so far (every thread: sqlx's SQLite workers
/// too), to tell a press that worked long from one that waited for a core.
#[derive(Clone, Copy)]
struct Usage {
    cpu: Duration,
    /// Switches the process asked for (waiting on a thread, a lock, the disk).
    voluntary: i64,
    /// Switches the scheduler imposed (another process took the core).
    involuntary: i64,
}

impl Usage {
    fn now() -> Usage {
        // SAFETY: `getrusage` only writes the zeroed struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Usage {
            cpu: time(u.ru_utime) + time(u.ru_stime),
            voluntary: u.ru_nvcsw,
            involuntary: u.ru_nivcsw,
        }
    }

    fn since(&self, before: &Usage) -> Usage {
        Usage {
            cpu: self.cpu.saturating_sub(before.cpu),
            voluntary: self.voluntary - before.voluntary,
            involuntary: self.involuntary - before.involuntary,
        }
    }
}

/// One `Tab` of the many: the view it went to, its time (key + frame), the key's part, the
/// work after the frame, and the process's usage over all three.
struct Press {
    view: usize,
    wall: Duration,
    key: Duration,
    after: Duration,
    usage: Usage,
}

/// The slowest `Tab` presses beside the median one: whether the tail is work (CPU time
/// grows with the time) or waiting (time without CPU, involuntary switches). Every press
/// with `VEILLE_BENCH_TABS_DETAIL=1`.
fn report_presses(presses: &mut [Press]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let line = |label: &str, p: &Press| {
        println!(
            "  {label} vue {} : {:.2} ms (touche {:.2}, après l'image {:.2}), CPU {:.2} ms, \
             commutations {} volontaires / {} imposées",
            p.view,
            ms(p.wall),
            ms(p.key),
            ms(p.after),
            ms(p.usage.cpu),
            p.usage.voluntary,
            p.usage.involuntary
        );
    };
    if std::env::var_os("VEILLE_BENCH_TABS_DETAIL").is_some() {
        for (i, p) in presses.iter().enumerate() {
            line(&format!("Tab n° {i}"), p);
        }
    }
    presses.sort_by_key(|p| p.wall);
    if let Some(p) = presses.get(presses.len() / 2) {
        line("Tab médian", p);
    }
    for p in presses.iter().rev().take(3) {
        line("Tab lent", p);
    }
}

/// `tabs` presses of `Tab` through every view in turn, each with its frame, then the work
/// the loop does once the frame is drawn (not in the key's time, but before the next key);
/// returns each press's time (key + frame) and prints the slowest ones.
async fn many_tabs(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    tabs: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(tabs);
    let mut presses = Vec::with_capacity(tabs);
    for i in 0..tabs {
        let before = Usage::now();
        let t = Instant::now();
        app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
            .await
            .unwrap();
        let key = t.elapsed();
        terminal.draw(|f| ui::draw(f, app)).unwrap();
        times.push(t.elapsed());
        // As the loop does once the frame is drawn (the detail, when the `Tab` left it
        // for after the frame): not in the key's time, but before the next key.
        let t = Instant::now();
        app.after_frame().await.unwrap();
        presses.push(Press {
            // The single `Tab` above went to view 1; 0 is « tous », then each dossier.
            view: (i + 2) % (DOSSIERS.len() + 1),
            wall: *times.last().unwrap(),
            key,
            after: t.elapsed(),
            usage: Usage::now().since(&before),
        });
    }
    report_presses(&mut presses);
    times
}

/// A centre that joins a network: none of the stored articles is tagged by its rules yet
/// (the bench wrote its tags without `tag_marks`), so the catch-up tags them all. The first
/// frame no longer waits for it: time to the first frame, then `j` while it runs, and how
/// long it runs (what the first frame waited before).
async fn joining_centre(dir: &std::path::Path) {
    let mut text = String::new();
    for (i, d) in DOSSIERS.iter().enumerate() {
        // Words of the bench's titles and ledes: every article is tagged again.
        let word = ["politiques", "presse", "régionale", "événement"][i];
        text.push_str(&format!(
            "[dossiers.{d}]\ntitle = \"{d}\"\nrules = '''{word}'''\n"
        ));
    }
    let config = veille::config::parse(&text, "feeds.toml").unwrap();
    let tagger = veille::tag::Tagger::new(&config).unwrap();
    let start = Instant::now();
    let store = Store::open(dir).await.unwrap();
    let mut app = App::new(store, config, dir.to_path_buf(), "bench".into(), None)
        .await
        .unwrap();
    app.catch_up_in_background(tagger);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| ui::draw(f, &app)).unwrap();
    let first = start.elapsed();
    let mut keys = Vec::new();
    let mut status = String::new();
    while app.catching_up() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t = Instant::now();
        app.on_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE))
            .await
            .unwrap();
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
        keys.push(t.elapsed());
        let screen = terminal.backend().to_string();
        if let Some(at) = screen.find("étiquetage en cours") {
            status = screen[at..]
                .lines()
                .next()
                .unwrap_or("")
                .trim_end_matches(['"', ' '])
                .to_string();
        }
        app.after_frame().await.unwrap();
    }
    keys.sort();
    println!(
        "Centre qui rejoint (tout à étiqueter) → première liste dessinée : {:.0} ms ; \
         étiquetage fini à {:.1} s (dernier état affiché : « {status} »)",
        first.as_secs_f64() * 1000.0,
        start.elapsed().as_secs_f64()
    );
    if !keys.is_empty() {
        println!(
            "  pendant l'étiquetage, touche j : p50 {:.2} ms, p99 {:.2} ms (sur {})",
            percentile(&keys, 0.5).as_secs_f64() * 1000.0,
            percentile(&keys, 0.99).as_secs_f64() * 1000.0,
            keys.len()
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let stories = if bench_mode { 100_000 } else { 2_000 };
    let trace = std::env::var_os("VEILLE_BENCH_QUERIES").is_some();
    if trace {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::{Layer, filter::Targets};
        let only_statements = Targets::new().with_target("sqlx::query", tracing::Level::TRACE);
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(StatementLog.with_filter(only_statements)),
        )
        .unwrap();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let config = veille::config::parse(
            "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\n[dossiers.securite]\ntitle = \"Sécurité\"\n\
             [dossiers.education]\ntitle = \"Éducation\"\n[dossiers.laicite]\ntitle = \"Laïcité\"\n",
            "feeds.toml",
        )
        .unwrap();
        {
            let store = Store::open(dir.path()).await.unwrap();
            let filling = Instant::now();
            fill(&store, stories).await;
            println!(
                "Base de {stories} histoires remplie en {:.1} s",
                filling.elapsed().as_secs_f64()
            );
            // Rows written behind the store's back: the inbox is built as migration 0012
            // builds it for an archive that upgrades.
            let building = Instant::now();
            store.rebuild_inbox().await.unwrap();
            println!(
                "Boîte de réception dénormalisée construite (comme la migration 0012) en {:.1} s",
                building.elapsed().as_secs_f64()
            );
        }
        let traced_config = config.clone();
        let start = Instant::now();
        let store = Store::open(dir.path()).await.unwrap();
        let mut app = App::new(store, config, dir.path().to_path_buf(), "bench".into(), None)
            .await
            .unwrap();
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
        let first_draw = start.elapsed();
        assert!(!app.rows.is_empty());
        // What the loop does right after the first frame: the counts, and a frame with them.
        app.after_frame().await.unwrap();
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
        let counted = start.elapsed();
        println!(
            "Démarrage → première liste dessinée : {:.0} ms ({} lignes chargées)",
            first_draw.as_secs_f64() * 1000.0,
            app.rows.len()
        );
        println!(
            "Démarrage → comptes des dossiers dessinés : {:.0} ms",
            counted.as_secs_f64() * 1000.0
        );
        let presses = if bench_mode { 300 } else { 30 };
        for (label, key) in [("j (descendre)", 'j'), ("g (garder)", 'g')] {
            let mut times = Vec::with_capacity(presses);
            let mut after = Vec::with_capacity(presses);
            for _ in 0..presses {
                let t = Instant::now();
                app.on_key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE))
                    .await
                    .unwrap();
                terminal.draw(|f| ui::draw(f, &app)).unwrap();
                times.push(t.elapsed());
                // As the loop does once the frame is drawn: the next story's detail.
                let t = Instant::now();
                app.after_frame().await.unwrap();
                after.push(t.elapsed());
            }
            times.sort();
            after.sort();
            println!(
                "Touche {label} : p50 {:.2} ms, p99 {:.2} ms (sur {presses})",
                percentile(&times, 0.5).as_secs_f64() * 1000.0,
                percentile(&times, 0.99).as_secs_f64() * 1000.0
            );
            println!(
                "  puis, l'image dessinée, lecture du détail suivant : p50 {:.2} ms, p99 {:.2} ms",
                percentile(&after, 0.5).as_secs_f64() * 1000.0,
                percentile(&after, 0.99).as_secs_f64() * 1000.0
            );
        }
        // A tab to another dossier reloads the inbox.
        let t = Instant::now();
        app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE))
            .await
            .unwrap();
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
        println!(
            "Changement de dossier (Tab, liste rechargée) : {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        // One Tab is one sample on a shared machine: the views in turn, many times, give
        // its spread (and a window a profiler can record; `VEILLE_BENCH_TABS` sets how many).
        let tabs = std::env::var("VEILLE_BENCH_TABS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(if bench_mode { 50 } else { 10 });
        let mut times = many_tabs(&mut app, &mut terminal, tabs).await;
        times.sort();
        println!(
            "Touche Tab (chaque vue tour à tour) : p50 {:.2} ms, p99 {:.2} ms (sur {tabs})",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0
        );
        if trace {
            trace_keys(dir.path(), traced_config).await;
        }
        // Last: it rewrites the tags of every article.
        joining_centre(dir.path()).await;
    });
}
