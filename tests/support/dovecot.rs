//! A real IMAP server for the bounce tests: Dovecot (Debian `dovecot-imapd`, installed by
//! `make test`) started on 127.0.0.1 with its own configuration in a temporary folder, one
//! passwd-file user, plaintext login allowed (loopback only), stopped on drop. Messages are
//! appended and counted with Python's imaplib (`tests/imap/imap_tool.py`), not veille's client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "retours";
pub const PASSWORD: &str = "mot-de-passe-de-test";

pub struct Dovecot {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
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
    pub fn start() -> Dovecot {
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
        std::fs::write(root.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let r = root.display();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = plain login\nmail_location = maildir:{r}/mail/%u\n\
             default_internal_user = {internal}\ndefault_login_user = {login}\n\
             first_valid_uid = 0\nfirst_valid_gid = 0\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={mail_uid} gid={mail_gid} home={r}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
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
        let server = Dovecot { child, port, dir };
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

    pub fn url(&self) -> String {
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
    pub fn append(&self, files: &[PathBuf]) {
        for chunk in files.chunks(100) {
            let mut args = vec!["append".to_string()];
            args.extend(chunk.iter().map(|p| p.display().to_string()));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            self.tool(&refs);
        }
    }

    pub fn count(&self, folder: &str) -> usize {
        self.tool(&["count", folder]).parse().unwrap_or(0)
    }

    /// Returns once `folder` holds at least `n` messages.
    pub fn wait_for(&self, folder: &str, n: usize) {
        self.tool(&["wait", folder, &n.to_string()]);
    }
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
