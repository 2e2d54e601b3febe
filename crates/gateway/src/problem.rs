//! The gateway's own answers, as `application/problem+json` (RFC 9457) with the failure's
//! category.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{Either, Full};
use serde::Serialize;

use crate::proxy::Body;

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    /// The probe's category for upstream failures (`protocol_mismatch`, ...), or the
    /// gateway's own (`no_route`, `timeout`, `upstream_failed`, `bad_request`).
    category: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<&'a str>,
}

/// A problem answer with `status`, `category` and a `detail` sentence; `route` names the
/// route's path when one matched.
pub fn problem(
    status: StatusCode,
    category: &str,
    detail: &str,
    route: Option<&str>,
) -> Response<Body> {
    let body = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        category,
        route,
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from(json))));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}
