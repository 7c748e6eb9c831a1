//! A real IMAP server for the bounce tests: Dovecot (Debian `dovecot-imapd`, installed by
//! `make test`) started on 127.0.0.1 with its own configuration in a temporary folder, one
//! passwd-file user, plaintext login allowed (loopback only), stopped on drop. Messages are
//! appended and counted with Python's imaplib (`tests/imap/imap_tool.py`), not veille's client.
//! `Dovecot::start_tls` adds TLS (STARTTLS on the plain port, and an imaps port) with a
//! certificate signed by a throwaway authority the test generates with openssl.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const USER: &str = "retours";
pub(crate) const PASSWORD: &str = "mot-de-passe-de-test";

pub(crate) struct Dovecot {
    child: Child,
    pub(crate) port: u16,
    /// The imaps port, with `start_tls`.
    pub(crate) tls_port: Option<u16>,
    pub(crate) dir: tempfile::TempDir,
}

/// A throwaway authority (`ca.pem`) and a certificate it signed for 127.0.0.1 and localhost
/// (`server.pem`, `server.key`), in `dir`.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (installé par `make test`)");
        assert!(
            out.status.success(),
            "openssl {args:?} : {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=Autorite de test veille",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&ca);
    let mut req = vec!["req", "-subj", "/CN=localhost"];
    req.extend(ec);
    req.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&req);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.pem",
        "-extfile",
        "server.ext",
    ]);
}

fn binary() -> PathBuf {
    let path = PathBuf::from("/usr/sbin/dovecot");
    assert!(
        path.exists(),
        "Dovecot absent : paquet Debian dovecot-imapd (installé par `make test`)"
    );
    path
}

fn tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/imap/imap_tool.py")
}

impl Dovecot {
    pub(crate) fn start() -> Dovecot {
        Dovecot::launch(false)
    }

    /// Dovecot with TLS: STARTTLS on `port`, TLS from the first byte on `tls_port`; the
    /// authority to trust is `ca_pem()`.
    pub(crate) fn start_tls() -> Dovecot {
        Dovecot::launch(true)
    }

    pub(crate) fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    fn launch(tls: bool) -> Dovecot {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for sub in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        // SAFETY: plain libc queries without side effects.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        // As root (CI), Dovecot runs its login processes as its own users and refuses mail
        // processes as root: the mail belongs to `nobody`, in folders it can reach.
        let (internal, login, mail_uid, mail_gid) = if uid == 0 {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
            for sub in ["mail", "home"] {
                std::fs::set_permissions(root.join(sub), std::fs::Permissions::from_mode(0o777))
                    .unwrap();
            }
            ("dovecot".to_string(), "dovenull".to_string(), 65534, 65534)
        } else {
            let name = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (name.clone(), name, uid, gid)
        };
        let port = super::web::free_port();
        let tls_port = tls.then(super::web::free_port);
        let ssl = if tls {
            std::fs::create_dir_all(root.join("tls")).unwrap();
            make_certificates(&root.join("tls"));
            let t = root.join("tls");
            format!(
                "ssl = yes\nssl_cert = <{0}/server.pem\nssl_key = <{0}/server.key\n",
                t.display()
            )
        } else {
            "ssl = no\n".to_string()
        };
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let r = root.display();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n{ssl}disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nmail_location = maildir:{r}/mail/%u\n\
             default_internal_user = {internal}\ndefault_login_user = {login}\n\
             first_valid_uid = 0\nfirst_valid_gid = 0\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_uid} gid={mail_gid} home={r}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            imaps = tls_port.unwrap_or(0),
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(binary())
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot");
        let server = Dovecot {
            child,
            port,
            tls_port,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Dovecot n'écoute pas sur {port} :\n{}",
                std::fs::read_to_string(server.dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("imap://{USER}@127.0.0.1:{}/INBOX", self.port)
    }

    fn tool(&self, args: &[&str]) -> String {
        let out = Command::new(super::smtp::python())
            .arg(tool())
            .arg(args[0])
            .arg(self.port.to_string())
            .arg(USER)
            .arg(PASSWORD)
            .args(&args[1..])
            .output()
            .expect("imap_tool.py");
        assert!(
            out.status.success(),
            "imap_tool.py {args:?} : {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// APPENDs each file to INBOX.
    pub(crate) fn append(&self, files: &[PathBuf]) {
        for chunk in files.chunks(100) {
            let mut args = vec!["append".to_string()];
            args.extend(chunk.iter().map(|p| p.display().to_string()));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            self.tool(&refs);
        }
    }

    pub(crate) fn count(&self, folder: &str) -> usize {
        self.tool(&["count", folder]).parse().unwrap_or(0)
    }

    /// Returns once `folder` holds at least `n` messages.
    pub(crate) fn wait_for(&self, folder: &str, n: usize) {
        self.tool(&["wait", folder, &n.to_string()]);
    }
}

/// `veille bounces fetch --json` of `ws`, whose `[bounces]` reads a test Dovecot: its report.
pub(crate) fn fetch(ws: &super::Workspace) -> serde_json::Value {
    let out = ws
        .command(&["bounces", "fetch", "--json"])
        .env("VEILLE_BOUNCES_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bounces fetch : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its children with it.
        // SAFETY: signalling our own child process by its id.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}
