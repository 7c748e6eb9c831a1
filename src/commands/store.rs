//! `veille store copy --to URL`: the current store (the archive's SQLite file, or the
//! PostgreSQL database of `VEILLE_DATABASE_URL`) copied into another, empty database, with
//! the French table of what was copied and checked.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::report::{CommandError, Report};
use crate::publish::french::count as plural;
use crate::store::copy::{self, Endpoint, TableSum};

/// The last line of the report: what the copy leaves out, and how to get it back.
const INDEX_NOTE: &str = "L'index de recherche n'est pas copié : il est propre à chaque machine. \
     Sur la machine qui utilisera cette base, reconstruisez-le avec `veille reindex`.";

/// `veille store copy --to URL`.
pub(crate) async fn store_copy(archive: &Path, to: &str) -> Result<StoreCopied, CommandError> {
    let target = Endpoint::parse_target(to).map_err(CommandError::Usage)?;
    let source = Endpoint::current(archive).map_err(CommandError::Usage)?;
    let tables = copy::copy(&source, &target).await.map_err(|e| {
        anyhow::anyhow!(
            "copie de {} vers {} : {e:#}",
            source.describe(),
            target.describe()
        )
    })?;
    Ok(StoreCopied {
        source: source.describe(),
        target: target.describe(),
        rows: tables.iter().map(|t| t.rows).sum(),
        tables,
        search_index_copied: false,
    })
}

/// What `veille store copy` did: `{"rows", "search_index_copied", "source", "tables":
/// [{"rows", "sha256", "table"}], "target"}`, or a French table.
#[derive(Debug, Serialize)]
pub(crate) struct StoreCopied {
    /// Total rows copied.
    rows: i64,
    /// Always false: the search index is per machine.
    search_index_copied: bool,
    /// The source, its password hidden.
    source: String,
    /// Each table, by name, with its count and checksum (equal on both sides).
    tables: Vec<TableSum>,
    /// The target, its password hidden.
    target: String,
}

impl Report for StoreCopied {
    const PRETTY: bool = true;
}

impl fmt::Display for StoreCopied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Copie de {} vers {} : {}, {}, vérifiées des deux côtés (nombre de lignes et somme \
             de contrôle SHA-256 identiques).",
            self.source,
            self.target,
            plural(self.tables.len(), "table", "tables"),
            plural(usize::try_from(self.rows).unwrap_or(0), "ligne", "lignes")
        )?;
        let width = self
            .tables
            .iter()
            .map(|t| t.table.chars().count())
            .max()
            .unwrap_or(0)
            .max("table".len());
        writeln!(f, "{:<width$}  {:>8}  somme de contrôle", "table", "lignes")?;
        for t in &self.tables {
            writeln!(f, "{:<width$}  {:>8}  {}", t.table, t.rows, t.sha256)?;
        }
        f.write_str(INDEX_NOTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_a_french_table_and_a_json_document() {
        let copied = StoreCopied {
            rows: 3,
            search_index_copied: false,
            source: "archive/veille.sqlite".into(),
            target: "postgres://veille:***@db/veille".into(),
            tables: vec![
                TableSum {
                    table: "articles".into(),
                    rows: 2,
                    sha256: "ab".into(),
                },
                TableSum {
                    table: "inbox".into(),
                    rows: 1,
                    sha256: "cd".into(),
                },
            ],
        };
        assert_eq!(
            copied.to_string(),
            "Copie de archive/veille.sqlite vers postgres://veille:***@db/veille : 2 tables, \
             3 lignes, vérifiées des deux côtés (nombre de lignes et somme de contrôle SHA-256 \
             identiques).\n\
             table       lignes  somme de contrôle\n\
             articles         2  ab\n\
             inbox            1  cd\n\
             L'index de recherche n'est pas copié : il est propre à chaque machine. Sur la \
             machine qui utilisera cette base, reconstruisez-le avec `veille reindex`."
        );
        let json: serde_json::Value = serde_json::to_value(&copied).unwrap();
        assert_eq!(json["tables"][1]["table"], "inbox");
        assert_eq!(json["tables"][0]["sha256"], "ab");
        assert_eq!(json["search_index_copied"], false);
        assert_eq!(json["rows"], 3);
    }
}
