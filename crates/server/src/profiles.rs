//! `/api/orgs/{org}/tls-client-profiles`: list, create, read, merge-patch, delete, clear,
//! and the extras that apply a profile: effective settings, lint and probe.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tlsdeck_engine::{ProbeOptions, Target};
use tlsdeck_model::{ClientProfile, StoreRef, ValidationErrors, Visibility, lint};
use tlsdeck_store::{Org, ProfileRefs, StoredProfile};
use uuid::Uuid;

use crate::auth::Caller;
use crate::common::{check_confirm, expected_revision, merge_patch, org_url, parse_page};
use crate::permissions::Permission::{SettingsManage, SettingsView};
use crate::problem::Problem;
use crate::{AppState, body};

const COLLECTION: &str = "tls-client-profiles";

/// How a request names one profile.
enum Locator {
    NameVersion(String, String),
    Id(Uuid),
}

impl Locator {
    async fn fetch(&self, state: &AppState, org: &Org) -> Result<StoredProfile, Problem> {
        let org_id = org.id;
        let found = match self {
            Self::NameVersion(n, v) => {
                let (n, v) = (n.clone(), v.clone());
                state.run(move |s| s.client_profile(org_id, &n, &v)).await
            }
            Self::Id(id) => {
                let id = *id;
                state.run(move |s| s.client_profile_by_id(org_id, id)).await
            }
        };
        found.map_err(|p| match (p.status(), self) {
            (StatusCode::NOT_FOUND, Self::NameVersion(n, v)) => {
                Problem::not_found(format!("no TLS client profile {n}:{v} in org {}", org.name))
            }
            (StatusCode::NOT_FOUND, Self::Id(id)) => Problem::not_found(format!(
                "no TLS client profile with id {id} in org {}",
                org.name
            )),
            _ => p,
        })
    }
}

/// `GET /api/orgs/{org}/tls-client-profiles`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let page = parse_page(&query)?;
    let org_id = org.id;
    let (total, items) = state.run(move |s| s.list_client_profiles(org_id, None, page)).await?;
    Ok(Json(collection(&state, &org, total, &items)))
}

/// `POST /api/orgs/{org}/tls-client-profiles`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let input: Value = body::parse(&raw)?;
    let profile = ClientProfile::from_json(&input)?;
    let refs = check_rules(&state, &org, &profile).await?;

    let org_id = org.id;
    let stored = state.run(move |s| s.create_client_profile(org_id, &profile, refs)).await?;
    tracing::info!(org = %org.name, profile = %key(&stored), user = %caller.user.username, "created TLS client profile");
    let mut resp = item_response(&state, &org, &stored, StatusCode::CREATED);
    if let Ok(loc) = HeaderValue::from_str(&item_url(&state, &org, &stored)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

/// `DELETE /api/orgs/{org}/tls-client-profiles?confirm={org}`.
pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(q): Query<crate::common::ClearQuery>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    check_confirm(q.confirm.as_deref(), &org, "TLS client profile")?;
    let org_id = org.id;
    let deleted = state.run(move |s| s.clear_client_profiles(org_id)).await?;
    tracing::info!(org = %org.name, deleted, user = %caller.user.username, "cleared TLS client profiles");
    Ok(Json(json!({ "deleted": deleted })))
}

/// `GET /api/orgs/{org}/tls-client-profiles/{name}`: the versions of a name, or one
/// profile when the segment is the id of one.
pub async fn get_name_or_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, segment)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    if let Ok(id) = Uuid::parse_str(&segment) {
        let org_id = org.id;
        match state.run(move |s| s.client_profile_by_id(org_id, id)).await {
            Ok(stored) => return Ok(item_response(&state, &org, &stored, StatusCode::OK)),
            Err(p) if p.status() == StatusCode::NOT_FOUND => {}
            Err(p) => return Err(p),
        }
    }
    let page = parse_page(&query)?;
    let org_id = org.id;
    let name = segment.clone();
    let (total, items) =
        state.run(move |s| s.list_client_profiles(org_id, Some(&name), page)).await?;
    if total == 0 {
        return Err(Problem::not_found(format!(
            "no TLS client profile named {segment} in org {}",
            org.name
        )));
    }
    Ok(Json(collection(&state, &org, total, &items)).into_response())
}

/// `GET .../{name}/{version}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::NameVersion(name, version).fetch(&state, &org).await?;
    Ok(item_response(&state, &org, &stored, StatusCode::OK))
}

/// `PATCH .../{name}/{version}`: JSON merge patch, guarded by `If-Match`.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    update(state, caller, org, Locator::NameVersion(name, version), headers, raw).await
}

/// `PATCH .../{id}`.
pub async fn patch_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    let locator = parse_id_locator(&id)?;
    update(state, caller, org, locator, headers, raw).await
}

/// `DELETE .../{name}/{version}`, guarded by `If-Match` when sent.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    remove(state, caller, org, Locator::NameVersion(name, version), headers).await
}

/// `DELETE .../{id}`.
pub async fn delete_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let locator = parse_id_locator(&id)?;
    remove(state, caller, org, locator, headers).await
}

/// `GET .../{name}/{version}/effective`: the exact OpenSSL settings the profile compiles to.
pub async fn effective(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::NameVersion(name, version).fetch(&state, &org).await?;
    let settings = tlsdeck_engine::effective(&stored.profile);
    Ok(Json(serde_json::to_value(settings).unwrap_or_default()))
}

/// `GET .../{name}/{version}/lint`: the grade and warnings.
pub async fn lint(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = Locator::NameVersion(name, version).fetch(&state, &org).await?;
    Ok(Json(json!({
        "grade": lint::grade(&stored.profile),
        "warnings": warnings(&stored.profile),
    })))
}

/// The longest probe the server runs.
const MAX_PROBE_MS: u64 = 300_000;

/// Reads a probe request (`target`, optional `timeout_ms`), naming every bad field.
fn parse_probe_request(v: &Value) -> Result<(Target, Duration), Problem> {
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
    let stored = Locator::NameVersion(name, version).fetch(&state, &org).await?;
    tracing::debug!(org = %org.name, profile = %key(&stored), target = %target, "probe");

    let run = state.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::apply::probe(&run, &org, &stored, &target, &ProbeOptions { timeout })
    })
    .await
    .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the probe failed to run"))?;
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}

async fn update(
    state: AppState,
    caller: Caller,
    org: String,
    locator: Locator,
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
    let expected = expected_revision(&headers, &etag(&stored), stored.revision)?;

    let mut merged = stored.profile.to_input();
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
    let profile = ClientProfile::from_json(&merged)?;
    let refs = check_rules(&state, &org, &profile).await?;

    let (org_id, id) = (org.id, stored.id);
    let updated = state
        .run(move |s| s.update_client_profile(org_id, id, Some(expected), &profile, refs))
        .await?;
    tracing::info!(org = %org.name, profile = %key(&updated), revision = updated.revision,
        user = %caller.user.username, "updated TLS client profile");
    Ok(item_response(&state, &org, &updated, StatusCode::OK))
}

async fn remove(
    state: AppState,
    caller: Caller,
    org: String,
    locator: Locator,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let stored = locator.fetch(&state, &org).await?;
    let expected = expected_revision(&headers, &etag(&stored), stored.revision)?;
    let (org_id, id) = (org.id, stored.id);
    state.run(move |s| s.delete_client_profile(org_id, id, Some(expected))).await?;
    state.contexts.remove(&id.to_string());
    tracing::info!(org = %org.name, profile = %key(&stored), user = %caller.user.username,
        "deleted TLS client profile");
    Ok(StatusCode::NO_CONTENT)
}

fn parse_id_locator(segment: &str) -> Result<Locator, Problem> {
    Uuid::parse_str(segment).map(Locator::Id).map_err(|_| {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "name a profile by NAME/VERSION or by its id to change or delete it",
        )
    })
}

/// Rules beyond the profile's own: the org, the stores it names, and what the linked
/// OpenSSL can really offer. Answers the ids of the stores it names.
async fn check_rules(
    state: &AppState,
    org: &Org,
    p: &ClientProfile,
) -> Result<ProfileRefs, Problem> {
    let mut errs = ValidationErrors::default();
    for w in tlsdeck_engine::warnings(p).into_iter().filter(|w| w.code == "no_usable_cipher") {
        errs.push(w.field, w.message);
    }
    if org.org_type != "admin" && p.visibility != Visibility::Private {
        errs.push("visibility", "only profiles of the admin org can be shared with other orgs");
    }
    let keystore = resolve(state, org, "keystore", p.keystore.as_ref(), &mut errs).await?;
    let truststore = resolve(state, org, "truststore", p.truststore.as_ref(), &mut errs).await?;
    errs.into_result(ProfileRefs { keystore, truststore }).map_err(Problem::invalid)
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

fn key(s: &StoredProfile) -> String {
    format!("{}:{}", s.profile.name, s.profile.version)
}

fn etag(s: &StoredProfile) -> String {
    format!("\"{}-{}\"", s.id, s.revision)
}

fn item_url(state: &AppState, org: &Org, s: &StoredProfile) -> String {
    format!("{}/{COLLECTION}/{}", org_url(state, org), s.id)
}

/// Model warnings and engine warnings together.
fn warnings(p: &ClientProfile) -> Vec<tlsdeck_model::Warning> {
    let mut all = lint::warnings(p);
    all.extend(tlsdeck_engine::warnings(p));
    all
}

/// The JSON of one stored profile, shaped like the source product's.
fn view(state: &AppState, org: &Org, s: &StoredProfile) -> Value {
    let mut v = s.profile.to_input();
    let obj = v.as_object_mut().expect("a profile's input form is an object");
    obj.entry("summary").or_insert(Value::Null);
    let links =
        [("keystore", &s.keystore, "keystores"), ("truststore", &s.truststore, "truststores")];
    for (field, link, collection) in links {
        let url = link.as_ref().map(|l| format!("{}/{collection}/{}", org_url(state, org), l.id));
        obj.insert(format!("{field}_url"), url.map_or(Value::Null, Value::from));
        obj.insert(field.to_owned(), link.as_ref().map_or(Value::Null, |l| l.name.clone().into()));
    }
    obj.insert("type".into(), "tls_client_profile".into());
    obj.insert("api_version".into(), "2.0.0".into());
    obj.insert("id".into(), s.id.to_string().into());
    obj.insert("revision".into(), s.revision.into());
    obj.insert("warnings".into(), serde_json::to_value(warnings(&s.profile)).unwrap_or_default());
    obj.insert("created_at".into(), crate::rfc3339(s.created_at).into());
    obj.insert("updated_at".into(), crate::rfc3339(s.updated_at).into());
    obj.insert("org_url".into(), org_url(state, org).into());
    obj.insert("url".into(), item_url(state, org, s).into());
    v
}

fn collection(state: &AppState, org: &Org, total: u64, items: &[StoredProfile]) -> Value {
    let results: Vec<Value> = items.iter().map(|s| view(state, org, s)).collect();
    json!({ "total_results": total, "results": results })
}

fn item_response(state: &AppState, org: &Org, s: &StoredProfile, status: StatusCode) -> Response {
    let mut resp = (status, Json(view(state, org, s))).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(s)) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    resp
}
