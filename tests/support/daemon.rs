//! A running `veille run` for tests and benchmarks: its stderr collected line by line, the
//! address it listens on (it binds 127.0.0.1:0), signals, and its exit.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct RunningDaemon {
    child: Child,
    pub(crate) addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl RunningDaemon {
    /// Starts `command` (a `veille … run` without `--listen`) and waits until it listens.
    pub(crate) fn start(mut command: Command) -> RunningDaemon {
        command
            .args(["--listen", "127.0.0.1:0"])
            .env("VEILLE_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("veille run");
        let stderr = child.stderr.take().expect("stderr");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut daemon = RunningDaemon {
            child,
            addr: String::new(),
            log,
        };
        let line = daemon.wait_for_log("web sur http://", Duration::from_secs(30));
        let start = line.find("http://").unwrap() + "http://".len();
        daemon.addr = line[start..]
            .split('/')
            .next()
            .expect("address")
            .to_string();
        daemon
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Every line logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for a logged line containing `needle` and returns it.
    pub(crate) fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "veille run s'est arrêté ({status}) avant « {needle} » :\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "« {needle} » jamais écrit :\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `/healthz` as JSON.
    pub(crate) fn health(&self) -> serde_json::Value {
        let response = super::http::request(&self.addr, "GET", "/healthz", &[], "");
        assert_eq!(response.status, 200, "{}", response.text());
        serde_json::from_slice(&response.body).expect("healthz JSON")
    }

    /// Polls `/healthz` until `ready` holds for its `daemon` object.
    pub(crate) fn wait_health(
        &self,
        timeout: Duration,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let health = self.health();
            if ready(&health["daemon"]) {
                return health;
            }
            assert!(
                Instant::now() < deadline,
                "état attendu jamais atteint : {health:#}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child process.
        let rc = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(rc, 0, "kill");
    }

    /// Waits for the exit; returns the status and how long it took.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < timeout,
                "veille run toujours là après {timeout:?} :\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit status (which must come within 10 s).
    pub(crate) fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(10)).0
    }
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
