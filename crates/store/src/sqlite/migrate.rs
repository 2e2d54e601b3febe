//! Versioned schema migrations, applied in order inside one write transaction.

use rusqlite::{Connection, TransactionBehavior};

use super::backend;
use crate::Result;

/// Every migration, oldest first: (version, SQL). Kept in step with PostgreSQL's list, version
/// for version and table for table (tested in `crate::postgres::migrate`).
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_stores.sql")),
    (3, include_str!("migrations/0003_server_profiles.sql")),
    (4, include_str!("migrations/0004_events.sql")),
    (5, include_str!("migrations/0005_custom_roles.sql")),
    (6, include_str!("migrations/0006_changes.sql")),
    (7, include_str!("migrations/0007_entry_order.sql")),
];

/// Applies the migrations the database has not seen yet.
///
/// The immediate transaction takes SQLite's write lock first, so two processes starting
/// at once apply each migration exactly once.
pub(super) fn apply(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
         )",
    )
    .map_err(backend)?;
    let applied: i64 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
        .map_err(backend)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES (?1)", [version])
            .map_err(backend)?;
        tracing::info!(version, "applied schema migration");
    }
    tx.commit().map_err(backend)
}
