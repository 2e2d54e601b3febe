//! Keystores, truststores, truststore entries and one-off facts in PostgreSQL.

use ::postgres::{Client, GenericClient, Row, Transaction};
use uuid::Uuid;

use super::{backend, changes, found, get, id_at, offset, time_at, write_error};
pub(super) use crate::encoding::StoreKind as Kind;
use crate::encoding::{PROFILE_TABLES, chain_text, now, parse_chain, ts};
use crate::{
    Labels, NewEntry, NewKeystore, Page, Result, StoreError, StoredEntry, StoredKeystore,
    StoredTruststore,
};

const KEYSTORE_COLUMNS: &str =
    "id, org_id, name, title, summary, revision, chain, sealed_key, created_at, updated_at";

const TRUSTSTORE_SELECT: &str = "SELECT t.id, t.org_id, t.name, t.title, t.summary, t.revision,
        (SELECT COUNT(*) FROM truststore_entries e WHERE e.truststore_id = t.id),
        t.created_at, t.updated_at
     FROM truststores t";

fn keystore_row(r: &Row) -> Result<StoredKeystore> {
    let id = id_at(r, 0)?;
    let chain = parse_chain(get(r, 6)?)
        .map_err(|reason| StoreError::Corrupt { id: id.to_string(), reason })?;
    Ok(StoredKeystore {
        id,
        org_id: id_at(r, 1)?,
        labels: Labels { name: get(r, 2)?, title: get(r, 3)?, summary: get(r, 4)? },
        revision: get(r, 5)?,
        chain,
        sealed_key: get(r, 7)?,
        created_at: time_at(r, 8)?,
        updated_at: time_at(r, 9)?,
    })
}

fn truststore_row(r: &Row) -> Result<StoredTruststore> {
    Ok(StoredTruststore {
        id: id_at(r, 0)?,
        org_id: id_at(r, 1)?,
        labels: Labels { name: get(r, 2)?, title: get(r, 3)?, summary: get(r, 4)? },
        revision: get(r, 5)?,
        entry_count: get::<i64>(r, 6)?.unsigned_abs(),
        created_at: time_at(r, 7)?,
        updated_at: time_at(r, 8)?,
    })
}

fn entry_row(r: &Row) -> Result<StoredEntry> {
    Ok(StoredEntry {
        id: id_at(r, 0)?,
        truststore_id: id_at(r, 1)?,
        fingerprint: get(r, 2)?,
        der: get(r, 3)?,
        created_at: time_at(r, 4)?,
    })
}

/// The profiles (as `tls-client-profile NAME:VERSION`) that use the stores `filter` picks,
/// ordered as SQLite orders them.
fn users(tx: &mut Transaction<'_>, kind: Kind, filter: &str, arg: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, label) in PROFILE_TABLES {
        let sql = format!(
            "SELECT p.name || ':' || p.version FROM {table} p
             JOIN {} s ON s.id = p.{} WHERE {filter} ORDER BY 1",
            kind.table(),
            kind.column()
        );
        for r in tx.query(&sql, &[&arg]).map_err(backend)? {
            out.push(format!("{label} {}", get::<&str>(&r, 0)?));
        }
    }
    Ok(out)
}

/// Locks a store's row, then compares its revision with the expected one.
fn check_revision(
    tx: &mut Transaction<'_>,
    kind: Kind,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let sql =
        format!("SELECT revision FROM {} WHERE org_id = $1 AND id = $2 FOR UPDATE", kind.table());
    let row = found(tx.query_opt(&sql, &[&org.to_string(), &id.to_string()]).map_err(backend)?)?;
    let current: i64 = get(&row, 0)?;
    match expected {
        Some(e) if e != current => Err(StoreError::Stale { current }),
        _ => Ok(()),
    }
}

/// Deletes a store unless a profile uses it. The row lock taken by the revision check makes a
/// profile that starts using the store meanwhile wait, then fail on its foreign key.
pub(super) fn delete(
    c: &mut Client,
    kind: Kind,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    check_revision(&mut tx, kind, org, id, expected)?;
    let users = users(&mut tx, kind, "s.id = $1", &id.to_string())?;
    if !users.is_empty() {
        return Err(StoreError::InUse { users });
    }
    let sql = format!("DELETE FROM {} WHERE org_id = $1 AND id = $2", kind.table());
    tx.execute(&sql, &[&org.to_string(), &id.to_string()]).map_err(backend)?;
    changes::record(&mut tx, org, &[(kind.change(), id)])?;
    tx.commit().map_err(backend)
}

/// Deletes every store of the org, or none when any is in use.
pub(super) fn clear(c: &mut Client, kind: Kind, org: Uuid) -> Result<u64> {
    let mut tx = c.transaction().map_err(backend)?;
    let org_text = org.to_string();
    let lock = format!("SELECT id FROM {} WHERE org_id = $1 FOR UPDATE", kind.table());
    tx.query(&lock, &[&org_text]).map_err(backend)?;
    let users = users(&mut tx, kind, "s.org_id = $1", &org_text)?;
    if !users.is_empty() {
        return Err(StoreError::InUse { users });
    }
    let sql = format!("DELETE FROM {} WHERE org_id = $1 RETURNING id", kind.table());
    let rows = tx.query(&sql, &[&org_text]).map_err(backend)?;
    let gone =
        rows.iter().map(|r| Ok((kind.change(), id_at(r, 0)?))).collect::<Result<Vec<_>>>()?;
    changes::record(&mut tx, org, &gone)?;
    tx.commit().map_err(backend)?;
    Ok(gone.len() as u64)
}

/// Finds a store's id by name, or by id when `key` is one.
fn find_id(c: &mut impl GenericClient, kind: Kind, org: Uuid, key: &str) -> Result<String> {
    let sql = format!(
        "SELECT id FROM {} WHERE org_id = $1 AND (name = $2 OR id = $2)
         ORDER BY (id = $2) DESC LIMIT 1",
        kind.table()
    );
    let row = found(c.query_opt(&sql, &[&org.to_string(), &key]).map_err(backend)?)?;
    get(&row, 0)
}

pub(super) fn list_keystores(
    c: &mut Client,
    org: Uuid,
    page: Page,
) -> Result<(u64, Vec<StoredKeystore>)> {
    let org = org.to_string();
    let count = c
        .query_one("SELECT COUNT(*) FROM keystores WHERE org_id = $1", &[&org])
        .map_err(backend)?;
    let total: i64 = get(&count, 0)?;
    let sql = format!(
        "SELECT {KEYSTORE_COLUMNS} FROM keystores WHERE org_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
    );
    let rows = c.query(&sql, &[&org, &i64::from(page.limit), &offset(page)]).map_err(backend)?;
    let items = rows.iter().map(keystore_row).collect::<Result<_>>()?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn keystore(c: &mut impl GenericClient, org: Uuid, key: &str) -> Result<StoredKeystore> {
    let id = find_id(c, Kind::Keystore, org, key)?;
    let sql = format!("SELECT {KEYSTORE_COLUMNS} FROM keystores WHERE id = $1");
    keystore_row(&found(c.query_opt(&sql, &[&id]).map_err(backend)?)?)
}

pub(super) fn create_keystore(
    c: &mut Client,
    org: Uuid,
    ks: &NewKeystore,
) -> Result<StoredKeystore> {
    let id = Uuid::new_v4();
    let mut tx = c.transaction().map_err(backend)?;
    tx.execute(
        "INSERT INTO keystores (id, org_id, name, title, summary, revision, chain, sealed_key,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $8)",
        &[
            &id.to_string(),
            &org.to_string(),
            &ks.labels.name,
            &ks.labels.title,
            &ks.labels.summary,
            &chain_text(&ks.chain),
            &ks.sealed_key,
            &ts(now()),
        ],
    )
    .map_err(|e| write_error(e, &Kind::Keystore.taken(&ks.labels.name)))?;
    finish_keystore(tx, org, id)
}

pub(super) fn update_keystore(
    c: &mut Client,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    ks: &NewKeystore,
) -> Result<StoredKeystore> {
    let mut tx = c.transaction().map_err(backend)?;
    check_revision(&mut tx, Kind::Keystore, org, id, expected)?;
    tx.execute(
        "UPDATE keystores SET name = $3, title = $4, summary = $5, chain = $6, sealed_key = $7,
             revision = revision + 1, updated_at = $8
         WHERE org_id = $1 AND id = $2",
        &[
            &org.to_string(),
            &id.to_string(),
            &ks.labels.name,
            &ks.labels.title,
            &ks.labels.summary,
            &chain_text(&ks.chain),
            &ks.sealed_key,
            &ts(now()),
        ],
    )
    .map_err(|e| write_error(e, &Kind::Keystore.taken(&ks.labels.name)))?;
    finish_keystore(tx, org, id)
}

fn finish_keystore(mut tx: Transaction<'_>, org: Uuid, id: Uuid) -> Result<StoredKeystore> {
    let stored = keystore(&mut tx, org, &id.to_string())?;
    changes::record(&mut tx, org, &[(Kind::Keystore.change(), id)])?;
    tx.commit().map_err(backend)?;
    Ok(stored)
}

pub(super) fn list_truststores(
    c: &mut Client,
    org: Uuid,
    page: Page,
) -> Result<(u64, Vec<StoredTruststore>)> {
    let org = org.to_string();
    let count = c
        .query_one("SELECT COUNT(*) FROM truststores WHERE org_id = $1", &[&org])
        .map_err(backend)?;
    let total: i64 = get(&count, 0)?;
    let sql = format!("{TRUSTSTORE_SELECT} WHERE t.org_id = $1 ORDER BY t.name LIMIT $2 OFFSET $3");
    let rows = c.query(&sql, &[&org, &i64::from(page.limit), &offset(page)]).map_err(backend)?;
    let items = rows.iter().map(truststore_row).collect::<Result<_>>()?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn truststore(
    c: &mut impl GenericClient,
    org: Uuid,
    key: &str,
) -> Result<StoredTruststore> {
    let id = find_id(c, Kind::Truststore, org, key)?;
    let sql = format!("{TRUSTSTORE_SELECT} WHERE t.id = $1");
    truststore_row(&found(c.query_opt(&sql, &[&id]).map_err(backend)?)?)
}

pub(super) fn create_truststore(
    c: &mut Client,
    org: Uuid,
    labels: &Labels,
    entries: &[NewEntry],
) -> Result<StoredTruststore> {
    let id = Uuid::new_v4();
    let mut tx = c.transaction().map_err(backend)?;
    tx.execute(
        "INSERT INTO truststores (id, org_id, name, title, summary, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        &[&id.to_string(), &org.to_string(), &labels.name, &labels.title, &labels.summary, &ts(now())],
    )
    .map_err(|e| write_error(e, &Kind::Truststore.taken(&labels.name)))?;
    insert_entries(&mut tx, id, entries)?;
    finish_truststore(tx, org, id)
}

pub(super) fn update_truststore(
    c: &mut Client,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    labels: &Labels,
    entries: Option<&[NewEntry]>,
) -> Result<StoredTruststore> {
    let mut tx = c.transaction().map_err(backend)?;
    check_revision(&mut tx, Kind::Truststore, org, id, expected)?;
    tx.execute(
        "UPDATE truststores SET name = $3, title = $4, summary = $5, revision = revision + 1,
             updated_at = $6
         WHERE org_id = $1 AND id = $2",
        &[
            &org.to_string(),
            &id.to_string(),
            &labels.name,
            &labels.title,
            &labels.summary,
            &ts(now()),
        ],
    )
    .map_err(|e| write_error(e, &Kind::Truststore.taken(&labels.name)))?;
    if let Some(entries) = entries {
        tx.execute("DELETE FROM truststore_entries WHERE truststore_id = $1", &[&id.to_string()])
            .map_err(backend)?;
        insert_entries(&mut tx, id, entries)?;
    }
    finish_truststore(tx, org, id)
}

fn finish_truststore(mut tx: Transaction<'_>, org: Uuid, id: Uuid) -> Result<StoredTruststore> {
    let stored = truststore(&mut tx, org, &id.to_string())?;
    changes::record(&mut tx, org, &[(Kind::Truststore.change(), id)])?;
    tx.commit().map_err(backend)?;
    Ok(stored)
}

/// Inserts entries not held yet; returns the ids of those inserted, in order.
fn insert_entries(
    tx: &mut Transaction<'_>,
    truststore: Uuid,
    entries: &[NewEntry],
) -> Result<Vec<Uuid>> {
    let stmt = tx
        .prepare(
            "INSERT INTO truststore_entries (id, truststore_id, fingerprint, der, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .map_err(backend)?;
    let (owner, at) = (truststore.to_string(), ts(now()));
    let mut added = Vec::new();
    for e in entries {
        let id = Uuid::new_v4();
        let n = tx
            .execute(&stmt, &[&id.to_string(), &owner, &e.fingerprint, &e.der, &at])
            .map_err(backend)?;
        if n > 0 {
            added.push(id);
        }
    }
    Ok(added)
}

pub(super) fn truststore_entries(
    c: &mut impl GenericClient,
    truststore: Uuid,
) -> Result<Vec<StoredEntry>> {
    let rows = c
        .query(
            "SELECT id, truststore_id, fingerprint, der, created_at FROM truststore_entries
             WHERE truststore_id = $1 ORDER BY seq",
            &[&truststore.to_string()],
        )
        .map_err(backend)?;
    rows.iter().map(entry_row).collect()
}

pub(super) fn add_truststore_entries(
    c: &mut Client,
    truststore: Uuid,
    entries: &[NewEntry],
) -> Result<Vec<StoredEntry>> {
    let mut tx = c.transaction().map_err(backend)?;
    let org = lock_truststore(&mut tx, truststore)?;
    let added = insert_entries(&mut tx, truststore, entries)?;
    let all = truststore_entries(&mut tx, truststore)?;
    touch_truststore(&mut tx, truststore, org)?;
    tx.commit().map_err(backend)?;
    Ok(all.into_iter().filter(|e| added.contains(&e.id)).collect())
}

pub(super) fn delete_truststore_entry(c: &mut Client, truststore: Uuid, entry: Uuid) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    let org = lock_truststore(&mut tx, truststore)?;
    let n = tx
        .execute(
            "DELETE FROM truststore_entries WHERE truststore_id = $1 AND id = $2",
            &[&truststore.to_string(), &entry.to_string()],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let left: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM truststore_entries WHERE truststore_id = $1",
            &[&truststore.to_string()],
        )
        .map_err(backend)?
        .get(0);
    if left == 0 {
        return Err(StoreError::Conflict(crate::LAST_ENTRY.to_owned()));
    }
    touch_truststore(&mut tx, truststore, org)?;
    tx.commit().map_err(backend)
}

/// Locks a truststore's row before its entries change; its org, when it exists.
fn lock_truststore(tx: &mut Transaction<'_>, truststore: Uuid) -> Result<Option<Uuid>> {
    let row = tx
        .query_opt(
            "SELECT org_id FROM truststores WHERE id = $1 FOR UPDATE",
            &[&truststore.to_string()],
        )
        .map_err(backend)?;
    row.map(|r| id_at(&r, 0)).transpose()
}

/// Moves a truststore to a new revision after an entry change, and records the change.
fn touch_truststore(tx: &mut Transaction<'_>, truststore: Uuid, org: Option<Uuid>) -> Result<()> {
    let Some(org) = org else { return Ok(()) };
    tx.execute(
        "UPDATE truststores SET revision = revision + 1, updated_at = $2 WHERE id = $1",
        &[&truststore.to_string(), &ts(now())],
    )
    .map_err(backend)?;
    changes::record(tx, org, &[(Kind::Truststore.change(), truststore)])
}

pub(super) fn set_meta_once(c: &mut Client, key: &str, value: &str) -> Result<bool> {
    let n = c
        .execute(
            "INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&key, &value],
        )
        .map_err(backend)?;
    Ok(n > 0)
}

pub(super) fn meta(c: &mut Client, key: &str) -> Result<Option<String>> {
    let row =
        c.query_opt("SELECT value FROM store_meta WHERE key = $1", &[&key]).map_err(backend)?;
    row.map(|r| get(&r, 0)).transpose()
}
