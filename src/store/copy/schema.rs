//! The tables of a database as the copy needs them, read from the schema itself (so a table
//! a future migration adds is never forgotten): columns with their kind of value, primary
//! key, identity column and the tables their foreign keys point to; and the order in which
//! the tables can be filled.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;

use super::conn::{Conn, Dialect};

/// What a column holds, across the two engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// SQLite INTEGER, PostgreSQL BIGINT.
    Integer,
    /// PostgreSQL BOOLEAN; SQLite keeps 0 or 1 in an INTEGER column.
    Boolean,
    /// SQLite REAL, PostgreSQL DOUBLE PRECISION.
    Real,
    /// TEXT on both.
    Text,
    /// SQLite BLOB, PostgreSQL BYTEA.
    Blob,
}

impl Kind {
    /// A declared SQLite type, by SQLite's own affinity rules (section 3.1 of "Datatypes In
    /// SQLite"); NUMERIC affinity, which may hold anything, is not copied blindly.
    fn sqlite(declared: &str) -> Option<Kind> {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Some(Kind::Integer)
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Some(Kind::Text)
        } else if t.contains("BLOB") || t.is_empty() {
            Some(Kind::Blob)
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Some(Kind::Real)
        } else if t.contains("BOOL") {
            Some(Kind::Boolean)
        } else {
            None
        }
    }

    /// A PostgreSQL `information_schema` data type; only the types veille's migrations use
    /// (their conventions: BIGINT, BOOLEAN, DOUBLE PRECISION, TEXT, BYTEA).
    fn postgres(data_type: &str) -> Option<Kind> {
        match data_type {
            "bigint" => Some(Kind::Integer),
            "boolean" => Some(Kind::Boolean),
            "double precision" => Some(Kind::Real),
            "text" => Some(Kind::Text),
            "bytea" => Some(Kind::Blob),
            _ => None,
        }
    }
}

/// One column.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub(super) name: String,
    pub(super) kind: Kind,
}

/// One table of the schema.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) name: String,
    /// In the table's own order.
    pub(super) columns: Vec<Column>,
    /// The primary key's columns, in key order (names).
    pub(super) key: Vec<String>,
    /// The column PostgreSQL numbers by an identity sequence, if any.
    pub(super) identity: Option<String>,
    /// The tables this one's foreign keys point to (itself left out).
    pub(super) parents: BTreeSet<String>,
}

/// `name` quoted as an SQL identifier (the same rule in both dialects).
pub(super) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The names of the tables veille's migrations made: everything but sqlx's own bookkeeping
/// (and SQLite's internal tables).
pub(super) async fn table_names(conn: &mut Conn) -> Result<Vec<String>, sqlx::Error> {
    match conn {
        Conn::Sqlite(c) => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> '_sqlx_migrations' ORDER BY name",
            )
            .fetch_all(c)
            .await
        }
        Conn::Postgres(c) => {
            sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 AND table_name <> '_sqlx_migrations' ORDER BY table_name",
            )
            .fetch_all(c)
            .await
        }
    }
}

async fn sqlite_table(c: &mut sqlx::SqliteConnection, name: &str) -> anyhow::Result<Table> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid")
            .bind(name)
            .fetch_all(&mut *c)
            .await?;
    let mut columns = Vec::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    for (column, declared, pk) in rows {
        let Some(kind) = Kind::sqlite(&declared) else {
            bail!(
                "colonne {name}.{column} d'un type que la copie ne sait pas traiter : {declared}"
            );
        };
        if pk > 0 {
            key.push((pk, column.clone()));
        }
        columns.push(Column { name: column, kind });
    }
    key.sort();
    let parents: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)")
            .bind(name)
            .fetch_all(&mut *c)
            .await?;
    Ok(Table {
        name: name.to_string(),
        columns,
        key: key.into_iter().map(|(_, c)| c).collect(),
        identity: None,
        parents: parents.into_iter().filter(|p| p != name).collect(),
    })
}

async fn postgres_table(c: &mut sqlx::PgConnection, name: &str) -> anyhow::Result<Table> {
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, is_identity = 'YES' \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(name)
    .fetch_all(&mut *c)
    .await?;
    let mut columns = Vec::new();
    let mut identity = None;
    for (column, data_type, is_identity) in rows {
        let Some(kind) = Kind::postgres(&data_type) else {
            bail!(
                "colonne {name}.{column} d'un type que la copie ne sait pas traiter : {data_type}"
            );
        };
        if is_identity {
            identity = Some(column.clone());
        }
        columns.push(Column { name: column, kind });
    }
    let key: Vec<String> = sqlx::query_scalar(
        "SELECT u.column_name::text FROM information_schema.table_constraints k \
         JOIN information_schema.key_column_usage u ON u.constraint_name = k.constraint_name \
          AND u.table_schema = k.table_schema AND u.table_name = k.table_name \
         WHERE k.table_schema = current_schema() AND k.table_name = $1 \
           AND k.constraint_type = 'PRIMARY KEY' ORDER BY u.ordinal_position",
    )
    .bind(name)
    .fetch_all(&mut *c)
    .await?;
    let parents: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT p.relname::text FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE k.contype = 'f' AND n.nspname = current_schema() AND c.relname = $1",
    )
    .bind(name)
    .fetch_all(&mut *c)
    .await?;
    Ok(Table {
        name: name.to_string(),
        columns,
        key,
        identity,
        parents: parents.into_iter().filter(|p| p != name).collect(),
    })
}

/// Every table of the database, by name.
pub(super) async fn read(conn: &mut Conn) -> anyhow::Result<BTreeMap<String, Table>> {
    let mut tables = BTreeMap::new();
    for name in table_names(conn).await? {
        let table = match conn {
            Conn::Sqlite(c) => sqlite_table(c, &name).await?,
            Conn::Postgres(c) => postgres_table(c, &name).await?,
        };
        tables.insert(name, table);
    }
    Ok(tables)
}

/// The tables in an order where each comes after those its foreign keys point to (ties by
/// name, so the order is stable).
pub(super) fn fill_order(tables: &BTreeMap<String, Table>) -> anyhow::Result<Vec<String>> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < tables.len() {
        let ready: Vec<&String> = tables
            .values()
            .filter(|t| !done.contains(&t.name))
            .filter(|t| {
                t.parents
                    .iter()
                    .all(|p| done.contains(p) || !tables.contains_key(p))
            })
            .map(|t| &t.name)
            .collect();
        if ready.is_empty() {
            let left: Vec<&str> = tables
                .keys()
                .filter(|n| !done.contains(*n))
                .map(String::as_str)
                .collect();
            bail!(
                "les clés étrangères des tables {} forment un cycle : la copie ne sait pas \
                 dans quel ordre les remplir",
                left.join(", ")
            );
        }
        for name in ready {
            done.insert(name.clone());
            order.push(name.clone());
        }
    }
    Ok(order)
}

/// `SELECT` of `columns` of `table` in primary-key order (every column when there is no
/// key). Text keys are compared byte by byte on both engines (SQLite's BINARY, PostgreSQL's
/// "C" collation), so both sides give the rows in the same order whatever the server's
/// locale — the checksums depend on it.
pub(super) fn select_sql(dialect: Dialect, table: &Table, columns: &[&Column]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let key: Vec<&Column> = if table.key.is_empty() {
        columns.to_vec()
    } else {
        table
            .key
            .iter()
            .filter_map(|k| columns.iter().copied().find(|c| &c.name == k))
            .collect()
    };
    let order: Vec<String> = key
        .iter()
        .map(|c| match (c.kind, dialect) {
            (Kind::Text, Dialect::Sqlite) => format!("{} COLLATE BINARY", quote(&c.name)),
            (Kind::Text, Dialect::Postgres) => format!("{} COLLATE \"C\"", quote(&c.name)),
            _ => quote(&c.name),
        })
        .collect();
    let mut sql = format!("SELECT {} FROM {}", names.join(", "), quote(&table.name));
    if !order.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, parents: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec![Column {
                name: "id".into(),
                kind: Kind::Integer,
            }],
            key: vec!["id".into()],
            identity: None,
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn parents_come_first_and_a_cycle_is_refused() {
        let tables: BTreeMap<String, Table> = [
            table("tags", &["articles"]),
            table("articles", &["sources"]),
            table("sources", &[]),
            table("editions", &[]),
            table("edition_items", &["editions"]),
        ]
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
        assert_eq!(
            fill_order(&tables).unwrap(),
            ["editions", "sources", "articles", "edition_items", "tags"]
        );
        let cycle: BTreeMap<String, Table> = [table("a", &["b"]), table("b", &["a"])]
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let error = fill_order(&cycle).unwrap_err().to_string();
        assert!(error.contains("forment un cycle"), "{error}");
    }

    #[test]
    fn kinds_follow_each_engine_and_text_keys_sort_bytewise() {
        assert_eq!(Kind::sqlite("INTEGER"), Some(Kind::Integer));
        assert_eq!(Kind::sqlite("TEXT"), Some(Kind::Text));
        assert_eq!(Kind::sqlite("REAL"), Some(Kind::Real));
        assert_eq!(Kind::sqlite(""), Some(Kind::Blob));
        assert_eq!(Kind::sqlite("NUMERIC"), None);
        assert_eq!(Kind::postgres("boolean"), Some(Kind::Boolean));
        assert_eq!(Kind::postgres("integer"), None);
        let mut t = table("suppressions", &[]);
        t.columns = vec![
            Column {
                name: "hash".into(),
                kind: Kind::Text,
            },
            Column {
                name: "at".into(),
                kind: Kind::Text,
            },
        ];
        t.key = vec!["hash".into()];
        let columns: Vec<&Column> = t.columns.iter().collect();
        assert_eq!(
            select_sql(Dialect::Postgres, &t, &columns),
            "SELECT \"hash\", \"at\" FROM \"suppressions\" ORDER BY \"hash\" COLLATE \"C\""
        );
        assert_eq!(
            select_sql(Dialect::Sqlite, &t, &columns),
            "SELECT \"hash\", \"at\" FROM \"suppressions\" ORDER BY \"hash\" COLLATE BINARY"
        );
    }
}
