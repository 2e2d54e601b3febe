//! Keystores, truststores and truststore entries in SQLite.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::{backend, changes, found, parse_id, parse_ts, write_error};
use crate::encoding::{PROFILE_TABLES, StoreKind as Kind, chain_text, now, ts};
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

fn keystore_row(r: &Row<'_>) -> rusqlite::Result<StoredKeystore> {
    let chain: String = r.get(6)?;
    let chain: Vec<String> = serde_json::from_str(&chain).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
    })?;
    let chain =
        chain.iter().map(hex::decode).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, e.into())
        })?;
    Ok(StoredKeystore {
        id: parse_id(&r.get::<_, String>(0)?)?,
        org_id: parse_id(&r.get::<_, String>(1)?)?,
        labels: Labels { name: r.get(2)?, title: r.get(3)?, summary: r.get(4)? },
        revision: r.get(5)?,
        chain,
        sealed_key: r.get(7)?,
        created_at: parse_ts(&r.get::<_, String>(8)?)?,
        updated_at: parse_ts(&r.get::<_, String>(9)?)?,
    })
}

fn truststore_row(r: &Row<'_>) -> rusqlite::Result<StoredTruststore> {
    Ok(StoredTruststore {
        id: parse_id(&r.get::<_, String>(0)?)?,
        org_id: parse_id(&r.get::<_, String>(1)?)?,
        labels: Labels { name: r.get(2)?, title: r.get(3)?, summary: r.get(4)? },
        revision: r.get(5)?,
        entry_count: r.get::<_, i64>(6)?.unsigned_abs(),
        created_at: parse_ts(&r.get::<_, String>(7)?)?,
        updated_at: parse_ts(&r.get::<_, String>(8)?)?,
    })
}

fn entry_row(r: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        id: parse_id(&r.get::<_, String>(0)?)?,
        truststore_id: parse_id(&r.get::<_, String>(1)?)?,
        fingerprint: r.get(2)?,
        der: r.get(3)?,
        created_at: parse_ts(&r.get::<_, String>(4)?)?,
    })
}

fn offset(page: Page) -> i64 {
    i64::try_from(page.offset).unwrap_or(i64::MAX)
}

/// The profiles (as `tls-client-profile NAME:VERSION`) that use a store.
pub(super) fn users(conn: &Connection, kind: Kind, id: Uuid) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (table, label) in PROFILE_TABLES {
        let sql = format!(
            "SELECT name || ':' || version FROM {table} WHERE {} = ?1 ORDER BY 1",
            kind.column()
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0)).map_err(backend)?;
        for name in rows {
            out.push(format!("{label} {}", name.map_err(backend)?));
        }
    }
    Ok(out)
}

fn check_revision(
    conn: &Connection,
    kind: Kind,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let sql = format!("SELECT revision FROM {} WHERE org_id = ?1 AND id = ?2", kind.table());
    let current: i64 = found(
        conn.query_row(&sql, params![org.to_string(), id.to_string()], |r| r.get(0)).optional(),
    )?;
    match expected {
        Some(e) if e != current => Err(StoreError::Stale { current }),
        _ => Ok(()),
    }
}

fn delete(
    conn: &mut Connection,
    kind: Kind,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    check_revision(&tx, kind, org, id, expected)?;
    let users = users(&tx, kind, id)?;
    if !users.is_empty() {
        return Err(StoreError::InUse { users });
    }
    let sql = format!("DELETE FROM {} WHERE org_id = ?1 AND id = ?2", kind.table());
    tx.execute(&sql, params![org.to_string(), id.to_string()]).map_err(backend)?;
    changes::record(&tx, kind.change(), id, org)?;
    tx.commit().map_err(backend)
}

fn clear(conn: &mut Connection, kind: Kind, org: Uuid) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let mut users = Vec::new();
    for (table, label) in PROFILE_TABLES {
        let sql = format!(
            "SELECT p.name || ':' || p.version FROM {table} p
             JOIN {} s ON s.id = p.{} WHERE s.org_id = ?1 ORDER BY 1",
            kind.table(),
            kind.column()
        );
        let mut stmt = tx.prepare(&sql).map_err(backend)?;
        let rows = stmt.query_map([org.to_string()], |r| r.get::<_, String>(0)).map_err(backend)?;
        for name in rows {
            users.push(format!("{label} {}", name.map_err(backend)?));
        }
    }
    if !users.is_empty() {
        return Err(StoreError::InUse { users });
    }
    changes::record_all(&tx, kind.table(), kind.change(), org)?;
    let n = tx
        .execute(&format!("DELETE FROM {} WHERE org_id = ?1", kind.table()), [org.to_string()])
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(n as u64)
}

/// Finds a store's id by name, or by id when `key` is one.
fn find_id(conn: &Connection, kind: Kind, org: Uuid, key: &str) -> Result<String> {
    let sql = format!(
        "SELECT id FROM {} WHERE org_id = ?1 AND (name = ?2 OR id = ?2) ORDER BY id = ?2 DESC",
        kind.table()
    );
    found(conn.query_row(&sql, params![org.to_string(), key], |r| r.get(0)).optional())
}

pub(super) fn list_keystores(
    conn: &Connection,
    org: Uuid,
    page: Page,
) -> Result<(u64, Vec<StoredKeystore>)> {
    let total: i64 = conn
        .query_row("SELECT COUNT(*) FROM keystores WHERE org_id = ?1", [org.to_string()], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    let sql = format!(
        "SELECT {KEYSTORE_COLUMNS} FROM keystores WHERE org_id = ?1 ORDER BY name LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let items = stmt
        .query_map(params![org.to_string(), page.limit, offset(page)], keystore_row)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn keystore(conn: &Connection, org: Uuid, key: &str) -> Result<StoredKeystore> {
    let id = find_id(conn, Kind::Keystore, org, key)?;
    let sql = format!("SELECT {KEYSTORE_COLUMNS} FROM keystores WHERE id = ?1");
    found(conn.query_row(&sql, [id], keystore_row).optional())
}

pub(super) fn create_keystore(
    conn: &mut Connection,
    org: Uuid,
    ks: &NewKeystore,
) -> Result<StoredKeystore> {
    let id = Uuid::new_v4();
    let at = ts(now());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    tx.execute(
        "INSERT INTO keystores (id, org_id, name, title, summary, revision, chain, sealed_key,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?8)",
        params![
            id.to_string(),
            org.to_string(),
            ks.labels.name,
            ks.labels.title,
            ks.labels.summary,
            chain_text(&ks.chain),
            ks.sealed_key,
            at
        ],
    )
    .map_err(|e| write_error(e, &Kind::Keystore.taken(&ks.labels.name)))?;
    changes::record(&tx, Kind::Keystore.change(), id, org)?;
    tx.commit().map_err(backend)?;
    keystore(conn, org, &id.to_string())
}

pub(super) fn update_keystore(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    ks: &NewKeystore,
) -> Result<StoredKeystore> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    check_revision(&tx, Kind::Keystore, org, id, expected)?;
    tx.execute(
        "UPDATE keystores SET name = ?3, title = ?4, summary = ?5, chain = ?6, sealed_key = ?7,
             revision = revision + 1, updated_at = ?8
         WHERE org_id = ?1 AND id = ?2",
        params![
            org.to_string(),
            id.to_string(),
            ks.labels.name,
            ks.labels.title,
            ks.labels.summary,
            chain_text(&ks.chain),
            ks.sealed_key,
            ts(now())
        ],
    )
    .map_err(|e| write_error(e, &Kind::Keystore.taken(&ks.labels.name)))?;
    changes::record(&tx, Kind::Keystore.change(), id, org)?;
    tx.commit().map_err(backend)?;
    keystore(conn, org, &id.to_string())
}

pub(super) fn delete_keystore(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    delete(conn, Kind::Keystore, org, id, expected)
}

pub(super) fn clear_keystores(conn: &mut Connection, org: Uuid) -> Result<u64> {
    clear(conn, Kind::Keystore, org)
}

pub(super) fn list_truststores(
    conn: &Connection,
    org: Uuid,
    page: Page,
) -> Result<(u64, Vec<StoredTruststore>)> {
    let total: i64 = conn
        .query_row("SELECT COUNT(*) FROM truststores WHERE org_id = ?1", [org.to_string()], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    let sql = format!("{TRUSTSTORE_SELECT} WHERE t.org_id = ?1 ORDER BY t.name LIMIT ?2 OFFSET ?3");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let items = stmt
        .query_map(params![org.to_string(), page.limit, offset(page)], truststore_row)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    Ok((total.unsigned_abs(), items))
}

pub(super) fn truststore(conn: &Connection, org: Uuid, key: &str) -> Result<StoredTruststore> {
    let id = find_id(conn, Kind::Truststore, org, key)?;
    let sql = format!("{TRUSTSTORE_SELECT} WHERE t.id = ?1");
    found(conn.query_row(&sql, [id], truststore_row).optional())
}

pub(super) fn create_truststore(
    conn: &mut Connection,
    org: Uuid,
    labels: &Labels,
    entries: &[NewEntry],
) -> Result<StoredTruststore> {
    let id = Uuid::new_v4();
    let at = ts(now());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    tx.execute(
        "INSERT INTO truststores (id, org_id, name, title, summary, revision, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
        params![id.to_string(), org.to_string(), labels.name, labels.title, labels.summary, at],
    )
    .map_err(|e| write_error(e, &Kind::Truststore.taken(&labels.name)))?;
    insert_entries(&tx, id, entries)?;
    changes::record(&tx, Kind::Truststore.change(), id, org)?;
    tx.commit().map_err(backend)?;
    truststore(conn, org, &id.to_string())
}

pub(super) fn update_truststore(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
    labels: &Labels,
    entries: Option<&[NewEntry]>,
) -> Result<StoredTruststore> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    check_revision(&tx, Kind::Truststore, org, id, expected)?;
    tx.execute(
        "UPDATE truststores SET name = ?3, title = ?4, summary = ?5, revision = revision + 1,
             updated_at = ?6
         WHERE org_id = ?1 AND id = ?2",
        params![
            org.to_string(),
            id.to_string(),
            labels.name,
            labels.title,
            labels.summary,
            ts(now())
        ],
    )
    .map_err(|e| write_error(e, &Kind::Truststore.taken(&labels.name)))?;
    if let Some(entries) = entries {
        tx.execute("DELETE FROM truststore_entries WHERE truststore_id = ?1", [id.to_string()])
            .map_err(backend)?;
        insert_entries(&tx, id, entries)?;
    }
    changes::record(&tx, Kind::Truststore.change(), id, org)?;
    tx.commit().map_err(backend)?;
    truststore(conn, org, &id.to_string())
}

pub(super) fn delete_truststore(
    conn: &mut Connection,
    org: Uuid,
    id: Uuid,
    expected: Option<i64>,
) -> Result<()> {
    delete(conn, Kind::Truststore, org, id, expected)
}

pub(super) fn clear_truststores(conn: &mut Connection, org: Uuid) -> Result<u64> {
    clear(conn, Kind::Truststore, org)
}

/// Inserts entries not held yet; returns the ids of those inserted, in order.
fn insert_entries(conn: &Connection, truststore: Uuid, entries: &[NewEntry]) -> Result<Vec<Uuid>> {
    // The caller's write transaction keeps other writers out while the numbers are handed out.
    let mut seq: i64 = conn
        .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM truststore_entries", [], |r| r.get(0))
        .map_err(backend)?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO truststore_entries
                 (id, truststore_id, fingerprint, der, created_at, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend)?;
    let at = ts(now());
    let mut added = Vec::new();
    for e in entries {
        let id = Uuid::new_v4();
        let n = stmt
            .execute(params![id.to_string(), truststore.to_string(), e.fingerprint, e.der, at, seq])
            .map_err(backend)?;
        if n > 0 {
            added.push(id);
            seq += 1;
        }
    }
    Ok(added)
}

pub(super) fn truststore_entries(conn: &Connection, truststore: Uuid) -> Result<Vec<StoredEntry>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, truststore_id, fingerprint, der, created_at FROM truststore_entries
             WHERE truststore_id = ?1 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = stmt.query_map([truststore.to_string()], entry_row).map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(super) fn add_truststore_entries(
    conn: &mut Connection,
    truststore: Uuid,
    entries: &[NewEntry],
) -> Result<Vec<StoredEntry>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let added = insert_entries(&tx, truststore, entries)?;
    touch_truststore(&tx, truststore)?;
    tx.commit().map_err(backend)?;
    let all = truststore_entries(conn, truststore)?;
    Ok(all.into_iter().filter(|e| added.contains(&e.id)).collect())
}

pub(super) fn delete_truststore_entry(
    conn: &mut Connection,
    truststore: Uuid,
    entry: Uuid,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let n = tx
        .execute(
            "DELETE FROM truststore_entries WHERE truststore_id = ?1 AND id = ?2",
            params![truststore.to_string(), entry.to_string()],
        )
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let left: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM truststore_entries WHERE truststore_id = ?1",
            [truststore.to_string()],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if left == 0 {
        return Err(StoreError::Conflict(crate::LAST_ENTRY.to_owned()));
    }
    touch_truststore(&tx, truststore)?;
    tx.commit().map_err(backend)
}

/// Moves a truststore to a new revision after an entry change, and records the change.
fn touch_truststore(conn: &Connection, truststore: Uuid) -> Result<()> {
    let org: Option<String> = conn
        .query_row(
            "UPDATE truststores SET revision = revision + 1, updated_at = ?2 WHERE id = ?1
             RETURNING org_id",
            params![truststore.to_string(), ts(now())],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    match org {
        Some(org) => {
            let org = parse_id(&org).map_err(backend)?;
            changes::record(conn, Kind::Truststore.change(), truststore, org)
        }
        None => Ok(()),
    }
}

pub(super) fn set_meta_once(conn: &Connection, key: &str, value: &str) -> Result<bool> {
    let n = conn
        .execute("INSERT OR IGNORE INTO store_meta (key, value) VALUES (?1, ?2)", [key, value])
        .map_err(backend)?;
    Ok(n > 0)
}
