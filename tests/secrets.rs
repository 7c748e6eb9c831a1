//! Secrets through the real binary: the archive's key, the DKIM key and the IMAP password are
//! refused from a file that others may read (a French error naming the file and the
//! `chmod 600` fix), accepted once the mode is fixed, and never written to the logs, even at
//! debug level, during a send and a fetch of the bounce mailbox (Dovecot on 127.0.0.1).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::Workspace;
use support::dovecot::{self, Dovecot};
use support::server::TestServer;
use support::smtp::{self, Sink};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A workspace with Flash Info n° 1 ready, mail to `sink`, `extra` appended to `[mail]` and
/// `rest` after it, and three subscribers.
fn ready(sink: &Sink, extra: &str, rest: &str) -> (TestServer, Workspace) {
    let (server, ws) = support::mail_workspace(
        &sink.url(),
        &format!("bounce_address = \"retours@ressources.example\"\nper_second = 500\n{extra}"),
        rest,
    );
    ws.ready_to_send("email\na@exemple.fr\nb@exemple.fr\nc@exemple.fr\n");
    (server, ws)
}

/// The command fails (exit 1) with the French refusal naming `file` and its fix.
fn assert_refused(out: &std::process::Output, file: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lisible par d'autres que son propriétaire"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("chmod 600 {}", file.display())),
        "{stderr}"
    );
}

#[test]
fn a_group_readable_archive_key_is_refused_until_chmod_600() {
    let ws = Workspace::new("", "[lists.lettre]\ntitle = \"Lettre\"\n");
    std::fs::create_dir_all(ws.archive()).unwrap();
    let key = ws.archive().join("secret.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    chmod(&key, 0o640);
    let csv = ws.dir.path().join("a.csv");
    std::fs::write(&csv, "email\na@exemple.fr\n").unwrap();
    let import = [
        "subscribers",
        "import",
        csv.to_str().unwrap(),
        "--list",
        "lettre",
    ];
    let out = ws.run(&import);
    assert_refused(&out, &key);
    assert!(
        ws.json(&["subscribers", "list", "--json"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    chmod(&key, 0o600);
    let out = ws.run(&import);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_world_readable_dkim_key_is_refused_and_nothing_is_sent() {
    let sink = Sink::start(&[]);
    let keys = tempfile::tempdir().unwrap();
    let (private, _) = smtp::dkim_keys(keys.path());
    let (_server, ws) = ready(
        &sink,
        &format!(
            "dkim_key = \"{}\"\ndkim_selector = \"veille\"\ndkim_domain = \"ressources.example\"",
            private.display()
        ),
        "",
    );
    chmod(&private, 0o644);
    let out = ws.run(&["edition", "send", "flash-info/1"]);
    assert_refused(&out, &private);
    assert!(sink.messages().is_empty());
    chmod(&private, 0o600);
    let sent = ws.json(&["edition", "send", "flash-info/1", "--json"]);
    assert_eq!(sent["sent"], 3, "{sent:#}");
}

#[test]
fn a_group_readable_imap_password_file_is_refused() {
    let sink = Sink::start(&[]);
    let ws = Workspace::new(
        "",
        &format!(
            "[mail]\nfrom = \"Ressources <lettre@ressources.example>\"\nsmtp = \"{}\"\n\
             bounce_address = \"retours@ressources.example\"\n\n\
             [bounces]\nimap = \"imap://veille@127.0.0.1:9/INBOX\"\npassword_file = \"mdp\"\n",
            sink.url()
        ),
    );
    let file = ws.dir.path().join("mdp");
    std::fs::write(&file, "mot-de-passe\n").unwrap();
    chmod(&file, 0o640);
    let out = ws
        .command(&["bounces", "fetch"])
        .current_dir(ws.dir.path())
        .env_remove("VEILLE_BOUNCES_PASSWORD")
        .output()
        .unwrap();
    assert_refused(&out, Path::new("mdp"));
}

/// Every secret in play, with `VEILLE_LOG=debug`: none of their values reaches stderr.
#[test]
fn secrets_never_reach_the_debug_log_of_a_send_or_a_bounces_fetch() {
    let imap = Dovecot::start();
    let sink = Sink::start(&[]);
    let keys = tempfile::tempdir().unwrap();
    let (private, _) = smtp::dkim_keys(keys.path());
    let password_file = keys.path().join("imap.mdp");
    std::fs::write(&password_file, format!("{}\n", dovecot::PASSWORD)).unwrap();
    chmod(&password_file, 0o600);
    let (_server, ws) = ready(
        &sink,
        &format!(
            "dkim_key = \"{}\"\ndkim_selector = \"veille\"\ndkim_domain = \"ressources.example\"",
            private.display()
        ),
        &format!(
            "[bounces]\nimap = \"{}\"\npassword_file = \"{}\"",
            imap.url(),
            password_file.display()
        ),
    );
    let archive_secret = "cle-secrete-de-l-archive-pour-le-test-0123456789";
    let mut logs = String::new();
    for args in [
        &["edition", "send", "flash-info/1", "--json"][..],
        &["bounces", "fetch", "--json"][..],
    ] {
        let out = ws
            .command(args)
            .env("VEILLE_LOG", "debug")
            .env("VEILLE_SECRET", archive_secret)
            .env_remove("VEILLE_BOUNCES_PASSWORD")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?} : {stderr}");
        logs.push_str(&stderr);
    }
    assert_eq!(sink.messages().len(), 3);
    assert!(
        logs.lines().count() > 5,
        "le journal de débogage est presque vide : {logs}"
    );
    let mut secrets = vec![archive_secret.to_string(), dovecot::PASSWORD.to_string()];
    // Any line of the key's body: a fragment is as bad as the whole.
    let pem = std::fs::read_to_string(&private).unwrap();
    secrets.extend(
        pem.lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 16)
            .map(|l| l[..16].to_string()),
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "secret « {secret} » dans le journal"
        );
    }
}
