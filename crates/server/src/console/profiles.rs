//! TLS client and server profiles: the form, the detail page with its test connection,
//! delete with confirmation, and the visibility of `admin` client profiles.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Map, Value, json};
use tlsdeck_model::cipher::CATALOGUE;
use tlsdeck_model::{Preset, ProtocolVersion};

use super::api::{Reply, strings};
use super::form::{Errors, Fields, FormTarget};
use super::page::{self, Place, respond, seg};
use super::{Console, Resource, Session};
use crate::bootstrap::ADMIN_ORG;
use crate::permissions::Permission::SettingsManage;

type ItemPath = Path<(String, String, String)>;

/// The routes of both kinds of profile.
pub(crate) fn routes() -> Router<Console> {
    let mut router = Router::new();
    for kind in [Resource::ClientProfile, Resource::ServerProfile] {
        let base = format!("/orgs/{{org}}/{}", kind.collection());
        let item = format!("{base}/{{name}}/{{version}}");
        router = router
            .route(
                &format!("{base}/new"),
                get(move |c: State<Console>, s: Session, Path(org): Path<String>| {
                    new_form(kind, c, s, org)
                }),
            )
            .route(
                &base,
                get(|Path(org): Path<String>| async move { to_overview(&org) }).post(
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
    let client = "/orgs/{org}/tls-client-profiles/{name}/{version}";
    router
        .route(
            &format!("{client}/probe"),
            get(|Path((org, name, version)): ItemPath| async move {
                let detail = console_item(Resource::ClientProfile, &org, &name, &version);
                Redirect::to(&detail).into_response()
            })
            .post(probe),
        )
        .route(&format!("{client}/visibility"), get(visibility_form).post(set_visibility))
}

/// Back to Resources → TLS, for a collection's URL typed or reloaded in the address bar.
pub(crate) fn to_overview(org: &str) -> Response {
    Redirect::to(&format!("/orgs/{}/tls", seg(org))).into_response()
}

fn api_item(kind: Resource, org: &str, name: &str, version: &str) -> String {
    format!("/api/orgs/{}/{}/{}/{}", seg(org), kind.collection(), seg(name), seg(version))
}

fn console_item(kind: Resource, org: &str, name: &str, version: &str) -> String {
    format!("/orgs/{}/{}/{}/{}", seg(org), kind.collection(), seg(name), seg(version))
}

/// The form's field names that API errors may be placed on.
const FORM_FIELDS: &[&str] = &[
    "title",
    "name",
    "version",
    "summary",
    "protocols",
    "ciphers",
    "insecure_server_connections",
    "server_name_indication",
    "keystore",
    "truststore",
    "mutual_authentication",
    "limit_renegotiation",
];

/// The fields of a new profile's form: TLS 1.2, SNI on, the TLS 1.2 suites of the
/// intermediate preset.
fn fresh_fields(kind: Resource) -> Fields {
    let mut f = Fields::default();
    f.set("version", tlsdeck_model::naming::DEFAULT_VERSION);
    f.set_all("protocols", [ProtocolVersion::Tls12.as_str()]);
    let tls12 = Preset::Intermediate.ciphers().filter(|s| !s.is_tls13()).map(|s| s.name);
    f.set_all("ciphers", tls12);
    match kind {
        Resource::ServerProfile => {
            f.set("mutual_authentication", "none");
            f.set("limit_renegotiation", "on");
        }
        _ => f.set("server_name_indication", "on"),
    }
    f
}

/// The form's fields for a stored profile.
fn fields_of(kind: Resource, item: &Value) -> Fields {
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let on = |k: &str| item.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut f = Fields::default();
    for k in ["title", "name", "version", "summary", "keystore", "truststore"] {
        f.set(k, text(k));
    }
    f.set_all("protocols", strings(item.get("protocols")));
    f.set_all("ciphers", strings(item.get("ciphers")));
    let boxes: &[&str] = match kind {
        Resource::ServerProfile => {
            f.set("mutual_authentication", text("mutual_authentication"));
            &["limit_renegotiation"]
        }
        _ => &["insecure_server_connections", "server_name_indication"],
    };
    for b in boxes {
        if on(b) {
            f.set(b, "on");
        }
    }
    f
}

/// The API body a form asks for; `editing` sends `null` for emptied optional fields.
fn body_of(kind: Resource, f: &Fields, editing: bool) -> Value {
    let mut body = Map::new();
    body.insert("title".into(), f.text("title").into());
    if !f.text("name").is_empty() {
        body.insert("name".into(), f.text("name").into());
    }
    body.insert("version".into(), f.text("version").into());
    let optional = |body: &mut Map<String, Value>, key: &str| match f.text(key) {
        "" if editing => {
            body.insert(key.into(), Value::Null);
        }
        "" => {}
        v => {
            body.insert(key.into(), v.into());
        }
    };
    optional(&mut body, "summary");
    optional(&mut body, "keystore");
    optional(&mut body, "truststore");
    body.insert("protocols".into(), json!(f.all("protocols")));
    body.insert("ciphers".into(), json!(f.all("ciphers")));
    match kind {
        Resource::ServerProfile => {
            body.insert("mutual_authentication".into(), f.text("mutual_authentication").into());
            body.insert("limit_renegotiation".into(), f.ticked("limit_renegotiation").into());
        }
        _ => {
            let insecure = f.ticked("insecure_server_connections");
            body.insert("insecure_server_connections".into(), insecure.into());
            let sni = f.ticked("server_name_indication");
            body.insert("server_name_indication".into(), sni.into());
        }
    }
    Value::Object(body)
}

/// Lays a preset's protocols and suites over the form, when one of its buttons was pressed.
fn apply_preset(f: &mut Fields) -> bool {
    let Some(preset) = f.one("preset").and_then(Preset::parse) else {
        return false;
    };
    f.set_all("protocols", preset.protocols().iter().map(|p| p.as_str()));
    f.set_all("ciphers", preset.ciphers().map(|s| s.name));
    f.set("preset", "");
    true
}

/// The `(value, text)` options of the org's keystores or truststores.
async fn store_options(
    console: &Console,
    session: &Session,
    org: &str,
    kind: Resource,
    none: &str,
) -> Vec<(String, String)> {
    let path = format!("/api/orgs/{}/{}", seg(org), kind.collection());
    let stores = console.api.list_all(session, &path).await.unwrap_or_default();
    let mut options = vec![(String::new(), none.to_owned())];
    for s in &stores {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        let title = s.get("title").and_then(Value::as_str).unwrap_or_default();
        options.push((name.to_owned(), format!("{title} ({name})")));
    }
    options
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
    let keystores = store_options(console, session, org, Resource::Keystore, "None").await;
    let none_trust = match kind {
        Resource::ServerProfile => "None (no client certificates are verified)",
        _ => "None (the operating system's trust store)",
    };
    let truststores = store_options(console, session, org, Resource::Truststore, none_trust).await;
    let heading = match target.etag {
        Some(_) => format!("Edit {} {}", kind.label(), f.text("title")),
        None => format!("Create {}", kind.label()),
    };
    let body = html! {
        h1 { (heading) }
        (page::error_summary(errors))
        form.profile method="post" action=(target.action) novalidate {
            // The first submit button is the one Enter presses: Save, never a preset.
            button.sr type="submit" tabindex="-1" aria-hidden="true" { "Save" }
            (page::csrf(session))
            @if let Some(tag) = &target.etag { input type="hidden" name="etag" value=(tag); }
            (page::input("text", "title", "Title", f.text("title"), errors, None))
            div data-name-from=[target.etag.is_none().then_some("f-title")] {
                (page::input("text", "name", "Name", f.text("name"), errors,
                    Some("Lower-case letters, digits and '-'; filled in from the title until you change it.")))
            }
            (page::input("text", "version", "Version", f.text("version"), errors, None))
            (page::textarea("summary", "Summary", f.text("summary"), errors))
            (page::check_group("protocols", "Protocols", errors, html! {
                @for p in ProtocolVersion::ALL {
                    (page::checkbox("protocols", p.as_str(), &protocol_label(p), f.has("protocols", p.as_str())))
                }
            }))
            @if kind == Resource::ServerProfile {
                (page::select("mutual_authentication", "Mutual authentication", &[
                    ("none".into(), "None: no client certificate is asked for".into()),
                    ("request".into(), "Request: verify a client certificate when one is sent".into()),
                    ("require".into(), "Require: refuse clients without a valid certificate".into()),
                ], f.text("mutual_authentication"), errors))
                fieldset.field {
                    legend { "Renegotiation" }
                    (page::checkbox("limit_renegotiation", "on", "Limit renegotiation", f.ticked("limit_renegotiation")))
                }
            } @else {
                fieldset.field {
                    legend { "Server connections" }
                    (page::checkbox("insecure_server_connections", "on", "Allow insecure server connections",
                        f.ticked("insecure_server_connections")))
                    (page::checkbox("server_name_indication", "on", "Support Server Name Indication",
                        f.ticked("server_name_indication")))
                }
            }
            (page::select("keystore", "Keystore", &keystores, f.text("keystore"), errors))
            (page::select("truststore", "Truststore", &truststores, f.text("truststore"), errors))
            (cipher_picker(f, errors))
            div.actions {
                button.primary type="submit" { "Save" }
                a href=(target.cancel) { "Cancel" }
            }
        }
    };
    respond(status, page::frame(Some(session), Some(&place), &heading, body))
}

fn protocol_label(p: ProtocolVersion) -> String {
    p.as_str().replace("tls_v", "TLS ")
}

/// The suites as check boxes: TLS 1.3 suites in a group of their own, with presets.
fn cipher_picker(f: &Fields, errors: &Errors) -> Markup {
    let suite_box = |s: &tlsdeck_model::CipherSuite| {
        let checked = f.has("ciphers", s.name);
        let id = format!("f-cipher-{}", s.name);
        html! {
            div.check.cipher {
                input #(id) type="checkbox" name="ciphers" value=(s.name) checked[checked];
                label for=(id) { code { (s.name) } }
                span.strength.{ (format!("{:?}", s.strength).to_lowercase()) } {
                    (format!("{:?}", s.strength).to_lowercase())
                }
            }
        }
    };
    page::check_group(
        "ciphers",
        "Ciphers",
        errors,
        html! {
            p.hint {
                "When TLS 1.3 is ticked and none of the ticked suites is a TLS 1.3 suite, every "
                "TLS 1.3 suite is added on save; without TLS 1.3, TLS 1.3 suites are not kept. "
                "At least one suite must be ticked."
            }
            div.presets {
                span { "Start from a preset:" }
                @for p in Preset::ALL {
                    button type="submit" name="preset" value=(p.as_str()) formnovalidate {
                        (capitalised(p.as_str())) " preset"
                    }
                }
            }
            fieldset.tls13 {
                legend { "TLS 1.3 suites" }
                @for s in CATALOGUE.iter().filter(|s| s.is_tls13()) { (suite_box(s)) }
            }
            fieldset {
                legend { "TLS 1.2 and earlier suites" }
                @for s in CATALOGUE.iter().filter(|s| !s.is_tls13()) { (suite_box(s)) }
            }
        },
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// `GET .../new`.
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
    let f = fresh_fields(kind);
    form_page(kind, &console, &session, &org, &target, &f, &Errors::default(), StatusCode::OK).await
}

/// `POST /orgs/{org}/tls-client-profiles`: creates through the API, or shows the form
/// again with the errors beside their fields.
async fn create(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    org: String,
    mut f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let target = FormTarget::create(&org, kind);
    if apply_preset(&mut f) {
        let ok = Errors::default();
        return form_page(kind, &console, &session, &org, &target, &f, &ok, StatusCode::OK).await;
    }
    let path = format!("/api/orgs/{}/{}", seg(&org), kind.collection());
    let reply = console.api.post(&session, &path, &body_of(kind, &f, false)).await;
    if reply.ok() {
        return Redirect::to(&kind.path_of(&org, &reply.body)).into_response();
    }
    failed_form(kind, &console, &session, &org, &target, &f, &reply).await
}

/// Shows a form again after the API refused it.
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
    let status = if reply.status == StatusCode::CONFLICT {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    form_page(kind, console, session, org, target, f, &errors, status).await
}

/// `GET .../{name}/{version}/edit`.
async fn edit_form(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let reply = console.api.get(&session, &api_item(kind, &org, &name, &version)).await;
    if !reply.ok() {
        return page::api_failure(&session, None, &reply);
    }
    let detail = console_item(kind, &org, &name, &version);
    let target =
        FormTarget { action: format!("{detail}/edit"), etag: reply.etag.clone(), cancel: detail };
    let f = fields_of(kind, &reply.body);
    form_page(kind, &console, &session, &org, &target, &f, &Errors::default(), StatusCode::OK).await
}

/// `POST .../{name}/{version}/edit`: a merge patch with the form's `If-Match`.
async fn edit(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
    mut f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let detail = console_item(kind, &org, &name, &version);
    let etag = f.one("etag").map(str::to_owned);
    let target =
        FormTarget { action: format!("{detail}/edit"), etag: etag.clone(), cancel: detail };
    if apply_preset(&mut f) {
        let ok = Errors::default();
        return form_page(kind, &console, &session, &org, &target, &f, &ok, StatusCode::OK).await;
    }
    let path = api_item(kind, &org, &name, &version);
    // Without the ETag the form was not one of ours: never overwrite blindly.
    let if_match = etag.as_deref().unwrap_or("\"none\"");
    let reply = console.api.patch(&session, &path, &body_of(kind, &f, true), Some(if_match)).await;
    if reply.ok() {
        return Redirect::to(&kind.path_of(&org, &reply.body)).into_response();
    }
    failed_form(kind, &console, &session, &org, &target, &f, &reply).await
}

/// What the detail page gathers besides the profile.
struct Detail {
    item: Value,
    effective: Value,
    lint: Value,
    events: Option<Vec<Value>>,
    used_by: Vec<String>,
    /// The keystore's certificates.
    presented: Vec<Value>,
    /// The truststore's entries: how many, and those expired or expiring soon.
    trusted: Option<(usize, Vec<Value>)>,
}

async fn gather(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    name: &str,
    version: &str,
) -> Result<Detail, Reply> {
    let path = api_item(kind, org, name, version);
    let item = console.api.get(session, &path).await;
    if !item.ok() {
        return Err(item);
    }
    let effective = console.api.get(session, &format!("{path}/effective")).await;
    let lint = console.api.get(session, &format!("{path}/lint")).await;
    let resource =
        format!("{} {name}:{version}", kind.label().replace("TLS ", "tls-").replace(' ', "-"));
    let events = recent_events(console, session, org, &resource).await;
    let used_by = usage(kind, console, &item.body);
    let store = |field: &str| item.body.get(field).and_then(Value::as_str).map(str::to_owned);
    let mut presented = Vec::new();
    if let Some(ks) = store("keystore") {
        let path = format!("/api/orgs/{}/keystores/{}", seg(org), seg(&ks));
        let reply = console.api.get(session, &path).await;
        presented =
            reply.body.get("certificates").and_then(Value::as_array).cloned().unwrap_or_default();
    }
    let mut trusted = None;
    if let Some(ts) = store("truststore") {
        let path = format!("/api/orgs/{}/truststores/{}/entries", seg(org), seg(&ts));
        let reply = console.api.get(session, &path).await;
        let entries = reply.results();
        let soon = entries.iter().filter(|c| super::stores::expires_soon(c)).cloned().collect();
        trusted = Some((entries.len(), soon));
    }
    Ok(Detail {
        item: item.body,
        effective: effective.body,
        lint: lint.body,
        events,
        used_by,
        presented,
        trusted,
    })
}

/// The org's last events about `resource`; `None` when the user may not read the log.
pub(crate) async fn recent_events(
    console: &Console,
    session: &Session,
    org: &str,
    resource: &str,
) -> Option<Vec<Value>> {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("resource", resource)
        .append_pair("limit", "50")
        .finish();
    let reply = console.api.get(session, &format!("/api/orgs/{}/events?{query}", seg(org))).await;
    if !reply.ok() {
        return None;
    }
    let exact = |e: &&Value| e.get("resource").and_then(Value::as_str) == Some(resource);
    Some(reply.results().iter().filter(exact).take(10).cloned().collect())
}

/// Who uses a profile: the orgs it is shared with, or this server's listener.
fn usage(kind: Resource, console: &Console, item: &Value) -> Vec<String> {
    let mut users = Vec::new();
    if kind == Resource::ServerProfile {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        if console.app.listener_profile.get().is_some_and(|l| l.to_string() == id) {
            users.push("the TLS listener of this server".to_owned());
        }
        return users;
    }
    let visibility = item.get("visibility");
    match visibility.and_then(|v| v.get("type")).and_then(Value::as_str) {
        Some("public") => users.push("every provider organisation (public)".to_owned()),
        Some("custom") => {
            for o in strings(visibility.and_then(|v| v.get("orgs"))) {
                users.push(format!("provider organisation {o}"));
            }
        }
        _ => {}
    }
    users
}

/// `GET .../{name}/{version}`.
async fn detail(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
) -> Response {
    detail_page(kind, &console, &session, &org, &name, &version, None).await
}

/// What a test connection gave: the report, or the errors of its form.
enum Outcome {
    Report(Value),
    Refused { target: String, errors: Errors },
}

async fn detail_page(
    kind: Resource,
    console: &Console,
    session: &Session,
    org: &str,
    name: &str,
    version: &str,
    outcome: Option<Outcome>,
) -> Response {
    let place = Place::of(console, session, org).await;
    let d = match gather(kind, console, session, org, name, version).await {
        Ok(d) => d,
        Err(reply) => return page::api_failure(session, Some(&place), &reply),
    };
    let manage = session.may(console, org, SettingsManage).await;
    let item = &d.item;
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let here = console_item(kind, org, name, version);
    let title = text("title");
    let status = match &outcome {
        Some(Outcome::Refused { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { (title) }
        p.subtitle { (kind.label()) " " code { (name) ":" (version) } }
        @if manage {
            p.item-actions {
                a.button href={ (here) "/edit" } { "Edit" }
                @if kind == Resource::ClientProfile && org == ADMIN_ORG {
                    a.button href={ (here) "/visibility" } { "Visibility" }
                }
                a.button.danger href={ (here) "/delete" } { "Delete" }
            }
        }
        (settings_section(kind, org, item))
        section aria-labelledby="h-ciphers" {
            h2 #h-ciphers { "Ciphers" }
            p.hint { "As stored, after the TLS 1.3 rule; in the order they are offered." }
            ol.ciphers {
                @for c in strings(item.get("ciphers")) {
                    @let tls13 = tlsdeck_model::cipher::lookup(&c).is_some_and(|s| s.is_tls13());
                    li { code { (c) } @if tls13 { " " span.badge { "TLS 1.3" } } }
                }
            }
        }
        (effective_section(&d.effective))
        (warnings_section(item, &d.lint))
        (certificates_section(kind, &d))
        section aria-labelledby="h-used" {
            h2 #h-used { "Used by" }
            @if d.used_by.is_empty() {
                p { "Nothing uses this profile besides its own organisation." }
            } @else {
                ul { @for u in &d.used_by { li { (u) } } }
            }
        }
        (events_section(d.events.as_deref()))
        @if kind == Resource::ClientProfile {
            (probe_section(session, &here, outcome.as_ref()))
        }
    };
    respond(status, page::frame(Some(session), Some(&place), &title, body))
}

/// The profile's own fields.
fn settings_section(kind: Resource, org: &str, item: &Value) -> Markup {
    let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (name, version) = (text("name"), text("version"));
    let store_link = |field: &str, store: Resource| -> Markup {
        let v = text(field);
        html! {
            @if v.is_empty() {
                @if field == "truststore" && kind == Resource::ClientProfile {
                    "none: the operating system's trust store"
                } @else { "none" }
            } @else {
                a href={ "/orgs/" (seg(org)) "/" (store.collection()) "/" (seg(&v)) } { (v) }
            }
        }
    };
    let yes_no =
        |k: &str| if item.get(k).and_then(Value::as_bool) == Some(true) { "yes" } else { "no" };
    html! {
        section aria-labelledby="h-settings" {
            h2 #h-settings { "Settings" }
            dl.settings {
                dt { "Name" } dd { code { (name) } }
                dt { "Version" } dd { (version) }
                dt { "Summary" } dd { (text("summary")) }
                dt { "Protocols" } dd { (strings(item.get("protocols")).iter().map(|p| p.replace("tls_v", "TLS ")).collect::<Vec<_>>().join(", ")) }
                @if kind == Resource::ClientProfile {
                    dt { "Allow insecure server connections" } dd { (yes_no("insecure_server_connections")) }
                    dt { "Support Server Name Indication" } dd { (yes_no("server_name_indication")) }
                } @else {
                    dt { "Mutual authentication" } dd { (text("mutual_authentication")) }
                    dt { "Limit renegotiation" } dd { (yes_no("limit_renegotiation")) }
                }
                dt { "Keystore" } dd { (store_link("keystore", Resource::Keystore)) }
                dt { "Truststore" } dd { (store_link("truststore", Resource::Truststore)) }
                @if kind == Resource::ClientProfile && org == ADMIN_ORG {
                    @let vis = item.get("visibility");
                    dt { "Visibility" }
                    dd {
                        (vis.and_then(|v| v.get("type")).and_then(Value::as_str).unwrap_or("private"))
                        @let orgs = strings(vis.and_then(|v| v.get("orgs")));
                        @if !orgs.is_empty() { ": " (orgs.join(", ")) }
                    }
                }
                dt { "Last change" } dd { (page::when(&text("updated_at"))) }
            }
        }
    }
}

/// The certificates the profile presents and, in short, those it trusts.
fn certificates_section(kind: Resource, d: &Detail) -> Markup {
    html! {
        section aria-labelledby="h-certificates" {
            h2 #h-certificates { "Certificates" }
            h3 { "Presented (keystore)" }
            @if d.presented.is_empty() {
                p { "None: this profile presents no certificate." }
            } @else {
                (super::stores::certificate_table(&d.presented, None))
            }
            h3 { "Trusted (truststore)" }
            @match &d.trusted {
                None if kind == Resource::ClientProfile => p { "The operating system's trust store verifies servers." },
                None => p { "None: client certificates are not verified." },
                Some((count, soon)) => {
                    p { (count) @if *count == 1 { " certificate. " } @else { " certificates. " } @if soon.is_empty() { "None has expired or expires within 30 days." } }
                    @if !soon.is_empty() {
                        p { "Expired or expiring within 30 days:" }
                        (super::stores::certificate_table(soon, None))
                    }
                },
            }
        }
    }
}

fn effective_section(effective: &Value) -> Markup {
    let text = |k: &str| match effective.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    html! {
        section aria-labelledby="h-effective" {
            h2 #h-effective { "Effective OpenSSL settings" }
            dl.settings {
                dt { "Lowest version" } dd { code { (text("min_version")) } }
                dt { "Highest version" } dd { code { (text("max_version")) } }
                dt { "Cipher list (TLS 1.2 and earlier)" } dd { code.wrap { (text("cipher_list")) } }
                dt { "Ciphersuites (TLS 1.3)" } dd { code.wrap { (text("ciphersuites")) } }
                dt { "Security level" } dd { (text("security_level")) }
                dt { "Options" } dd { (strings(effective.get("options")).join(", ")) }
                @let unavailable = strings(effective.get("unavailable"));
                @if !unavailable.is_empty() {
                    dt { "Not in this OpenSSL" } dd { (unavailable.join(", ")) }
                }
            }
            @let notes = strings(effective.get("notes"));
            @if !notes.is_empty() { ul { @for n in notes { li { (n) } } } }
        }
    }
}

/// Warnings of the profile and its grade.
fn warnings_section(item: &Value, lint: &Value) -> Markup {
    let mut warnings: Vec<(String, String)> = Vec::new();
    for source in [lint.get("warnings"), item.get("warnings")] {
        for w in source.and_then(Value::as_array).into_iter().flatten() {
            let code = w.get("code").and_then(Value::as_str).unwrap_or_default().to_owned();
            let message = w.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
            if !warnings.iter().any(|(_, m)| *m == message) {
                warnings.push((code, message));
            }
        }
    }
    html! {
        section aria-labelledby="h-warnings" {
            h2 #h-warnings { "Warnings" }
            @if let Some(grade) = lint.get("grade").and_then(Value::as_str) {
                p { "Grade: " strong.grade { (grade) } }
            }
            @if warnings.is_empty() {
                p { "No warnings." }
            } @else {
                ul.warnings {
                    @for (code, message) in &warnings {
                        li { (message) " " span.code { "(" (code) ")" } }
                    }
                }
            }
        }
    }
}

pub(crate) fn events_section(events: Option<&[Value]>) -> Markup {
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    html! {
        section aria-labelledby="h-events" {
            h2 #h-events { "Recent events" }
            @match events {
                None => p { "Your roles do not include reading this organisation's audit log." },
                Some([]) => p { "No events recorded for this item." },
                Some(list) => table.events {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Outcome" } } }
                    tbody {
                        @for e in list {
                            tr {
                                td { (page::when(&text(e, "at"))) }
                                td { (text(e, "actor")) }
                                td { (text(e, "action")) }
                                td { (text(e, "outcome")) }
                            }
                        }
                    }
                },
            }
        }
    }
}

fn probe_section(session: &Session, here: &str, outcome: Option<&Outcome>) -> Markup {
    let no_errors = Errors::default();
    let (target, errors) = match outcome {
        Some(Outcome::Refused { target, errors }) => (target.as_str(), errors),
        Some(Outcome::Report(r)) => {
            (r.get("target").and_then(Value::as_str).unwrap_or(""), &no_errors)
        }
        None => ("", &no_errors),
    };
    html! {
        section aria-labelledby="h-probe" {
            h2 #h-probe { "Test connection" }
            p.hint { "Runs a TLS handshake from this server with this profile and explains the outcome." }
            form method="post" action={ (here) "/probe#outcome" } {
                (page::csrf(session))
                (page::input("text", "target", "Target", target, errors,
                    Some("host:port, or an https:// URL")))
                button.primary type="submit" { "Test connection" }
            }
            @if let Some(Outcome::Report(report)) = outcome {
                (probe_report(report))
            }
        }
    }
}

fn probe_report(r: &Value) -> Markup {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let ok = r.get("ok").and_then(Value::as_bool) == Some(true);
    let error = r.get("error").cloned().unwrap_or(Value::Null);
    html! {
        div #outcome .outcome.ok[ok].failed[!ok] role="status" tabindex="-1" {
            @if ok {
                p.headline { strong { "Handshake succeeded" } " with " (text(r, "target")) }
            } @else {
                p.headline { strong { "Handshake failed: " } code { (text(&error, "category")) } }
                p { (text(&error, "message")) }
            }
            dl.settings {
                dt { "Protocol" } dd { (text(r, "protocol")) }
                dt { "Cipher" } dd { code { (text(r, "cipher")) } }
                dt { "Server name sent (SNI)" } dd { (text(r, "sni")) }
                dt { "Certificate verified" } dd { @if r.get("verified").and_then(Value::as_bool) == Some(true) { "yes" } @else { "no" } }
                @let verify = text(r, "verify_error");
                @if !verify.is_empty() { dt { "Verification" } dd { (verify) } }
                dt { "Handshake time" } dd { (r.get("handshake_ms").and_then(Value::as_f64).map(|m| format!("{m:.1} ms")).unwrap_or_default()) }
            }
            @if let Some(Value::Array(chain)) = r.get("peer_certificates") {
                @if !chain.is_empty() {
                    h3 { "Certificates the server sent" }
                    ol {
                        @for c in chain {
                            li { (text(c, "subject")) " — expires " (page::when(&text(c, "not_after"))) }
                        }
                    }
                }
            }
        }
    }
}

/// `POST .../probe`: a test connection from the server.
async fn probe(
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let kind = Resource::ClientProfile;
    let target = f.text("target").to_owned();
    let path = format!("{}/probe", api_item(kind, &org, &name, &version));
    let reply = console.api.post(&session, &path, &json!({ "target": target })).await;
    let outcome = if reply.ok() {
        Outcome::Report(reply.body)
    } else if reply.status == StatusCode::UNPROCESSABLE_ENTITY
        || reply.status == StatusCode::BAD_REQUEST
    {
        Outcome::Refused {
            target,
            errors: Errors::place(reply.field_errors(), &["target"], reply.detail()),
        }
    } else {
        return page::api_failure(&session, None, &reply);
    };
    detail_page(kind, &console, &session, &org, &name, &version, Some(outcome)).await
}

/// `GET .../delete`: what deleting would affect, and the button.
async fn confirm_delete(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let reply = console.api.get(&session, &api_item(kind, &org, &name, &version)).await;
    if !reply.ok() {
        return page::api_failure(&session, None, &reply);
    }
    let users = usage(kind, &console, &reply.body);
    let blocked = kind == Resource::ServerProfile && !users.is_empty();
    let key = format!("{name}:{version}");
    delete_page(
        &console,
        &session,
        &org,
        kind,
        &key,
        &console_item(kind, &org, &name, &version),
        &users,
        blocked,
        StatusCode::OK,
    )
    .await
}

/// The confirmation page of a delete, shared with keystores and truststores.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn delete_page(
    console: &Console,
    session: &Session,
    org: &str,
    kind: Resource,
    key: &str,
    here: &str,
    users: &[String],
    blocked: bool,
    status: StatusCode,
) -> Response {
    let place = Place::of(console, session, org).await;
    let heading = format!("Delete {} {key}?", kind.label());
    let body = html! {
        h1 { (heading) }
        @if !users.is_empty() {
            section aria-labelledby="h-used" {
                h2 #h-used { "Used by" }
                ul { @for u in users { li { (u) } } }
            }
        }
        @if blocked {
            p.errors role="alert" { "It cannot be deleted while it is in use: change or delete those first." }
            p { a href=(here) { "Back to " (key) } }
        } @else {
            @if users.is_empty() {
                p { "Nothing uses it. Deleting cannot be undone." }
            } @else {
                p { "They lose access to it. Deleting cannot be undone." }
            }
            form method="post" action={ (here) "/delete" } {
                (page::csrf(session))
                div.actions {
                    button.danger type="submit" { "Delete" }
                    a href=(here) { "Cancel" }
                }
            }
        }
    };
    respond(status, page::frame(Some(session), Some(&place), &heading, body))
}

/// `POST .../delete`.
async fn delete(
    kind: Resource,
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let reply = console.api.delete(&session, &api_item(kind, &org, &name, &version)).await;
    let key = format!("{name}:{version}");
    deleted(&console, &session, &org, kind, &key, &console_item(kind, &org, &name, &version), reply)
        .await
}

/// Where a delete leads: back to the tables, or the confirmation page naming the users.
pub(crate) async fn deleted(
    console: &Console,
    session: &Session,
    org: &str,
    kind: Resource,
    key: &str,
    here: &str,
    reply: Reply,
) -> Response {
    if reply.ok() {
        let what: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("deleted", &format!("{} {key}", kind.label()))
            .finish();
        return Redirect::to(&format!("/orgs/{}/tls?{what}", seg(org))).into_response();
    }
    if reply.status == StatusCode::CONFLICT {
        let users = reply.used_by();
        return delete_page(
            console,
            session,
            org,
            kind,
            key,
            here,
            &users,
            true,
            StatusCode::CONFLICT,
        )
        .await;
    }
    page::api_failure(session, None, &reply)
}

/// `GET .../visibility`.
async fn visibility_form(
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
) -> Response {
    if let Some(refused) = session.form_refusal(&console, &org).await {
        return refused;
    }
    let kind = Resource::ClientProfile;
    let reply = console.api.get(&session, &api_item(kind, &org, &name, &version)).await;
    if !reply.ok() {
        return page::api_failure(&session, None, &reply);
    }
    let vis = reply.body.get("visibility").cloned().unwrap_or(Value::Null);
    let mut f = Fields::default();
    f.set("type", vis.get("type").and_then(Value::as_str).unwrap_or("private"));
    f.set_all("orgs", strings(vis.get("orgs")));
    if let Some(tag) = &reply.etag {
        f.set("etag", tag.clone());
    }
    let title = reply.body.get("title").and_then(Value::as_str).unwrap_or_default().to_owned();
    f.set("title", title.clone());
    visibility_page(&console, &session, &org, &name, &version, &title, &f, &Errors::default()).await
}

#[allow(clippy::too_many_arguments)]
async fn visibility_page(
    console: &Console,
    session: &Session,
    org: &str,
    name: &str,
    version: &str,
    title: &str,
    f: &Fields,
    errors: &Errors,
) -> Response {
    let place = Place::of(console, session, org).await;
    let orgs = console.api.get(session, "/api/orgs").await;
    let providers: Vec<String> = orgs
        .results()
        .iter()
        .filter(|o| o.get("org_type").and_then(Value::as_str) != Some("admin"))
        .filter_map(|o| o.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let here = console_item(Resource::ClientProfile, org, name, version);
    let heading = format!("Visibility of {title}");
    let choices = [
        ("private", "Private", "only the admin organisation uses it"),
        ("public", "Public", "every provider organisation may use it"),
        ("custom", "Custom", "the provider organisations ticked below may use it"),
    ];
    let chosen = f.text("type");
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = html! {
        h1 { (heading) }
        (page::error_summary(errors))
        form method="post" action={ (here) "/visibility" } {
            (page::csrf(session))
            input type="hidden" name="etag" value=(f.text("etag"));
            input type="hidden" name="title" value=(title);
            fieldset.field {
                legend { "Who may use " code { (name) ":" (version) } }
                @for (value, label, hint) in choices {
                    div.check {
                        input #{ "f-type-" (value) } type="radio" name="type" value=(value) checked[chosen == value];
                        label for={ "f-type-" (value) } { (label) }
                        span.hint { " — " (hint) }
                    }
                }
            }
            (page::check_group("orgs", "Provider organisations (for Custom)", errors, html! {
                @if providers.is_empty() { p { "There are no provider organisations yet." } }
                @for o in &providers {
                    (page::checkbox("orgs", o, o, f.has("orgs", o)))
                }
            }))
            div.actions {
                button.primary type="submit" { "Save visibility" }
                a href=(here) { "Cancel" }
            }
        }
    };
    respond(status, page::frame(Some(session), Some(&place), &heading, body))
}

/// `POST .../visibility`.
async fn set_visibility(
    State(console): State<Console>,
    session: Session,
    Path((org, name, version)): ItemPath,
    f: Fields,
) -> Response {
    if !session.csrf_ok(&f) {
        return page::forbidden_form();
    }
    let kind = Resource::ClientProfile;
    let vis = match f.text("type") {
        "custom" => json!({ "type": "custom", "orgs": f.all("orgs") }),
        other => json!({ "type": other }),
    };
    let path = api_item(kind, &org, &name, &version);
    let if_match = f.one("etag").filter(|t| !t.is_empty()).unwrap_or("\"none\"");
    let reply =
        console.api.patch(&session, &path, &json!({ "visibility": vis }), Some(if_match)).await;
    if reply.ok() {
        return Redirect::to(&console_item(kind, &org, &name, &version)).into_response();
    }
    let errors = match reply.status {
        StatusCode::PRECONDITION_FAILED => Errors::general(
            "Someone changed this profile after you opened the form. Open it again first.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            let moved = reply
                .field_errors()
                .into_iter()
                .map(|(field, m)| (field.replace("visibility.", ""), m))
                .collect();
            Errors::place(moved, &["type", "orgs"], reply.detail())
        }
        _ => return page::api_failure(&session, None, &reply),
    };
    let title = f.text("title").to_owned();
    visibility_page(&console, &session, &org, &name, &version, &title, &f, &errors).await
}
