//! A throwaway PostgreSQL server for the tests: `initdb` in a temporary folder, `pg_ctl start`
//! on 127.0.0.1 and a free port, stopped and removed on drop (also when the test panics).
//!
//! Self-contained (std and tempfile only) so that `src` unit tests include this very file
//! with `#[path]` instead of keeping a copy.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Debian package that brings `initdb`, `pg_ctl` and `postgres`.
pub(crate) const PACKAGE: &str = "postgresql";

/// A running PostgreSQL cluster owned by one test.
pub(crate) struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The unprivileged account the server runs as when the tests run as root (PostgreSQL
    /// refuses to start as root).
    run_as: Option<String>,
}

/// Where the PostgreSQL binaries are: `VEILLE_PG_BIN`, else the newest Debian
/// `/usr/lib/postgresql/N/bin`, else `pg_config --bindir`.
pub(crate) fn binaries() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VEILLE_PG_BIN") {
        let bin = PathBuf::from(dir);
        return bin.join("initdb").is_file().then_some(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    bin.join("initdb").is_file().then_some(bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The account to run the server as when root: Debian's `postgres`, else `nobody`.
fn unprivileged_account() -> String {
    let has_postgres = Command::new("id")
        .arg("-u")
        .arg("postgres")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if has_postgres { "postgres" } else { "nobody" }.to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("aucun port libre sur 127.0.0.1")
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "{what} a échoué ({}) :\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The binaries' folder, or the failure that names the package to install.
pub(crate) fn require(bin: Option<PathBuf>) -> PathBuf {
    bin.unwrap_or_else(|| {
        panic!(
            "PostgreSQL est introuvable (ni VEILLE_PG_BIN, ni /usr/lib/postgresql/*/bin, ni \
             pg_config) : installez le paquet Debian {PACKAGE} (make test le fait en root)"
        )
    })
}

impl Postgres {
    /// Starts a cluster; panics with the package to install when PostgreSQL is missing, so a
    /// test that needs it fails instead of passing without running.
    pub(crate) fn start() -> Postgres {
        let bin = require(binaries());
        let dir = tempfile::Builder::new()
            .prefix("veille-pg")
            .tempdir()
            .expect("dossier temporaire de PostgreSQL");
        let run_as = is_root().then(unprivileged_account);
        let mut pg = Postgres {
            dir,
            bin,
            port: 0,
            run_as,
        };
        if let Some(user) = &pg.run_as {
            let out = Command::new("chown")
                .arg(user)
                .arg(pg.dir.path())
                .output()
                .expect("chown");
            assert!(out.status.success(), "{}", describe("chown", &out));
        }
        pg.initdb();
        // Another process may take the port between its probe and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port();
            match pg.pg_ctl_start() {
                Ok(()) => return pg,
                Err(e) => last = e,
            }
        }
        panic!("PostgreSQL n'a pas démarré :\n{last}");
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `program` from the PostgreSQL binaries, as the unprivileged account when root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut c = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        };
        // The unprivileged account may not enter the test's working directory.
        c.current_dir(self.dir.path());
        c
    }

    fn initdb(&self) {
        let out = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", "veille", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-instructions"])
            .output()
            .expect("lancer initdb");
        assert!(out.status.success(), "{}", describe("initdb", &out));
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        // fsync and synchronous commits off: a test cluster never outlives a power loss.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .output()
            .map_err(|e| format!("lancer pg_ctl : {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(format!("{}\n{log}", describe("pg_ctl start", &out)))
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the cluster (data, socket, server.log).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The URL of the `postgres` database, always there.
    pub(crate) fn url(&self) -> String {
        self.database_url("postgres")
    }

    pub(crate) fn database_url(&self, name: &str) -> String {
        format!("postgres://veille@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a database (a name of letters, digits and `_`) and returns its URL.
    pub(crate) fn create_database(&self, name: &str) -> String {
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "nom de base invalide : {name}"
        );
        let out = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "veille",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
            ])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("lancer psql");
        assert!(
            out.status.success(),
            "{}",
            describe("psql CREATE DATABASE", &out)
        );
        self.database_url(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port == 0 {
            return;
        }
        // Immediate: the data is thrown away anyway, so there is nothing to flush.
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The environment variable naming a running cluster (an admin URL) on which the end-to-end
/// tests run the store: `tests/with-postgres` sets it for `make test`'s second pass.
pub(crate) const SHARED_CLUSTER_VAR: &str = "VEILLE_TEST_POSTGRES";

/// The admin URL of the shared test cluster, when this run is the PostgreSQL pass.
pub(crate) fn shared_cluster() -> Option<String> {
    std::env::var(SHARED_CLUSTER_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A new, empty database in the cluster of `admin` (unique in the cluster), and its URL.
pub(crate) fn fresh_database(admin: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "e_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let out = Command::new("psql")
        .arg(admin)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("lancer psql (paquet Debian postgresql-client)");
    assert!(
        out.status.success(),
        "{}",
        describe("psql CREATE DATABASE", &out)
    );
    let mut url = url::Url::parse(admin).expect("adresse du serveur de test");
    url.set_path(&name);
    url.to_string()
}
