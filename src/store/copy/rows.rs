//! Rows on their way between the engines: read as plain values, converted to the target
//! column's kind, written in multi-row `INSERT`s, and summed — a row count and a SHA-256 of
//! a canonical text of every value, the same text whichever engine the row was read from.

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sha2::{Digest, Sha256};
use sqlx::{Row, TypeInfo, ValueRef};

use super::conn::Conn;
use super::schema::{Kind, quote};

/// One value, whatever engine it came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A value that could not be read (text that is not UTF-8…): why, in French. Never
    /// written: the copy stops on it, naming the row.
    Unreadable(String),
}

impl Value {
    /// A short rendering for messages: a long text is cut.
    pub(super) fn show(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(s) => {
                let cut: String = s.chars().take(40).collect();
                let more = if cut.len() < s.len() { "…" } else { "" };
                format!("« {} »{more}", cut.escape_debug())
            }
            Value::Blob(b) => format!("{} octets", b.len()),
            Value::Unreadable(_) => "illisible".into(),
        }
    }
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Value {
    let storage = match row.try_get_raw(i) {
        Ok(raw) if raw.is_null() => return Value::Null,
        Ok(raw) => raw.type_info().name().to_string(),
        Err(e) => return Value::Unreadable(crate::wording::database(&e)),
    };
    // SQLite types each value, not each column: read it as what it is stored as.
    let value = match storage.as_str() {
        "INTEGER" => row.try_get_unchecked::<i64, _>(i).map(Value::Int),
        "REAL" => row.try_get_unchecked::<f64, _>(i).map(Value::Real),
        "TEXT" => row.try_get_unchecked::<String, _>(i).map(Value::Text),
        _ => row.try_get_unchecked::<Vec<u8>, _>(i).map(Value::Blob),
    };
    value.unwrap_or_else(|e| {
        Value::Unreadable(format!(
            "valeur {storage} illisible ({})",
            crate::wording::database(&e)
        ))
    })
}

fn postgres_value(row: &sqlx::postgres::PgRow, i: usize, kind: Kind) -> Value {
    fn get<'r, T>(row: &'r sqlx::postgres::PgRow, i: usize, wrap: fn(T) -> Value) -> Value
    where
        T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        match row.try_get::<Option<T>, _>(i) {
            Ok(Some(v)) => wrap(v),
            Ok(None) => Value::Null,
            Err(e) => Value::Unreadable(crate::wording::database(&e)),
        }
    }
    match kind {
        Kind::Integer => get(row, i, Value::Int),
        Kind::Boolean => get(row, i, Value::Bool),
        Kind::Real => get(row, i, Value::Real),
        Kind::Text => get(row, i, Value::Text),
        Kind::Blob => get(row, i, Value::Blob),
    }
}

/// The rows of `sql` as values, one stream whatever the engine; `kinds` are the selected
/// columns' kinds on that side (PostgreSQL decodes by column type, SQLite by stored value).
pub(super) fn read<'c>(
    conn: &'c mut Conn,
    sql: String,
    kinds: Vec<Kind>,
) -> BoxStream<'c, Result<Vec<Value>, sqlx::Error>> {
    let sql = sqlx::AssertSqlSafe(sql);
    match conn {
        Conn::Sqlite(c) => sqlx::query(sql)
            .fetch(c)
            .map(move |row| row.map(|r| (0..kinds.len()).map(|i| sqlite_value(&r, i)).collect()))
            .boxed(),
        Conn::Postgres(c) => sqlx::query(sql)
            .fetch(c)
            .map(move |row| {
                row.map(|r| {
                    kinds
                        .iter()
                        .enumerate()
                        .map(|(i, k)| postgres_value(&r, i, *k))
                        .collect()
                })
            })
            .boxed(),
    }
}

/// `value` as the target column of `kind` stores it, or why it cannot be (French). Lossless
/// only: an SQLite flag other than 0 or 1, a fraction in an integer column or a NUL in a text
/// for PostgreSQL are refused rather than changed.
pub(super) fn convert(value: &Value, kind: Kind, postgres: bool) -> Result<Value, String> {
    let refused = || {
        Err(format!(
            "la valeur {} ne va pas dans une colonne {}",
            value.show(),
            match kind {
                Kind::Integer => "d'entiers",
                Kind::Boolean => "booléenne (0 ou 1)",
                Kind::Real => "de nombres réels",
                Kind::Text => "de texte",
                Kind::Blob => "binaire",
            }
        ))
    };
    match (value, kind) {
        (Value::Unreadable(why), _) => Err(why.clone()),
        (Value::Null, _) => Ok(Value::Null),
        (Value::Int(i), Kind::Integer) => Ok(Value::Int(*i)),
        (Value::Bool(b), Kind::Integer) => Ok(Value::Int(i64::from(*b))),
        (Value::Int(0), Kind::Boolean) => Ok(Value::Bool(false)),
        (Value::Int(1), Kind::Boolean) => Ok(Value::Bool(true)),
        (Value::Bool(b), Kind::Boolean) => Ok(Value::Bool(*b)),
        (Value::Real(f), Kind::Real) => Ok(Value::Real(*f)),
        (Value::Text(s), Kind::Text) if postgres && s.contains('\0') => Err(format!(
            "le texte {} contient un caractère nul (U+0000), que PostgreSQL refuse : \
             corrigez cette valeur dans la base source, puis relancez la copie",
            value.show()
        )),
        (Value::Text(s), Kind::Text) => Ok(Value::Text(s.clone())),
        (Value::Blob(b), Kind::Blob) => Ok(Value::Blob(b.clone())),
        _ => refused(),
    }
}

/// A table's row count and checksum, fed row by row in primary-key order.
pub(super) struct Sum {
    rows: i64,
    hash: Sha256,
}

impl Sum {
    pub(super) fn new() -> Sum {
        Sum {
            rows: 0,
            hash: Sha256::new(),
        }
    }

    /// Adds a row. Each value is written with its class and, for text and bytes, its length
    /// first, so that no value can pass for two: an integer and a flag alike (SQLite keeps
    /// flags as 0/1), a float by its shortest exact decimal form.
    pub(super) fn add(&mut self, values: &[Value]) {
        let mut line = String::new();
        for value in values {
            match value {
                Value::Null => line.push('N'),
                Value::Int(i) => line.push_str(&format!("I{i}")),
                Value::Bool(b) => line.push_str(&format!("I{}", i64::from(*b))),
                Value::Real(f) => line.push_str(&format!("R{f:?}")),
                Value::Text(s) => line.push_str(&format!("T{}:{s}", s.len())),
                Value::Blob(b) => {
                    line.push_str(&format!("B{}:", b.len()));
                    line.extend(b.iter().map(|x| format!("{x:02x}")));
                }
                Value::Unreadable(why) => line.push_str(&format!("?{why}")),
            }
            line.push('|');
        }
        line.push('\n');
        self.hash.update(line.as_bytes());
        self.rows += 1;
    }

    /// The row count and the hexadecimal SHA-256.
    pub(super) fn finish(self) -> (i64, String) {
        let digest = self.hash.finalize();
        (
            self.rows,
            digest.iter().map(|b| format!("{b:02x}")).collect(),
        )
    }
}

/// Runs `sql` with `binds` on either engine; a NULL is typed by its column, as PostgreSQL
/// wants.
pub(super) async fn execute(
    conn: &mut Conn,
    sql: String,
    binds: &[(&Value, Kind)],
) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql);
    // The same binds on both engines, whose query types differ.
    macro_rules! bound {
        ($query:expr) => {{
            let mut query = $query;
            for (value, kind) in binds {
                query = match (value, kind) {
                    (Value::Int(i), _) => query.bind(*i),
                    (Value::Bool(b), _) => query.bind(*b),
                    (Value::Real(f), _) => query.bind(*f),
                    (Value::Text(s), _) => query.bind(s.as_str()),
                    (Value::Blob(b), _) => query.bind(b.as_slice()),
                    (_, Kind::Integer) => query.bind(None::<i64>),
                    (_, Kind::Boolean) => query.bind(None::<bool>),
                    (_, Kind::Real) => query.bind(None::<f64>),
                    (_, Kind::Text) => query.bind(None::<String>),
                    (_, Kind::Blob) => query.bind(None::<Vec<u8>>),
                };
            }
            query
        }};
    }
    match conn {
        Conn::Sqlite(c) => bound!(sqlx::query(sql)).execute(c).await.map(drop),
        Conn::Postgres(c) => bound!(sqlx::query(sql)).execute(c).await.map(drop),
    }
}

/// Writes `rows` (already converted to `kinds`) into `table` in one multi-row `INSERT`.
pub(super) async fn insert(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    kinds: &[Kind],
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = columns.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let names: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        quote(table),
        names.join(", "),
        tuples.join(", ")
    );
    let binds: Vec<(&Value, Kind)> = rows
        .iter()
        .flat_map(|row| row.iter().zip(kinds.iter().copied()))
        .collect();
    execute(conn, sql, &binds).await
}

/// How many rows go in one `INSERT`: well under both engines' limits on bound values
/// (32,766 for SQLite, 65,535 for PostgreSQL). SQLite gets far fewer: sqlx looks each `$n`
/// up by name when binding, a scan of the statement's parameter list, so a statement's cost
/// grows with the square of its parameters (10,000 of them made a 200,000-article copy spend
/// 87 % of its time there, measured with perf).
pub(super) fn batch_rows(columns: usize, postgres: bool) -> usize {
    let values = if postgres { 10_000 } else { 1_000 };
    (values / columns.max(1)).clamp(1, 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(rows: &[Vec<Value>]) -> (i64, String) {
        let mut s = Sum::new();
        for r in rows {
            s.add(r);
        }
        s.finish()
    }

    #[test]
    fn flags_read_alike_from_both_engines_and_values_cannot_pass_for_others() {
        // SQLite gives a flag as 0/1, PostgreSQL as a boolean: one checksum.
        assert_eq!(
            sum(&[vec![Value::Int(1), Value::Text("a".into())]]),
            sum(&[vec![Value::Bool(true), Value::Text("a".into())]])
        );
        // A text holding the separator, or a NULL against an empty text: different sums.
        assert_ne!(
            sum(&[vec![Value::Text("a|I1".into())]]),
            sum(&[vec![Value::Text("a".into()), Value::Int(1)]])
        );
        assert_ne!(
            sum(&[vec![Value::Null]]),
            sum(&[vec![Value::Text(String::new())]])
        );
        assert_ne!(sum(&[vec![Value::Real(1.0)]]), sum(&[vec![Value::Int(1)]]));
        assert_eq!(sum(&[]).0, 0);
    }

    #[test]
    fn conversions_are_lossless_or_refused_in_french() {
        assert_eq!(
            convert(&Value::Int(1), Kind::Boolean, true),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            convert(&Value::Bool(false), Kind::Integer, false),
            Ok(Value::Int(0))
        );
        let two = convert(&Value::Int(2), Kind::Boolean, true).unwrap_err();
        assert!(two.contains("booléenne"), "{two}");
        let nul = Value::Text("a\0b".into());
        let refused = convert(&nul, Kind::Text, true).unwrap_err();
        assert!(refused.contains("caractère nul"), "{refused}");
        // SQLite keeps it.
        assert_eq!(convert(&nul, Kind::Text, false), Ok(nul.clone()));
        let text = convert(&Value::Text("x".into()), Kind::Integer, false).unwrap_err();
        assert!(text.contains("d'entiers"), "{text}");
        assert_eq!(
            convert(&Value::Unreadable("illisible".into()), Kind::Text, false),
            Err("illisible".into())
        );
    }

    #[test]
    fn batches_stay_under_the_engines_limits() {
        assert_eq!(batch_rows(25, true), 400);
        assert_eq!(batch_rows(25, false), 40);
        assert_eq!(batch_rows(2, true), 1_000);
        assert!(batch_rows(40_000, false) >= 1);
    }
}
