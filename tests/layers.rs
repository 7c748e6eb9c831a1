//! The layers of ARCHITECTURE.md, checked against the code: each module may use (through
//! `crate::…` paths) only the modules its row's "knows" column lists. The table is read from
//! ARCHITECTURE.md itself, so the map and this test cannot drift apart.
//!
//! Test code (`#[cfg(test)]` items and the files they declare) is left out: unit tests may
//! build their inputs with any lower stage or `testing`, which is no dependency of the stage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One row of the table: the module and the modules it may use.
struct Row {
    module: String,
    knows: BTreeSet<String>,
}

/// Reads the module table of ARCHITECTURE.md (header `| module | job | knows |`).
fn table(doc: &str) -> Vec<Row> {
    let mut lines = doc
        .lines()
        .skip_while(|l| !l.starts_with("| module | job | knows |"));
    assert!(
        lines.next().is_some(),
        "ARCHITECTURE.md : tableau « | module | job | knows | » introuvable"
    );
    let mut rows: Vec<Row> = Vec::new();
    for line in lines.skip(1).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let module = cells[0].trim().trim_matches('`').to_string();
        let knows_cell = cells[cells.len() - 1];
        let knows = if knows_cell.trim() == "everything above" {
            rows.iter().map(|r| r.module.clone()).collect()
        } else {
            knows_list(knows_cell)
        };
        rows.push(Row { module, knows });
    }
    rows
}

/// `model, config, tag (the départements, for filters), store` → the module names; `nothing`
/// and `—` are the empty list. Parenthesised remarks are dropped.
fn knows_list(cell: &str) -> BTreeSet<String> {
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
        .split(',')
        .map(|item| item.trim().trim_matches('`'))
        .filter(|item| !matches!(*item, "" | "nothing" | "—" | "-"))
        .map(|item| item.split_whitespace().next().unwrap_or(item).to_string())
        .collect()
}

/// The modules `lib.rs` declares, with whether they exist only for tests.
fn declared_modules(lib: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut test_only = false;
    for line in lib.lines().map(str::trim) {
        if line == "#[cfg(test)]" {
            test_only = true;
            continue;
        }
        let name = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|rest| rest.strip_suffix(';'));
        if let Some(name) = name {
            out.push((name.to_string(), test_only));
        }
        test_only = false;
    }
    out
}

/// Every `.rs` file of a module: `src/NAME.rs` and everything under `src/NAME/`.
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    walk(&src.join(module), &mut files);
    files.sort();
    files
}

/// The code of a file without comments, and without `#[cfg(test)]` items; the files of
/// test-only `mod NAME;` declarations are added to `test_files`.
fn production_code(path: &Path, text: &str, test_files: &mut BTreeSet<PathBuf>) -> String {
    // Children of `a/mod.rs` live in `a/`, those of `a/b.rs` in `a/b/`.
    let children = if path
        .file_name()
        .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
    {
        path.parent().unwrap().to_path_buf()
    } else {
        path.with_extension("")
    };
    let mut out = String::new();
    let mut skipping_test = false;
    let mut depth = 0i64;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("");
        let trimmed = line.trim();
        if !skipping_test && trimmed.starts_with("#[cfg(test)]") {
            skipping_test = true;
            depth = 0;
            continue;
        }
        if skipping_test {
            if trimmed.is_empty() || trimmed.starts_with("#[") {
                continue;
            }
            if depth == 0
                && let Some(name) = trimmed
                    .trim_start_matches("pub ")
                    .strip_prefix("mod ")
                    .and_then(|r| r.strip_suffix(';'))
            {
                test_files.insert(children.join(format!("{name}.rs")));
                test_files.insert(children.join(name).join("mod.rs"));
                skipping_test = false;
                continue;
            }
            depth += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if depth <= 0 && (line.contains('}') || line.trim_end().ends_with(';')) {
                skipping_test = false;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names through `crate::` (grouped imports included).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut at = 0;
    while let Some(offset) = code[at..].find("crate::") {
        let start = at + offset;
        at = start + "crate::".len();
        if start > 0 && (is_ident(bytes[start - 1]) || bytes[start - 1] == b'$') {
            continue;
        }
        let rest = code[at..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first identifier of each top-level member.
            let mut depth = 0;
            let mut member_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => member_start = true,
                    c if member_start && (c.is_alphanumeric() || c == '_') => {
                        let ident: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        found.insert(ident);
                        member_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.insert(ident);
            }
        }
    }
    found
}

/// For each module, the files and imports its row does not allow.
fn violations(root: &Path) -> Vec<String> {
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("src/lib.rs");
    let rows = table(&doc);
    let allowed: BTreeMap<&str, &BTreeSet<String>> =
        rows.iter().map(|r| (r.module.as_str(), &r.knows)).collect();
    let mut problems = Vec::new();
    for row in &rows {
        for name in &row.knows {
            if !allowed.contains_key(name.as_str()) {
                problems.push(format!(
                    "ARCHITECTURE.md : la ligne de `{}` cite `{name}`, qui n'a pas de ligne",
                    row.module
                ));
            }
        }
    }
    let src = root.join("src");
    for (module, test_only) in declared_modules(&lib) {
        let Some(knows) = allowed.get(module.as_str()) else {
            problems.push(format!(
                "ARCHITECTURE.md : le module `{module}` de src/lib.rs n'a pas de ligne"
            ));
            continue;
        };
        if test_only {
            continue;
        }
        let mut test_files = BTreeSet::new();
        for file in module_files(&src, &module) {
            let text = std::fs::read_to_string(&file).expect("source file");
            if test_files.contains(&file) || is_test_file(&file) {
                continue;
            }
            let code = production_code(&file, &text, &mut test_files);
            for used in crate_paths(&code) {
                if used != module && !knows.contains(&used) {
                    let shown = file.strip_prefix(root).unwrap_or(&file).display();
                    problems.push(format!(
                        "{shown} : `{module}` utilise `crate::{used}`, absent de sa ligne"
                    ));
                }
            }
        }
    }
    problems
}

/// Files that hold only tests by their name (declared under `#[cfg(test)]` elsewhere), and
/// the files a `tests.rs` declares in its own `tests/` folder.
fn is_test_file(path: &Path) -> bool {
    let by_name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "tests" || s.ends_with("_tests"));
    let in_tests_folder = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|d| d == "tests");
    by_name || in_tests_folder
}

#[test]
fn every_module_uses_only_what_its_row_lists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let problems = violations(root);
    assert!(
        problems.is_empty(),
        "{} import(s) contraires à ARCHITECTURE.md :\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A module that (through the rows) knows itself: the first cycle found, as a path.
fn cycle(rows: &[Row]) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        knows: &BTreeMap<&str, &BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut found = path[start..].to_vec();
            found.push(module.to_string());
            return Some(found);
        }
        if !done.insert(module.to_string()) {
            return None;
        }
        path.push(module.to_string());
        for next in knows.get(module).copied().into_iter().flatten() {
            if let Some(found) = visit(next, knows, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let knows: BTreeMap<&str, &BTreeSet<String>> =
        rows.iter().map(|r| (r.module.as_str(), &r.knows)).collect();
    let mut done = BTreeSet::new();
    rows.iter()
        .find_map(|r| visit(&r.module, &knows, &mut Vec::new(), &mut done))
}

#[test]
fn the_layers_have_no_cycle() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
            .expect("ARCHITECTURE.md");
    if let Some(found) = cycle(&table(&doc)) {
        panic!(
            "ARCHITECTURE.md : les couches forment un cycle : {}",
            found.join(" → ")
        );
    }
}

#[test]
fn the_table_and_the_imports_are_read_as_written() {
    let doc = "intro\n| module | job | knows |\n|---|---|---|\n\
               | `model` | data | nothing |\n| `text` | words | — |\n\
               | `tag` | rules (a, b) | model, text (the analyser), `model` |\n\
               | `commands` | CLI | everything above |\n\nafter";
    let rows = table(doc);
    let names: Vec<&str> = rows.iter().map(|r| r.module.as_str()).collect();
    assert_eq!(names, ["model", "text", "tag", "commands"]);
    assert!(rows[0].knows.is_empty() && rows[1].knows.is_empty());
    assert_eq!(rows[2].knows.iter().collect::<Vec<_>>(), ["model", "text"]);
    assert_eq!(rows[3].knows.len(), 3);
    assert!(cycle(&rows).is_none());
    let looped =
        table("| module | job | knows |\n|---|---|---|\n| `a` | x | b |\n| `b` | y | a |\n");
    assert_eq!(
        cycle(&looped),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );

    let code = "use crate::model::Source;\nuse crate::{\n    text::{self, Word},\n    places,\n};\n\
                fn f() { crate::store::Store::open(); $crate::x(); }\n";
    assert_eq!(
        crate_paths(code).into_iter().collect::<Vec<_>>(),
        ["model", "places", "store", "text"]
    );

    let file = Path::new("src/a/mod.rs");
    let mut test_files = BTreeSet::new();
    let kept = production_code(
        file,
        "use crate::model; // crate::store in a comment\n#[cfg(test)]\nmod tests;\n\
         #[cfg(test)]\nmod more {\n    use crate::testing;\n    fn g() {}\n}\nuse crate::text;\n",
        &mut test_files,
    );
    assert_eq!(
        crate_paths(&kept).into_iter().collect::<Vec<_>>(),
        ["model", "text"]
    );
    assert!(test_files.contains(Path::new("src/a/tests.rs")));
    assert!(is_test_file(Path::new("src/a/tests/more.rs")));
    assert!(!is_test_file(Path::new("src/a/more.rs")));
}
