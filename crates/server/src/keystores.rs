//! `/api/orgs/{org}/keystores`: a private key and its chain. The key is sealed with the
//! master key before it reaches the store, and no answer ever holds it.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Map, Value, json};
use tlsdeck_model::{ServerKey, ValidationErrors, Warning, parse_labels};
use tlsdeck_pki::{self as pki, Keystore};
use tlsdeck_store::{NewKeystore, Org, StoredKeystore};

use crate::audit;
use crate::auth::Caller;
use crate::common::{
    ClearQuery, check_confirm, expected_revision, labels_of, labels_patched, material, org_url,
    parse_page,
};
use crate::permissions::Permission::{SettingsManage, SettingsView};
use crate::problem::Problem;
use crate::{AppState, body};

/// Fields of a keystore body besides the labels.
const OWN_FIELDS: &[&str] =
    &["keystore", "keystore_base64", "private_key", "password", "certificates"];

/// What binds a sealed key to its org, so it cannot be moved to another unnoticed.
pub fn seal_context(org: &Org) -> Vec<u8> {
    tlsdeck_pki::keystore_seal_context(org.id)
}

/// `GET /api/orgs/{org}/keystores`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let page = parse_page(&query)?;
    let org_id = org.id;
    let (total, items) = state.run(move |s| s.list_keystores(org_id, page)).await?;
    let results: Vec<Value> = items.iter().map(|k| view(&state, &org, k, &[])).collect();
    Ok(Json(json!({ "total_results": total, "results": results })))
}

/// `POST /api/orgs/{org}/keystores`.
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
    let parsed = parse_material(obj, true, &mut errs);
    let (true, Some(labels), Some(Some(ks))) = (errs.is_empty(), labels, parsed) else {
        return Err(Problem::invalid(errs));
    };
    let upload_warnings = pki::keystore_warnings(&ks, Utc::now());
    let new = sealed(&state, &org, labels_of(labels), &ks)?;

    let org_id = org.id;
    let stored = state.run(move |s| s.create_keystore(org_id, &new)).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "create",
        &format!("keystore {}", stored.labels.name),
    )
    .await;
    Ok(item_response(&state, &org, &stored, &upload_warnings, StatusCode::CREATED))
}

/// `GET /api/orgs/{org}/keystores/{name}` (or by id).
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, key)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let stored = fetch(&state, &org, &key).await?;
    Ok(item_response(&state, &org, &stored, &[], StatusCode::OK))
}

/// `PATCH /api/orgs/{org}/keystores/{name}`: new labels, or new key material, or both.
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
    let parsed = parse_material(obj, false, &mut errs);
    let (true, Some(labels), Some(ks)) = (errs.is_empty(), labels, parsed) else {
        return Err(Problem::invalid(errs));
    };
    let upload_warnings =
        ks.as_ref().map(|k| pki::keystore_warnings(k, Utc::now())).unwrap_or_default();
    if let Some(ks) = &ks {
        check_server_profiles(&state, &org, stored.id, &ks.leaf().info.key_type).await?;
    }
    let new = match &ks {
        Some(ks) => sealed(&state, &org, labels_of(labels), ks)?,
        None => NewKeystore {
            labels: labels_of(labels),
            chain: stored.chain.clone(),
            sealed_key: stored.sealed_key.clone(),
        },
    };

    let (org_id, id) = (org.id, stored.id);
    let updated = state.run(move |s| s.update_keystore(org_id, id, Some(expected), &new)).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "update",
        &format!("keystore {}", updated.labels.name),
    )
    .await;
    Ok(item_response(&state, &org, &updated, &upload_warnings, StatusCode::OK))
}

/// `DELETE /api/orgs/{org}/keystores/{name}`: 409 while a profile uses it.
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
    state.run(move |s| s.delete_keystore(org_id, id, Some(expected))).await?;
    audit::changed(
        &state,
        &caller,
        &org.name,
        "delete",
        &format!("keystore {}", stored.labels.name),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/orgs/{org}/keystores?confirm={org}`.
pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(q): Query<ClearQuery>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsManage).await?;
    check_confirm(q.confirm.as_deref(), &org, "keystore")?;
    let org_id = org.id;
    let deleted = state.run(move |s| s.clear_keystores(org_id)).await?;
    audit::changed(&state, &caller, &org.name, "clear", "keystores").await;
    Ok(Json(json!({ "deleted": deleted })))
}

/// Refuses new key material that a server profile using this keystore could not serve its
/// suites with.
async fn check_server_profiles(
    state: &AppState,
    org: &Org,
    keystore: uuid::Uuid,
    key_type: &str,
) -> Result<(), Problem> {
    let org_id = org.id;
    let users = state
        .run(move |s| {
            let page = tlsdeck_store::Page { limit: 1000, offset: 0 };
            let (_, all) = s.list_server_profiles(org_id, None, page)?;
            Ok(all
                .into_iter()
                .filter(|p| p.keystore.as_ref().is_some_and(|l| l.id == keystore))
                .collect::<Vec<_>>())
        })
        .await?;
    let mut errs = ValidationErrors::default();
    for p in users.into_iter().map(|p| p.profile) {
        if let Err(e) = p.check_key(ServerKey::from_key_type(key_type)) {
            let why = e.fields().first().map(|f| f.message.clone()).unwrap_or_default();
            errs.push(
                "keystore",
                format!("tls-server-profile {}:{} uses this keystore: {why}", p.name, p.version),
            );
        }
    }
    errs.into_result(()).map_err(Problem::invalid)
}

async fn fetch(state: &AppState, org: &Org, key: &str) -> Result<StoredKeystore, Problem> {
    let (org_id, k) = (org.id, key.to_owned());
    state.run(move |s| s.keystore(org_id, &k)).await.map_err(|p| {
        if p.status() == StatusCode::NOT_FOUND {
            Problem::not_found(format!("no keystore named {key} in org {}", org.name))
        } else {
            p
        }
    })
}

/// Parses the key material of a body: `keystore` (PEM text), or `keystore_base64` (PKCS#12
/// or DER), with `private_key` when the key comes as a second text, and `password`.
/// `None` inside when the body holds no material and none is required.
fn parse_material(
    obj: &Map<String, Value>,
    required: bool,
    errs: &mut ValidationErrors,
) -> Option<Option<Keystore>> {
    for field in ["keystore", "keystore_base64"] {
        if obj.get(field).is_some_and(Value::is_null) {
            errs.push(field, "a keystore always holds a key and chain: give new ones or delete it");
        }
    }
    let bytes = material(obj, "keystore", required, errs)?;
    let password = text_field(obj, "password", errs);
    let key_text = text_field(obj, "private_key", errs);
    let Some(bytes) = bytes else {
        for (field, given) in
            [("private_key", key_text.is_some()), ("password", password.is_some())]
        {
            if given {
                errs.push(field, "comes with new material in keystore or keystore_base64");
            }
        }
        return Some(None);
    };
    let parsed = match &key_text {
        Some(key) => pki::parse_keystore_parts(&bytes, key.as_bytes(), password.as_deref()),
        None => pki::parse_keystore(&bytes, password.as_deref()),
    };
    match parsed {
        Ok(ks) => Some(Some(ks)),
        Err(e) => {
            errs.push(pki_field(&e), e.to_string());
            None
        }
    }
}

/// The field a parsing failure is about.
pub fn pki_field(e: &pki::PkiError) -> &'static str {
    match e {
        pki::PkiError::PasswordMissing | pki::PkiError::PasswordWrong => "password",
        _ => "keystore",
    }
}

fn text_field(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut ValidationErrors,
) -> Option<String> {
    match obj.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errs.push(field, "must be a string");
            None
        }
    }
}

fn sealed(
    state: &AppState,
    org: &Org,
    labels: tlsdeck_store::Labels,
    ks: &Keystore,
) -> Result<NewKeystore, Problem> {
    let sealed_key =
        state.master_key.seal(ks.key().pkcs8_der(), &seal_context(org)).map_err(|e| {
            tracing::error!(error = %e, "sealing a private key failed");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the private key could not be sealed")
        })?;
    Ok(NewKeystore { labels, chain: ks.chain.iter().map(|c| c.der.clone()).collect(), sealed_key })
}

fn etag(k: &StoredKeystore) -> String {
    format!("\"{}-{}\"", k.id, k.revision)
}

/// The JSON of a keystore: its chain with metadata and warnings, never its key.
fn view(state: &AppState, org: &Org, k: &StoredKeystore, upload: &[Warning]) -> Value {
    let now = Utc::now();
    let mut warnings: Vec<Warning> = upload.to_vec();
    let certificates: Vec<Value> = k
        .chain
        .iter()
        .enumerate()
        .map(|(i, der)| match pki::parse_certificate(der) {
            Ok(c) => {
                let w = pki::certificate_warnings(&c.info, now);
                if upload.is_empty() {
                    warnings.extend(w.iter().cloned());
                }
                let mut v = serde_json::to_value(&c.info).unwrap_or_default();
                let self_signed = c.info.subject == c.info.issuer;
                v["role"] = match (i, self_signed) {
                    (0, _) => "leaf",
                    (_, true) => "root",
                    _ => "intermediate",
                }
                .into();
                v["warnings"] = serde_json::to_value(w).unwrap_or_default();
                v
            }
            Err(e) => json!({ "role": "unreadable", "error": e.to_string() }),
        })
        .collect();
    let org_url = org_url(state, org);
    json!({
        "type": "keystore",
        "api_version": "2.0.0",
        "id": k.id,
        "name": k.labels.name,
        "title": k.labels.title,
        "summary": k.labels.summary,
        "revision": k.revision,
        "certificates": certificates,
        "warnings": warnings,
        "created_at": crate::rfc3339(k.created_at),
        "updated_at": crate::rfc3339(k.updated_at),
        "org_url": org_url,
        "url": format!("{org_url}/keystores/{}", k.id),
    })
}

fn item_response(
    state: &AppState,
    org: &Org,
    k: &StoredKeystore,
    upload: &[Warning],
    status: StatusCode,
) -> Response {
    let mut resp = (status, Json(view(state, org, k, upload))).into_response();
    if let Ok(tag) = HeaderValue::from_str(&etag(k)) {
        resp.headers_mut().insert(header::ETAG, tag);
    }
    resp
}
