//! Provider orgs beside `admin`, users per realm, and the members of each org.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use tlsdeck_model::{Name, ValidationErrors};
use tlsdeck_store::{CustomRole, NewUser, Org, User, UserChange};
use uuid::Uuid;

use crate::auth::{Caller, hash_password};
use crate::permissions::Permission::{MemberManage, MemberView};
use crate::permissions::{
    PROVIDER_REALM, Permission, built_in_roles, of_any_role, of_role, realm_of,
};
use crate::problem::Problem;
use crate::{ADMIN_ORG, ADMIN_REALM, AppState, audit, body};

/// The shortest password accepted.
const MIN_PASSWORD: usize = 12;

fn object(raw: &Bytes) -> Result<Map<String, Value>, Problem> {
    match body::parse::<Value>(raw)? {
        Value::Object(o) => Ok(o),
        _ => Err(Problem::bad_request("body: must be a JSON object")),
    }
}

fn text(obj: &Map<String, Value>, field: &str, errs: &mut ValidationErrors) -> Option<String> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            errs.push(field, "required");
            None
        }
        Some(_) => {
            errs.push(field, "must be a string");
            None
        }
    }
}

/// A title: 1 to 255 characters without control characters.
fn title(obj: &Map<String, Value>, errs: &mut ValidationErrors) -> Option<String> {
    let t = text(obj, "title", errs)?;
    if t.chars().count() > 255 || t.chars().any(char::is_control) {
        errs.push("title", "must be 1 to 255 characters without control characters");
        return None;
    }
    Some(t)
}

/// A username: 1 to 64 letters, digits and `.`, `_`, `-`, `@`.
fn username_ok(u: &str) -> bool {
    (1..=64).contains(&u.len())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn unknown(obj: &Map<String, Value>, known: &[&str], errs: &mut ValidationErrors) {
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errs.push(k.as_str(), "unknown field");
    }
}

fn org_view(state: &AppState, o: &Org) -> Value {
    json!({
        "type": "org", "id": o.id, "name": o.name, "title": o.title, "org_type": o.org_type,
        "created_at": crate::rfc3339(o.created_at),
        "url": crate::common::org_url(state, o),
    })
}

fn user_view(u: &User) -> Value {
    json!({
        "type": "user", "id": u.id, "username": u.username, "realm": u.realm,
        "email": u.email, "disabled": u.disabled,
    })
}

/// `GET /api/orgs`: the orgs the caller belongs to (every org for `admin` managers).
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, Problem> {
    let manager = caller.authorize(&state, ADMIN_ORG, MemberManage).await.is_ok();
    let user = caller.user.id;
    let orgs = state
        .run(move |s| {
            let all = s.list_orgs()?;
            let mut mine = Vec::new();
            for o in all {
                if manager || !s.roles(o.id, user)?.is_empty() {
                    mine.push(o);
                }
            }
            Ok(mine)
        })
        .await?;
    let results: Vec<Value> = orgs.iter().map(|o| org_view(&state, o)).collect();
    Ok(Json(json!({ "total_results": results.len(), "results": results })))
}

/// `POST /api/orgs`: a provider org with its owner (`{name, title, owner: {username, realm}}`).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    raw: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    let obj = object(&raw)?;
    let mut errs = ValidationErrors::default();
    unknown(&obj, &["name", "title", "owner"], &mut errs);
    let title = title(&obj, &mut errs);
    let name = match obj.get("name").and_then(Value::as_str) {
        Some(n) => Name::parse(n).map_err(|m| errs.push("name", m)).ok(),
        None => title.as_deref().and_then(Name::from_title),
    };
    let owner = obj.get("owner").and_then(Value::as_object);
    let username = owner.and_then(|o| o.get("username")).and_then(Value::as_str).map(str::to_owned);
    let realm =
        owner.and_then(|o| o.get("realm")).and_then(Value::as_str).unwrap_or(PROVIDER_REALM);
    if username.is_none() {
        errs.push("owner.username", "required: the user who will own the org");
    }
    if realm != PROVIDER_REALM {
        errs.push("owner.realm", format!("provider orgs' users live in realm {PROVIDER_REALM}"));
    }
    let (true, Some(title), Some(name), Some(username)) = (errs.is_empty(), title, name, username)
    else {
        if errs.is_empty() {
            errs.push("name", "give a name: the title makes none");
        }
        return Err(Problem::invalid(errs));
    };

    let org = state
        .run(move |s| {
            let owner = s.user(PROVIDER_REALM, &username)?;
            let org = s.create_org(name.as_str(), &title, "provider")?;
            s.set_roles(org.id, owner.id, &["owner".to_owned()])?;
            Ok(org)
        })
        .await
        .map_err(|p| {
            if p.status() == StatusCode::NOT_FOUND {
                let mut e = ValidationErrors::default();
                e.push("owner.username", "no such user in realm provider/default-idp-2");
                Problem::invalid(e)
            } else {
                p
            }
        })?;
    audit::changed(&state, &caller, ADMIN_ORG, "create", &format!("org {}", org.name)).await;
    Ok((StatusCode::CREATED, Json(org_view(&state, &org))))
}

/// `GET /api/orgs/{org}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Value>, Problem> {
    if let Ok(org) =
        caller.authorize(&state, &org, crate::permissions::Permission::SettingsView).await
    {
        return Ok(Json(org_view(&state, &org)));
    }
    caller
        .authorize(&state, ADMIN_ORG, MemberManage)
        .await
        .map_err(|_| Problem::not_found(format!("no org named {org}")))?;
    let name = org.clone();
    let found = state
        .run(move |s| s.org(&name))
        .await
        .map_err(|_| Problem::not_found(format!("no org named {org}")))?;
    Ok(Json(org_view(&state, &found)))
}

/// `DELETE /api/orgs/{org}`: a provider org with everything in it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<StatusCode, Problem> {
    caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    if org == ADMIN_ORG {
        return Err(Problem::new(StatusCode::CONFLICT, "the admin org cannot be deleted"));
    }
    let name = org.clone();
    state.run(move |s| s.delete_org(s.org(&name)?.id)).await.map_err(|p| {
        if p.status() == StatusCode::NOT_FOUND {
            Problem::not_found(format!("no org named {org}"))
        } else {
            p
        }
    })?;
    let gone = org.clone();
    state.run(move |s| unshare(s, &gone)).await?;
    audit::changed(&state, &caller, ADMIN_ORG, "delete", &format!("org {org}")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a deleted org out of every admin profile's custom visibility, so that a later org
/// of the same name does not inherit the share.
fn unshare(s: &dyn tlsdeck_store::Store, org: &str) -> Result<(), tlsdeck_store::StoreError> {
    let admin = s.org(ADMIN_ORG)?;
    let page = tlsdeck_store::Page { limit: 1000, offset: 0 };
    let (_, profiles) = s.list_client_profiles(admin.id, None, page)?;
    for p in profiles {
        let tlsdeck_model::Visibility::Custom { orgs } = &p.profile.visibility else { continue };
        if !orgs.iter().any(|o| o == org) {
            continue;
        }
        let mut changed = p.profile.clone();
        let rest = orgs.iter().filter(|o| *o != org).cloned().collect();
        changed.visibility = tlsdeck_model::Visibility::Custom { orgs: rest };
        let refs = tlsdeck_store::ProfileRefs {
            keystore: p.keystore.as_ref().map(|l| l.id),
            truststore: p.truststore.as_ref().map(|l| l.id),
        };
        s.update_client_profile(admin.id, p.id, None, &changed, refs)?;
    }
    Ok(())
}

/// `GET /api/users` (admin managers).
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    let users = state.run(|s| s.list_users()).await?;
    let results: Vec<Value> = users.iter().map(user_view).collect();
    Ok(Json(json!({ "total_results": results.len(), "results": results })))
}

/// `POST /api/users`: `{username, realm, password, email}`.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    raw: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    let obj = object(&raw)?;
    let mut errs = ValidationErrors::default();
    unknown(&obj, &["username", "realm", "password", "email"], &mut errs);
    let username = text(&obj, "username", &mut errs);
    let realm = text(&obj, "realm", &mut errs);
    let password = text(&obj, "password", &mut errs);
    if let Some(r) = &realm
        && r != ADMIN_REALM
        && r != PROVIDER_REALM
    {
        errs.push("realm", format!("must be {ADMIN_REALM} or {PROVIDER_REALM}"));
    }
    if password.as_ref().is_some_and(|p| p.chars().count() < MIN_PASSWORD) {
        errs.push("password", format!("must be at least {MIN_PASSWORD} characters"));
    }
    if username.as_ref().is_some_and(|u| !username_ok(u)) {
        errs.push("username", "must be 1 to 64 letters, digits, '.', '_', '-' or '@'");
    }
    if password.as_ref().is_some_and(|p| p.chars().count() > 1024) {
        errs.push("password", "must be at most 1024 characters");
    }
    let email = obj.get("email").and_then(Value::as_str).map(str::to_owned);
    if email.as_ref().is_some_and(|e| e.len() > 254 || e.chars().any(char::is_control)) {
        errs.push("email", "must be at most 254 characters without control characters");
    }
    let (true, Some(username), Some(realm), Some(password)) =
        (errs.is_empty(), username, realm, password)
    else {
        return Err(Problem::invalid(errs));
    };
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?;
    let new = NewUser { username, realm, email, password_hash: hash };
    let user = state.run(move |s| s.create_user(&new)).await?;
    audit::changed(
        &state,
        &caller,
        ADMIN_ORG,
        "create",
        &format!("user {}", audit::actor(&user.username, &user.realm)),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

/// `PATCH /api/users/{id}`: `email`, `disabled` (managers), `password` (managers, or the
/// user for their own). Disabling or a new password ends the user's tokens.
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
    raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let own = caller.user.id == id;
    let obj = object(&raw)?;
    let only_password = obj.keys().all(|k| k == "password" || k == "current_password");
    if own && only_password {
        let current = obj.get("current_password").and_then(Value::as_str).unwrap_or_default();
        let (hash, current) = (caller.user.password_hash.clone(), current.to_owned());
        let ok = tokio::task::spawn_blocking(move || crate::auth::verify_password(&current, &hash))
            .await
            .unwrap_or(false);
        if !ok {
            let mut e = ValidationErrors::default();
            e.push("current_password", "required and must be your current password");
            return Err(Problem::invalid(e));
        }
    } else {
        caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    }
    let losing = obj.get("disabled").is_some_and(|d| d == &Value::Bool(true));
    check_user_change(&state, &caller, id, losing).await?;
    let mut errs = ValidationErrors::default();
    unknown(&obj, &["email", "disabled", "password", "current_password"], &mut errs);
    let mut change = UserChange::default();
    match obj.get("disabled") {
        None => {}
        Some(Value::Bool(b)) => change.disabled = Some(*b),
        Some(_) => errs.push("disabled", "must be true or false"),
    }
    match obj.get("email") {
        None => {}
        Some(Value::Null) => change.email = Some(None),
        Some(Value::String(e)) => change.email = Some(Some(e.clone())),
        Some(_) => errs.push("email", "must be a string or null"),
    }
    let password = match obj.get("password") {
        None => None,
        Some(Value::String(p)) if p.chars().count() >= MIN_PASSWORD => Some(p.clone()),
        Some(_) => {
            errs.push(
                "password",
                format!("must be a string of at least {MIN_PASSWORD} characters"),
            );
            None
        }
    };
    errs.into_result(()).map_err(Problem::invalid)?;
    if let Some(p) = password {
        change.password_hash = Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?,
        );
    }
    let user = state.run(move |s| s.update_user(id, &change)).await?;
    audit::changed(
        &state,
        &caller,
        ADMIN_ORG,
        "update",
        &format!("user {}", audit::actor(&user.username, &user.realm)),
    )
    .await;
    Ok(Json(user_view(&user)))
}

/// `DELETE /api/users/{id}`.
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    caller.authorize(&state, ADMIN_ORG, MemberManage).await?;
    if caller.user.id == id {
        return Err(Problem::new(StatusCode::CONFLICT, "you cannot delete yourself"));
    }
    check_user_change(&state, &caller, id, true).await?;
    let user = state.run(move |s| s.user_by_id(id)).await?;
    state.run(move |s| s.delete_user(id)).await?;
    audit::changed(
        &state,
        &caller,
        ADMIN_ORG,
        "delete",
        &format!("user {}", audit::actor(&user.username, &user.realm)),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/orgs/{org}/members`.
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, MemberView).await?;
    let id = org.id;
    let members = state.run(move |s| s.members(id)).await?;
    let results: Vec<Value> = members
        .iter()
        .map(|(u, roles)| {
            let mut v = user_view(u);
            v["roles"] = json!(roles);
            v
        })
        .collect();
    Ok(Json(json!({ "total_results": results.len(), "results": results })))
}

/// `POST /api/orgs/{org}/members`: `{username, realm, roles}` sets the user's roles.
pub async fn set_member(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, MemberManage).await?;
    let obj = object(&raw)?;
    let mut errs = ValidationErrors::default();
    unknown(&obj, &["username", "realm", "roles"], &mut errs);
    let username = text(&obj, "username", &mut errs);
    let realm =
        obj.get("realm").and_then(Value::as_str).unwrap_or(realm_of(&org.org_type)).to_owned();
    if realm != realm_of(&org.org_type) {
        errs.push(
            "realm",
            format!("members of this org come from realm {}", realm_of(&org.org_type)),
        );
    }
    let roles: Vec<String> = match obj.get("roles").and_then(Value::as_array) {
        Some(list) if !list.is_empty() && list.iter().all(Value::is_string) => {
            let mut r: Vec<String> =
                list.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            r.sort();
            r.dedup();
            r
        }
        Some(list) if list.is_empty() => {
            errs.push("roles", "give at least one role (remove a member with DELETE)");
            Vec::new()
        }
        _ => {
            errs.push("roles", "required: a list of role names");
            Vec::new()
        }
    };
    let id = org.id;
    let custom: Vec<String> =
        state.run(move |s| s.custom_roles(id)).await?.into_iter().map(|c| c.name).collect();
    let known =
        |r: &str| built_in_roles(&org.org_type).contains(&r) || custom.iter().any(|c| c == r);
    for r in roles.iter().filter(|r| !known(r)) {
        errs.push("roles", format!("unknown role '{r}' (see GET .../roles)"));
    }
    let (true, Some(username)) = (errs.is_empty(), username) else {
        return Err(Problem::invalid(errs));
    };
    check_may_grant(&state, &caller, &org, &roles).await?;
    let (org_id, roles2) = (org.id, roles.clone());
    let user = state.run(move |s| s.user(&realm, &username)).await.map_err(|p| {
        if p.status() == StatusCode::NOT_FOUND {
            let mut e = ValidationErrors::default();
            e.push("username", "no such user in the org's realm");
            Problem::invalid(e)
        } else {
            p
        }
    })?;
    if !roles.iter().any(|r| r == "owner") {
        keep_an_owner(&state, &org, user.id).await?;
    }
    let user_id = user.id;
    state.run(move |s| s.set_roles(org_id, user_id, &roles2)).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "update",
        &format!("member {}", audit::actor(&user.username, &user.realm)),
    )
    .await;
    let mut v = user_view(&user);
    v["roles"] = json!(roles);
    Ok(Json(v))
}

/// `DELETE /api/orgs/{org}/members/{user_id}`.
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, user_id)): Path<(String, Uuid)>,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, MemberManage).await?;
    let org_id = org.id;
    let roles = state.run(move |s| s.roles(org_id, user_id)).await?;
    if roles.is_empty() {
        return Err(Problem::not_found("no such member"));
    }
    keep_an_owner(&state, &org, user_id).await?;
    state.run(move |s| s.set_roles(org_id, user_id, &[])).await?;
    audit::changed(&state, &caller, &org.name, "delete", &format!("member {user_id}")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/orgs/{org}/roles`: the built-in roles and the org's custom ones, with their
/// permissions.
pub async fn roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, MemberView).await?;
    let id = org.id;
    let custom = state.run(move |s| s.custom_roles(id)).await?;
    let mut results: Vec<Value> = built_in_roles(&org.org_type)
        .iter()
        .map(|r| {
            let perms: Vec<&str> = of_role(r).iter().map(|p| p.as_str()).collect();
            json!({"name": r, "title": r, "built_in": true, "permissions": perms})
        })
        .collect();
    results.extend(custom.iter().map(|c| {
        json!({"name": c.name, "title": c.title, "built_in": false, "permissions": c.permissions})
    }));
    Ok(Json(json!({ "total_results": results.len(), "results": results })))
}

/// `POST /api/orgs/{org}/roles`: a custom role, `{name, title, permissions}`.
pub async fn create_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    raw: Bytes,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let org = caller.authorize(&state, &org, MemberManage).await?;
    let obj = object(&raw)?;
    let mut errs = ValidationErrors::default();
    unknown(&obj, &["name", "title", "permissions"], &mut errs);
    let title = title(&obj, &mut errs);
    let name = match obj.get("name").and_then(Value::as_str) {
        Some(n) => Name::parse(n).map_err(|m| errs.push("name", m)).ok(),
        None => title.as_deref().and_then(Name::from_title),
    };
    if name.as_ref().is_some_and(|n| built_in_roles(&org.org_type).contains(&n.as_str())) {
        errs.push("name", "is a built-in role");
    }
    let mut permissions = Vec::new();
    match obj.get("permissions").and_then(Value::as_array) {
        Some(list) => {
            for (i, p) in list.iter().enumerate() {
                match p.as_str().and_then(Permission::from_name) {
                    Some(p) => permissions.push(p.as_str().to_owned()),
                    None => errs.push(format!("permissions[{i}]"), "unknown permission"),
                }
            }
        }
        None => errs.push("permissions", "required: a list of permission names"),
    }
    permissions.sort();
    permissions.dedup();
    if permissions.is_empty() && obj.get("permissions").is_some_and(Value::is_array) {
        errs.push("permissions", "name at least one permission");
    }
    let (true, Some(title), Some(name)) = (errs.is_empty(), title, name) else {
        return Err(Problem::invalid(errs));
    };
    let role = CustomRole { name: name.to_string(), title, permissions };
    let (id, stored) = (org.id, role.clone());
    state.run(move |s| s.create_custom_role(id, &stored)).await?;
    audit::changed(&state, &caller, &org.name, "create", &format!("role {}", role.name)).await;
    let body = json!({"name": role.name, "title": role.title, "built_in": false, "permissions": role.permissions});
    Ok((StatusCode::CREATED, Json(body)))
}

/// `DELETE /api/orgs/{org}/roles/{name}`: a custom role and the memberships in it.
pub async fn delete_role(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, MemberManage).await?;
    let (id, role) = (org.id, name.clone());
    state.run(move |s| s.delete_custom_role(id, &role)).await.map_err(|p| {
        if p.status() == StatusCode::NOT_FOUND {
            Problem::not_found(format!("no custom role {name}"))
        } else {
            p
        }
    })?;
    audit::changed(&state, &caller, &org.name, "delete", &format!("role {name}")).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses to grant roles carrying permissions the caller does not hold in the org, and
/// the owner role to anyone but an owner.
async fn check_may_grant(
    state: &AppState,
    caller: &Caller,
    org: &Org,
    roles: &[String],
) -> Result<(), Problem> {
    let (org_id, user_id) = (org.id, caller.user.id);
    let (mine, custom) =
        state.run(move |s| Ok((s.roles(org_id, user_id)?, s.custom_roles(org_id)?))).await?;
    let held: Vec<Permission> = mine.iter().flat_map(|r| of_any_role(r, &custom)).collect();
    for role in roles {
        let beyond = of_any_role(role, &custom).iter().any(|p| !held.contains(p));
        if beyond || (role == "owner" && !mine.iter().any(|r| r == "owner")) {
            return Err(Problem::forbidden(format!(
                "you may not grant the role {role}: it carries permissions you do not hold"
            )));
        }
    }
    Ok(())
}

/// Refuses a change after which the org would have no owner: `user` is about to stop being
/// one.
async fn keep_an_owner(state: &AppState, org: &Org, user: Uuid) -> Result<(), Problem> {
    let org_id = org.id;
    let members = state.run(move |s| s.members(org_id)).await?;
    let owners: Vec<Uuid> =
        members.iter().filter(|(_, r)| r.iter().any(|r| r == "owner")).map(|(u, _)| u.id).collect();
    if owners == [user] {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            format!("this is the last owner of org {}: make another member owner first", org.name),
        ));
    }
    Ok(())
}

/// Refuses disabling or deleting the last owner of an org, and letting anyone but an owner
/// of the admin org change a user who owns an org.
async fn check_user_change(
    state: &AppState,
    caller: &Caller,
    user: Uuid,
    losing: bool,
) -> Result<(), Problem> {
    let orgs = state.run(|s| s.list_orgs()).await?;
    let mut owned = Vec::new();
    for org in orgs.iter() {
        let org_id = org.id;
        let roles = state.run(move |s| s.roles(org_id, user)).await?;
        if roles.iter().any(|r| r == "owner") {
            owned.push(org);
        }
    }
    if !owned.is_empty() && caller.user.id != user {
        let admin = orgs.iter().find(|o| o.name == ADMIN_ORG).map(|o| o.id);
        let me = caller.user.id;
        let mine = match admin {
            Some(id) => state.run(move |s| s.roles(id, me)).await?,
            None => Vec::new(),
        };
        if !mine.iter().any(|r| r == "owner") {
            return Err(Problem::forbidden(
                "only an owner of the admin org may change an org's owner",
            ));
        }
    }
    if losing {
        for org in owned {
            keep_an_owner(state, org, user).await?;
        }
    }
    Ok(())
}
