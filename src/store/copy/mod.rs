//! `veille store copy`: the whole store copied, table by table, into another, empty database
//! — the archive's SQLite file into PostgreSQL, or back — and checked by row counts and
//! checksums read on both sides before the target's one transaction commits.
//!
//! Independent of `Store`'s methods on purpose: tables, columns, keys, types and foreign keys
//! are read from the schemas themselves, so a table a future migration adds is copied
//! without a change here. The search index is not part of the store (one per machine).

mod conn;
mod endpoint;
mod rows;
mod schema;

use std::collections::BTreeMap;

use anyhow::bail;
use futures_util::StreamExt;
use serde::Serialize;

pub(crate) use endpoint::Endpoint;

use conn::{Conn, Dialect, known_migrations};
use rows::{Sum, Value};
use schema::{Column, Kind, Table, quote};

/// One table as copied: its rows and their checksum, equal on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TableSum {
    pub(crate) table: String,
    pub(crate) rows: i64,
    /// SHA-256 (hex) of the canonical text of the rows in primary-key order.
    pub(crate) sha256: String,
}

/// Rows that triggers freeze once a column holds a value: sent editions, whose items and
/// blocks can no longer be inserted. They are inserted with a stand-in value, their children
/// copied, then switched to the real value by an `UPDATE` from the stand-in — which the
/// triggers of both dialects allow, as when an edition is really sent. Disabling the triggers
/// instead would need PostgreSQL's table owner (`ALTER TABLE … DISABLE TRIGGER`) or a
/// superuser (`session_replication_role`), and SQLite has no such switch.
struct Frozen {
    table: &'static str,
    column: &'static str,
    value: &'static str,
    stand_in: &'static str,
}

const FROZEN: &[Frozen] = &[Frozen {
    table: "editions",
    column: "status",
    value: "sent",
    stand_in: "ready",
}];

/// A table's copy: the target's columns, and the source's kinds of the same columns.
struct Plan {
    table: Table,
    source_kinds: Vec<Kind>,
}

impl Plan {
    fn columns(&self) -> Vec<&Column> {
        self.table.columns.iter().collect()
    }

    fn kinds(&self) -> Vec<Kind> {
        self.table.columns.iter().map(|c| c.kind).collect()
    }

    /// "id = 3" for messages: the row's primary key (or every value without one).
    fn row_name(&self, values: &[Value]) -> String {
        let parts: Vec<String> = self
            .table
            .columns
            .iter()
            .zip(values)
            .filter(|(c, _)| self.table.key.is_empty() || self.table.key.contains(&c.name))
            .map(|(c, v)| format!("{} = {}", c.name, v.show()))
            .collect();
        parts.join(", ")
    }
}

/// Copies every table of `source` into `target`, which must be empty, and gives each table's
/// row count and checksum (equal on both sides, or nothing is committed).
pub(crate) async fn copy(source: &Endpoint, target: &Endpoint) -> anyhow::Result<Vec<TableSum>> {
    if source.same_as(target) {
        bail!(
            "la source et la cible sont la même base ({}) : choisissez une autre cible",
            target.describe()
        );
    }
    let mut from = Conn::open_source(source).await?;
    let created = matches!(target, Endpoint::Sqlite(path) if !path.exists());
    let result = async {
        from.begin_snapshot().await?;
        check_source(&mut from, source).await?;
        let mut to = Conn::open_target(target).await?;
        let copied = async {
            refuse_non_empty(&mut to, target).await?;
            to.migrate(target).await?;
            transfer(&mut from, &mut to).await
        }
        .await;
        to.close().await;
        copied
    }
    .await;
    let _ = from.execute("ROLLBACK").await;
    from.close().await;
    if result.is_err() && created {
        // A file this copy created and left empty would only puzzle the next attempt.
        if let Endpoint::Sqlite(path) = target {
            for suffix in ["", "-wal", "-shm"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(name);
            }
        }
    }
    result
}

/// The source must be at this binary's schema version: the copy reads tables as this version
/// knows them, and never migrates the source (a copy writes nothing to it).
async fn check_source(from: &mut Conn, source: &Endpoint) -> anyhow::Result<()> {
    let known = known_migrations(from.dialect());
    let Some(applied) = from.applied_migrations().await? else {
        bail!(
            "{} n'est pas une base de veille (aucune migration enregistrée)",
            source.describe()
        );
    };
    if applied == known {
        return Ok(());
    }
    let (have, want) = (
        applied.last().copied().unwrap_or(0),
        known.last().copied().unwrap_or(0),
    );
    if have > want || applied.iter().any(|v| !known.contains(v)) {
        bail!(
            "la base source {} a été écrite par une version plus récente de veille (schéma \
             {have}, celle-ci connaît {want}) : faites la copie avec cette version-là",
            source.describe()
        );
    }
    bail!(
        "la base source {} est au schéma {have} et cette version de veille attend {want} : \
         mettez-la d'abord à jour en lançant une commande de veille sur elle (par exemple \
         `veille sources`, qui la migre), puis relancez la copie",
        source.describe()
    )
}

/// Refuses a target holding any row (sqlx's migration table aside), or a schema newer than
/// this binary's; checked before anything is written to it.
async fn refuse_non_empty(to: &mut Conn, target: &Endpoint) -> anyhow::Result<()> {
    if let Some(applied) = to.applied_migrations().await? {
        let known = known_migrations(to.dialect());
        if applied.iter().any(|v| !known.contains(v)) {
            bail!(
                "la base cible {} a un schéma plus récent que cette version de veille : \
                 faites la copie avec la version qui l'a créée",
                target.describe()
            );
        }
    }
    let mut filled = Vec::new();
    for table in schema::table_names(to).await? {
        let count = to
            .scalar(&format!("SELECT COUNT(*) FROM {}", quote(&table)))
            .await?;
        if count > 0 {
            let unit = if count > 1 { "lignes" } else { "ligne" };
            filled.push(format!("{table} : {count} {unit}"));
        }
    }
    if !filled.is_empty() {
        bail!(
            "la base cible {} n'est pas vide ({}) : la copie n'écrit que dans une base vide, \
             pour ne rien mélanger ni écraser ; rien n'a été écrit. Choisissez une base neuve \
             (PostgreSQL : createdb) ou un nouveau fichier SQLite",
            target.describe(),
            filled.join(", ")
        );
    }
    Ok(())
}

/// Matches the two schemas table by table and column by column, in fill order.
fn plans(
    source: &BTreeMap<String, Table>,
    target: &BTreeMap<String, Table>,
) -> anyhow::Result<Vec<Plan>> {
    let names = |m: &BTreeMap<String, Table>| m.keys().cloned().collect::<Vec<_>>();
    if names(source) != names(target) {
        bail!(
            "les deux bases n'ont pas les mêmes tables (source : {} ; cible : {})",
            names(source).join(", "),
            names(target).join(", ")
        );
    }
    let mut plans = Vec::new();
    for name in schema::fill_order(target)? {
        let table = target[&name].clone();
        let mut source_kinds = Vec::new();
        for column in &table.columns {
            let Some(found) = source[&name].columns.iter().find(|c| c.name == column.name) else {
                bail!("colonne {name}.{} absente de la base source", column.name);
            };
            source_kinds.push(found.kind);
        }
        if source[&name].columns.len() != table.columns.len() {
            bail!("la table {name} n'a pas les mêmes colonnes dans les deux bases");
        }
        plans.push(Plan {
            table,
            source_kinds,
        });
    }
    Ok(plans)
}

/// The copy proper, in the target's one transaction: rolled back on any error or mismatch.
async fn transfer(from: &mut Conn, to: &mut Conn) -> anyhow::Result<Vec<TableSum>> {
    let plans = plans(&schema::read(from).await?, &schema::read(to).await?)?;
    to.begin_write().await?;
    match fill_and_verify(from, to, &plans).await {
        Ok(sums) => {
            to.execute("COMMIT").await.map_err(|e| {
                anyhow::anyhow!(
                    "enregistrement de la copie impossible : {}",
                    crate::wording::database(&e)
                )
            })?;
            Ok(sums)
        }
        Err(e) => {
            let _ = to.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn fill_and_verify(
    from: &mut Conn,
    to: &mut Conn,
    plans: &[Plan],
) -> anyhow::Result<Vec<TableSum>> {
    let mut sums = Vec::new();
    let mut frozen = Vec::new();
    for plan in plans {
        let (sum, held) = copy_table(from, to, plan).await?;
        sums.push(sum);
        frozen.extend(held);
    }
    for (plan, rule, key) in frozen {
        thaw(to, plan, rule, &key).await?;
    }
    if to.dialect() == Dialect::Postgres {
        for plan in plans {
            reset_identity(to, plan).await?;
        }
    }
    verify(to, plans, &sums).await?;
    sums.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(sums)
}

/// A row held back by a frozen rule: its plan, the rule and the row's key values.
type Held<'p> = (&'p Plan, &'static Frozen, Vec<(Value, Kind)>);

/// Streams one table from the source into the target in batches; returns the source's sum
/// and the rows inserted with a stand-in value.
async fn copy_table<'p>(
    from: &mut Conn,
    to: &mut Conn,
    plan: &'p Plan,
) -> anyhow::Result<(TableSum, Vec<Held<'p>>)> {
    let name = &plan.table.name;
    let postgres = to.dialect() == Dialect::Postgres;
    let sql = schema::select_sql(from.dialect(), &plan.table, &plan.columns());
    let columns: Vec<&str> = plan.table.columns.iter().map(|c| c.name.as_str()).collect();
    let kinds = plan.kinds();
    let rules: Vec<(usize, &'static Frozen)> = FROZEN
        .iter()
        .filter(|f| f.table == name.as_str())
        .filter_map(|f| columns.iter().position(|c| *c == f.column).map(|i| (i, f)))
        .collect();
    let batch = rows::batch_rows(columns.len(), postgres);
    let (mut sum, mut pending, mut held) = (Sum::new(), Vec::with_capacity(batch), Vec::new());
    let mut stream = rows::read(from, sql, plan.source_kinds.clone());
    while let Some(row) = stream.next().await {
        let values = row.map_err(|e| {
            anyhow::anyhow!(
                "lecture de la table {name} impossible : {}",
                crate::wording::database(&e)
            )
        })?;
        sum.add(&values);
        let mut converted = Vec::with_capacity(values.len());
        for ((value, kind), column) in values.iter().zip(&kinds).zip(&columns) {
            converted.push(rows::convert(value, *kind, postgres).map_err(|why| {
                anyhow::anyhow!(
                    "table {name}, ligne {}, colonne {column} : {why} ; rien n'a été écrit",
                    plan.row_name(&values)
                )
            })?);
        }
        for (i, rule) in &rules {
            if converted[*i] == Value::Text(rule.value.to_string()) {
                converted[*i] = Value::Text(rule.stand_in.to_string());
                held.push((plan, *rule, key_of(plan, &converted)));
            }
        }
        pending.push(converted);
        if pending.len() >= batch {
            write_batch(to, plan, &columns, &kinds, &pending).await?;
            pending.clear();
        }
    }
    drop(stream);
    write_batch(to, plan, &columns, &kinds, &pending).await?;
    let (rows, sha256) = sum.finish();
    let table = name.clone();
    Ok((
        TableSum {
            table,
            rows,
            sha256,
        },
        held,
    ))
}

fn key_of(plan: &Plan, values: &[Value]) -> Vec<(Value, Kind)> {
    plan.table
        .columns
        .iter()
        .zip(values)
        .filter(|(c, _)| plan.table.key.is_empty() || plan.table.key.contains(&c.name))
        .map(|(c, v)| (v.clone(), c.kind))
        .collect()
}

async fn write_batch(
    to: &mut Conn,
    plan: &Plan,
    columns: &[&str],
    kinds: &[Kind],
    pending: &[Vec<Value>],
) -> anyhow::Result<()> {
    rows::insert(to, &plan.table.name, columns, kinds, pending)
        .await
        .map_err(|e| {
            let first = pending
                .first()
                .map(|r| plan.row_name(r))
                .unwrap_or_default();
            anyhow::anyhow!(
                "écriture dans la table {} impossible (lot commençant à la ligne {first}) : {} ; \
                 rien n'a été écrit",
                plan.table.name,
                crate::wording::database(&e)
            )
        })
}

/// Gives a held row its real value, once its children are in.
async fn thaw(
    to: &mut Conn,
    plan: &Plan,
    rule: &Frozen,
    key: &[(Value, Kind)],
) -> anyhow::Result<()> {
    let key_columns: Vec<&Column> = plan
        .table
        .columns
        .iter()
        .filter(|c| plan.table.key.is_empty() || plan.table.key.contains(&c.name))
        .collect();
    let condition: Vec<String> = key_columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", quote(&c.name), i + 2))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} = $1 WHERE {}",
        quote(&plan.table.name),
        quote(rule.column),
        condition.join(" AND ")
    );
    let value = Value::Text(rule.value.to_string());
    let mut binds = vec![(&value, Kind::Text)];
    binds.extend(key.iter().map(|(v, k)| (v, *k)));
    rows::execute(to, sql, &binds).await.map_err(|e| {
        anyhow::anyhow!(
            "table {} : remise de {} à « {} » impossible : {}",
            plan.table.name,
            rule.column,
            rule.value,
            crate::wording::database(&e)
        )
    })
}

/// PostgreSQL numbers new rows from an identity sequence, which copied rows did not use: it
/// is moved past the largest copied id, so the next row veille inserts gets a free one.
async fn reset_identity(to: &mut Conn, plan: &Plan) -> anyhow::Result<()> {
    let Some(column) = &plan.table.identity else {
        return Ok(());
    };
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence($1, $2), \
         COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
        quote(column),
        quote(&plan.table.name)
    );
    let (table, column) = (
        Value::Text(quote(&plan.table.name)),
        Value::Text(column.clone()),
    );
    rows::execute(to, sql, &[(&table, Kind::Text), (&column, Kind::Text)])
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "table {} : mise à jour de la séquence impossible : {}",
                plan.table.name,
                crate::wording::database(&e)
            )
        })
}

/// Reads every table back from the target, inside the copy's transaction, and compares its
/// count and checksum with the source's.
async fn verify(to: &mut Conn, plans: &[Plan], sums: &[TableSum]) -> anyhow::Result<()> {
    let mut mismatches = Vec::new();
    for (plan, source) in plans.iter().zip(sums) {
        let sql = schema::select_sql(to.dialect(), &plan.table, &plan.columns());
        let mut sum = Sum::new();
        let mut stream = rows::read(to, sql, plan.kinds());
        while let Some(row) = stream.next().await {
            let values = row.map_err(|e| {
                anyhow::anyhow!(
                    "relecture de la table {} impossible : {}",
                    plan.table.name,
                    crate::wording::database(&e)
                )
            })?;
            sum.add(&values);
        }
        let (rows, sha256) = sum.finish();
        if rows != source.rows || sha256 != source.sha256 {
            mismatches.push(format!(
                "{} : {} lignes ({}) dans la source, {rows} ({sha256}) dans la cible",
                plan.table.name, source.rows, source.sha256
            ));
        }
    }
    if !mismatches.is_empty() {
        bail!(
            "la vérification de la copie a échoué, rien n'a été écrit : {}",
            mismatches.join(" ; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sum_that_differs_fails_the_verification_and_schemas_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let target = Endpoint::Sqlite(dir.path().join("cible.sqlite"));
        let mut to = Conn::open_target(&target).await.unwrap();
        to.migrate(&target).await.unwrap();
        let tables = schema::read(&mut to).await.unwrap();
        let plans = plans(&tables, &tables).unwrap();
        assert_eq!(plans.len(), tables.len(), "every table planned");
        let empty = Sum::new().finish().1;
        let mut sums: Vec<TableSum> = plans
            .iter()
            .map(|p| TableSum {
                table: p.table.name.clone(),
                rows: 0,
                sha256: empty.clone(),
            })
            .collect();
        verify(&mut to, &plans, &sums).await.unwrap();
        sums[1].rows = 1;
        let error = verify(&mut to, &plans, &sums)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("rien n'a été écrit"), "{error}");
        assert!(
            error.contains(&format!("{} : 1 lignes", sums[1].table)),
            "{error}"
        );
        to.close().await;

        let mut fewer = tables.clone();
        fewer.remove("inbox");
        let error = plans_error(&fewer, &tables);
        assert!(error.contains("pas les mêmes tables"), "{error}");
    }

    fn plans_error(source: &BTreeMap<String, Table>, target: &BTreeMap<String, Table>) -> String {
        match plans(source, target) {
            Ok(_) => panic!("schémas différents acceptés"),
            Err(e) => e.to_string(),
        }
    }
}
