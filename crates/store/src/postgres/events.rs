//! The audit log in PostgreSQL.

use ::postgres::{Client, Row};
use uuid::Uuid;

use super::{backend, get, id_at, offset, time_at};
use crate::encoding::{now, ts};
use crate::{Event, EventFilter, Page, Result};

pub(super) fn record(c: &mut Client, e: &Event) -> Result<()> {
    c.execute(
        "INSERT INTO events (id, org, at, actor, action, resource, outcome, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &Uuid::new_v4().to_string(),
            &e.org,
            &ts(now()),
            &e.actor,
            &e.action,
            &e.resource,
            &e.outcome,
            &e.detail,
        ],
    )
    .map_err(backend)?;
    Ok(())
}

fn row(r: &Row) -> Result<Event> {
    Ok(Event {
        id: id_at(r, 0)?,
        org: get(r, 1)?,
        at: time_at(r, 2)?,
        actor: get(r, 3)?,
        action: get(r, 4)?,
        resource: get(r, 5)?,
        outcome: get(r, 6)?,
        detail: get(r, 7)?,
    })
}

pub(super) fn list(
    c: &mut Client,
    org: &str,
    f: &EventFilter,
    page: Page,
) -> Result<(u64, Vec<Event>)> {
    let filter = "(org = $1 OR (org IS NULL AND $1 = 'admin'))
        AND ($2::text IS NULL OR strpos(resource, $2) > 0)
        AND ($3::text IS NULL OR at >= $3)
        AND ($4::text IS NULL OR at < $4)";
    let (resource, since, until) = (f.resource.as_deref(), f.since.map(ts), f.until.map(ts));
    let count = format!("SELECT COUNT(*) FROM events WHERE {filter}");
    let total: i64 =
        get(&c.query_one(&count, &[&org, &resource, &since, &until]).map_err(backend)?, 0)?;
    let sql = format!(
        "SELECT id, org, at, actor, action, resource, outcome, detail FROM events
         WHERE {filter} ORDER BY seq DESC LIMIT $5 OFFSET $6"
    );
    let rows = c
        .query(&sql, &[&org, &resource, &since, &until, &i64::from(page.limit), &offset(page)])
        .map_err(backend)?;
    let items = rows.iter().map(row).collect::<Result<_>>()?;
    Ok((total.unsigned_abs(), items))
}
