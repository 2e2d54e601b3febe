//! Pieces every collection of the API shares: paging, merge patch, `If-Match`, URLs.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use tlsdeck_model::ValidationErrors;
use tlsdeck_store::{Org, Page};

use crate::AppState;
use crate::problem::Problem;

/// The largest page a list answers.
pub const MAX_LIMIT: u32 = 1000;

/// The revision an `If-Match` header allows: the current one when the header is absent,
/// `*` or names `etag`; otherwise the write is stale (412).
pub fn expected_revision(headers: &HeaderMap, etag: &str, revision: i64) -> Result<i64, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(revision);
    };
    let value = value.to_str().map_err(|_| Problem::bad_request("If-Match: not valid text"))?;
    let matches =
        value.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == "*" || t == etag);
    if matches { Ok(revision) } else { Err(Problem::stale()) }
}

/// RFC 7386 JSON merge patch: objects merge, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let obj = target.as_object_mut().expect("made an object above");
    for (k, v) in patch {
        if v.is_null() {
            obj.remove(k);
        } else {
            merge_patch(obj.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// The `limit` and `offset` of a list request.
pub fn parse_page(query: &HashMap<String, String>) -> Result<Page, Problem> {
    let mut errs = ValidationErrors::default();
    let mut page = Page::default();
    if let Some(l) = query.get("limit") {
        match l.parse::<u32>() {
            Ok(n @ 1..=MAX_LIMIT) => page.limit = n,
            _ => errs.push("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")),
        }
    }
    if let Some(o) = query.get("offset") {
        match o.parse::<u64>() {
            Ok(n) => page.offset = n,
            _ => errs.push("offset", "must be a whole number from 0"),
        }
    }
    errs.into_result(page).map_err(|e| Problem::invalid(e).with_status(StatusCode::BAD_REQUEST))
}

/// The URL of an org in responses.
pub fn org_url(state: &AppState, org: &Org) -> String {
    format!("{}/api/orgs/{}", state.public_url, org.name)
}

/// The `confirm` query of a clear.
#[derive(Debug, serde::Deserialize)]
pub struct ClearQuery {
    /// Must repeat the org's name.
    pub confirm: Option<String>,
}

/// Refuses a clear unless `confirm` repeats the org's name.
pub fn check_confirm(confirm: Option<&str>, org: &Org, what: &str) -> Result<(), Problem> {
    if confirm == Some(org.name.as_str()) {
        return Ok(());
    }
    let mut errs = ValidationErrors::default();
    errs.push(
        "confirm",
        format!("clearing deletes every {what} of the org: confirm with {}", org.name),
    );
    Err(Problem::invalid(errs).with_status(StatusCode::BAD_REQUEST))
}

/// A store's labels with a patch's fields laid over them, ready to validate again.
pub fn labels_patched(
    labels: &tlsdeck_store::Labels,
    patch: &serde_json::Map<String, Value>,
) -> serde_json::Map<String, Value> {
    let mut merged = serde_json::Map::new();
    merged.insert("title".into(), labels.title.clone().into());
    merged.insert("name".into(), labels.name.clone().into());
    if let Some(s) = &labels.summary {
        merged.insert("summary".into(), s.clone().into());
    }
    merged.extend(patch.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

/// The store's form of validated labels.
pub fn labels_of(l: tlsdeck_model::Labels) -> tlsdeck_store::Labels {
    tlsdeck_store::Labels { name: l.name.to_string(), title: l.title, summary: l.summary }
}

/// The bytes of an upload: `field` as text (PEM) or `{field}_base64` (binary: PKCS#12, DER).
///
/// `None` when the input is bad (recorded in `errs`); `Some(None)` when absent and optional.
pub fn material(
    obj: &serde_json::Map<String, Value>,
    field: &str,
    required: bool,
    errs: &mut ValidationErrors,
) -> Option<Option<Vec<u8>>> {
    use base64::Engine as _;

    let b64_field = format!("{field}_base64");
    let text = obj.get(field).filter(|v| !v.is_null());
    let b64 = obj.get(&b64_field).filter(|v| !v.is_null());
    match (text, b64) {
        (Some(_), Some(_)) => {
            errs.push(field, format!("give {field} or {b64_field}, not both"));
            None
        }
        (Some(Value::String(s)), None) => Some(Some(s.as_bytes().to_vec())),
        (None, Some(Value::String(s))) => {
            let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(cleaned) {
                Ok(bytes) => Some(Some(bytes)),
                Err(_) => {
                    errs.push(b64_field, "is not valid base64");
                    None
                }
            }
        }
        (Some(_), None) => {
            errs.push(field, "must be PEM text");
            None
        }
        (None, Some(_)) => {
            errs.push(b64_field, "must be a base64 string");
            None
        }
        (None, None) if required => {
            errs.push(field, format!("required: give {field} (PEM text) or {b64_field} (binary)"));
            None
        }
        (None, None) => Some(None),
    }
}
