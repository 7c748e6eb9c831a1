//! Sending an edition to 6,600 recipients (Flash Info's audience) through a local SMTP sink,
//! with 1, 4 and 8 connections, next to the sink's own ceiling measured in the same run by
//! Postfix's `smtp-source` (a C client that only replays one message of the same size over
//! the same number of sessions). The sink is Postfix's `smtp-sink`, which discards mail.
//!
//! veille does what a real send does: the release binary, the ledger in SQLite (synced
//! commits shared by the connections), one message built and DKIM-signed (RSA 2048) per
//! recipient, no throttle
//! (`per_second` set above what the machine can do). `cargo bench` passes `--bench`; without
//! it (`cargo test --all-targets`) 40 recipients are sent, as a smoke test.
//!
//! A last send at 8 connections with the ledger's commits at `synchronous=NORMAL` (the
//! bench-only `VEILLE_BENCH_LEDGER_SYNC`) prints what FULL, veille's setting, costs.
//!
//! `VEILLE_BENCH_BINARY=path` measures that binary instead of the package's.
//!
//! Needs the Debian package `postfix` (smtp-sink, smtp-source), installed by `make bench`.

#[path = "../tests/support/server.rs"]
mod server;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use server::{Route, TestServer};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin"] {
        let path = format!("{dir}/{name}");
        if Path::new(&path).exists() {
            return path;
        }
    }
    panic!("{name} introuvable : installez le paquet Debian postfix (make bench le fait en root)");
}

struct SmtpSink(Child);

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sink(port: u16) -> SmtpSink {
    let mut command = Command::new(tool("smtp-sink"));
    // As root, smtp-sink insists on dropping privileges.
    if unsafe_is_root() {
        command.args(["-u", "nobody"]);
    }
    let child = command
        .arg(format!("127.0.0.1:{port}"))
        .arg("1024")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("smtp-sink");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "smtp-sink ne démarre pas"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    SmtpSink(child)
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn feed(server: &TestServer) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>",
    );
    for i in 0..8 {
        let date = (chrono::Utc::now() - chrono::Duration::hours(i + 1)).to_rfc2822();
        xml.push_str(&format!(
            "<item><title>Article {i} : la politique de la ville en Occitanie, bilan et perspectives</title>\
             <link>{}</link><description>Un résumé de quelques phrases, comme ceux que la presse publie, \
             pour que le message ait la taille d'un vrai Flash Info : quartiers prioritaires, emploi, \
             éducation, santé, logement.</description><pubDate>{date}</pubDate></item>",
            server.url(&format!("/a/{i}.html"))
        ));
    }
    xml + "</channel></rss>"
}

fn run(binary: &Path, config: &Path, archive: &Path, args: &[&str]) -> serde_json::Value {
    run_with(binary, config, archive, args, &[])
}

fn run_with(
    binary: &Path,
    config: &Path,
    archive: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> serde_json::Value {
    let out = Command::new(binary)
        .envs(env.iter().copied())
        .arg("--config")
        .arg(config)
        .arg("--archive")
        .arg(archive)
        .args(args)
        .output()
        .expect("veille");
    assert!(
        out.status.success(),
        "veille {args:?} : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With `VEILLE_LOG=debug`, where the connections' rounds went (`mail::send::Rounds`).
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        if line.contains("tours des connexions") {
            println!("    {}", line.trim());
        }
    }
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// A PKCS#1 RSA-2048 key, as the centre's DKIM key would be.
fn generate_rsa_key(path: &Path) {
    assert!(
        Command::new("openssl")
            .args(["genrsa", "-traditional", "-out"])
            .arg(path)
            .arg("2048")
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
}

/// `recipients` readers imported into the `flash-info` list.
fn import_readers(binary: &Path, config: &Path, archive: &Path, dir: &Path, recipients: usize) {
    let mut csv = String::from("email\n");
    for i in 0..recipients {
        csv.push_str(&format!("lecteur{i:05}@exemple.fr\n"));
    }
    let csv_path = dir.join("liste.csv");
    std::fs::write(&csv_path, csv).unwrap();
    run(
        binary,
        config,
        archive,
        &[
            "subscribers",
            "import",
            csv_path.to_str().unwrap(),
            "--list",
            "flash-info",
            "--json",
        ],
    );
}

/// The package's release binary, or `VEILLE_BENCH_BINARY` (an earlier commit's build), for
/// before/after figures back to back.
fn bench_binary() -> std::path::PathBuf {
    let binary = std::env::var_os("VEILLE_BENCH_BINARY").map_or_else(
        || env!("CARGO_BIN_EXE_veille").into(),
        std::path::PathBuf::from,
    );
    assert!(binary.exists(), "{} not built", binary.display());
    binary
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let recipients = if bench_mode { 6600 } else { 40 };
    let binary = &bench_binary();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let port = free_port();
    let _sink = start_sink(port);
    let server = TestServer::start();
    server.route("/feed.xml", Route::rss(feed(&server)));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let config = dir.path().join("feeds.toml");
    let key = dir.path().join("dkim.pem");
    generate_rsa_key(&key);
    let write_config = |connections: usize| {
        std::fs::write(
            &config,
            format!(
                "[dossiers.pauvrete]\ntitle = \"Pauvreté\"\npanorama = true\n\n\
                 [publish]\nbase_url = \"https://veille.example.org\"\ntemplates = \"{}\"\n\n\
                 [mail]\nfrom = \"Ressources et Territoires <lettre@ressources.example>\"\nsmtp = \"smtp://127.0.0.1:{port}\"\n\
                 dkim_key = \"{}\"\ndkim_selector = \"veille\"\ndkim_domain = \"ressources.example\"\n\
                 connections = {connections}\nper_second = 1000000\ntimeout_secs = 60\n\n\
                 [lists.flash-info]\ntitle = \"Flash Info\"\n\n\
                 [[sources]]\nname = \"Presse\"\nfeed = \"{}\"\n",
                root.join("templates").display(),
                key.display(),
                server.url("/feed.xml"),
            ),
        )
        .unwrap();
    };
    write_config(1);
    run(binary, &config, &archive, &["fetch", "--json"]);
    let articles = run(binary, &config, &archive, &["articles", "--json"]);
    let stories: Vec<String> = articles
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["story"].to_string())
        .collect();
    import_readers(binary, &config, &archive, dir.path(), recipients);

    println!("Envoi de {recipients} messages vers smtp-sink (127.0.0.1), DKIM RSA 2048, release");
    // One new edition sent to everyone; its time in seconds. `env`: the bench-only switch of
    // the ledger's synchronisation.
    let send = |edition: &str, connections: usize, env: &[(&str, &str)]| {
        write_config(connections);
        run(
            binary,
            &config,
            &archive,
            &["edition", "new", "flash-info", "--json"],
        );
        for story in &stories {
            run(
                binary,
                &config,
                &archive,
                &["edition", "add", edition, story, "--json"],
            );
        }
        run(binary, &config, &archive, &["edition", "ready", edition]);
        let start = Instant::now();
        let report = run_with(
            binary,
            &config,
            &archive,
            &["edition", "send", edition, "--json"],
            env,
        );
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(report["sent"], recipients, "{report:#}");
        secs
    };
    let mut message_size = 0;
    let mut full_at_8 = 0.0;
    for (number, connections) in [1usize, 4, 8].into_iter().enumerate() {
        let edition = format!("flash-info/{}", number + 1);
        let veille_secs = send(&edition, connections, &[]);
        full_at_8 = veille_secs;
        if message_size == 0 {
            // The edition is rendered by the send: HTML and text parts, as in each message.
            let size = |name: &str| {
                std::fs::metadata(archive.join(format!("published/{edition}/{name}")))
                    .map(|m| m.len() as usize)
                    .unwrap_or(0)
            };
            message_size = size("email.html") + size("email.txt");
            println!(
                "  (message d'environ {} Kio, parties HTML et texte)",
                message_size / 1024
            );
        }

        // The ceiling: the same number of messages of about the same size (HTML + text
        // parts), replayed by a C client over the same number of sessions.
        let start = Instant::now();
        let status = Command::new(tool("smtp-source"))
            .args(["-s", &connections.to_string()])
            .args(["-m", &recipients.to_string()])
            .args(["-l", &message_size.to_string()])
            .args([
                "-f",
                "lettre@ressources.example",
                "-t",
                "lecteur@exemple.fr",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .status()
            .expect("smtp-source");
        assert!(status.success());
        let ceiling_secs = start.elapsed().as_secs_f64();
        println!(
            "  {connections} connexion(s) : veille {:>7.1} messages/s ({veille_secs:.2} s) | smtp-source {:>8.1} messages/s ({ceiling_secs:.2} s) | rapport {:.1} %",
            recipients as f64 / veille_secs,
            recipients as f64 / ceiling_secs,
            100.0 * ceiling_secs / veille_secs,
        );
    }
    // What the ledger's power-cut safety costs: the same send with its commits at NORMAL
    // (synced at checkpoints only), which veille itself never uses.
    let normal_secs = send("flash-info/4", 8, &[("VEILLE_BENCH_LEDGER_SYNC", "NORMAL")]);
    println!(
        "  registre des envois, 8 connexions : synchronous=FULL {:>7.1} messages/s ({full_at_8:.2} s) | NORMAL {:>7.1} messages/s ({normal_secs:.2} s) | coût de FULL {:.1} %",
        recipients as f64 / full_at_8,
        recipients as f64 / normal_secs,
        100.0 * (full_at_8 - normal_secs) / normal_secs,
    );
}
