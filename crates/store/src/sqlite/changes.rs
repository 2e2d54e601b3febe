//! The change feed in SQLite: rows written inside the writer's transaction. SQLite lets one
//! writer in at a time, so sequence numbers are handed out in commit order.

use rusqlite::{Connection, Row, params};
use uuid::Uuid;

use super::{backend, parse_id};
use crate::encoding::{CHANGES_KEPT, now, ts};
use crate::{Change, ChangeKind, Result, StoreError};

/// Records that one item changed.
pub(super) fn record(conn: &Connection, kind: ChangeKind, id: Uuid, org: Uuid) -> Result<()> {
    conn.execute(
        "INSERT INTO changes (kind, id, org_id, at) VALUES (?1, ?2, ?3, ?4)",
        params![kind.as_str(), id.to_string(), org.to_string(), ts(now())],
    )
    .map_err(backend)?;
    prune(conn)
}

/// Records a change for every row of an org in `table`, before they are deleted.
pub(super) fn record_all(
    conn: &Connection,
    table: &str,
    kind: ChangeKind,
    org: Uuid,
) -> Result<()> {
    let sql = format!(
        "INSERT INTO changes (kind, id, org_id, at)
         SELECT ?1, id, org_id, ?2 FROM {table} WHERE org_id = ?3 ORDER BY id"
    );
    conn.execute(&sql, params![kind.as_str(), ts(now()), org.to_string()]).map_err(backend)?;
    prune(conn)
}

fn prune(conn: &Connection) -> Result<()> {
    conn.execute(
        "DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?1",
        [CHANGES_KEPT],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn last(conn: &Connection) -> Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| r.get(0)).map_err(backend)
}

pub(super) fn since(conn: &Connection, seq: i64, limit: u32) -> Result<Vec<Change>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, kind, id, org_id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = stmt.query_map(params![seq, limit], raw).map_err(backend)?;
    let mut out = Vec::new();
    for r in rows {
        let (seq, kind, id, org_id) = r.map_err(backend)?;
        let kind = ChangeKind::from_name(&kind).ok_or_else(|| StoreError::Corrupt {
            id: format!("change {seq}"),
            reason: format!("unknown kind {kind}"),
        })?;
        out.push(Change { seq, kind, id, org_id });
    }
    Ok(out)
}

fn raw(r: &Row<'_>) -> rusqlite::Result<(i64, String, Uuid, Uuid)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        parse_id(&r.get::<_, String>(2)?)?,
        parse_id(&r.get::<_, String>(3)?)?,
    ))
}
