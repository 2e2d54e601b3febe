//! A whole store as plain rows, so `tlsdeck admin copy-store` can move it between backends.
//!
//! Both backends dump the same tables with the same columns in the same order, and sort the
//! rows the same way, so two dumps of equal stores compare equal whatever held them.

use std::cmp::Ordering;

use crate::{Result, StoreError};

/// One value of a dumped row. Flags are `Int` 0 or 1 in every backend.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    /// No value.
    Null,
    /// A whole number or a flag.
    Int(i64),
    /// Text: ids, names, RFC 3339 times, JSON bodies, password hashes.
    Text(String),
    /// Bytes: certificates and sealed private keys.
    Blob(Vec<u8>),
}

impl Cell {
    /// What kind of value it is, for messages that must not show the value.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Int(_) => "a number",
            Self::Text(_) => "text",
            Self::Blob(_) => "bytes",
        }
    }
}

/// The rows of one table.
#[derive(Clone, PartialEq, Eq)]
pub struct TableDump {
    /// The table's name.
    pub table: String,
    /// Its columns, in the schema's order.
    pub columns: Vec<String>,
    /// Its rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

// Rows hold password hashes and sealed keys: Debug shows only their number.
impl std::fmt::Debug for TableDump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableDump")
            .field("table", &self.table)
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// Every table of a store but its migrations and API tokens, parents before children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// The newest migration applied to the store it came from.
    pub schema_version: i64,
    /// The tables, in an order that loads parents first.
    pub tables: Vec<TableDump>,
}

impl Dump {
    /// The dump of one table.
    pub fn table(&self, name: &str) -> Option<&TableDump> {
        self.tables.iter().find(|t| t.table == name)
    }
}

/// A table that dumps carry, with the columns its rows are sorted by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    /// The table.
    pub(crate) name: &'static str,
    /// The columns that order its rows (and, where it matters, the order they were added in).
    pub(crate) key: &'static [&'static str],
}

/// Every table a dump carries, parents first. Schema migrations stay with each store, and
/// API tokens are not copied: sessions do not move.
pub(crate) const TABLES: &[Table] = &[
    Table { name: "orgs", key: &["id"] },
    Table { name: "users", key: &["id"] },
    Table { name: "memberships", key: &["org_id", "user_id", "role"] },
    Table { name: "custom_roles", key: &["org_id", "name"] },
    Table { name: "keystores", key: &["id"] },
    Table { name: "truststores", key: &["id"] },
    Table { name: "truststore_entries", key: &["seq"] },
    Table { name: "tls_client_profiles", key: &["id"] },
    Table { name: "tls_server_profiles", key: &["id"] },
    Table { name: "events", key: &["seq"] },
    Table { name: "store_meta", key: &["key"] },
    Table { name: "changes", key: &["seq"] },
];

/// Tables that hold a sequence number a backend hands out, which an import must move past.
pub(crate) const SEQUENCES: &[&str] = &["truststore_entries", "events", "changes"];

/// Sorts rows by the table's key columns, then by every column, byte by byte.
pub(crate) fn sort_rows(table: &Table, columns: &[String], rows: &mut [Vec<Cell>]) {
    let key: Vec<usize> =
        table.key.iter().filter_map(|k| columns.iter().position(|c| c == k)).collect();
    rows.sort_by(|a, b| {
        key.iter()
            .map(|&i| a[i].cmp(&b[i]))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.cmp(b))
    });
}

/// Checks that a dump can be loaded into a store at `schema_version` whose tables have the
/// columns `columns_of` lists; returns the dump's tables in the order to load them.
pub(crate) fn plan(
    dump: &Dump,
    schema_version: i64,
    mut columns_of: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<Vec<&TableDump>> {
    if dump.schema_version != schema_version {
        return Err(StoreError::Conflict(format!(
            "the dump is of schema version {}, this store is at version {schema_version}",
            dump.schema_version
        )));
    }
    if let Some(t) = dump.tables.iter().find(|t| !TABLES.iter().any(|k| k.name == t.table)) {
        return Err(StoreError::Conflict(format!("the dump holds an unknown table {}", t.table)));
    }
    let mut ordered = Vec::new();
    for table in TABLES {
        let Some(t) = dump.table(table.name) else { continue };
        let known = columns_of(table.name)?;
        if let Some(c) = t.columns.iter().find(|c| !known.contains(c)) {
            return Err(StoreError::Conflict(format!(
                "the dump holds a column {}.{c} this store does not have",
                t.table
            )));
        }
        if let Some(row) = t.rows.iter().find(|r| r.len() != t.columns.len()) {
            return Err(StoreError::Conflict(format!(
                "a row of {} has {} cells for {} columns",
                t.table,
                row.len(),
                t.columns.len()
            )));
        }
        ordered.push(t);
    }
    Ok(ordered)
}

/// `INSERT INTO table (columns) VALUES (placeholders)`, with `placeholder(n)` for the n-th
/// value (counting from 1). The names were checked against the schema by [`plan`].
pub(crate) fn insert_sql(t: &TableDump, placeholder: impl Fn(usize) -> String) -> String {
    let columns: Vec<String> = t.columns.iter().map(|c| format!("\"{c}\"")).collect();
    let values: Vec<String> = (1..=t.columns.len()).map(placeholder).collect();
    format!("INSERT INTO \"{}\" ({}) VALUES ({})", t.table, columns.join(", "), values.join(", "))
}

/// The refusal when the target store is not empty.
pub(crate) fn not_empty() -> StoreError {
    StoreError::Conflict("the target store is not empty: it already holds an org".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_the_key_then_by_the_whole_row() {
        let table = Table { name: "t", key: &["seq"] };
        let columns = vec!["name".to_owned(), "seq".to_owned()];
        let mut rows = vec![
            vec![Cell::Text("b".into()), Cell::Int(10)],
            vec![Cell::Text("a".into()), Cell::Int(9)],
            vec![Cell::Text("Z".into()), Cell::Int(10)],
        ];
        sort_rows(&table, &columns, &mut rows);
        let names: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(names, [Cell::Text("a".into()), Cell::Text("Z".into()), Cell::Text("b".into())]);
    }

    #[test]
    fn refuses_another_schema_version_and_unknown_names() {
        let table = |name: &str, column: &str| TableDump {
            table: name.into(),
            columns: vec![column.into()],
            rows: vec![vec![Cell::Null]],
        };
        let columns = |_: &str| Ok(vec!["id".to_owned()]);
        let dump = Dump { schema_version: 6, tables: vec![table("orgs", "id")] };
        assert!(matches!(plan(&dump, 7, columns), Err(StoreError::Conflict(_))));
        assert_eq!(plan(&dump, 6, columns).unwrap().len(), 1);

        let dump = Dump { schema_version: 6, tables: vec![table("tokens", "id")] };
        assert!(
            matches!(plan(&dump, 6, columns), Err(StoreError::Conflict(m)) if m.contains("tokens"))
        );
        let dump = Dump { schema_version: 6, tables: vec![table("orgs", "x\"; DROP")] };
        assert!(matches!(plan(&dump, 6, columns), Err(StoreError::Conflict(_))));
    }

    #[test]
    fn debug_shows_no_row() {
        let t = TableDump {
            table: "users".into(),
            columns: vec!["password_hash".into()],
            rows: vec![vec![Cell::Text("$argon2id$secret".into())]],
        };
        assert!(!format!("{t:?}").contains("argon2"));
    }
}
