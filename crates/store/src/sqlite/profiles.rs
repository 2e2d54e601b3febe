//! Client and server profiles in SQLite: one set of queries over two tables.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::{backend, changes, found, parse_id, parse_ts, write_error};
use crate::encoding::{ProfileRow, ProfileTable, duplicate, now, ts};
use crate::{Page, ProfileRefs, Result, StoreError, StoreLink, Stored};

fn select(table: &str) -> String {
    format!(
        "SELECT p.id, p.org_id, p.revision, p.created_at, p.updated_at, p.body,
            k.id, k.name, k.revision, t.id, t.name, t.revision
         FROM {table} p
         LEFT JOIN keystores k ON k.id = p.keystore_id
         LEFT JOIN truststores t ON t.id = p.truststore_id"
    )
}

fn link(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<StoreLink>> {
    let id: Option<String> = r.get(at)?;
    match id {
        Some(id) => Ok(Some(StoreLink {
            id: parse_id(&id)?,
            name: r.get(at + 1)?,
            revision: r.get(at + 2)?,
        })),
        None => Ok(None),
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<ProfileRow> {
    Ok(ProfileRow {
        id: parse_id(&r.get::<_, String>(0)?)?,
        org_id: parse_id(&r.get::<_, String>(1)?)?,
        revision: r.get(2)?,
        created_at: parse_ts(&r.get::<_, String>(3)?)?,
        updated_at: parse_ts(&r.get::<_, String>(4)?)?,
        body: r.get(5)?,
        keystore: link(r, 6)?,
        truststore: link(r, 9)?,
    })
}

fn opt_id(id: Option<Uuid>) -> Option<String> {
    id.map(|i| i.to_string())
}

pub(super) fn list<P: ProfileTable>(
    conn: &Connection,
    org: Uuid,
    name: Option<&str>,
    page: Page,
) -> Result<(u64, Vec<Stored<P>>)> {
    // Without an `OR` on the name, the (org_id, name, version) index serves both the count
    // and the order, so a page deep into a large org reads no more than it skips.
    let filter = match name {
        Some(_) => "p.org_id = ?1 AND p.name = ?2",
        None => "p.org_id = ?1 AND ?2 IS NULL",
    };
    let org = org.to_string();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM {} p WHERE {filter}", P::TABLE))
        .and_then(|mut stmt| stmt.query_row(params![org, name], |r| r.get(0)))
        .map_err(backend)?;
    let sql = format!(
        "{} WHERE {filter} ORDER BY p.name, p.version LIMIT ?3 OFFSET ?4",
        select(P::TABLE)
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    let rows: Vec<ProfileRow> = stmt
        .query_map(params![org, name, page.limit, offset], row)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    let items = rows.into_iter().map(ProfileRow::into_stored).collect::<Result<_>>()?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn by_name<P: ProfileTable>(
    conn: &Connection,
    org: Uuid,
    name: &str,
    version: &str,
) -> Result<Stored<P>> {
    let sql =
        format!("{} WHERE p.org_id = ?1 AND p.name = ?2 AND p.version = ?3", select(P::TABLE));
    let r = conn.query_row(&sql, params![org.to_string(), name, version], row).optional();
    found(r)?.into_stored()
}

pub(super) fn by_id<P: ProfileTable>(conn: &Connection, org: Uuid, id: Uuid) -> Result<Stored<P>> {
    let sql = format!("{} WHERE p.org_id = ?1 AND p.id = ?2", select(P::TABLE));
    let r = conn.query_row(&sql, params![org.to_string(), id.to_string()], row).optional();
    found(r)?.into_stored()
}

pub(super) fn create<P: ProfileTable>(
    conn: &mut Connection,
    org: Uuid,
    p: &P,
    refs: ProfileRefs,
) -> Result<Stored<P>> {
    let id = Uuid::new_v4();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let (name, version) = p.name_version();
    let sql = format!(
        "INSERT INTO {} (id, org_id, name, version, revision, body, created_at, updated_at,
             keystore_id, truststore_id)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6, ?7, ?8)",
        P::TABLE
    );
    tx.execute(
        &sql,
        params![
            id.to_string(),
            org.to_string(),
            name,
            version,
            p.body().to_string(),
            ts(now()),
            opt_id(refs.keystore),
            opt_id(refs.truststore),
        ],
    )
    .map_err(|e| write_error(e, &duplicate(p)))?;
    changes::record(&tx, P::KIND, id, org)?;
    tx.commit().map_err(backend)?;
    by_id(conn, org, id)
}

pub(super) fn update<P: ProfileTable>(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    p: &P,
    refs: ProfileRefs,
) -> Result<Stored<P>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    check_revision::<P>(&tx, org, id, expected)?;
    let (name, version) = p.name_version();
    let sql = format!(
        "UPDATE {} SET name = ?3, version = ?4, body = ?5, revision = revision + 1,
             updated_at = ?6, keystore_id = ?7, truststore_id = ?8
         WHERE org_id = ?1 AND id = ?2",
        P::TABLE
    );
    tx.execute(
        &sql,
        params![
            org.to_string(),
            id.to_string(),
            name,
            version,
            p.body().to_string(),
            ts(now()),
            opt_id(refs.keystore),
            opt_id(refs.truststore),
        ],
    )
    .map_err(|e| write_error(e, &duplicate(p)))?;
    changes::record(&tx, P::KIND, id, org)?;
    tx.commit().map_err(backend)?;
    by_id(conn, org, id)
}

pub(super) fn delete<P: ProfileTable>(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    check_revision::<P>(&tx, org, id, expected)?;
    let sql = format!("DELETE FROM {} WHERE org_id = ?1 AND id = ?2", P::TABLE);
    tx.execute(&sql, params![org.to_string(), id.to_string()]).map_err(backend)?;
    changes::record(&tx, P::KIND, id, org)?;
    tx.commit().map_err(backend)
}

pub(super) fn clear<P: ProfileTable>(conn: &mut Connection, org: Uuid) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    changes::record_all(&tx, P::TABLE, P::KIND, org)?;
    let sql = format!("DELETE FROM {} WHERE org_id = ?1", P::TABLE);
    let n = tx.execute(&sql, [org.to_string()]).map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(n as u64)
}

fn check_revision<P: ProfileTable>(
    conn: &Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let sql = format!("SELECT revision FROM {} WHERE org_id = ?1 AND id = ?2", P::TABLE);
    let current: i64 = found(
        conn.query_row(&sql, params![org.to_string(), id.to_string()], |r| r.get(0)).optional(),
    )?;
    match expected {
        Some(e) if e != current => Err(StoreError::Stale { current }),
        _ => Ok(()),
    }
}
