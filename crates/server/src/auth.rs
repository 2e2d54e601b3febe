//! Log-in by password grant, bearer tokens, and the caller of each request.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tlsdeck_model::ValidationErrors;
use tlsdeck_store::{Org, StoreError, User};

use crate::audit;
use crate::permissions::{self, Permission};
use crate::problem::Problem;
use crate::throttle::PeerAddr;
use crate::{AppState, body};

/// How long a token lives.
pub const TOKEN_LIFETIME: Duration = Duration::hours(8);

/// Hashes a password with Argon2id and a fresh salt, as a PHC string.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

/// True when `password` matches the PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The password grant of `POST /api/token`.
struct TokenRequest {
    username: String,
    password: String,
    realm: String,
}

impl TokenRequest {
    /// Reads the grant, naming every missing or bad field at once. `client_id` and
    /// `client_secret` are accepted for compatibility; tlsdeck has no client registry.
    fn parse(v: &Value) -> Result<Self, Problem> {
        let mut errs = ValidationErrors::default();
        let Some(obj) = v.as_object() else {
            errs.push("body", "must be a JSON object");
            return Err(Problem::invalid(errs).with_status(StatusCode::BAD_REQUEST));
        };
        const KNOWN: &[&str] =
            &["username", "password", "realm", "grant_type", "client_id", "client_secret"];
        for k in obj.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            errs.push(k.as_str(), "unknown field");
        }
        let mut text = |field: &str| match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                errs.push(field, "required");
                None
            }
            Some(_) => {
                errs.push(field, "must be a string");
                None
            }
        };
        let (username, password, realm) = (text("username"), text("password"), text("realm"));
        for (field, value, max) in
            [("username", &username, 128), ("realm", &realm, 64), ("password", &password, 1024)]
        {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                errs.push(field, format!("must be at most {max} characters"));
            } else if field != "password"
                && value.as_ref().is_some_and(|v| v.contains(char::is_control))
            {
                errs.push(field, "must not hold control characters");
            }
        }
        match obj.get("grant_type") {
            None | Some(Value::Null) => {}
            Some(Value::String(g)) if g == "password" => {}
            Some(_) => errs.push("grant_type", "only the password grant is supported"),
        }
        match (username, password, realm) {
            (Some(username), Some(password), Some(realm)) if errs.is_empty() => {
                Ok(Self { username, password, realm })
            }
            _ => Err(Problem::invalid(errs).with_status(StatusCode::BAD_REQUEST)),
        }
    }
}

/// `POST /api/token`: exchanges a username, password and realm for a bearer token.
pub async fn issue_token(
    State(state): State<AppState>,
    peer: PeerAddr,
    raw: Bytes,
) -> Result<impl IntoResponse, Problem> {
    let req = TokenRequest::parse(&body::parse::<Value>(&raw)?)?;
    let user_key = format!("user:{}/{}", req.realm, req.username);
    let mut keys = vec![user_key.clone()];
    keys.extend(peer.0.map(|ip| format!("addr:{ip}")));
    // Every attempt waits out the failures so far before its password is even checked, so
    // hanging up early or trying in parallel gains nothing.
    tokio::time::sleep(state.throttle.delay(&keys)).await;
    let (realm, username, password) = (req.realm.clone(), req.username.clone(), req.password);
    let user = state
        .run(move |s| match s.user(&realm, &username) {
            Err(StoreError::NotFound) => Ok(None),
            other => other.map(Some),
        })
        .await?;
    let valid = tokio::task::spawn_blocking(move || check_login(user, &password))
        .await
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "log-in check failed"))?;
    let actor = audit::actor(&req.username, &req.realm);
    let Some(user) = valid else {
        tracing::info!(username = %req.username, realm = %req.realm, "failed log-in");
        state.throttle.failed(&keys);
        audit::record(&state, None, &actor, "login", "token", "failure", None).await;
        return Err(Problem::unauthorized("wrong username, password or realm"));
    };
    state.throttle.succeeded(&user_key);

    let token = new_token();
    let hash = token_hash(&token);
    let expires = Utc::now() + TOKEN_LIFETIME;
    state.run(move |s| s.insert_token(&hash, user.id, expires)).await?;
    tracing::info!(username = %req.username, realm = %req.realm, "logged in");
    audit::record(&state, None, &actor, "login", "token", "success", None).await;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME.num_seconds(),
    })))
}

/// Verifies the password, spending the same work when the user does not exist.
fn check_login(user: Option<User>, password: &str) -> Option<User> {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                         9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";
    let phc = user.as_ref().map_or(DUMMY, |u| u.password_hash.as_str());
    let ok = verify_password(password, phc);
    user.filter(|u| ok && !u.disabled)
}

/// `DELETE /api/token`: ends the caller's token.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, Problem> {
    let hash = caller.token_hash.clone();
    state.run(move |s| s.delete_token(&hash)).await?;
    audit::record(&state, None, &caller.actor(), "logout", "token", "success", None).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    token_hash: String,
    /// `METHOD path` of the request, for the audit log.
    request: String,
}

impl Caller {
    /// The org of that name, when the caller is a member holding `permission` in it.
    ///
    /// A non-member gets 404, so org names do not leak; a member without the permission 403.
    pub async fn authorize(
        &self,
        state: &AppState,
        org: &str,
        permission: Permission,
    ) -> Result<Org, Problem> {
        self.authorize_any(state, org, &[permission]).await
    }

    /// The org of that name, when the caller holds any of `permissions` in it; a refusal
    /// is recorded in the audit log.
    pub async fn authorize_any(
        &self,
        state: &AppState,
        org: &str,
        permissions: &[Permission],
    ) -> Result<Org, Problem> {
        let (org_name, user_id) = (org.to_owned(), self.user.id);
        let found = state
            .run(move |s| {
                let org = s.org(&org_name)?;
                let roles = s.roles(org.id, user_id)?;
                let custom = s.custom_roles(org.id)?;
                Ok((org, roles, custom))
            })
            .await;
        let (org, roles, custom) = match found {
            Ok(pair) => pair,
            Err(p) if p.status() == StatusCode::NOT_FOUND => return Err(no_org(org)),
            Err(p) => return Err(p),
        };
        if roles.is_empty() {
            let detail = Some("not a member of the org".to_owned());
            audit::record(
                state,
                Some(&org.name),
                &self.actor(),
                "request",
                &self.request,
                "denied",
                detail,
            )
            .await;
            return Err(no_org(org.name.as_str()));
        }
        if !permissions.iter().any(|p| permissions::allows_with(&roles, &custom, *p)) {
            let needed: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
            let detail = format!("needs {}", needed.join(" or "));
            audit::record(
                state,
                Some(&org.name),
                &self.actor(),
                "request",
                &self.request,
                "denied",
                Some(detail),
            )
            .await;
            return Err(Problem::forbidden(format!(
                "this needs the {} permission in org {}",
                needed.join(" or "),
                org.name
            )));
        }
        Ok(org)
    }

    /// The caller behind `token`, for a request described as `request` (`METHOD path`).
    pub async fn from_token(
        state: &AppState,
        token: &str,
        request: String,
    ) -> Result<Self, Problem> {
        let hash = token_hash(token);
        let lookup = hash.clone();
        let user = state.run(move |s| s.token_user(&lookup, Utc::now())).await.map_err(|p| {
            if p.status() == StatusCode::NOT_FOUND {
                Problem::unauthorized("the token is unknown or has expired: log in again")
            } else {
                p
            }
        })?;
        Ok(Self { user, token_hash: hash, request })
    }

    /// True when the caller holds `permission` in `org`; unlike [`Caller::authorize`] a
    /// "no" is not a refused request, so nothing is recorded.
    pub async fn holds(&self, state: &AppState, org: &str, permission: Permission) -> bool {
        let (org_name, user_id) = (org.to_owned(), self.user.id);
        let found = state
            .run(move |s| {
                let org = s.org(&org_name)?;
                Ok((s.roles(org.id, user_id)?, s.custom_roles(org.id)?))
            })
            .await;
        found.is_ok_and(|(roles, custom)| permissions::allows_with(&roles, &custom, permission))
    }

    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        audit::actor(&self.user.username, &self.user.realm)
    }
}

fn no_org(name: &str) -> Problem {
    Problem::not_found(format!("no org named {name}"))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Problem::unauthorized("log in first: no bearer token was sent"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be 'Bearer TOKEN'")
            })?;
        let request = format!("{} {}", parts.method, parts.uri.path());
        Self::from_token(state, token, request).await
    }
}
