//! The REST API of this server, called in-process on behalf of a console session.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

use super::Session;

/// The largest API answer the console reads (a full page of a large truststore).
const MAX_REPLY: usize = 64 << 20;
/// Items per page when the console reads a whole collection.
const PAGE: usize = 1000;
/// The most pages read of one collection.
const MAX_PAGES: usize = 100;

/// The API router, ready to be called.
#[derive(Clone)]
pub(crate) struct Api(Router);

/// What the API answered.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    /// The item's `ETag`, for a later write with `If-Match`.
    pub etag: Option<String>,
    /// The JSON body; `Null` when there was none.
    pub body: Value,
}

impl Reply {
    /// True for a 2xx answer.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The `results` of a list answer (empty when it failed).
    pub fn results(&self) -> &[Value] {
        match self.body.get("results") {
            Some(Value::Array(items)) if self.ok() => items,
            _ => &[],
        }
    }

    /// The problem's detail sentence.
    pub fn detail(&self) -> String {
        self.body
            .get("detail")
            .and_then(Value::as_str)
            .map_or_else(|| format!("the request failed ({})", self.status), str::to_owned)
    }

    /// The problem's `{field, message}` list.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        let Some(Value::Array(errors)) = self.body.get("errors") else {
            return Vec::new();
        };
        errors
            .iter()
            .filter_map(|e| {
                let field = e.get("field")?.as_str()?;
                let message = e.get("message")?.as_str()?;
                Some((field.to_owned(), message.to_owned()))
            })
            .collect()
    }

    /// The problem's `used_by` list.
    pub fn used_by(&self) -> Vec<String> {
        strings(self.body.get("used_by"))
    }
}

/// The strings of a JSON array (nothing for anything else).
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

impl Api {
    pub fn new(router: Router) -> Self {
        Self(router)
    }

    pub async fn get(&self, session: &Session, path: &str) -> Reply {
        self.call(Some(session), Method::GET, path, None, None).await
    }

    /// Every item of a collection (`path` without a query), page by page; the failed
    /// answer when a page cannot be read.
    pub async fn list_all(&self, session: &Session, path: &str) -> Result<Vec<Value>, Reply> {
        let mut items = Vec::new();
        for page in 0..MAX_PAGES {
            let reply =
                self.get(session, &format!("{path}?limit={PAGE}&offset={}", page * PAGE)).await;
            if !reply.ok() {
                return Err(reply);
            }
            let results = reply.results();
            items.extend_from_slice(results);
            let total = reply.body.get("total_results").and_then(Value::as_u64).unwrap_or(0);
            if results.len() < PAGE || items.len() as u64 >= total {
                break;
            }
        }
        Ok(items)
    }

    pub async fn post(&self, session: &Session, path: &str, body: &Value) -> Reply {
        self.call(Some(session), Method::POST, path, Some(body), None).await
    }

    pub async fn patch(
        &self,
        session: &Session,
        path: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Reply {
        self.call(Some(session), Method::PATCH, path, Some(body), if_match).await
    }

    pub async fn delete(&self, session: &Session, path: &str) -> Reply {
        self.call(Some(session), Method::DELETE, path, None, None).await
    }

    /// Sends one request through the API's router; `session` supplies the bearer token
    /// and the client's address.
    pub async fn call(
        &self,
        session: Option<&Session>,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(s) = session {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", s.token));
        }
        if let Some(tag) = if_match {
            // A tag that is no header value matches nothing: the write is then stale.
            let tag =
                HeaderValue::from_str(tag).unwrap_or(HeaderValue::from_static("\"unusable\""));
            request = request.header(header::IF_MATCH, tag);
        }
        let payload = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(v).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let Ok(mut request) = request.body(payload) else {
            return failed("the console built a request the API cannot take");
        };
        if let Some(info) = session.and_then(|s| s.connect_info) {
            request.extensions_mut().insert(info);
        }
        self.send(request).await
    }

    /// Sends a request made elsewhere (the log-in, which has no session yet).
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let Ok(resp) = self.0.clone().oneshot(request).await;
        let status = resp.status();
        let etag =
            resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = match axum::body::to_bytes(resp.into_body(), MAX_REPLY).await {
            Ok(bytes) if bytes.is_empty() => Value::Null,
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(_) => return failed("the API's answer was too large to show"),
        };
        Reply { status, etag, body }
    }
}

fn failed(detail: &str) -> Reply {
    Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        etag: None,
        body: serde_json::json!({ "detail": detail }),
    }
}
