//! Client and server profiles in SQLite: one set of queries over two tables.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde_json::Value;
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

use super::{backend, found, now, parse_id, parse_ts, ts, write_error};
use crate::{Page, ProfileRefs, Result, StoreError, StoreLink, Stored};

/// A kind of profile and the table it lives in.
pub(super) trait ProfileTable: Sized {
    /// The table.
    const TABLE: &'static str;

    /// Validates a stored body, with its store names put back in.
    fn from_body(body: &Value) -> std::result::Result<Self, String>;
    /// The body to store, without its store references (they live in columns, by id).
    fn body(&self) -> Value;
    /// `NAME:VERSION`.
    fn key(&self) -> String;
    /// The name and version columns.
    fn name_version(&self) -> (&str, &str);
}

impl ProfileTable for ClientProfile {
    const TABLE: &'static str = "tls_client_profiles";

    fn from_body(body: &Value) -> std::result::Result<Self, String> {
        Self::from_json(body).map_err(|e| e.to_string())
    }

    fn body(&self) -> Value {
        without_refs(self.to_input())
    }

    fn key(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    fn name_version(&self) -> (&str, &str) {
        (self.name.as_str(), self.version.as_str())
    }
}

impl ProfileTable for ServerProfile {
    const TABLE: &'static str = "tls_server_profiles";

    fn from_body(body: &Value) -> std::result::Result<Self, String> {
        Self::from_json(body).map_err(|e| e.to_string())
    }

    fn body(&self) -> Value {
        without_refs(self.to_input())
    }

    fn key(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    fn name_version(&self) -> (&str, &str) {
        (self.name.as_str(), self.version.as_str())
    }
}

fn without_refs(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        for field in ["keystore", "keystore_url", "truststore", "truststore_url"] {
            obj.remove(field);
        }
    }
    v
}

fn select(table: &str) -> String {
    format!(
        "SELECT p.id, p.org_id, p.revision, p.created_at, p.updated_at, p.body,
            k.id, k.name, k.revision, t.id, t.name, t.revision
         FROM {table} p
         LEFT JOIN keystores k ON k.id = p.keystore_id
         LEFT JOIN truststores t ON t.id = p.truststore_id"
    )
}

/// A profile row before its body is checked against the model.
struct Row_ {
    id: Uuid,
    org_id: Uuid,
    revision: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    body: String,
    keystore: Option<StoreLink>,
    truststore: Option<StoreLink>,
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

fn row(r: &Row<'_>) -> rusqlite::Result<Row_> {
    Ok(Row_ {
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

impl Row_ {
    fn into_stored<P: ProfileTable>(self) -> Result<Stored<P>> {
        let corrupt = |reason: String| StoreError::Corrupt { id: self.id.to_string(), reason };
        let mut json: Value =
            serde_json::from_str(&self.body).map_err(|e| corrupt(e.to_string()))?;
        if let Some(obj) = json.as_object_mut() {
            for (field, l) in [("keystore", &self.keystore), ("truststore", &self.truststore)] {
                if let Some(l) = l {
                    obj.insert(field.into(), l.name.clone().into());
                }
            }
        }
        let profile = P::from_body(&json).map_err(corrupt)?;
        Ok(Stored {
            id: self.id,
            org_id: self.org_id,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
            profile,
            keystore: self.keystore,
            truststore: self.truststore,
        })
    }
}

fn duplicate<P: ProfileTable>(p: &P) -> String {
    format!("a profile named {} already exists", p.key())
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
    let filter = "p.org_id = ?1 AND (?2 IS NULL OR p.name = ?2)";
    let org = org.to_string();
    let total: i64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM {} p WHERE {filter}", P::TABLE),
            params![org, name],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let sql = format!(
        "{} WHERE {filter} ORDER BY p.name, p.version LIMIT ?3 OFFSET ?4",
        select(P::TABLE)
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let offset = i64::try_from(page.offset).unwrap_or(i64::MAX);
    let rows: Vec<Row_> = stmt
        .query_map(params![org, name, page.limit, offset], row)
        .map_err(backend)?
        .collect::<rusqlite::Result<_>>()
        .map_err(backend)?;
    let items = rows.into_iter().map(Row_::into_stored).collect::<Result<_>>()?;
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
    conn: &Connection,
    org: Uuid,
    p: &P,
    refs: ProfileRefs,
) -> Result<Stored<P>> {
    let id = Uuid::new_v4();
    let (name, version) = p.name_version();
    let sql = format!(
        "INSERT INTO {} (id, org_id, name, version, revision, body, created_at, updated_at,
             keystore_id, truststore_id)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6, ?7, ?8)",
        P::TABLE
    );
    conn.execute(
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
    tx.commit().map_err(backend)
}

pub(super) fn clear<P: ProfileTable>(conn: &Connection, org: Uuid) -> Result<u64> {
    let sql = format!("DELETE FROM {} WHERE org_id = ?1", P::TABLE);
    let n = conn.execute(&sql, [org.to_string()]).map_err(backend)?;
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
