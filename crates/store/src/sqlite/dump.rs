//! Dumping a SQLite store to plain rows and loading one into an empty store.

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, TransactionBehavior, params_from_iter};

use super::backend;
use crate::dump::{self, Cell, Dump, TABLES, Table, TableDump};
use crate::{Result, StoreError};

/// Every dumped table, read inside one transaction: SQLite gives it one snapshot.
pub(super) fn export(conn: &mut Connection) -> Result<Dump> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(backend)?;
    let schema_version = schema_version(&tx)?;
    let tables = TABLES.iter().map(|t| export_table(&tx, t)).collect::<Result<_>>()?;
    tx.commit().map_err(backend)?;
    Ok(Dump { schema_version, tables })
}

fn schema_version(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(backend)
}

fn export_table(conn: &Connection, table: &Table) -> Result<TableDump> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {}", table.name)).map_err(backend)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = Vec::new();
    let mut cursor = stmt.query([]).map_err(backend)?;
    while let Some(r) = cursor.next().map_err(backend)? {
        let row = (0..columns.len())
            .map(|i| cell(table.name, &columns[i], r.get_ref(i).map_err(backend)?))
            .collect::<Result<Vec<_>>>()?;
        rows.push(row);
    }
    dump::sort_rows(table, &columns, &mut rows);
    Ok(TableDump { table: table.name.to_owned(), columns, rows })
}

fn cell(table: &str, column: &str, v: ValueRef<'_>) -> Result<Cell> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        id: format!("{table}.{column}"),
        reason: reason.to_owned(),
    };
    Ok(match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Text(t) => {
            Cell::Text(String::from_utf8(t.to_vec()).map_err(|_| corrupt("text is not UTF-8"))?)
        }
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        ValueRef::Real(_) => return Err(corrupt("a real number where none is kept")),
    })
}

/// Loads a dump in one transaction, refused when the store holds an org already.
pub(super) fn import(conn: &mut Connection, d: &Dump) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let has_org: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM orgs)", [], |r| r.get(0)).map_err(backend)?;
    if has_org {
        return Err(dump::not_empty());
    }
    let version = schema_version(&tx)?;
    for t in dump::plan(d, version, |table| columns(&tx, table))? {
        let sql = dump::insert_sql(t, |n| format!("?{n}"));
        let mut stmt = tx.prepare(&sql).map_err(backend)?;
        for row in &t.rows {
            stmt.execute(params_from_iter(row.iter().map(value))).map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)").map_err(backend)?;
    let rows = stmt.query_map([table], |r| r.get(0)).map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

fn value(c: &Cell) -> Value {
    match c {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Blob(b) => Value::Blob(b.clone()),
    }
}
