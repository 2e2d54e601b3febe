//! Versioned schema migrations, applied in order inside one transaction.

use ::postgres::Client;

use super::backend;
use crate::{Result, StoreError};

/// Every migration, oldest first: (version, SQL). Kept in step with SQLite's list, version for
/// version and table for table; the tests below and the store suite check it.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_stores.sql")),
    (3, include_str!("migrations/0003_server_profiles.sql")),
    (4, include_str!("migrations/0004_events.sql")),
    (5, include_str!("migrations/0005_custom_roles.sql")),
    (6, include_str!("migrations/0006_changes.sql")),
    (7, include_str!("migrations/0007_entry_order.sql")),
];

/// The advisory lock that lets one process at a time migrate a database ("tlsdeck" + 1).
const MIGRATION_LOCK: i64 = 0x746c_7364_6563_6b01;

/// Applies the migrations the database has not seen yet.
///
/// The transaction first takes an advisory lock, so two processes starting at once apply each
/// migration exactly once: the second waits, then finds nothing left to do. A database
/// migrated by a newer tlsdeck is refused rather than half understood.
pub(super) fn apply(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(backend)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     BIGINT PRIMARY KEY,
             applied_at  TEXT NOT NULL
                 DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
         )",
    )
    .map_err(backend)?;
    let applied: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if applied > newest {
        return Err(StoreError::message(format!(
            "the database schema is at version {applied}, newer than this tlsdeck knows \
             ({newest}): upgrade tlsdeck"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])
            .map_err(backend)?;
        tracing::info!(version, "applied schema migration");
    }
    tx.commit().map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use crate::sqlite::migrate::MIGRATIONS as SQLITE;

    fn versions(list: &[(i64, &str)]) -> Vec<i64> {
        list.iter().map(|(v, _)| *v).collect()
    }

    /// The names a migration creates or alters, in order: `CREATE TABLE x`, `ADD COLUMN y`.
    fn shape(sql: &str) -> Vec<String> {
        let words: Vec<&str> = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or(""))
            .flat_map(str::split_whitespace)
            .collect();
        let mut out = Vec::new();
        for w in words.windows(3) {
            match (w[0], w[1]) {
                ("CREATE", "TABLE") | ("ADD", "COLUMN") | ("CREATE", "INDEX") => {
                    out.push(format!("{} {} {}", w[0], w[1], w[2]));
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        assert_eq!(versions(MIGRATIONS), versions(SQLITE));
        assert_eq!(versions(MIGRATIONS), (1..=MIGRATIONS.len() as i64).collect::<Vec<_>>());
    }

    #[test]
    fn each_migration_creates_the_same_tables_columns_and_indexes_in_both() {
        for ((v, pg), (_, lite)) in MIGRATIONS.iter().zip(SQLITE) {
            assert_eq!(shape(pg), shape(lite), "migration {v}");
        }
    }
}
