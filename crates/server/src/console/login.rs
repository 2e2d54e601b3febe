//! Log-in, log-out and the org switcher.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use rand::RngCore;
use serde_json::json;

use super::form::Fields;
use super::page::{self, respond, seg};
use super::{Console, SESSION_COOKIE, Session, cookie, same, set_cookie};
use crate::auth::TOKEN_LIFETIME;
use crate::bootstrap::ADMIN_REALM;
use crate::permissions::PROVIDER_REALM;

/// The cookie that ties the log-in form to the browser that loaded it.
const LOGIN_COOKIE: &str = "tlsdeck_login";

/// The largest log-in form body.
const MAX_LOGIN_FORM: usize = 8 << 10;

/// `GET /login`.
pub(crate) async fn page(
    State(console): State<Console>,
    session: Option<Session>,
    req: Request,
) -> Response {
    if session.is_some() {
        return Redirect::to("/").into_response();
    }
    let (parts, _) = req.into_parts();
    let known = cookie(&parts, LOGIN_COOKIE).filter(|v| v.len() == 32).map(str::to_owned);
    let nonce = known.unwrap_or_else(new_nonce);
    login_page(&console, &nonce, "", ADMIN_REALM, None, StatusCode::OK)
}

/// `POST /login`: checks the password through `POST /api/token` and starts a session.
pub(crate) async fn submit(State(console): State<Console>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_LOGIN_FORM).await else {
        return page::bad_form("the log-in form is too large");
    };
    let form = Fields::from_urlencoded(&body);
    let nonce = cookie(&parts, LOGIN_COOKIE).unwrap_or_default().to_owned();
    if nonce.is_empty() || !same(form.text("csrf").as_bytes(), nonce.as_bytes()) {
        return page::forbidden_form();
    }
    let (username, realm) = (form.text("username"), form.text("realm"));
    let grant = json!({
        "grant_type": "password",
        "username": username,
        "password": form.one("password").unwrap_or_default(),
        "realm": realm,
    });
    let mut request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(grant.to_string()))
        .expect("a fixed request is valid");
    if let Some(info) =
        parts.extensions.get::<axum::extract::ConnectInfo<crate::throttle::ClientAddr>>()
    {
        request.extensions_mut().insert(*info);
    }
    let reply = console.api.send(request).await;
    let token = reply.body.get("access_token").and_then(|t| t.as_str());
    match token {
        Some(token) if reply.ok() => {
            let max_age = TOKEN_LIFETIME.num_seconds();
            let mut resp = Redirect::to("/").into_response();
            append_cookie(&mut resp, &set_cookie(&console, SESSION_COOKIE, token, max_age));
            append_cookie(&mut resp, &set_cookie(&console, LOGIN_COOKIE, "", 0));
            resp
        }
        _ => {
            let why = match reply.status {
                StatusCode::UNAUTHORIZED => "Wrong username, password or realm.".to_owned(),
                _ => reply
                    .field_errors()
                    .into_iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .reduce(|a, b| format!("{a}; {b}"))
                    .unwrap_or_else(|| reply.detail()),
            };
            login_page(&console, &nonce, username, realm, Some(&why), reply.status)
        }
    }
}

/// `POST /logout`: ends the token and the cookie.
pub(crate) async fn logout(
    State(console): State<Console>,
    session: Session,
    form: Fields,
) -> Response {
    if !session.csrf_ok(&form) {
        return page::forbidden_form();
    }
    let reply = console.api.delete(&session, "/api/token").await;
    if !reply.ok() {
        tracing::warn!(status = %reply.status, "a console log-out did not end its token");
    }
    let mut resp = Redirect::to("/login").into_response();
    append_cookie(&mut resp, &set_cookie(&console, SESSION_COOKIE, "", 0));
    resp
}

/// `POST /switch`: shows another org of the user.
pub(crate) async fn switch(session: Session, form: Fields) -> Response {
    if !session.csrf_ok(&form) {
        return page::forbidden_form();
    }
    Redirect::to(&format!("/orgs/{}/tls", seg(form.text("org")))).into_response()
}

fn login_page(
    console: &Console,
    nonce: &str,
    username: &str,
    realm: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let realms =
        [(ADMIN_REALM, "Cloud Manager users"), (PROVIDER_REALM, "Provider organisation users")];
    let body = html! {
        div.login {
            h1 { "Log in to tlsdeck" }
            @if let Some(e) = error {
                div.errors role="alert" { p { (e) } }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(nonce);
                div.field {
                    label for="f-realm" { "Realm" }
                    select #f-realm name="realm" {
                        @for (value, text) in realms {
                            option value=(value) selected[value == realm] { (text) " (" (value) ")" }
                        }
                    }
                }
                div.field {
                    label for="f-username" { "Username" }
                    input #f-username type="text" name="username" value=(username)
                        autocomplete="username" required autofocus;
                }
                div.field {
                    label for="f-password" { "Password" }
                    input #f-password type="password" name="password"
                        autocomplete="current-password" required;
                }
                button.primary type="submit" { "Log in" }
            }
        }
    };
    let mut resp = respond(status, page::frame(None, None, "Log in", body));
    append_cookie(&mut resp, &set_cookie(console, LOGIN_COOKIE, nonce, 3600));
    resp
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn append_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}
