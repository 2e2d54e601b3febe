//! The web console: plain server-rendered HTML at `/`.
//!
//! Every page reads and every form writes through the REST API of this same server,
//! called in-process with the session's token, so the console applies exactly the rules,
//! permissions and audit records of the API and never a second copy of them.
//! Sessions are the API's tokens in an HttpOnly, SameSite=Strict cookie; every form
//! carries a CSRF token derived from the session.

mod api;
mod form;
mod login;
mod overview;
mod page;
mod profiles;
mod stores;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Caller;
use crate::permissions::Permission;

pub(crate) use api::Api;

/// The largest console form: two files of up to 4 MiB (chain and key) and the fields.
const MAX_FORM: usize = 9 << 20;

/// The session cookie: the API token of the logged-in user.
pub(crate) const SESSION_COOKIE: &str = "tlsdeck_session";

/// What every console handler shares: the server's state and its API to call.
#[derive(Clone)]
pub(crate) struct Console {
    app: AppState,
    api: Api,
}

/// The console's routes, served beside the API.
pub(crate) fn routes(app: AppState, api: Router) -> Router {
    let console = Console { app, api: Api::new(api) };
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/switch", post(login::switch))
        .route("/console/console.css", get(page::stylesheet))
        .route("/console/console.js", get(page::script))
        .route("/orgs/{org}/tls", get(overview::page))
        .merge(profiles::routes())
        .merge(stores::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM))
        .layer(axum::middleware::map_response(page::html_for_bare_errors))
        .with_state(console)
}

/// The answer to a path that is neither the API's nor the console's.
pub(crate) fn not_found() -> Response {
    page::not_found()
}

/// `/`: the TLS resources of the user's first org, or the log-in page.
async fn home(console: axum::extract::State<Console>, session: Option<Session>) -> Response {
    match session {
        Some(session) => match session.orgs(&console).await.first() {
            Some(org) => Redirect::to(&format!("/orgs/{}/tls", page::seg(org))).into_response(),
            None => page::message(
                &session,
                None,
                StatusCode::OK,
                "No organisation",
                "You are not a member of any organisation yet: ask an owner to add you.",
            ),
        },
        None => Redirect::to("/login").into_response(),
    }
}

/// The four kinds of TLS resource the console manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    ClientProfile,
    ServerProfile,
    Keystore,
    Truststore,
}

impl Resource {
    pub const ALL: [Resource; 4] =
        [Self::ClientProfile, Self::ServerProfile, Self::Keystore, Self::Truststore];

    /// The collection's path segment, as in the API.
    pub fn collection(self) -> &'static str {
        match self {
            Self::ClientProfile => "tls-client-profiles",
            Self::ServerProfile => "tls-server-profiles",
            Self::Keystore => "keystores",
            Self::Truststore => "truststores",
        }
    }

    /// One item, in a sentence: "TLS client profile".
    pub fn label(self) -> &'static str {
        match self {
            Self::ClientProfile => "TLS client profile",
            Self::ServerProfile => "TLS server profile",
            Self::Keystore => "keystore",
            Self::Truststore => "truststore",
        }
    }

    /// The heading of its table: "TLS Client Profiles".
    pub fn heading(self) -> &'static str {
        match self {
            Self::ClientProfile => "TLS Client Profiles",
            Self::ServerProfile => "TLS Server Profiles",
            Self::Keystore => "Keystores",
            Self::Truststore => "Truststores",
        }
    }

    /// True for profiles, which have versions.
    pub fn versioned(self) -> bool {
        matches!(self, Self::ClientProfile | Self::ServerProfile)
    }

    /// The console path of an item listed by the API as `item`.
    pub fn path_of(self, org: &str, item: &serde_json::Value) -> String {
        let text = |k: &str| item.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let mut path =
            format!("/orgs/{}/{}/{}", page::seg(org), self.collection(), page::seg(&text("name")));
        if self.versioned() {
            path.push('/');
            path.push_str(&page::seg(&text("version")));
        }
        path
    }

    /// How an item is named in links and messages: `name:version` or `name`.
    pub fn key_of(self, item: &serde_json::Value) -> String {
        let text = |k: &str| item.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        if self.versioned() {
            format!("{}:{}", text("name"), text("version"))
        } else {
            text("name").to_owned()
        }
    }
}

/// A logged-in user, from the session cookie.
#[derive(Clone)]
pub(crate) struct Session {
    token: String,
    caller: Caller,
    csrf: String,
    /// The address the request came from, handed on to the API for its log-in throttle.
    connect_info: Option<axum::extract::ConnectInfo<crate::throttle::ClientAddr>>,
}

impl Session {
    /// The CSRF token every form of this session carries.
    fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The name the page header shows.
    fn username(&self) -> &str {
        &self.caller.user.username
    }

    /// True when a form carries this session's CSRF token; a refusal is logged.
    fn csrf_ok(&self, form: &form::Fields) -> bool {
        let ok = form.one("csrf").is_some_and(|t| same(t.as_bytes(), self.csrf.as_bytes()));
        if !ok {
            tracing::info!(user = %self.caller.user.username, "refused a console form with a bad CSRF token");
        }
        ok
    }

    /// True when the user holds `permission` in `org`.
    async fn may(&self, console: &Console, org: &str, permission: Permission) -> bool {
        self.caller.holds(&console.app, org, permission).await
    }

    /// The page that refuses a form to a user who could not save it: not found outside the
    /// org, not allowed without `settings:manage`; `None` when the form may be shown.
    async fn form_refusal(&self, console: &Console, org: &str) -> Option<Response> {
        if self.may(console, org, Permission::SettingsManage).await {
            return None;
        }
        let (status, title, text) = if self.may(console, org, Permission::SettingsView).await {
            (
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("Your roles in org {org} do not include changing TLS settings."),
            )
        } else {
            (StatusCode::NOT_FOUND, "Not found", format!("no org named {org}"))
        };
        Some(page::message(self, None, status, title, &text))
    }

    /// The names of the orgs the user is a member of, `admin` first. (An admin-org
    /// manager may list every org through the API, but can open only its own here.)
    async fn orgs(&self, console: &Console) -> Vec<String> {
        let user = self.caller.user.id;
        let mine = console
            .app
            .run(move |s| {
                let mut mine = Vec::new();
                for org in s.list_orgs()? {
                    if !s.roles(org.id, user)?.is_empty() {
                        mine.push(org.name);
                    }
                }
                Ok(mine)
            })
            .await
            .unwrap_or_default();
        let (mut first, rest): (Vec<String>, Vec<String>) =
            mine.into_iter().partition(|o| o == crate::bootstrap::ADMIN_ORG);
        first.extend(rest);
        first
    }
}

/// Compares two secrets without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The CSRF token of a session: a hash of its token that a page on another site can
/// neither read from the cookie nor compute.
fn csrf_for(token: &str) -> String {
    let digest = Sha256::new().chain_update(b"tlsdeck console csrf\0").chain_update(token);
    hex::encode(&digest.finalize()[..16])
}

/// The value of cookie `name` in a request.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<Console> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let to_login = || Redirect::to("/login").into_response();
        let token = cookie(parts, SESSION_COOKIE)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(to_login)?
            .to_owned();
        let request = format!("{} {}", parts.method, parts.uri.path());
        let caller = Caller::from_token(&console.app, &token, request).await.map_err(|p| {
            if p.status() == StatusCode::UNAUTHORIZED { to_login() } else { p.into_response() }
        })?;
        Ok(Self {
            csrf: csrf_for(&token),
            token,
            caller,
            connect_info: parts.extensions.get().cloned(),
        })
    }
}

impl axum::extract::OptionalFromRequestParts<Console> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(<Self as FromRequestParts<Console>>::from_request_parts(parts, console).await.ok())
    }
}

/// The `Set-Cookie` value of a cookie only this server's own pages send back.
fn set_cookie(console: &Console, name: &str, value: &str, max_age: i64) -> String {
    let secure = if console.app.public_url.starts_with("https:") { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let (a, b) = (csrf_for("token-a"), csrf_for("token-b"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(same(a.as_bytes(), csrf_for("token-a").as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[..31]));
    }
}
