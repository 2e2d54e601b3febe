//! The audit log in SQLite.

use rusqlite::{Connection, Row, params};
use uuid::Uuid;

use super::{backend, now, parse_id, parse_ts, ts};
use crate::{Event, EventFilter, Page, Result};

pub(super) fn record(conn: &Connection, e: &Event) -> Result<()> {
    conn.execute(
        "INSERT INTO events (id, seq, org, at, actor, action, resource, outcome, detail)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM events), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            Uuid::new_v4().to_string(),
            e.org,
            ts(now()),
            e.actor,
            e.action,
            e.resource,
            e.outcome,
            e.detail
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn row(r: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: parse_id(&r.get::<_, String>(0)?)?,
        org: r.get(1)?,
        at: parse_ts(&r.get::<_, String>(2)?)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        resource: r.get(5)?,
        outcome: r.get(6)?,
        detail: r.get(7)?,
    })
}

pub(super) fn list(
    conn: &Connection,
    org: &str,
    f: &EventFilter,
    page: Page,
) -> Result<(u64, Vec<Event>)> {
    let filter = "(org = ?1 OR (org IS NULL AND ?1 = 'admin'))
        AND (?2 IS NULL OR instr(resource, ?2) > 0)
        AND (?3 IS NULL OR at >= ?3)
        AND (?4 IS NULL OR at < ?4)";
    let args = (org, f.resource.as_deref(), f.since.map(ts), f.until.map(ts));
    let total: i64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM events WHERE {filter}"),
            params![args.0, args.1, args.2, args.3],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let sql = format!(
        "SELECT id, org, at, actor, action, resource, outcome, detail FROM events
         WHERE {filter} ORDER BY seq DESC LIMIT ?5 OFFSET ?6"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    let items = stmt
        .query_map(params![args.0, args.1, args.2, args.3, page.limit, offset], row)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    Ok((total.unsigned_abs(), items))
}
