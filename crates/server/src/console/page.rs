//! The frame of every console page, the pieces forms are made of, and the static assets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::form::Errors;
use super::{Console, Session};

const STYLESHEET: &str = include_str!("console.css");
const SCRIPT: &str = include_str!("console.js");

/// The stylesheet, served by this server (no outside fonts or CDNs).
pub(crate) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// The script: it only improves pages that work without it.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// A path segment with everything but unreserved characters percent-encoded.
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a page sits: the org it shows and the user's other orgs for the switcher.
pub(crate) struct Place<'a> {
    pub org: &'a str,
    pub orgs: Vec<String>,
}

impl<'a> Place<'a> {
    /// The place of a page of `org`, with the orgs of the session's user.
    pub async fn of(console: &Console, session: &Session, org: &'a str) -> Self {
        Self { org, orgs: session.orgs(console).await }
    }
}

/// A whole HTML page with the security headers every console page carries.
pub(crate) fn respond(status: StatusCode, page: Markup) -> Response {
    let mut resp = (status, page).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The frame of a page: header with the user, org switcher and log-out, navigation, body.
pub(crate) fn frame(
    session: Option<&Session>,
    place: Option<&Place<'_>>,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · tlsdeck" }
                link rel="stylesheet" href="/console/console.css";
                script src="/console/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "tlsdeck" }
                    @if let Some(s) = session {
                        @if let Some(p) = place {
                            nav aria-label="Main" {
                                ol.crumbs {
                                    li { a href={ "/orgs/" (seg(p.org)) "/tls" } { "Resources" } }
                                    li { a href={ "/orgs/" (seg(p.org)) "/tls" } aria-current="page" { "TLS" } }
                                }
                            }
                            @if p.orgs.len() > 1 {
                                form.switch method="post" action="/switch" {
                                    (csrf(s))
                                    label for="org-switch" { "Organisation" }
                                    select #org-switch name="org" {
                                        @for o in &p.orgs {
                                            option value=(o) selected[o == p.org] { (o) }
                                        }
                                    }
                                    button type="submit" { "Switch" }
                                }
                            } @else {
                                span.org { "Organisation: " strong { (p.org) } }
                            }
                        }
                        span.user { "Logged in as " strong { (s.username()) } }
                        form.logout method="post" action="/logout" {
                            (csrf(s))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    (body)
                }
            }
        }
    }
}

/// A page that only tells something.
pub(crate) fn message(
    session: &Session,
    place: Option<&Place<'_>>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let body = html! {
        h1 { (title) }
        p { (text) }
        @if let Some(p) = place {
            p { a href={ "/orgs/" (seg(p.org)) "/tls" } { "Back to Resources → TLS" } }
        }
    };
    respond(status, frame(Some(session), place, title, body))
}

/// The page for a path the console does not have.
pub(crate) fn not_found() -> Response {
    let body = html! {
        h1 { "Not found" }
        p { "There is no such page." }
        p { a href="/" { "Back to the console" } }
    };
    respond(StatusCode::NOT_FOUND, frame(None, None, "Not found", body))
}

/// Turns the console's error answers made outside its handlers (a method a page does not
/// take, a body too large to read) into pages.
pub(crate) async fn html_for_bare_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let text = match status {
        StatusCode::METHOD_NOT_ALLOWED => "This page cannot be reached that way.",
        StatusCode::PAYLOAD_TOO_LARGE => "The form is larger than the console accepts.",
        _ => "The request could not be read.",
    };
    let body = html! {
        h1 { (status.canonical_reason().unwrap_or("Error")) }
        p { (text) }
        p { a href="/" { "Back to the console" } }
    };
    respond(status, frame(None, None, "Error", body))
}

/// The answer to a form that failed its CSRF check.
pub(crate) fn forbidden_form() -> Response {
    let body = html! {
        h1 { "Request refused" }
        p { "This form did not come from your current session. Go back, reload the page and try again." }
        p { a href="/" { "Back to the console" } }
    };
    respond(StatusCode::FORBIDDEN, frame(None, None, "Request refused", body))
}

/// The answer to a form body that cannot be read.
pub(crate) fn bad_form(why: &str) -> Response {
    let body = html! {
        h1 { "The form could not be read" }
        p { (why) "." }
        p { a href="/" { "Back to the console" } }
    };
    respond(StatusCode::BAD_REQUEST, frame(None, None, "Bad form", body))
}

/// An API failure (404, 403, ...) shown as a page.
pub(crate) fn api_failure(
    session: &Session,
    place: Option<&Place<'_>>,
    reply: &super::api::Reply,
) -> Response {
    let title = match reply.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        _ => "Something went wrong",
    };
    message(session, place, reply.status, title, &reply.detail())
}

/// The hidden CSRF field of a session's forms.
pub(crate) fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf()); }
}

/// The summary of a form's errors, read out first by screen readers.
pub(crate) fn error_summary(errors: &Errors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.errors role="alert" {
                p {
                    strong { "The form could not be saved." }
                    @if errors.has_field_errors() { " Check the fields marked below." }
                }
                @if !errors.general.is_empty() {
                    ul { @for e in &errors.general { li { (e) } } }
                }
            }
        }
    }
}

/// The messages of one field, placed right after it.
fn field_errors(id: &str, messages: &[String]) -> Markup {
    html! {
        @if !messages.is_empty() {
            p.field-error id={ (id) "-error" } {
                @for (i, m) in messages.iter().enumerate() {
                    @if i > 0 { br; }
                    (m)
                }
            }
        }
    }
}

/// A labelled input of `kind` (`text`, `password`, `file`, ...) with its errors and a hint.
pub(crate) fn input(
    kind: &str,
    name: &str,
    label: &str,
    value: &str,
    errors: &Errors,
    hint: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    let messages = errors.of(name);
    let described = described_by(&id, hint.is_some(), !messages.is_empty());
    html! {
        div.field.invalid[!messages.is_empty()] {
            label for=(id) { (label) }
            @if let Some(h) = hint { span.hint id={ (id) "-hint" } { (h) } }
            @if kind == "file" || kind == "password" {
                input #(id) type=(kind) name=(name) aria-describedby=[described.as_deref()]
                    aria-invalid=[(!messages.is_empty()).then_some("true")]
                    autocomplete=[(kind == "password").then_some("off")];
            } @else {
                input #(id) type=(kind) name=(name) value=(value) aria-describedby=[described.as_deref()]
                    aria-invalid=[(!messages.is_empty()).then_some("true")];
            }
            (field_errors(&id, messages))
        }
    }
}

/// A labelled text area.
pub(crate) fn textarea(name: &str, label: &str, value: &str, errors: &Errors) -> Markup {
    let id = format!("f-{name}");
    let messages = errors.of(name);
    let described = described_by(&id, false, !messages.is_empty());
    html! {
        div.field.invalid[!messages.is_empty()] {
            label for=(id) { (label) }
            textarea #(id) name=(name) rows="3" aria-describedby=[described.as_deref()]
                aria-invalid=[(!messages.is_empty()).then_some("true")] { (value) }
            (field_errors(&id, messages))
        }
    }
}

/// A labelled drop-down of `(value, text)` options.
pub(crate) fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &Errors,
) -> Markup {
    let id = format!("f-{name}");
    let messages = errors.of(name);
    let described = described_by(&id, false, !messages.is_empty());
    html! {
        div.field.invalid[!messages.is_empty()] {
            label for=(id) { (label) }
            select #(id) name=(name) aria-describedby=[described.as_deref()]
                aria-invalid=[(!messages.is_empty()).then_some("true")] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            (field_errors(&id, messages))
        }
    }
}

/// A single check box with its label after it.
pub(crate) fn checkbox(name: &str, value: &str, label: &str, checked: bool) -> Markup {
    let id = format!("f-{name}-{}", value.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    html! {
        div.check {
            input #(id) type="checkbox" name=(name) value=(value) checked[checked];
            label for=(id) { (label) }
        }
    }
}

/// A group of check boxes under a legend, with the group's errors.
pub(crate) fn check_group(name: &str, legend: &str, errors: &Errors, boxes: Markup) -> Markup {
    let messages = errors.of(name);
    let id = format!("f-{name}");
    html! {
        fieldset.field.invalid[!messages.is_empty()] #(id)
            aria-describedby=[(!messages.is_empty()).then(|| format!("{id}-error"))] {
            legend { (legend) }
            (boxes)
            (field_errors(&id, messages))
        }
    }
}

fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A date as the console shows it: `2026-12-04 17:54 UTC`.
pub(crate) fn when(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_leave_their_place_in_a_path() {
        assert_eq!(seg("orders-tls"), "orders-tls");
        assert_eq!(seg("1.0.0+b"), "1.0.0%2Bb");
        assert_eq!(seg("../x?y#z"), "..%2Fx%3Fy%23z");
        assert_eq!(seg("é"), "%C3%A9");
    }

    #[test]
    fn text_is_escaped() {
        let errors = Errors::default();
        let page = input("text", "title", "Title", "<script>\"x\"", &errors, None).into_string();
        assert!(page.contains("&lt;script&gt;&quot;x&quot;"), "{page}");
        assert!(!page.contains("<script>"));
    }
}
