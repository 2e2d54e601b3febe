//! Errors as `application/problem+json` (RFC 9457): status, title, detail, bad fields.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tlsdeck_model::{FieldError, ValidationErrors};
use tlsdeck_store::StoreError;

/// An error answered to an API client. Its text never holds SQL, a stack trace or a secret.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
    errors: Vec<FieldError>,
    used_by: Vec<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    used_by: &'a [String],
}

impl Problem {
    /// A problem with a status and a sentence saying what went wrong.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), errors: Vec::new(), used_by: Vec::new() }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 404: nothing there (or nothing the caller may know of).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 412: the `If-Match` revision is not the stored one.
    pub fn stale() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "the item changed since it was read: fetch it again and reapply the change",
        )
    }

    /// 422: the input broke the model's rules; every bad field is listed.
    pub fn invalid(errors: ValidationErrors) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: format!("the input is not valid: {errors}"),
            errors: errors.fields().to_vec(),
            used_by: Vec::new(),
        }
    }

    /// 409: the item is still used by `users`.
    pub fn in_use(users: Vec<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            detail: format!("still in use by {}: change or delete those first", users.join(", ")),
            errors: Vec::new(),
            used_by: users,
        }
    }

    /// The same problem answered with another status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ValidationErrors> for Problem {
    fn from(e: ValidationErrors) -> Self {
        Self::invalid(e)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("no such item"),
            StoreError::Conflict(what) => Self::new(StatusCode::CONFLICT, what),
            StoreError::Stale { .. } => Self::stale(),
            StoreError::InUse { users } => Self {
                status: StatusCode::CONFLICT,
                detail: format!(
                    "still in use by {}: change or delete those first",
                    users.join(", ")
                ),
                errors: Vec::new(),
                used_by: users,
            },
            other => {
                tracing::error!(error = %other, "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "the store failed; see the server log")
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Body {
            kind: "about:blank",
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
            used_by: &self.used_by,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (self.status, json).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        resp
    }
}
