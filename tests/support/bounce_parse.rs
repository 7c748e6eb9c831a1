//! `veille bounces parse` run on files, its JSON contract checked: shared by the bounce
//! tests (`tests/bounces.rs`) and the Sisimai agreement (`tests/sisimai.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

pub(crate) fn veille(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_veille"))
        .args(args)
        .env_remove("VEILLE_CONFIG")
        .env_remove("VEILLE_ARCHIVE")
        .output()
        .expect("veille")
}

/// `veille bounces parse --json PATH…`, keyed by file name relative to `base`.
pub(crate) fn parse(paths: &[&Path], base: &Path) -> BTreeMap<String, serde_json::Value> {
    let mut args = vec!["bounces".to_string(), "parse".into(), "--json".into()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = veille(&refs);
    assert!(
        out.status.success(),
        "bounces parse : {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc.as_array()
        .expect("array")
        .iter()
        .map(|e| {
            let file = Path::new(e["file"].as_str().unwrap());
            (
                file.strip_prefix(base)
                    .unwrap_or(file)
                    .display()
                    .to_string(),
                e.clone(),
            )
        })
        .collect()
}

/// The contract outside checks rely on: exactly these keys, these kinds.
pub(crate) fn assert_contract(entry: &serde_json::Value) {
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["file", "kind", "reason", "recipients", "status"],
        "{entry}"
    );
    assert!(
        [
            "hard",
            "soft",
            "complaint",
            "auto-reply",
            "delivered",
            "none"
        ]
        .contains(&entry["kind"].as_str().unwrap()),
        "{entry}"
    );
    assert!(entry["recipients"].is_array());
    assert!(entry["status"].is_null() || entry["status"].is_string());
    assert!(entry["reason"].is_null() || entry["reason"].is_string());
}
