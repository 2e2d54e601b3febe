//! Users, memberships and org removal in SQLite.

use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;

use super::{USER_COLUMNS, backend, changes, user_row};
use crate::encoding::CHANGE_TABLES;
use crate::{CustomRole, Result, StoreError, User, UserChange};

pub(super) fn update(conn: &mut Connection, id: Uuid, c: &UserChange) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let id_text = id.to_string();
    let exists: bool = tx
        .query_row("SELECT COUNT(*) > 0 FROM users WHERE id = ?1", [&id_text], |r| r.get(0))
        .map_err(backend)?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    if let Some(email) = &c.email {
        tx.execute("UPDATE users SET email = ?2 WHERE id = ?1", params![id_text, email])
            .map_err(backend)?;
    }
    if let Some(disabled) = c.disabled {
        tx.execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![id_text, disabled])
            .map_err(backend)?;
    }
    if let Some(hash) = &c.password_hash {
        tx.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id_text, hash])
            .map_err(backend)?;
    }
    if c.disabled == Some(true) || c.password_hash.is_some() {
        tx.execute("DELETE FROM tokens WHERE user_id = ?1", [&id_text]).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

pub(super) fn members(conn: &Connection, org: Uuid) -> Result<Vec<(User, Vec<String>)>> {
    let cols: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
    let sql = format!(
        "SELECT {}, group_concat(m.role, ',') FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = ?1 GROUP BY u.id ORDER BY u.realm, u.username",
        cols.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
            let roles: String = r.get(6)?;
            let mut roles: Vec<String> = roles.split(',').map(str::to_owned).collect();
            roles.sort();
            Ok((user_row(r)?, roles))
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(super) fn set_roles(
    conn: &mut Connection,
    org: Uuid,
    user: Uuid,
    roles: &[String],
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let (org, user) = (org.to_string(), user.to_string());
    tx.execute("DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2", [&org, &user])
        .map_err(backend)?;
    for role in roles {
        tx.execute(
            "INSERT OR IGNORE INTO memberships (org_id, user_id, role) VALUES (?1, ?2, ?3)",
            params![org, user, role],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

pub(super) fn delete_org(conn: &mut Connection, org: Uuid) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    for (table, kind) in CHANGE_TABLES {
        changes::record_all(&tx, table, kind, org)?;
    }
    let org = org.to_string();
    // Profiles first: they point at the org's stores without cascading.
    for table in ["tls_client_profiles", "tls_server_profiles"] {
        tx.execute(&format!("DELETE FROM {table} WHERE org_id = ?1"), [&org]).map_err(backend)?;
    }
    // Its audit log goes with it: a later org of the same name must not read it.
    tx.execute("DELETE FROM events WHERE org = (SELECT name FROM orgs WHERE id = ?1)", [&org])
        .map_err(backend)?;
    let n = tx.execute("DELETE FROM orgs WHERE id = ?1", [&org]).map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().map_err(backend)
}

pub(super) fn custom_roles(conn: &Connection, org: Uuid) -> Result<Vec<CustomRole>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, title, permissions FROM custom_roles WHERE org_id = ?1 ORDER BY name",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([org.to_string()], |r| {
            let permissions: String = r.get(2)?;
            Ok(CustomRole {
                name: r.get(0)?,
                title: r.get(1)?,
                permissions: permissions
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .map_err(backend)?;
    rows.collect::<rusqlite::Result<_>>().map_err(backend)
}

pub(super) fn delete_custom_role(conn: &mut Connection, org: Uuid, name: &str) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
    let org = org.to_string();
    let n = tx
        .execute("DELETE FROM custom_roles WHERE org_id = ?1 AND name = ?2", [&org, name])
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute("DELETE FROM memberships WHERE org_id = ?1 AND role = ?2", [&org, name])
        .map_err(backend)?;
    tx.commit().map_err(backend)
}
