//! The SMTP side of the end-to-end tests: a real SMTP server process (`tests/smtp/sink.py`,
//! aiosmtpd) and independent readers of what it received (Python `email`, dkimpy,
//! SpamAssassin), all from the `.venv` that `make deps` builds.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, which has aiosmtpd and dkimpy.
pub(crate) fn python() -> PathBuf {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} absent : lancez `make deps` (ou `make test`, qui l'installe)",
        python.display()
    );
    python
}

/// A running SMTP sink, stopped on drop.
pub(crate) struct Sink {
    child: Child,
    pub(crate) port: u16,
    pub(crate) dir: tempfile::TempDir,
}

impl Sink {
    pub(crate) fn start(args: &[&str]) -> Sink {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(python())
            .arg(root().join("tests/smtp/sink.py"))
            .args(["--port", "0", "--dir"])
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("sink.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read READY");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("sink.py n'a pas démarré : {line:?}"));
        Sink { child, port, dir }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every complete message received: (envelope, path of the .eml).
    pub(crate) fn messages(&self) -> Vec<(serde_json::Value, PathBuf)> {
        let mut out = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .expect("read_dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        for json in names {
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
            let seq = json.file_stem().unwrap().to_string_lossy().into_owned();
            let eml = std::fs::read_dir(self.dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| {
                    p.extension().is_some_and(|e| e == "eml")
                        && p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(&format!("{seq}-"))
                })
                .expect("eml of json");
            out.push((meta, eml));
        }
        out
    }

    /// Recipients of the messages received, one entry per message.
    pub(crate) fn recipients(&self) -> Vec<String> {
        self.messages()
            .iter()
            .flat_map(|(m, _)| {
                m["rcpt_tos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_lowercase())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_json(script: &str, args: &[&Path]) -> (bool, serde_json::Value) {
    let out = Command::new(python())
        .arg(root().join("tests/smtp").join(script))
        .args(args)
        .output()
        .expect(script);
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} : sortie non JSON ({e}) :\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), value)
}

/// The message as Python's `email` package reads it.
pub(crate) fn inspect(eml: &Path) -> serde_json::Value {
    run_json("mail_inspect.py", &[eml]).1
}

/// dkimpy's verdict, with the public key given directly (no DNS).
pub(crate) fn dkim_verify(eml: &Path, public_key: &Path) -> serde_json::Value {
    run_json("dkim_verify.py", &[eml, public_key]).1
}

/// SpamAssassin, offline (`spamassassin -L -t`).
pub(crate) fn spam_score(eml: &Path) -> serde_json::Value {
    let out = Command::new("bash")
        .arg(root().join("tests/smtp/spamcheck.sh"))
        .arg(eml)
        .output()
        .expect("spamcheck.sh");
    assert!(
        out.status.success(),
        "spamcheck.sh a échoué (paquet Debian spamassassin installé par `make deps`) :\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("spamcheck JSON")
}

/// An RSA 2048 key pair in PKCS#1 (what lettre reads), made by openssl.
pub(crate) fn dkim_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let private = dir.join("dkim.pem");
    let public = dir.join("dkim.pub");
    let ok = Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&private)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success()
        && Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .stderr(Stdio::null())
            .status()
            .expect("openssl")
            .success();
    assert!(ok, "openssl n'a pas produit la clé DKIM");
    // veille refuses a secret that others may read, whatever openssl's default mode.
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600 de la clé DKIM");
    (private, public)
}
