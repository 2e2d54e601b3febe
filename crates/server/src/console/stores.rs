//! Keystores and truststores: upload forms, detail pages with each certificate's expiry,
//! a truststore's entries, and delete with confirmation.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::api::Reply;
use super::form::{Errors, Fields, FormTarget};
use super::page::{self, Place, respond, seg};
use super::profiles::{delete_page, deleted, events_section, recent_events};
use super::{Console, Resource, Session};
use crate::permissions::Permission::SettingsManage;

type ItemPath = Path<(String, String)>;

/// Certificates that expire within this many days are marked.
const SOON_DAYS: i64 = 30;

/// The routes of keystores and truststores.
pub(crate) fn routes() -> Router<Console> {
    let mut router = Router::new();
    for kind in [Resource::Keystore, Resource::Truststore] {
        let base = format!("/orgs/{{org}}/{}", kind.collection());
        let item = format!("{base}/{{name}}");
        router = router
            .route(
                &format!("{base}/new"),
                get(move |c: State<Console>, s: Session, Path(org): Path<String>| {
                    new_form(kind, c, s, org)
                }),
            )
            .route(
                &base,
                get(|Path(org): Path<String>| async move { super::profiles::to_overview(&org) })
                    .post(
                        move |c: State<Console>, s: Session, Path(org): Path<String>, f: Fields| {
                            create(kind, c, s, org, f)
                        },
                    ),
            )
            .route(
                &item,
                get(move |c: State<Console>, s: Session, p: ItemPath| detail(kind, c, s, p)),
            )
            .route(
                &format!("{item}/edit"),
                get(move |c: State<Console>, s: Session, p: ItemPath| edit_form(kind, c, s, p))
                    .post(move |c: State<Console>, s: Session, p: ItemPath, f: Fields| {
                        edit(kind, c, s, p, f)
                    }),
            )
            .route(
                &format!("{item}/delete"),
                get(move |c: State<Console>, s: Session, p: ItemPath| {
                    confirm_delete(kind, c, s, p)
                })
                .post(
                    move |c: State<Console>, s: Session, p: ItemPath, f: Fields| {
                        delete(kind, c, s, p, f)
                    },
                ),
            );
    }
    router
        .route("/orgs/{org}/truststores/{name}/entries", post(add_entries))
        .route("/orgs/{org}/truststores/{name}/entries/{entry}/delete", post(remove_entry))
}

fn api_item(kind: Resource, org: &str, name: &str) -> String {
    format!("/api/orgs/{}/{}/{}", seg(org), kind.collection(), seg(name))
}

fn console_item(kind: Resource, org: &str, name: &str) -> String {
    format!("/orgs/{}/{}/{}", seg(org), kind.collection(), seg(name))
}

/// The field that carries a store's material, in the API and in the form.
fn material_field(kind: Resource) -> &'static str {
    match kind {
        Resource::Keystore => "keystore",
        _ => "truststore",
    }
}

const FORM_FIELDS: &[&str] =
    &["title", "name", "summary", "keystore", "private_key", "password", "truststore"];

/// An uploaded file as the API takes it: PEM as text, anything else (PKCS#12, DER) in base64.
fn put_upload(body: &mut Map<String, Value>, field: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            body.insert(field.into(), text.into());
        }
        _ => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            body.insert(format!("{field}_base64"), b64.into());
        }
    }
}

/// The API body of a store form; `editing` sends `null` for an emptied summary.
fn body_of(kind: Resource, f: &Fields, editing: bool) -> Value {
    let mut body = Map::new();
    body.insert("title".into(), f.text("title").into());
    if !f.text("name").is_empty() {
        body.insert("name".into(), f.text("name").into());
    }
    match f.text("summary") {
        "" if editing => {
            body.insert("summary".into(), Value::Null);
        }
        "" => {}
        s => {
            body.insert("summary".into(), s.into());
        }
    }
    let field = material_field(kind);
    if let Some(bytes) = f.file(field) {
        put_upload(&mut body, field, bytes);
    }
    if kind == Resource::Keystore
        && let Some(key) = f.file("private_key")
    {
        // A key file is PEM; anything else is passed on for the API to refuse by name.
        body.insert("private_key".into(), String::from_utf8_lossy(key).into_owned().into());
    }
    if let Some(pw) = f.one("password").filter(|p| !p.is_empty()) {
        body.insert("password".into(), pw.into());
    }
    Value::Object(body)
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    target: &FormTarget,
    f: &Fields,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let place = Place::of(console, session, org).await;
    let editing = target.etag.is_some();
    let heading = if editing {
        format!("Edit {} {}", kind.label(), f.text("title"))
    } else {
        format!("Create {}", kind.label())
    };
    let keep = if editing { " Leave empty to keep the current one." } else { "" };
    let again = if errors.is_empty() { "" } else { " Choose the file again." };
    let body = html! {
        h1 { (heading) }
        (page::error_summary(errors))
        form method="post" action=(target.action) enctype="multipart/form-data" novalidate {
            (page::csrf(session))
            @if let Some(tag) = &target.etag { input type="hidden" name="etag" value=(tag); }
            (page::input("text", "title", "Title", f.text("title"), errors, None))
            div data-name-from=[target.etag.is_none().then_some("f-title")] {
                (page::input("text", "name", "Name", f.text("name"), errors,
                    Some("Lower-case letters, digits and '-'; filled in from the title until you change it.")))
            }
            (page::textarea("summary", "Summary", f.text("summary"), errors))
            @if kind == Resource::Keystore {
                (page::input("file", "keystore", "Keystore file", "", errors,
                    Some(&format!("PEM with the certificate chain and its private key, or PKCS#12 (.p12, .pfx), or DER.{keep}{again}"))))
                (page::input("file", "private_key", "Private key file", "", errors,
                    Some("Only when the key is in a PEM file of its own.")))
                (page::input("password", "password", "Password", "", errors,
                    Some("For a PKCS#12 file or an encrypted private key.")))
            } @else {
                (page::input("file", "truststore", "Certificates file", "", errors,
                    Some(&format!("CA certificates: a PEM bundle, DER, or certificate-only PKCS#12.{keep}{again}"))))
                (page::input("password", "password", "Password", "", errors,
                    Some("Only for a PKCS#12 file that has one.")))
            }
            div.actions {
                button.primary type="submit" { "Save" }
                a href=(target.cancel) { "Cancel" }
            }
        }
    };
    respond(status, page::frame(Some(session), Some(&place), &heading, body))
}

async fn new_form(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    org: String,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let target = FormTarget::create(&org, kind);
    let (f, ok) = (Fields::default(), Errors::default());
    form_page(kind, &console, &session, &org, &target, &f, &ok, StatusCode::OK).await
}

async fn create(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    org: String,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let target = FormTarget::create(&org, kind);
    let path = format!("/api/orgs/{}/{}", seg(&org), kind.collection());
    let reply = console.api.post(&session, &path, &body_of(kind, &f, false)).await;
    if reply.ok() {
        return Redirect::to(&kind.path_of(&org, &reply.body)).into_response();
    }
    failed_form(kind, &console, &session, &org, &target, &f, &reply).await
}

async fn failed_form(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    target: &FormTarget,
    f: &Fields,
    reply: &Reply,
) -> Response {
    let Some(errors) = Errors::of_refused_save(reply, FORM_FIELDS) else {
        return page::api_failure(session, None, reply);
    };
    form_page(kind, console, session, org, target, f, &errors, StatusCode::UNPROCESSABLE_ENTITY)
        .await
}

async fn edit_form(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let reply = console.api.get(&session, &api_item(kind, &org, &name)).await;
    if !reply.ok() {
        return page::api_failure(&session, None, &reply);
    }
    let mut f = Fields::default();
    for k in ["title", "name", "summary"] {
        f.set(k, reply.body.get(k).and_then(Value::as_str).unwrap_or_default());
    }
    let here = console_item(kind, &org, &name);
    let target = FormTarget { action: format!("{here}/edit"), etag: reply.etag, cancel: here };
    form_page(kind, &console, &session, &org, &target, &f, &Errors::default(), StatusCode::OK).await
}

async fn edit(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let here = console_item(kind, &org, &name);
    let etag = f.one("etag").map(str::to_owned);
    let target = FormTarget { action: format!("{here}/edit"), etag: etag.clone(), cancel: here };
    let if_match = etag.as_deref().unwrap_or("\"none\"");
    let path = api_item(kind, &org, &name);
    let reply = console.api.patch(&session, &path, &body_of(kind, &f, true), Some(if_match)).await;
    if reply.ok() {
        return Redirect::to(&kind.path_of(&org, &reply.body)).into_response();
    }
    failed_form(kind, &console, &session, &org, &target, &f, &reply).await
}

/// The profiles of the org that use the store `name`.
async fn users_of(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    name: &str,
) -> Vec<String> {
    let field = material_field(kind);
    let mut users = Vec::new();
    for profiles in [Resource::ClientProfile, Resource::ServerProfile] {
        let path = format!("/api/orgs/{}/{}", seg(org), profiles.collection());
        for p in &console.api.list_all(session, &path).await.unwrap_or_default() {
            if p.get(field).and_then(Value::as_str) == Some(name) {
                users.push(format!("{} {}", profiles.label(), profiles.key_of(p)));
            }
        }
    }
    users
}

async fn detail(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
) -> Response {
    detail_page(kind, &console, &session, &org, &name, &Errors::default()).await
}

async fn detail_page(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    name: &str,
    entry_errors: &Errors,
) -> Response {
    let place = Place::of(console, session, org).await;
    let path = api_item(kind, org, name);
    let reply = console.api.get(session, &path).await;
    if !reply.ok() {
        return page::api_failure(session, Some(&place), &reply);
    }
    let item = reply.body;
    // The stored name, when the page was reached by id.
    let name = item.get("name").and_then(Value::as_str).unwrap_or(name).to_owned();
    let certificates = match kind {
        Resource::Keystore => item.get("certificates").and_then(Value::as_array).cloned(),
        _ => {
            let entries = console.api.get(session, &format!("{path}/entries")).await;
            Some(entries.results().to_vec())
        }
    }
    .unwrap_or_default();
    let users = users_of(kind, console, session, org, &name).await;
    let events = recent_events(console, session, org, &format!("{} {name}", kind.label())).await;
    let manage = session.may(console, org, SettingsManage).await;
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let here = console_item(kind, org, &name);
    let title = text("title");
    let entries_action =
        (kind == Resource::Truststore && manage).then(|| format!("{here}/entries"));
    let status =
        if entry_errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = html! {
        h1 { (title) }
        p.subtitle { (kind.label()) " " code { (name) } }
        @if manage {
            p.item-actions {
                a.button href={ (here) "/edit" } { "Edit" }
                a.button.danger href={ (here) "/delete" } { "Delete" }
            }
        }
        section aria-labelledby="h-settings" {
            h2 #h-settings { "Settings" }
            dl.settings {
                dt { "Name" } dd { code { (name) } }
                dt { "Summary" } dd { (text("summary")) }
                @if kind == Resource::Truststore {
                    dt { "Certificates" } dd { (certificates.len()) }
                }
                dt { "Last change" } dd { (page::when(&text("updated_at"))) }
            }
        }
        (certificates_section(session, &here, &certificates, entries_action.as_deref(), entry_errors))
        section aria-labelledby="h-warnings" {
            h2 #h-warnings { "Warnings" }
            @let warnings = item.get("warnings").and_then(Value::as_array).cloned().unwrap_or_default();
            @if warnings.is_empty() {
                p { "No warnings." }
            } @else {
                ul.warnings {
                    @for w in &warnings {
                        li { (w.get("message").and_then(Value::as_str).unwrap_or_default()) }
                    }
                }
            }
        }
        section aria-labelledby="h-used" {
            h2 #h-used { "Used by" }
            @if users.is_empty() {
                p { "No profile uses this " (kind.label()) "." }
            } @else {
                ul { @for u in &users { li { (u) } } }
            }
        }
        (events_section(events.as_deref()))
    };
    respond(status, page::frame(Some(session), Some(&place), &title, body))
}

/// How soon a certificate expires, as a class and a word for the table.
fn expiry(not_after: &str) -> (&'static str, &'static str) {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(not_after) else {
        return ("", "");
    };
    let now = Utc::now();
    if t < now {
        ("expired", "expired")
    } else if t < now + Duration::days(SOON_DAYS) {
        ("soon", "expires soon")
    } else {
        ("", "")
    }
}

fn certificates_section(
    session: &Session,
    here: &str,
    certificates: &[Value],
    add_action: Option<&str>,
    errors: &Errors,
) -> Markup {
    let remove = add_action.map(|_| (session, here));
    html! {
        section aria-labelledby="h-certificates" {
            h2 #h-certificates { "Certificates" }
            (page::error_summary(errors))
            div.field.filter hidden {
                label for="filter" { "Filter" }
                input #filter type="search" data-filter="table.certificates";
            }
            (certificate_table(certificates, remove))
            @if let Some(action) = add_action {
                form.add-entries method="post" action=(action) enctype="multipart/form-data" {
                    (page::csrf(session))
                    (page::input("file", "certificate", "Add certificates", "", errors,
                        Some("A PEM bundle, DER, or certificate-only PKCS#12.")))
                    button type="submit" { "Add" }
                }
            }
        }
    }
}

/// Certificates with their expiry marked; `remove` adds a Remove button per truststore
/// entry (the session and the truststore's page).
pub(crate) fn certificate_table(
    certificates: &[Value],
    remove: Option<(&Session, &str)>,
) -> Markup {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    html! {
        table.certificates {
            thead { tr {
                th scope="col" { "Subject" }
                th scope="col" { "Issuer" }
                th scope="col" { "Expires" }
                th scope="col" { "Key" }
                th scope="col" { "SHA-256 fingerprint" }
                @if remove.is_some() { th scope="col" { "Actions" } }
            } }
            tbody {
                @for c in certificates {
                    @let not_after = text(c, "not_after");
                    @let (class, word) = expiry(&not_after);
                    tr.(class) {
                        td {
                            (text(c, "subject"))
                            @if let Some(role) = c.get("role").and_then(Value::as_str) { " " span.badge { (role) } }
                        }
                        td { (text(c, "issuer")) }
                        td {
                            (page::when(&not_after))
                            @if !word.is_empty() { " " strong.expiry { (word) } }
                        }
                        td { (text(c, "key_type")) " " (c.get("key_bits").and_then(Value::as_u64).map(|b| b.to_string()).unwrap_or_default()) }
                        td { code.wrap { (text(c, "fingerprint_sha256")) } }
                        @if let Some((session, here)) = remove {
                            td {
                                form method="post" action={ (here) "/entries/" (seg(&text(c, "id"))) "/delete" } {
                                    (page::csrf(session))
                                    button.danger.small type="submit" { "Remove" span.sr { " " (text(c, "subject")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// True when a certificate has expired or expires within the warning period.
pub(crate) fn expires_soon(certificate: &Value) -> bool {
    let not_after = certificate.get("not_after").and_then(Value::as_str).unwrap_or_default();
    !expiry(not_after).0.is_empty()
}

/// `POST /orgs/{org}/truststores/{name}/entries`: adds the uploaded certificates.
async fn add_entries(
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let kind = Resource::Truststore;
    let errors = match f.file("certificate") {
        None => Errors::place(
            vec![("certificate".into(), "choose a file of certificates".into())],
            &["certificate"],
            String::new(),
        ),
        Some(bytes) => {
            let mut body = Map::new();
            put_upload(&mut body, "certificate", bytes);
            let path = format!("{}/entries", api_item(kind, &org, &name));
            let reply = console.api.post(&session, &path, &Value::Object(body)).await;
            if reply.ok() {
                return Redirect::to(&console_item(kind, &org, &name)).into_response();
            }
            if !matches!(reply.status, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY) {
                return page::api_failure(&session, None, &reply);
            }
            Errors::place(reply.field_errors(), &["certificate"], reply.detail())
        }
    };
    detail_page(kind, &console, &session, &org, &name, &errors).await
}

/// `POST /orgs/{org}/truststores/{name}/entries/{entry}/delete`.
async fn remove_entry(
    State(console): State<Console>,
    session: Session,
    Path((org, name, entry)): Path<(String, String, String)>,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let kind = Resource::Truststore;
    let path = format!("{}/entries/{}", api_item(kind, &org, &name), seg(&entry));
    let reply = console.api.delete(&session, &path).await;
    if reply.ok() {
        return Redirect::to(&console_item(kind, &org, &name)).into_response();
    }
    if reply.status == StatusCode::CONFLICT || reply.status == StatusCode::UNPROCESSABLE_ENTITY {
        return detail_page(
            kind,
            &console,
            &session,
            &org,
            &name,
            &Errors::general(reply.detail()),
        )
        .await;
    }
    page::api_failure(&session, None, &reply)
}

async fn confirm_delete(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let reply = console.api.get(&session, &api_item(kind, &org, &name)).await;
    if !reply.ok() {
        return page::api_failure(&session, None, &reply);
    }
    // The stored name, when the page was reached by id.
    let name = reply.body.get("name").and_then(Value::as_str).unwrap_or(&name).to_owned();
    let users = users_of(kind, &console, &session, &org, &name).await;
    let here = console_item(kind, &org, &name);
    let blocked = !users.is_empty();
    delete_page(&console, &session, &org, kind, &name, &here, &users, blocked, StatusCode::OK).await
}

async fn delete(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let reply = console.api.delete(&session, &api_item(kind, &org, &name)).await;
    let here = console_item(kind, &org, &name);
    deleted(&console, &session, &org, kind, &name, &here, reply).await
}
