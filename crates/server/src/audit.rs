//! The audit log: every change, log-in and refused request, with who, where and how it
//! ended. No secret is ever put into an event.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tlsdeck_model::ValidationErrors;
use tlsdeck_store::{Event, EventFilter};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::common::parse_page;
use crate::permissions::Permission::{MemberView, SettingsManage};
use crate::problem::Problem;

/// How events name a user: `username (realm)`.
pub fn actor(username: &str, realm: &str) -> String {
    format!("{username} ({realm})")
}

/// Appends an event; a failure to record is logged, and does not fail the request.
pub async fn record(
    state: &AppState,
    org: Option<&str>,
    actor: &str,
    action: &str,
    resource: &str,
    outcome: &str,
    detail: Option<String>,
) {
    let event = Event {
        id: Uuid::nil(),
        org: org.map(str::to_owned),
        at: Utc::now(),
        actor: printable(actor),
        action: action.to_owned(),
        resource: printable(resource),
        outcome: outcome.to_owned(),
        detail: detail.as_deref().map(printable),
    };
    if let Err(e) = state.run(move |s| s.record_event(&event)).await {
        tracing::error!(status = %e.status(), "an audit event could not be recorded");
    }
}

/// Text from a request as an event keeps it: control characters (a NUL, say, which no
/// PostgreSQL text holds) become U+FFFD.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Logs and records a successful change by `caller` in `org`: the one place every change
/// is written down.
pub async fn changed(state: &AppState, caller: &Caller, org: &str, action: &str, resource: &str) {
    let actor = caller.actor();
    tracing::info!(org, %actor, action, resource, "changed");
    record(state, Some(org), &actor, action, resource, "success", None).await;
}

/// `GET /api/orgs/{org}/events?resource=&since=&until=&limit=&offset=`, newest first.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize_any(&state, &org, &[MemberView, SettingsManage]).await?;
    let page = parse_page(&query)?;
    let filter = parse_filter(&query)?;
    let name = org.name.clone();
    let (total, events) = state.run(move |s| s.list_events(&name, &filter, page)).await?;
    let results: Vec<Value> = events.iter().map(view).collect();
    Ok(Json(json!({ "total_results": total, "results": results })))
}

fn parse_filter(query: &HashMap<String, String>) -> Result<EventFilter, Problem> {
    let mut errs = ValidationErrors::default();
    let mut time = |field: &str| {
        let raw = query.get(field)?;
        DateTime::parse_from_rfc3339(raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| errs.push(field, "must be an RFC 3339 time, e.g. 2026-12-04T10:00:00Z"))
            .ok()
    };
    let (since, until) = (time("since"), time("until"));
    let filter = EventFilter { resource: query.get("resource").cloned(), since, until };
    errs.into_result(filter)
        .map_err(|e| Problem::invalid(e).with_status(axum::http::StatusCode::BAD_REQUEST))
}

fn view(e: &Event) -> Value {
    json!({
        "id": e.id,
        "org": e.org,
        "at": crate::rfc3339(e.at),
        "actor": e.actor,
        "action": e.action,
        "resource": e.resource,
        "outcome": e.outcome,
        "detail": e.detail,
    })
}
