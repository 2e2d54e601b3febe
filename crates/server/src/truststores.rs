//! `/api/orgs/{org}/truststores` and their entries: the CA certificates a profile trusts.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tlsdeck_model::{ValidationErrors, Warning, parse_labels};
use tlsdeck_pki::{self as pki, CertInfo, Truststore};
use tlsdeck_store::{NewEntry, Org, StoredEntry, StoredTruststore};
use uuid::Uuid;

use crate::audit;
use crate::auth::Caller;
use crate::common::{
    ClearQuery, check_confirm, expected_revision, labels_of, labels_patched, material, org_url,
    parse_page,
};
use crate::permissions::Permission::{SettingsManage, SettingsView};
use crate::problem::Problem;
use crate::{AppState, body};

const OWN_FIELDS: &[&str] = &["truststore", "truststore_base64", "password", "entries"];

/// `GET /api/orgs/{org}/truststores`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let page = parse_page(&query)?;
    let org_id = org.id;
    let (total, items) = state.run(move |s| s.list_truststores(org_id, page)).await?;
    let mut results = Vec::with_capacity(items.len());
    for t in &items {
        let mut v = summary_view(&state, &org, t);
        let entries = entry_views(&state, &org, t).await?;
        v["warnings"] = collect_warnings(&entries).into();
        results.push(v);
    }
    Ok(Json(json!({ "total_results": total, "results": results })))
}

/// `POST /api/orgs/{org}/truststores`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let input: Value = body::parse(&raw)?;
    let obj =
        input.as_object().ok_or_else(|| Problem::bad_request("body: must be a JSON object"))?;
    let mut errs = ValidationErrors::default();
    let labels = parse_labels(obj, OWN_FIELDS, &mut errs);
    let parsed = parse_bundle(obj, "truststore", true, &mut errs);
    let (true, Some(labels), Some(Some(bundle))) = (errs.is_empty(), labels, parsed) else {
        return Err(Problem::invalid(errs));
    };
    let (labels, entries) = (labels_of(labels), new_entries(&bundle));
    let org_id = org.id;
    let stored = state.run(move |s| s.create_truststore(org_id, &labels, &entries)).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "create",
        &format!("truststore {}", stored.labels.name),
    )
    .await;
    item_response(&state, &org, &stored, &bundle.duplicates, StatusCode::CREATED).await
}

/// `GET /api/orgs/{org}/truststores/{name}` (or by id), with its entries.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = fetch(&state, &org, &key).await?;
    item_response(&state, &org, &stored, &[], StatusCode::OK).await
}

/// `PATCH /api/orgs/{org}/truststores/{name}`: new labels; a new bundle replaces every entry.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let patch: Value = body::parse(&raw)?;
    let obj =
        patch.as_object().ok_or_else(|| Problem::bad_request("body: must be a JSON object"))?;
    let stored = fetch(&state, &org, &key).await?;
    let expected = expected_revision(&headers, &etag(&stored), stored.revision)?;

    let merged = labels_patched(&stored.labels, obj);
    let mut errs = ValidationErrors::default();
    let labels = parse_labels(&merged, OWN_FIELDS, &mut errs);
    for field in ["truststore", "truststore_base64"] {
        if obj.get(field).is_some_and(Value::is_null) {
            errs.push(field, "a truststore always holds certificates: give new ones or delete it");
        }
    }
    let parsed = parse_bundle(obj, "truststore", false, &mut errs);
    let (true, Some(labels), Some(bundle)) = (errs.is_empty(), labels, parsed) else {
        return Err(Problem::invalid(errs));
    };
    let duplicates = bundle.as_ref().map(|b| b.duplicates.clone()).unwrap_or_default();
    let (labels, entries) = (labels_of(labels), bundle.as_ref().map(new_entries));
    let (org_id, id) = (org.id, stored.id);
    let updated = state
        .run(move |s| s.update_truststore(org_id, id, Some(expected), &labels, entries.as_deref()))
        .await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "update",
        &format!("truststore {}", updated.labels.name),
    )
    .await;
    item_response(&state, &org, &updated, &duplicates, StatusCode::OK).await
}

/// `DELETE /api/orgs/{org}/truststores/{name}`: 409 while a profile uses it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let stored = fetch(&state, &org, &key).await?;
    let expected = expected_revision(&headers, &etag(&stored), stored.revision)?;
    let (org_id, id) = (org.id, stored.id);
    state.run(move |s| s.delete_truststore(org_id, id, Some(expected))).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "delete",
        &format!("truststore {}", stored.labels.name),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/orgs/{org}/truststores?confirm={org}`.
pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(q): Query<ClearQuery>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    check_confirm(q.confirm.as_deref(), &org, "truststore")?;
    let org_id = org.id;
    let deleted = state.run(move |s| s.clear_truststores(org_id)).await?;
    audit::changed(&state, &caller, &org.name, "clear", "truststores").await;
    Ok(Json(json!({ "deleted": deleted })))
}

/// `GET .../truststores/{name}/entries`.
pub async fn list_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let page = parse_page(&query)?;
    let stored = fetch(&state, &org, &key).await?;
    let all = entry_views(&state, &org, &stored).await?;
    let total = all.len();
    let offset = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let results: Vec<Value> = all.into_iter().skip(offset).take(page.limit as usize).collect();
    Ok(Json(json!({ "total_results": total, "results": results })))
}

/// `POST .../truststores/{name}/entries`: adds the certificates of `certificate` (PEM) or
/// `certificate_base64` (DER or PKCS#12); those already held are reported, not added.
pub async fn add_entries(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
    raw: Bytes,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let input: Value = body::parse(&raw)?;
    let obj =
        input.as_object().ok_or_else(|| Problem::bad_request("body: must be a JSON object"))?;
    let mut errs = ValidationErrors::default();
    for k in obj
        .keys()
        .filter(|k| !["certificate", "certificate_base64", "password"].contains(&k.as_str()))
    {
        errs.push(k.as_str(), "unknown field");
    }
    let parsed = parse_bundle(obj, "certificate", true, &mut errs);
    let (true, Some(Some(bundle))) = (errs.is_empty(), parsed) else {
        return Err(Problem::invalid(errs));
    };
    let stored = fetch(&state, &org, &key).await?;
    let (id, entries) = (stored.id, new_entries(&bundle));
    let added = state.run(move |s| s.add_truststore_entries(id, &entries)).await?;
    let held = bundle.entries.len() - added.len();
    audit::changed(
        &state,
        &caller,
        &org.name,
        "update",
        &format!("truststore {} entries (+{})", stored.labels.name, added.len()),
    )
    .await;
    let results: Vec<Value> = added.iter().map(|e| entry_view(&state, &org, &stored, e)).collect();
    let body = json!({
        "total_results": results.len(),
        "results": results,
        "already_held": held + bundle.duplicates.len(),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET .../truststores/{name}/entries/{id}`.
pub async fn get_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key, entry)): Path<(String, String, String)>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = fetch(&state, &org, &key).await?;
    let entry_id = parse_entry_id(&entry)?;
    let id = stored.id;
    let entries = state.run(move |s| s.truststore_entries(id)).await?;
    let found = entries.iter().find(|e| e.id == entry_id).ok_or_else(|| no_entry(&entry))?;
    Ok(Json(entry_view(&state, &org, &stored, found)))
}

/// `DELETE .../truststores/{name}/entries/{id}`.
pub async fn delete_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key, entry)): Path<(String, String, String)>,
) -> Result<StatusCode, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    let stored = fetch(&state, &org, &key).await?;
    let entry_id = parse_entry_id(&entry)?;
    // The store refuses to delete the last one inside its transaction, so two deletes at
    // once cannot empty a truststore.
    let id = stored.id;
    state
        .run(move |s| s.delete_truststore_entry(id, entry_id))
        .await
        .map_err(|p| if p.status() == StatusCode::NOT_FOUND { no_entry(&entry) } else { p })?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "delete",
        &format!("truststore {} entry {entry_id}", stored.labels.name),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_entry_id(s: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(s).map_err(|_| no_entry(s))
}

fn no_entry(id: &str) -> Problem {
    Problem::not_found(format!("no entry {id} in this truststore"))
}

async fn fetch(state: &AppState, org: &Org, key: &str) -> Result<StoredTruststore, Problem> {
    let (org_id, k) = (org.id, key.to_owned());
    state.run(move |s| s.truststore(org_id, &k)).await.map_err(|p| {
        if p.status() == StatusCode::NOT_FOUND {
            Problem::not_found(format!("no truststore named {key} in org {}", org.name))
        } else {
            p
        }
    })
}

/// Parses a bundle from `field` (PEM) or `{field}_base64` (DER, PKCS#12) with `password`.
fn parse_bundle(
    obj: &Map<String, Value>,
    field: &str,
    required: bool,
    errs: &mut ValidationErrors,
) -> Option<Option<Truststore>> {
    let bytes = material(obj, field, required, errs)?;
    let password = match obj.get("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(p.as_str()),
        Some(_) => {
            errs.push("password", "must be a string");
            return None;
        }
    };
    let Some(bytes) = bytes else {
        if password.is_some() {
            errs.push("password", format!("comes with new material in {field}"));
        }
        return Some(None);
    };
    match pki::parse_truststore(&bytes, password) {
        Ok(t) => Some(Some(t)),
        Err(e) => {
            let f = match e {
                pki::PkiError::PasswordMissing | pki::PkiError::PasswordWrong => "password",
                _ => field,
            };
            errs.push(f, e.to_string());
            None
        }
    }
}

fn new_entries(t: &Truststore) -> Vec<NewEntry> {
    t.entries
        .iter()
        .map(|c| NewEntry { fingerprint: c.info.fingerprint_sha256.clone(), der: c.der.clone() })
        .collect()
}

fn etag(t: &StoredTruststore) -> String {
    format!("\"{}-{}\"", t.id, t.revision)
}

fn item_url(state: &AppState, org: &Org, t: &StoredTruststore) -> String {
    format!("{}/truststores/{}", org_url(state, org), t.id)
}

fn summary_view(state: &AppState, org: &Org, t: &StoredTruststore) -> Value {
    json!({
        "type": "truststore",
        "api_version": "2.0.0",
        "id": t.id,
        "name": t.labels.name,
        "title": t.labels.title,
        "summary": t.labels.summary,
        "revision": t.revision,
        "entry_count": t.entry_count,
        "created_at": crate::rfc3339(t.created_at),
        "updated_at": crate::rfc3339(t.updated_at),
        "org_url": org_url(state, org),
        "url": item_url(state, org, t),
    })
}

/// The warnings of every entry, in one list.
fn collect_warnings(entries: &[Value]) -> Vec<Value> {
    entries.iter().flat_map(|e| e["warnings"].as_array().cloned().unwrap_or_default()).collect()
}

fn entry_view(state: &AppState, org: &Org, t: &StoredTruststore, e: &StoredEntry) -> Value {
    let mut v = match pki::parse_certificate(&e.der) {
        Ok(c) => {
            let mut v = serde_json::to_value(&c.info).unwrap_or_default();
            v["warnings"] = serde_json::to_value(pki::certificate_warnings(&c.info, Utc::now()))
                .unwrap_or_default();
            v
        }
        Err(err) => json!({ "error": err.to_string() }),
    };
    v["id"] = e.id.to_string().into();
    v["created_at"] = crate::rfc3339(e.created_at).into();
    v["url"] = format!("{}/entries/{}", item_url(state, org, t), e.id).into();
    v
}

async fn entry_views(
    state: &AppState,
    org: &Org,
    t: &StoredTruststore,
) -> Result<Vec<Value>, Problem> {
    let id = t.id;
    let entries = state.run(move |s| s.truststore_entries(id)).await?;
    Ok(entries.iter().map(|e| entry_view(state, org, t, e)).collect())
}

async fn item_response(
    state: &AppState,
    org: &Org,
    t: &StoredTruststore,
    duplicates: &[CertInfo],
    status: StatusCode,
) -> Result<Response, Problem> {
    let mut v = summary_view(state, org, t);
    let entries = entry_views(state, org, t).await?;
    v["warnings"] = collect_warnings(&entries).into();
    v["entries"] = entries.into();
    if !duplicates.is_empty() {
        v["duplicates"] = serde_json::to_value(duplicates).unwrap_or_default();
        let dup_warnings = duplicates.iter().map(|d| {
            let msg =
                format!("certificate {} appears more than once and is stored once", d.subject);
            serde_json::to_value(Warning::new("duplicate", "certificates", msg)).unwrap_or_default()
        });
        if let Some(list) = v["warnings"].as_array_mut() {
            list.extend(dup_warnings);
        }
    }
    let mut resp = (status, Json(v)).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(t)) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    Ok(resp)
}
