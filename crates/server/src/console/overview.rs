//! Resources → TLS: the four tables of an org, and the profiles shared with it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::page::{self, Place, respond, seg};
use super::{Console, Resource, Session};
use crate::bootstrap::ADMIN_ORG;
use crate::permissions::Permission::SettingsManage;

/// What a redirect to the overview tells the user.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Notice {
    /// What was just deleted, e.g. `keystore old-ks`.
    deleted: Option<String>,
}

/// `GET /orgs/{org}/tls`.
pub(crate) async fn page(
    State(console): State<Console>,
    session: Session,
    Path(org): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let place = Place::of(&console, &session, &org).await;
    let mut lists = Vec::new();
    for kind in Resource::ALL {
        let path = format!("/api/orgs/{}/{}", seg(&org), kind.collection());
        match console.api.list_all(&session, &path).await {
            Ok(items) => lists.push((kind, items)),
            Err(reply) => return page::api_failure(&session, Some(&place), &reply),
        }
    }
    let shared = if org == ADMIN_ORG {
        Vec::new()
    } else {
        let path = format!("/api/orgs/{}/shared-tls-client-profiles", seg(&org));
        console.api.list_all(&session, &path).await.unwrap_or_default()
    };
    let manage = session.may(&console, &org, SettingsManage).await;
    let deleted = notice.deleted.map(|d| d.chars().take(200).collect::<String>());

    let body = html! {
        h1 { "TLS" }
        @if let Some(d) = deleted {
            p.notice role="status" { "Deleted " (d) "." }
        }
        div.field.filter hidden {
            label for="filter" { "Filter" }
            input #filter type="search" data-filter="table.items";
        }
        @for (kind, items) in &lists {
            (table(&org, *kind, items, manage))
        }
        @if org != ADMIN_ORG {
            (shared_table(&shared))
        }
    };
    respond(StatusCode::OK, page::frame(Some(&session), Some(&place), "Resources → TLS", body))
}

fn table(org: &str, kind: Resource, items: &[Value], manage: bool) -> Markup {
    let heading_id = format!("h-{}", kind.collection());
    let text = |item: &Value, k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    html! {
        section aria-labelledby=(heading_id) {
            div.section-head {
                h2 #(heading_id) { (kind.heading()) }
                @if manage {
                    a.button href={ "/orgs/" (seg(org)) "/" (kind.collection()) "/new" }
                        aria-label={ "Create " (kind.label()) } { "Create" }
                }
            }
            @if items.is_empty() {
                p.empty { "No " (kind.label()) "s yet." }
            } @else {
                table.items {
                    thead {
                        tr {
                            th scope="col" { "Title" }
                            th scope="col" { "Name" }
                            @if kind.versioned() { th scope="col" { "Version" } }
                            th scope="col" { "Summary" }
                            th scope="col" { "Last change" }
                            th scope="col" { "Actions" }
                        }
                    }
                    tbody {
                        @for item in items {
                            @let path = kind.path_of(org, item);
                            @let key = kind.key_of(item);
                            tr {
                                td { a href=(path) { (text(item, "title")) } }
                                td { code { (text(item, "name")) } }
                                @if kind.versioned() { td { (text(item, "version")) } }
                                td { (text(item, "summary")) }
                                td { (page::when(&text(item, "updated_at"))) }
                                td.actions {
                                    a href=(path) { "Open" span.sr { " " (key) } }
                                    @if manage {
                                        a href={ (path) "/edit" } { "Edit" span.sr { " " (key) } }
                                        a href={ (path) "/delete" } { "Delete" span.sr { " " (key) } }
                                        @if kind == Resource::ClientProfile && org == ADMIN_ORG {
                                            a href={ (path) "/visibility" } { "Visibility" span.sr { " " (key) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn shared_table(items: &[Value]) -> Markup {
    let text = |item: &Value, k: &str| item.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    html! {
        section aria-labelledby="h-shared" {
            h2 #h-shared { "Shared with this organisation" }
            p.hint { "TLS client profiles of the admin organisation that this organisation may use, as "
                code { "admin/NAME:VERSION" } "." }
            @if items.is_empty() {
                p.empty { "Nothing is shared with this organisation." }
            } @else {
                table.items {
                    thead { tr {
                        th scope="col" { "Title" } th scope="col" { "Use as" }
                        th scope="col" { "Protocols" } th scope="col" { "Summary" }
                    } }
                    tbody {
                        @for item in items {
                            tr {
                                td { (text(item, "title")) }
                                td { code { "admin/" (text(item, "name")) ":" (text(item, "version")) } }
                                td { (super::api::strings(item.get("protocols")).join(", ")) }
                                td { (text(item, "summary")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
