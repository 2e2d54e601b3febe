//! `/api/orgs/{org}/tls-client-profiles` and `/tls-server-profiles`: list, create, read,
//! merge-patch, delete, clear, effective settings; and for client profiles lint and probe.
//! Every handler is written once, over [`ProfileKind`].

use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tlsdeck_engine::{ProbeOptions, Target};
use tlsdeck_model::{StoreRef, ValidationErrors, Visibility};
use tlsdeck_store::{Org, ProfileRefs, Stored};
use uuid::Uuid;

use crate::audit;
use crate::auth::Caller;
use crate::common::{check_confirm, expected_revision, merge_patch, org_url, parse_page};
use crate::kinds::{ClientKind, ProfileKind};
use crate::permissions::Permission::{SettingsManage, SettingsView};
use crate::problem::Problem;
use crate::{AppState, body};

/// How a request names one profile of kind `K`.
enum Locator<K> {
    NameVersion(String, String, PhantomData<K>),
    Id(Uuid, PhantomData<K>),
}

impl<K: ProfileKind> Locator<K> {
    fn name_version(name: String, version: String) -> Self {
        Self::NameVersion(name, version, PhantomData)
    }

    async fn fetch(&self, state: &AppState, org: &Org) -> Result<Stored<K::Profile>, Problem> {
        let org_id = org.id;
        let found = match self {
            Self::NameVersion(n, v, _) => {
                let (n, v) = (n.clone(), v.clone());
                state.run(move |s| K::by_name(s, org_id, &n, &v)).await
            }
            Self::Id(id, _) => {
                let id = *id;
                state.run(move |s| K::by_id(s, org_id, id)).await
            }
        };
        found.map_err(|p| match (p.status(), self) {
            (StatusCode::NOT_FOUND, Self::NameVersion(n, v, _)) => {
                Problem::not_found(format!("no {} {n}:{v} in org {}", K::LABEL, org.name))
            }
            (StatusCode::NOT_FOUND, Self::Id(id, _)) => {
                Problem::not_found(format!("no {} with id {id} in org {}", K::LABEL, org.name))
            }
            _ => p,
        })
    }
}

/// `GET /api/orgs/{org}/tls-client-profiles`.
pub async fn list<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let page = parse_page(&query)?;
    let org_id = org.id;
    let (total, items) = state.run(move |s| K::list(s, org_id, None, page)).await?;
    Ok(Json(collection::<K>(&state, &org, total, &items)))
}

/// `POST /api/orgs/{org}/tls-client-profiles`.
pub async fn create<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let input: Value = body::parse(&raw)?;
    let profile = K::parse(&input)?;
    let refs = check_rules::<K>(&state, &org, &profile).await?;

    let org_id = org.id;
    let stored = state.run(move |s| K::create(s, org_id, &profile, refs)).await?;
    let resource = resource::<K>(&stored.profile);
    audit::changed(&state, &caller, &org.name, "create", &resource).await;
    let mut resp = item_response::<K>(&state, &org, &stored, StatusCode::CREATED);
    if let Ok(loc) = HeaderValue::from_str(&item_url::<K>(&state, &org, stored.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// `DELETE /api/orgs/{org}/tls-client-profiles?confirm={org}`.
pub async fn clear<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(q): Query<crate::common::ClearQuery>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    check_confirm(q.confirm.as_deref(), &org, K::LABEL)?;
    let org_id = org.id;
    if let Some(&serving) = state.listener_profile.get()
        && state.run(move |s| K::by_id(s, org_id, serving)).await.is_ok()
    {
        return Err(Problem::in_use(vec!["the TLS listener of this server".into()]));
    }
    let deleted = state.run(move |s| K::clear(s, org_id)).await?;
    audit::changed(&state, &caller, &org.name, "clear", K::COLLECTION).await;
    Ok(Json(json!({ "deleted": deleted })))
}

/// `GET /api/orgs/{org}/tls-client-profiles/{name}`: the versions of a name, or one
/// profile when the segment is the id of one.
pub async fn get_name_or_id<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, segment)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    if let Ok(id) = Uuid::parse_str(&segment) {
        let org_id = org.id;
        match state.run(move |s| K::by_id(s, org_id, id)).await {
            Ok(stored) => return Ok(item_response::<K>(&state, &org, &stored, StatusCode::OK)),
            Err(p) if p.status() == StatusCode::NOT_FOUND => {}
            Err(p) => return Err(p),
        }
    }
    let page = parse_page(&query)?;
    let org_id = org.id;
    let name = segment.clone();
    let (total, items) = state.run(move |s| K::list(s, org_id, Some(&name), page)).await?;
    if total == 0 {
        return Err(Problem::not_found(format!(
            "no {} named {segment} in org {}",
            K::LABEL,
            org.name
        )));
    }
    Ok(Json(collection::<K>(&state, &org, total, &items)).into_response())
}

/// `GET .../{name}/{version}`.
pub async fn get<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::<K>::name_version(name, version).fetch(&state, &org).await?;
    Ok(item_response::<K>(&state, &org, &stored, StatusCode::OK))
}

/// `PATCH .../{name}/{version}`: JSON merge patch, guarded by `If-Match`.
pub async fn patch<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    update(state, caller, org, Locator::<K>::name_version(name, version), headers, raw).await
}

/// `PATCH .../{id}`.
pub async fn patch_by_id<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    let locator = parse_id_locator::<K>(&id)?;
    update(state, caller, org, locator, headers, raw).await
}

/// `DELETE .../{name}/{version}`, guarded by `If-Match` when sent.
pub async fn delete<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    remove(state, caller, org, Locator::<K>::name_version(name, version), headers).await
}

/// `DELETE .../{id}`.
pub async fn delete_by_id<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let locator = parse_id_locator::<K>(&id)?;
    remove(state, caller, org, locator, headers).await
}

/// `GET .../{name}/{version}/effective`: the exact OpenSSL settings the profile compiles to.
pub async fn effective<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::<K>::name_version(name, version).fetch(&state, &org).await?;
    Ok(Json(K::effective(&stored.profile)))
}

/// `GET .../{name}/{version}/lint`: the grade and warnings.
pub async fn lint<K: ProfileKind>(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::<K>::name_version(name, version).fetch(&state, &org).await?;
    Ok(Json(json!({
        "grade": K::grade(&stored.profile),
        "warnings": K::warnings(&stored.profile),
    })))
}

/// The longest probe the server runs.
const MAX_PROBE_MS: u64 = 300_000;

/// Reads a probe request (`target`, optional `timeout_ms`), naming every bad field.
pub(crate) fn parse_probe_request(v: &Value) -> Result<(Target, Duration), Problem> {
    let mut errs = ValidationErrors::default();
    let Some(obj) = v.as_object() else {
        errs.push("body", "must be a JSON object");
        return Err(Problem::invalid(errs));
    };
    for k in obj.keys().filter(|k| !["target", "timeout_ms"].contains(&k.as_str())) {
        errs.push(k.as_str(), "unknown field");
    }
    let target = match obj.get("target") {
        Some(Value::String(t)) => {
            t.parse::<Target>().map_err(|e| errs.push("target", e.to_string())).ok()
        }
        None | Some(Value::Null) => {
            errs.push("target", "required: host:port or an https:// URL");
            None
        }
        Some(_) => {
            errs.push("target", "must be a string");
            None
        }
    };
    let timeout = match obj.get("timeout_ms") {
        None | Some(Value::Null) => Some(ProbeOptions::default().timeout),
        Some(v) => match v.as_u64() {
            Some(ms @ 1..=MAX_PROBE_MS) => Some(Duration::from_millis(ms)),
            _ => {
                errs.push("timeout_ms", format!("must be a whole number from 1 to {MAX_PROBE_MS}"));
                None
            }
        },
    };
    match (target, timeout) {
        (Some(t), Some(d)) if errs.is_empty() => Ok((t, d)),
        _ => Err(Problem::invalid(errs)),
    }
}

/// `POST .../{name}/{version}/probe`: handshakes with a target through the profile, on
/// the server, so that key material never leaves it.
pub async fn probe(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let (target, timeout) = parse_probe_request(&body::parse::<Value>(&raw)?)?;
    let stored = Locator::<ClientKind>::name_version(name, version).fetch(&state, &org).await?;
    tracing::debug!(org = %org.name, profile = %ClientKind::key(&stored.profile), %target, "probe");

    let run = state.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::apply::probe(&run, &org, &stored, &target, &ProbeOptions { timeout })
    })
    .await
    .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the probe failed to run"))?;
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}

async fn update<K: ProfileKind>(
    state: AppState,
    caller: Caller,
    org: String,
    locator: Locator<K>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let patch: Value = body::parse(&raw)?;
    if !patch.is_object() {
        let mut errs = ValidationErrors::default();
        errs.push("body", "a merge patch must be a JSON object");
        return Err(Problem::invalid(errs));
    }
    let stored = locator.fetch(&state, &org).await?;
    let expected = expected_revision(&headers, &etag(stored.id, stored.revision), stored.revision)?;

    let mut merged = K::to_input(&stored.profile);
    for field in ["keystore", "truststore"] {
        // A patch naming a store either way replaces the reference whichever way it was made.
        let url_field = format!("{field}_url");
        if let Some(obj) = merged.as_object_mut()
            && (patch.get(field).is_some() || patch.get(&url_field).is_some())
        {
            obj.remove(field);
            obj.remove(&url_field);
        }
    }
    merge_patch(&mut merged, &patch);
    let profile = K::parse(&merged)?;
    let refs = check_rules::<K>(&state, &org, &profile).await?;

    let (org_id, id) = (org.id, stored.id);
    let updated =
        state.run(move |s| K::update(s, org_id, id, Some(expected), &profile, refs)).await?;
    state.contexts.remove(&id.to_string());
    let resource = resource::<K>(&updated.profile);
    audit::changed(&state, &caller, &org.name, "update", &resource).await;
    if K::visibility(&stored.profile) != K::visibility(&updated.profile) {
        audit::changed(&state, &caller, &org.name, "visibility", &resource).await;
    }
    Ok(item_response::<K>(&state, &org, &updated, StatusCode::OK))
}

async fn remove<K: ProfileKind>(
    state: AppState,
    caller: Caller,
    org: String,
    locator: Locator<K>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let stored = locator.fetch(&state, &org).await?;
    let expected = expected_revision(&headers, &etag(stored.id, stored.revision), stored.revision)?;
    if state.listener_profile.get() == Some(&stored.id) {
        return Err(crate::problem::Problem::in_use(vec![
            "the TLS listener of this server".into(),
        ]));
    }
    let (org_id, id) = (org.id, stored.id);
    state.run(move |s| K::delete(s, org_id, id, Some(expected))).await?;
    state.contexts.remove(&id.to_string());
    let resource = resource::<K>(&stored.profile);
    audit::changed(&state, &caller, &org.name, "delete", &resource).await;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_id_locator<K: ProfileKind>(segment: &str) -> Result<Locator<K>, Problem> {
    Uuid::parse_str(segment).map(|id| Locator::Id(id, PhantomData)).map_err(|_| {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "name a profile by NAME/VERSION or by its id to change or delete it",
        )
    })
}

/// Rules beyond the profile's own: the stores it names (answering their ids), its org,
/// what the linked OpenSSL can offer, and for server profiles the keystore's key type.
async fn check_rules<K: ProfileKind>(
    state: &AppState,
    org: &Org,
    p: &K::Profile,
) -> Result<ProfileRefs, Problem> {
    let mut errs = ValidationErrors::default();
    let (keystore, truststore) = K::refs(p);
    let keystore = resolve(state, org, "keystore", keystore, &mut errs).await?;
    let truststore = resolve(state, org, "truststore", truststore, &mut errs).await?;
    let key_type = match keystore {
        Some(id) => leaf_key_type(state, org, id).await?,
        None => None,
    };
    K::check(p, org, key_type.as_deref(), &mut errs);
    if let Some(Visibility::Custom { orgs }) = K::visibility(p) {
        for (i, name) in orgs.iter().enumerate() {
            let lookup = name.clone();
            let kind = state.run(move |s| s.org(&lookup).map(|o| o.org_type)).await;
            if !matches!(kind.as_deref(), Ok("provider")) {
                errs.push(format!("visibility.orgs[{i}]"), format!("no provider org named {name}"));
            }
        }
    }
    errs.into_result(ProfileRefs { keystore, truststore }).map_err(Problem::invalid)
}

/// The key type (`RSA`, `EC`, ...) of a keystore's leaf certificate.
async fn leaf_key_type(state: &AppState, org: &Org, id: Uuid) -> Result<Option<String>, Problem> {
    let org_id = org.id;
    let chain = state.run(move |s| s.keystore(org_id, &id.to_string()).map(|k| k.chain)).await?;
    let leaf = chain.first().and_then(|der| tlsdeck_pki::parse_certificate(der).ok());
    Ok(leaf.map(|c| c.info.key_type))
}

/// The id of the keystore or truststore a profile names, or a field error when none exists.
async fn resolve(
    state: &AppState,
    org: &Org,
    kind: &'static str,
    r: Option<&StoreRef>,
    errs: &mut ValidationErrors,
) -> Result<Option<Uuid>, Problem> {
    let Some(r) = r else { return Ok(None) };
    let (org_id, key) = (org.id, r.key().to_owned());
    let found = state
        .run(move |s| match kind {
            "keystore" => s.keystore(org_id, &key).map(|k| k.id),
            _ => s.truststore(org_id, &key).map(|t| t.id),
        })
        .await;
    match found {
        Ok(id) => Ok(Some(id)),
        Err(p) if p.status() == StatusCode::NOT_FOUND => {
            let field = match r {
                StoreRef::Name(_) => kind.to_owned(),
                StoreRef::Url(_) => format!("{kind}_url"),
            };
            errs.push(field, format!("no {kind} '{}' exists in org {}", r.key(), org.name));
            Ok(None)
        }
        Err(p) => Err(p),
    }
}

/// How the audit log names a profile, e.g. `tls-client-profile backend:1.0.0`.
fn resource<K: ProfileKind>(p: &K::Profile) -> String {
    format!("{} {}", K::TYPE.replace('_', "-"), K::key(p))
}

fn etag(id: Uuid, revision: i64) -> String {
    format!("\"{id}-{revision}\"")
}

fn item_url<K: ProfileKind>(state: &AppState, org: &Org, id: Uuid) -> String {
    format!("{}/{}/{id}", org_url(state, org), K::COLLECTION)
}

/// The JSON of one stored profile, shaped like the source product's.
fn view<K: ProfileKind>(state: &AppState, org: &Org, s: &Stored<K::Profile>) -> Value {
    let mut v = K::to_input(&s.profile);
    let obj = v.as_object_mut().expect("a profile's input form is an object");
    obj.entry("summary").or_insert(Value::Null);
    let links =
        [("keystore", &s.keystore, "keystores"), ("truststore", &s.truststore, "truststores")];
    for (field, link, collection) in links {
        let url = link.as_ref().map(|l| format!("{}/{collection}/{}", org_url(state, org), l.id));
        obj.insert(format!("{field}_url"), url.map_or(Value::Null, Value::from));
        obj.insert(field.to_owned(), link.as_ref().map_or(Value::Null, |l| l.name.clone().into()));
    }
    obj.insert("type".into(), K::TYPE.into());
    obj.insert("api_version".into(), "2.0.0".into());
    obj.insert("id".into(), s.id.to_string().into());
    obj.insert("revision".into(), s.revision.into());
    obj.insert(
        "warnings".into(),
        serde_json::to_value(K::warnings(&s.profile)).unwrap_or_default(),
    );
    obj.insert("created_at".into(), crate::rfc3339(s.created_at).into());
    obj.insert("updated_at".into(), crate::rfc3339(s.updated_at).into());
    obj.insert("org_url".into(), org_url(state, org).into());
    obj.insert("url".into(), item_url::<K>(state, org, s.id).into());
    v
}

fn collection<K: ProfileKind>(
    state: &AppState,
    org: &Org,
    total: u64,
    items: &[Stored<K::Profile>],
) -> Value {
    let results: Vec<Value> = items.iter().map(|s| view::<K>(state, org, s)).collect();
    json!({ "total_results": total, "results": results })
}

fn item_response<K: ProfileKind>(
    state: &AppState,
    org: &Org,
    s: &Stored<K::Profile>,
    status: StatusCode,
) -> Response {
    let mut resp = (status, Json(view::<K>(state, org, s))).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(s.id, s.revision)) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    resp
}
