//! `orgs:*`, `users:*`, `roles:*`, `members:*` and `tls-client-profiles:set-visibility`.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::profiles::client;
use crate::args::{
    Common, Format, MemberSet, OrgCreate, RoleCreate, UserCreate, UserUpdate, VisibilityArgs,
};
use crate::input::{self, segment};
use crate::output::{self, cell, columns};

fn print(common: &Common, value: &Value, default: Format, fields: &[&str]) -> Result<ExitCode> {
    let table = |v: &Value| {
        let items: Vec<Value> = match v.get("results").and_then(Value::as_array) {
            Some(items) => items.clone(),
            None => vec![v.clone()],
        };
        let rows: Vec<Vec<String>> =
            items.iter().map(|i| fields.iter().map(|f| cell(i, f)).collect()).collect();
        let header: Vec<String> = fields.iter().map(|f| f.to_uppercase()).collect();
        columns(&header.iter().map(String::as_str).collect::<Vec<_>>(), &rows)
    };
    let text = output::render(value, common.format.unwrap_or(default), table)?;
    output::write(&common.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Lists a collection as a table of `fields`.
pub fn get(common: &Common, path: &str, fields: &[&str]) -> Result<ExitCode> {
    let answer = client(common)?.get(path)?;
    print(common, &answer.body, Format::Table, fields)
}

/// Shows one item.
pub fn show(common: &Common, path: &str) -> Result<ExitCode> {
    let answer = client(common)?.get(path)?;
    print(common, &answer.body, Format::Yaml, &["name"])
}

/// Deletes one item.
pub fn delete(common: &Common, path: &str) -> Result<ExitCode> {
    client(common)?.delete(path)?;
    output::write(
        &common.output,
        &format!("deleted {}\n", path.rsplit('/').next().unwrap_or(path)),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn post(common: &Common, path: &str, body: Value, fields: &[&str]) -> Result<ExitCode> {
    let answer = client(common)?.post(path, &body)?;
    print(common, &answer.body, Format::Yaml, fields)
}

/// Creates a provider org.
pub fn create_org(a: &OrgCreate) -> Result<ExitCode> {
    let mut body = json!({"title": a.title, "owner": {"username": a.owner, "realm": "provider/default-idp-2"}});
    if let Some(n) = &a.name {
        body["name"] = n.clone().into();
    }
    post(&a.common, "/api/orgs", body, &["name"])
}

/// Creates a user.
pub fn create_user(a: &UserCreate) -> Result<ExitCode> {
    let body =
        json!({"username": a.username, "realm": a.realm, "password": a.password, "email": a.email});
    post(&a.common, "/api/users", body, &["id", "username", "realm"])
}

/// Changes a user.
pub fn update_user(a: &UserUpdate) -> Result<ExitCode> {
    let mut body = Map::new();
    if a.disable || a.enable {
        body.insert("disabled".into(), a.disable.into());
    }
    if let Some(p) = &a.password {
        body.insert("password".into(), p.clone().into());
    }
    if let Some(e) = &a.email {
        body.insert("email".into(), e.clone().into());
    }
    let path = format!("/api/users/{}", segment(&a.id));
    let answer = client(&a.common)?.patch(&path, &Value::Object(body))?;
    print(&a.common, &answer.body, Format::Yaml, &["id"])
}

/// Defines a custom role.
pub fn create_role(a: &RoleCreate) -> Result<ExitCode> {
    let mut body = json!({"title": a.title, "permissions": a.permissions});
    if let Some(n) = &a.name {
        body["name"] = n.clone().into();
    }
    post(&a.common, &format!("/api/orgs/{}/roles", segment(&a.common.org)), body, &["name"])
}

/// Sets a member's roles.
pub fn set_member(a: &MemberSet) -> Result<ExitCode> {
    let body = json!({"username": a.username, "roles": a.roles});
    let path = format!("/api/orgs/{}/members", segment(&a.common.org));
    post(&a.common, &path, body, &["username", "roles"])
}

/// Sets a client profile's visibility.
pub fn set_visibility(a: &VisibilityArgs) -> Result<ExitCode> {
    let (name, version) = input::name_version(&a.profile)?;
    let visibility = match a.kind.as_str() {
        "custom" => json!({"type": "custom", "orgs": a.orgs}),
        other => json!({"type": other}),
    };
    let path = format!(
        "/api/orgs/{}/tls-client-profiles/{}/{}",
        segment(&a.common.org),
        segment(&name),
        segment(&version)
    );
    let answer = client(&a.common)?.patch(&path, &json!({"visibility": visibility}))?;
    print(&a.common, &answer.body, Format::Yaml, &["name"])
}
