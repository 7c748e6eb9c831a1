//! End-to-end tests of `veille backup` and `veille restore` through the real binary: a fetched
//! archive is saved, restored elsewhere and compared table by table (counts and checksums).

mod support;

use std::process::Command;

use support::server::{Route, TestServer};
use support::{Workspace, feed_source, rss};
use veille::backup::table_sums;

fn veille(config: &std::path::Path, archive: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_veille"));
    command
        .arg("--config")
        .arg(config)
        .arg("--archive")
        .arg(archive)
        .args(args)
        .env_remove("VEILLE_CONFIG")
        .env_remove("VEILLE_ARCHIVE")
        .env_remove("VEILLE_SECRET");
    command
}

#[tokio::test]
async fn a_restored_archive_has_the_same_tables_the_key_and_a_working_index() {
    let server = TestServer::start();
    let link = |i: u32| server.url(&format!("/a/{i}.html"));
    server.route(
        "/rss.xml",
        Route::rss(rss(&[
            (
                "Logement : la précarité énergétique augmente",
                &link(1),
                "a-1",
            ),
            ("Hébergement d'urgence à Toulouse", &link(2), "a-2"),
        ])),
    );
    let ws = Workspace::new(
        "",
        &format!(
            "[lists.lettre]\ntitle = \"Lettre\"\n\n{}",
            feed_source("Flux A", &server.url("/rss.xml"))
        ),
    );
    ws.fetch(&[]);
    let csv = ws.dir.path().join("abonnes.csv");
    std::fs::write(&csv, "email;prénom\nanne@example.org;Anne\n").unwrap();
    let out = ws.run(&[
        "subscribers",
        "import",
        csv.to_str().unwrap(),
        "--list",
        "lettre",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dest = ws.dir.path().join("sauvegarde");
    let saved = ws.json(&["backup", dest.to_str().unwrap(), "--json"]);
    assert_eq!(saved["manifest"]["secret_included"], true, "{saved:#}");
    assert_eq!(
        saved["manifest"]["tables"]["articles"]["rows"], 2,
        "{saved:#}"
    );
    assert_eq!(
        saved["manifest"]["tables"]["subscribers"]["rows"], 1,
        "{saved:#}"
    );

    // Elsewhere, as on a new machine: no archive, no feeds.toml.
    let other = tempfile::tempdir().unwrap();
    let (config, archive) = (
        other.path().join("feeds.toml"),
        other.path().join("archive"),
    );
    let out = veille(&config, &archive, &["restore", dest.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Archive restaurée"), "{stdout}");
    // The backup is the archive as it was (nothing has written since), table by table.
    let original = table_sums(&ws.archive().join("veille.sqlite"))
        .await
        .unwrap();
    let manifest: std::collections::BTreeMap<String, veille::backup::TableSum> =
        serde_json::from_value(saved["manifest"]["tables"].clone()).unwrap();
    assert_eq!(manifest, original);
    // The restore compared its base with the manifest before rebuilding the index; the
    // rebuild then stamps `articles.indexed_at` and marks every article under the new
    // index's id (`index_marks`), so those tables are compared by their rows.
    let mut restored = table_sums(&archive.join("veille.sqlite")).await.unwrap();
    let mut expected = original.clone();
    for table in ["articles", "index_marks"] {
        assert_eq!(
            restored.remove(table).map(|t| t.rows),
            expected.remove(table).map(|t| t.rows),
            "{table}"
        );
    }
    assert_eq!(restored, expected);
    assert_eq!(
        std::fs::read(archive.join("secret.key")).unwrap(),
        std::fs::read(ws.archive().join("secret.key")).unwrap()
    );
    assert_eq!(
        std::fs::read(&config).unwrap(),
        std::fs::read(ws.config()).unwrap()
    );
    let found = veille(&config, &archive, &["search", "précarité", "--json"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("a-1")
            || String::from_utf8_lossy(&found.stdout).contains("précarité"),
        "{}",
        String::from_utf8_lossy(&found.stdout)
    );

    // A second restore onto the now existing base is refused, and changes nothing.
    let before = table_sums(&archive.join("veille.sqlite")).await.unwrap();
    let out = veille(&config, &archive, &["restore", dest.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--remplacer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        table_sums(&archive.join("veille.sqlite")).await.unwrap(),
        before
    );
}

#[test]
fn a_folder_that_is_not_a_backup_is_refused_in_french() {
    let ws = Workspace::new("", "");
    let not_backup = ws.dir.path().join("vide");
    std::fs::create_dir_all(&not_backup).unwrap();
    let out = ws.run(&["restore", not_backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("n'est pas une sauvegarde de veille"),
        "{stderr}"
    );
    assert!(!ws.archive().join("veille.sqlite").exists());
}

#[test]
fn the_privacy_report_is_in_french_and_a_purge_needs_a_retention() {
    let ws = Workspace::new("", "");
    let out = ws.run(&["privacy", "report"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Données personnelles tenues par veille"),
        "{stdout}"
    );
    assert!(stdout.contains("keep_delivery_logs_days"), "{stdout}");
    let out = ws.run(&["privacy", "purge"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("aucune durée de conservation"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let kept = Workspace::new("", "[privacy]\nkeep_delivery_logs_days = 365\n");
    let purged = kept.json(&["privacy", "purge", "--json"]);
    assert_eq!(purged["erased"], 0, "{purged:#}");
    let bad = Workspace::new("", "[backup]\nschedule = \"61 * * * *\"\n");
    let out = bad.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("horaire de sauvegarde invalide"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn backup_and_restore_refuse_a_postgres_store_and_name_pg_dump() {
    let ws = Workspace::new("", "");
    // Refused before connecting: no server needs to listen there.
    let url = "postgres://veille@127.0.0.1:9/veille";
    let dest = ws.dir.path().join("sauvegarde");
    let check = |by: &str, env: Option<&str>| {
        for args in [
            vec!["backup", dest.to_str().unwrap()],
            vec!["restore", dest.to_str().unwrap()],
        ] {
            let mut command = ws.command(&args);
            if let Some(url) = env {
                command.env("VEILLE_DATABASE_URL", url);
            }
            let out = command.output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{by} {args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("PostgreSQL") && stderr.contains("pg_dump"),
                "{by} {args:?}: {stderr}"
            );
            assert!(!dest.exists(), "{by} {args:?}: rien d'écrit");
            assert!(!ws.archive().join("veille.sqlite").exists());
        }
    };
    check("VEILLE_DATABASE_URL", Some(url));
    // The same, named by `[store] url` of feeds.toml.
    let mut text = std::fs::read_to_string(ws.config()).unwrap();
    text.push_str(&format!("\n[store]\nurl = \"{url}\"\n"));
    std::fs::write(ws.config(), text).unwrap();
    check("[store] url", None);
}
