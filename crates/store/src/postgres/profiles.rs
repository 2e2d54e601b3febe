//! Client and server profiles in PostgreSQL: one set of queries over two tables.

use ::postgres::{Client, GenericClient, Row, Transaction};
use uuid::Uuid;

use super::{backend, changes, found, get, id_at, offset, time_at, write_error};
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

fn link(r: &Row, at: usize) -> Result<Option<StoreLink>> {
    let id: Option<&str> = get(r, at)?;
    match id {
        Some(id) => Ok(Some(StoreLink {
            id: super::parse_id(id)?,
            name: get(r, at + 1)?,
            revision: get(r, at + 2)?,
        })),
        None => Ok(None),
    }
}

fn row(r: &Row) -> Result<ProfileRow> {
    Ok(ProfileRow {
        id: id_at(r, 0)?,
        org_id: id_at(r, 1)?,
        revision: get(r, 2)?,
        created_at: time_at(r, 3)?,
        updated_at: time_at(r, 4)?,
        body: get(r, 5)?,
        keystore: link(r, 6)?,
        truststore: link(r, 9)?,
    })
}

fn opt_id(id: Option<Uuid>) -> Option<String> {
    id.map(|i| i.to_string())
}

pub(super) fn list<P: ProfileTable>(
    c: &mut Client,
    org: Uuid,
    name: Option<&str>,
    page: Page,
) -> Result<(u64, Vec<Stored<P>>)> {
    // Without an `OR` on the name, the (org_id, name, version) index serves both the count
    // and the order, so a page deep into a large org reads no more than it skips.
    let filter = match name {
        Some(_) => "p.org_id = $1 AND p.name = $2",
        None => "p.org_id = $1 AND $2::text IS NULL",
    };
    let org = org.to_string();
    let count = format!("SELECT COUNT(*) FROM {} p WHERE {filter}", P::TABLE);
    let total: i64 = get(&c.query_one(&count, &[&org, &name]).map_err(backend)?, 0)?;
    let sql = format!(
        "{} WHERE {filter} ORDER BY p.name, p.version LIMIT $3 OFFSET $4",
        select(P::TABLE)
    );
    let rows =
        c.query(&sql, &[&org, &name, &i64::from(page.limit), &offset(page)]).map_err(backend)?;
    let items = rows.iter().map(|r| row(r)?.into_stored()).collect::<Result<_>>()?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn by_name<P: ProfileTable>(
    c: &mut Client,
    org: Uuid,
    name: &str,
    version: &str,
) -> Result<Stored<P>> {
    let sql =
        format!("{} WHERE p.org_id = $1 AND p.name = $2 AND p.version = $3", select(P::TABLE));
    let r = found(c.query_opt(&sql, &[&org.to_string(), &name, &version]).map_err(backend)?)?;
    row(&r)?.into_stored()
}

pub(super) fn by_id<P: ProfileTable>(
    c: &mut impl GenericClient,
    org: Uuid,
    id: Uuid,
) -> Result<Stored<P>> {
    let sql = format!("{} WHERE p.org_id = $1 AND p.id = $2", select(P::TABLE));
    let r = found(c.query_opt(&sql, &[&org.to_string(), &id.to_string()]).map_err(backend)?)?;
    row(&r)?.into_stored()
}

pub(super) fn create<P: ProfileTable>(
    c: &mut Client,
    org: Uuid,
    p: &P,
    refs: ProfileRefs,
) -> Result<Stored<P>> {
    let id = Uuid::new_v4();
    let (name, version) = p.name_version();
    let sql = format!(
        "INSERT INTO {} (id, org_id, name, version, revision, body, created_at, updated_at,
             keystore_id, truststore_id)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $6, $7, $8)",
        P::TABLE
    );
    let mut tx = c.transaction().map_err(backend)?;
    tx.execute(
        &sql,
        &[
            &id.to_string(),
            &org.to_string(),
            &name,
            &version,
            &p.body().to_string(),
            &ts(now()),
            &opt_id(refs.keystore),
            &opt_id(refs.truststore),
        ],
    )
    .map_err(|e| write_error(e, &duplicate(p)))?;
    finish(tx, org, id)
}

pub(super) fn update<P: ProfileTable>(
    c: &mut Client,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    p: &P,
    refs: ProfileRefs,
) -> Result<Stored<P>> {
    let mut tx = c.transaction().map_err(backend)?;
    check_revision::<P>(&mut tx, org, id, expected)?;
    let (name, version) = p.name_version();
    let sql = format!(
        "UPDATE {} SET name = $3, version = $4, body = $5, revision = revision + 1,
             updated_at = $6, keystore_id = $7, truststore_id = $8
         WHERE org_id = $1 AND id = $2",
        P::TABLE
    );
    tx.execute(
        &sql,
        &[
            &org.to_string(),
            &id.to_string(),
            &name,
            &version,
            &p.body().to_string(),
            &ts(now()),
            &opt_id(refs.keystore),
            &opt_id(refs.truststore),
        ],
    )
    .map_err(|e| write_error(e, &duplicate(p)))?;
    finish(tx, org, id)
}

/// Reads the written profile back, records the change and commits.
fn finish<P: ProfileTable>(mut tx: Transaction<'_>, org: Uuid, id: Uuid) -> Result<Stored<P>> {
    let stored = by_id(&mut tx, org, id)?;
    changes::record(&mut tx, org, &[(P::KIND, id)])?;
    tx.commit().map_err(backend)?;
    Ok(stored)
}

pub(super) fn delete<P: ProfileTable>(
    c: &mut Client,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    check_revision::<P>(&mut tx, org, id, expected)?;
    let sql = format!("DELETE FROM {} WHERE org_id = $1 AND id = $2", P::TABLE);
    tx.execute(&sql, &[&org.to_string(), &id.to_string()]).map_err(backend)?;
    changes::record(&mut tx, org, &[(P::KIND, id)])?;
    tx.commit().map_err(backend)
}

pub(super) fn clear<P: ProfileTable>(c: &mut Client, org: Uuid) -> Result<u64> {
    let mut tx = c.transaction().map_err(backend)?;
    let sql = format!("DELETE FROM {} WHERE org_id = $1 RETURNING id", P::TABLE);
    let rows = tx.query(&sql, &[&org.to_string()]).map_err(backend)?;
    let gone = rows.iter().map(|r| Ok((P::KIND, id_at(r, 0)?))).collect::<Result<Vec<_>>>()?;
    changes::record(&mut tx, org, &gone)?;
    tx.commit().map_err(backend)?;
    Ok(gone.len() as u64)
}

/// Locks the profile's row, then compares its revision with the expected one.
fn check_revision<P: ProfileTable>(
    tx: &mut Transaction<'_>,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let sql = format!("SELECT revision FROM {} WHERE org_id = $1 AND id = $2 FOR UPDATE", P::TABLE);
    let row = found(tx.query_opt(&sql, &[&org.to_string(), &id.to_string()]).map_err(backend)?)?;
    let current: i64 = get(&row, 0)?;
    match expected {
        Some(e) if e != current => Err(StoreError::Stale { current }),
        _ => Ok(()),
    }
}
