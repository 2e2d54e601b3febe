//! Orgs, users, memberships, custom roles and tokens in PostgreSQL.

use ::postgres::{Client, GenericClient, Row};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{backend, changes, found, get, id_at, time_at, write_error};
use crate::encoding::{CHANGE_TABLES, now, ts};
use crate::{CustomRole, NewUser, Org, Result, StoreError, User, UserChange};

const ORG_COLUMNS: &str = "id, name, title, org_type, created_at";
const USER_COLUMNS: &str = "id, username, realm, email, password_hash, disabled";

fn org_row(r: &Row) -> Result<Org> {
    Ok(Org {
        id: id_at(r, 0)?,
        name: get(r, 1)?,
        title: get(r, 2)?,
        org_type: get(r, 3)?,
        created_at: time_at(r, 4)?,
    })
}

fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: id_at(r, 0)?,
        username: get(r, 1)?,
        realm: get(r, 2)?,
        email: get(r, 3)?,
        password_hash: get(r, 4)?,
        disabled: get(r, 5)?,
    })
}

/// The user columns with a table alias, e.g. `u.id, u.username, ...`.
fn user_columns(alias: &str) -> String {
    USER_COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

pub(super) fn create_org(c: &mut Client, name: &str, title: &str, org_type: &str) -> Result<Org> {
    let org = Org {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        title: title.to_owned(),
        org_type: org_type.to_owned(),
        created_at: now(),
    };
    c.execute(
        "INSERT INTO orgs (id, name, title, org_type, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&org.id.to_string(), &name, &title, &org_type, &ts(org.created_at)],
    )
    .map_err(|e| write_error(e, &format!("an org named {name} already exists")))?;
    Ok(org)
}

pub(super) fn org(c: &mut Client, name: &str) -> Result<Org> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM orgs WHERE name = $1");
    found(c.query_opt(&sql, &[&name]).map_err(backend)?).and_then(|r| org_row(&r))
}

pub(super) fn list_orgs(c: &mut Client) -> Result<Vec<Org>> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY name");
    c.query(&sql, &[]).map_err(backend)?.iter().map(org_row).collect()
}

pub(super) fn create_user(c: &mut Client, u: &NewUser) -> Result<User> {
    let id = Uuid::new_v4();
    c.execute(
        "INSERT INTO users (id, username, realm, email, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id.to_string(), &u.username, &u.realm, &u.email, &u.password_hash, &ts(now())],
    )
    .map_err(|e| write_error(e, &format!("user {} already exists in {}", u.username, u.realm)))?;
    user(c, &u.realm, &u.username)
}

pub(super) fn user(c: &mut Client, realm: &str, username: &str) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE realm = $1 AND username = $2");
    found(c.query_opt(&sql, &[&realm, &username]).map_err(backend)?).and_then(|r| user_row(&r))
}

pub(super) fn user_by_id(c: &mut impl GenericClient, id: Uuid) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    found(c.query_opt(&sql, &[&id.to_string()]).map_err(backend)?).and_then(|r| user_row(&r))
}

pub(super) fn list_users(c: &mut Client) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY realm, username");
    c.query(&sql, &[]).map_err(backend)?.iter().map(user_row).collect()
}

pub(super) fn update_user(c: &mut Client, id: Uuid, change: &UserChange) -> Result<User> {
    let mut tx = c.transaction().map_err(backend)?;
    let id_text = id.to_string();
    let exists = tx
        .query_opt("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&id_text])
        .map_err(backend)?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound);
    }
    if let Some(email) = &change.email {
        tx.execute("UPDATE users SET email = $2 WHERE id = $1", &[&id_text, email])
            .map_err(backend)?;
    }
    if let Some(disabled) = change.disabled {
        tx.execute("UPDATE users SET disabled = $2 WHERE id = $1", &[&id_text, &disabled])
            .map_err(backend)?;
    }
    if let Some(hash) = &change.password_hash {
        tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", &[&id_text, hash])
            .map_err(backend)?;
    }
    if change.disabled == Some(true) || change.password_hash.is_some() {
        tx.execute("DELETE FROM tokens WHERE user_id = $1", &[&id_text]).map_err(backend)?;
    }
    let user = user_by_id(&mut tx, id)?;
    tx.commit().map_err(backend)?;
    Ok(user)
}

pub(super) fn delete_user(c: &mut Client, id: Uuid) -> Result<()> {
    let n = c.execute("DELETE FROM users WHERE id = $1", &[&id.to_string()]).map_err(backend)?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

pub(super) fn add_member(c: &mut Client, org: Uuid, user: Uuid, role: &str) -> Result<()> {
    c.execute(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&org.to_string(), &user.to_string(), &role],
    )
    .map_err(backend)?;
    Ok(())
}

pub(super) fn roles(c: &mut Client, org: Uuid, user: Uuid) -> Result<Vec<String>> {
    let rows = c
        .query(
            "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2 ORDER BY role",
            &[&org.to_string(), &user.to_string()],
        )
        .map_err(backend)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

pub(super) fn members(c: &mut Client, org: Uuid) -> Result<Vec<(User, Vec<String>)>> {
    let sql = format!(
        "SELECT {}, string_agg(m.role, ',') FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 GROUP BY u.id ORDER BY u.realm, u.username",
        user_columns("u")
    );
    let rows = c.query(&sql, &[&org.to_string()]).map_err(backend)?;
    rows.iter()
        .map(|r| {
            let roles: &str = get(r, 6)?;
            let mut roles: Vec<String> = roles.split(',').map(str::to_owned).collect();
            roles.sort();
            Ok((user_row(r)?, roles))
        })
        .collect()
}

pub(super) fn set_roles(c: &mut Client, org: Uuid, user: Uuid, roles: &[String]) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    let (org, user) = (org.to_string(), user.to_string());
    tx.execute("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2", &[&org, &user])
        .map_err(backend)?;
    for role in roles {
        tx.execute(
            "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&org, &user, role],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

pub(super) fn custom_roles(c: &mut Client, org: Uuid) -> Result<Vec<CustomRole>> {
    let rows = c
        .query(
            "SELECT name, title, permissions FROM custom_roles WHERE org_id = $1 ORDER BY name",
            &[&org.to_string()],
        )
        .map_err(backend)?;
    rows.iter()
        .map(|r| {
            let permissions: &str = get(r, 2)?;
            Ok(CustomRole {
                name: get(r, 0)?,
                title: get(r, 1)?,
                permissions: permissions
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

pub(super) fn create_custom_role(c: &mut Client, org: Uuid, role: &CustomRole) -> Result<()> {
    c.execute(
        "INSERT INTO custom_roles (org_id, name, title, permissions) VALUES ($1, $2, $3, $4)",
        &[&org.to_string(), &role.name, &role.title, &role.permissions.join(",")],
    )
    .map_err(|e| write_error(e, &format!("a role named {} already exists", role.name)))?;
    Ok(())
}

pub(super) fn delete_custom_role(c: &mut Client, org: Uuid, name: &str) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    let org = org.to_string();
    let n = tx
        .execute("DELETE FROM custom_roles WHERE org_id = $1 AND name = $2", &[&org, &name])
        .map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    tx.execute("DELETE FROM memberships WHERE org_id = $1 AND role = $2", &[&org, &name])
        .map_err(backend)?;
    tx.commit().map_err(backend)
}

/// Deletes an org with everything in it, recording a change for each profile and store.
pub(super) fn delete_org(c: &mut Client, org_id: Uuid) -> Result<()> {
    let mut tx = c.transaction().map_err(backend)?;
    let org = org_id.to_string();
    let locked =
        tx.query_opt("SELECT name FROM orgs WHERE id = $1 FOR UPDATE", &[&org]).map_err(backend)?;
    let Some(row) = locked else { return Err(StoreError::NotFound) };
    let name: String = get(&row, 0)?;

    // Profiles first: they point at the org's stores without cascading.
    let mut gone = Vec::new();
    for (table, kind) in CHANGE_TABLES {
        let sql = format!("DELETE FROM {table} WHERE org_id = $1 RETURNING id");
        for r in tx.query(&sql, &[&org]).map_err(backend)? {
            gone.push((kind, id_at(&r, 0)?));
        }
    }
    // Its audit log goes with it: a later org of the same name must not read it.
    tx.execute("DELETE FROM events WHERE org = $1", &[&name]).map_err(backend)?;
    tx.execute("DELETE FROM orgs WHERE id = $1", &[&org]).map_err(backend)?;
    changes::record(&mut tx, org_id, &gone)?;
    tx.commit().map_err(backend)
}

pub(super) fn insert_token(
    c: &mut Client,
    hash: &str,
    user: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    c.execute("DELETE FROM tokens WHERE expires_at <= $1", &[&now().timestamp()])
        .map_err(backend)?;
    c.execute(
        "INSERT INTO tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        &[&hash, &user.to_string(), &expires_at.timestamp()],
    )
    .map_err(|e| write_error(e, "token already exists"))?;
    Ok(())
}

pub(super) fn token_user(c: &mut Client, hash: &str, at: DateTime<Utc>) -> Result<User> {
    let sql = format!(
        "SELECT {} FROM tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND NOT u.disabled",
        user_columns("u")
    );
    found(c.query_opt(&sql, &[&hash, &at.timestamp()]).map_err(backend)?).and_then(|r| user_row(&r))
}

pub(super) fn delete_token(c: &mut Client, hash: &str) -> Result<bool> {
    let n = c.execute("DELETE FROM tokens WHERE token_hash = $1", &[&hash]).map_err(backend)?;
    Ok(n > 0)
}
