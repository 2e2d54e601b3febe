//! Dumping a PostgreSQL store to plain rows and loading one into an empty store.
//!
//! Values map to cells by column type: TEXT to `Text`, BIGINT to `Int`, BYTEA to `Blob`,
//! BOOLEAN to `Int` 0 or 1; loading maps them back by the type each column has here.

use ::postgres::types::{ToSql, Type};
use ::postgres::{Client, IsolationLevel, Row, Transaction};

use super::{backend, get};
use crate::dump::{self, Cell, Dump, SEQUENCES, TABLES, Table, TableDump};
use crate::{Result, StoreError};

/// Every dumped table, read in one read-only snapshot.
pub(super) fn export(c: &mut Client) -> Result<Dump> {
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(backend)?;
    let schema_version = schema_version(&mut tx)?;
    let tables = TABLES.iter().map(|t| export_table(&mut tx, t)).collect::<Result<_>>()?;
    tx.commit().map_err(backend)?;
    Ok(Dump { schema_version, tables })
}

fn schema_version(tx: &mut Transaction<'_>) -> Result<i64> {
    let row = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .map_err(backend)?;
    get(&row, 0)
}

fn export_table(tx: &mut Transaction<'_>, table: &Table) -> Result<TableDump> {
    let stmt = tx.prepare(&format!("SELECT * FROM {}", table.name)).map_err(backend)?;
    let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut rows = Vec::new();
    for r in tx.query(&stmt, &[]).map_err(backend)? {
        let row = (0..columns.len()).map(|i| cell(&r, i)).collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    dump::sort_rows(table, &columns, &mut rows);
    Ok(TableDump { table: table.name.to_owned(), columns, rows })
}

fn cell(r: &Row, i: usize) -> Result<Cell> {
    let column = &r.columns()[i];
    let ty = column.type_();
    let value = if *ty == Type::BOOL {
        get::<Option<bool>>(r, i)?.map(|b| Cell::Int(i64::from(b)))
    } else if *ty == Type::INT8 {
        get::<Option<i64>>(r, i)?.map(Cell::Int)
    } else if *ty == Type::TEXT {
        get::<Option<String>>(r, i)?.map(Cell::Text)
    } else if *ty == Type::BYTEA {
        get::<Option<Vec<u8>>>(r, i)?.map(Cell::Blob)
    } else {
        return Err(StoreError::message(format!(
            "column {} has type {ty}, which dumps do not carry",
            column.name()
        )));
    };
    Ok(value.unwrap_or(Cell::Null))
}

/// Loads a dump in one transaction, refused when the store holds an org already; then moves
/// the sequences past the loaded numbers.
pub(super) fn import(c: &mut Client, d: &Dump) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    let has_org = tx.query_opt("SELECT 1 FROM orgs LIMIT 1", &[]).map_err(backend)?.is_some();
    if has_org {
        return Err(dump::not_empty());
    }
    let version = schema_version(&mut tx)?;
    let mut columns_of = |table: &str| columns(&mut tx, table);
    let plan = dump::plan(d, version, &mut columns_of)?;
    for t in plan {
        import_table(&mut tx, t)?;
    }
    for table in SEQUENCES {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), COALESCE(MAX(seq), 0) + 1,
                 false)
             FROM {table}"
        );
        tx.execute(&sql, &[]).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

fn columns(tx: &mut Transaction<'_>, table: &str) -> Result<Vec<String>> {
    let rows = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )
        .map_err(backend)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

fn import_table(tx: &mut Transaction<'_>, t: &TableDump) -> Result<()> {
    let stmt = tx.prepare(&dump::insert_sql(t, |n| format!("${n}"))).map_err(backend)?;
    let types = stmt.params().to_vec();
    for row in &t.rows {
        let values = row
            .iter()
            .zip(&types)
            .zip(&t.columns)
            .map(|((cell, ty), column)| param(cell, ty, &t.table, column))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| &**v as _).collect();
        tx.execute(&stmt, &refs).map_err(backend)?;
    }
    Ok(())
}

/// A cell as the parameter a column of type `ty` takes.
fn param<'c>(
    cell: &'c Cell,
    ty: &Type,
    table: &str,
    column: &str,
) -> Result<Box<dyn ToSql + Sync + 'c>> {
    let value: Box<dyn ToSql + Sync + 'c> = match cell {
        Cell::Int(i) if *ty == Type::BOOL => Box::new(*i != 0),
        Cell::Int(i) if *ty == Type::INT8 => Box::new(*i),
        // PostgreSQL text holds no NUL; one that SQLite kept (in an old audit event, say)
        // arrives as U+FFFD rather than failing the whole copy.
        Cell::Text(s) if *ty == Type::TEXT && s.contains('\0') => {
            Box::new(s.replace('\0', "\u{FFFD}"))
        }
        Cell::Text(s) if *ty == Type::TEXT => Box::new(s.as_str()),
        Cell::Blob(b) if *ty == Type::BYTEA => Box::new(b.as_slice()),
        Cell::Null if *ty == Type::BOOL => Box::new(None::<bool>),
        Cell::Null if *ty == Type::INT8 => Box::new(None::<i64>),
        Cell::Null if *ty == Type::TEXT => Box::new(None::<&str>),
        Cell::Null if *ty == Type::BYTEA => Box::new(None::<&[u8]>),
        _ => {
            return Err(StoreError::Conflict(format!(
                "the dump holds {} for {table}.{column}, which is of type {ty} here",
                cell.kind()
            )));
        }
    };
    Ok(value)
}
