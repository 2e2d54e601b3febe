//! Forwarding one request: the route, the upstream request (its URL, `Host`, forwarding
//! headers, no hop-by-hop headers, the body streamed), and the answer, or a problem+json
//! error that says why there is none.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use tlsdeck_engine::ConnectError;
use tracing::{debug, warn};

use crate::problem::problem;
use crate::routes::{Route, Routes, upstream_path};
use crate::upstream::{ConnectionInfo, UpstreamClient};

/// What the gateway answers with: an upstream's streamed body, or its own small one.
pub type Body = Either<Incoming, Full<Bytes>>;

/// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// What a request is forwarded with, beside the route table.
#[derive(Debug)]
pub struct Proxy {
    /// The routes.
    pub routes: Routes,
    /// How long an upstream may take to answer with its response head.
    pub response_timeout: Duration,
}

/// Where a request came from.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// The client's address.
    pub addr: SocketAddr,
    /// True when it reached the gateway over TLS.
    pub tls: bool,
}

impl Proxy {
    /// Forwards `req` by its route and answers with the upstream's response, or a problem.
    pub async fn handle(&self, req: Request<Incoming>, from: Client) -> Response<Body> {
        let path = req.uri().path().to_owned();
        if req.version() == http::Version::HTTP_11
            && !req.headers().contains_key(header::HOST)
            && req.uri().authority().is_none()
        {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "an HTTP/1.1 request needs a Host",
                None,
            );
        }
        if has_dot_segment(&path) {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the path holds a '.' or '..' segment",
                None,
            );
        }
        let Some((route, rest)) = self.routes.find(&path) else {
            let detail = format!("no route matches the path {}", path.escape_debug());
            return problem(StatusCode::NOT_FOUND, "no_route", &detail, None);
        };
        let client = match &route.link.current().client {
            Ok(client) => client.clone(),
            Err(e) => return self.bad_gateway(route, &path, e.category().as_str(), e.message()),
        };
        let upstream = match self.upstream_request(req, route, rest, from) {
            Ok(upstream) => upstream,
            Err(detail) => return problem(StatusCode::BAD_REQUEST, "bad_request", &detail, None),
        };
        self.forward(&client, upstream, route, &path).await
    }

    /// Sends the request upstream and answers with the response, or the failure.
    async fn forward(
        &self,
        client: &UpstreamClient,
        upstream: Request<Incoming>,
        route: &Route,
        path: &str,
    ) -> Response<Body> {
        let started = Instant::now();
        let method = upstream.method().clone();
        let sent = tokio::time::timeout(self.response_timeout, client.request(upstream)).await;
        let Ok(answered) = sent else {
            let detail = format!(
                "the upstream did not answer within {} s",
                self.response_timeout.as_secs_f64()
            );
            warn!(route = %route.path, path, profile = route.link.profile_label(),
                target = %route.link.upstream.target, category = "timeout",
                "the upstream did not answer in time");
            return problem(StatusCode::GATEWAY_TIMEOUT, "timeout", &detail, Some(&route.path));
        };
        let resp = match answered {
            Ok(resp) => resp,
            Err(e) => {
                return match ConnectError::find(&e) {
                    Some(c) => self.bad_gateway(route, path, c.category().as_str(), c.message()),
                    None => {
                        let detail = format!("the upstream failed to answer: {}", chain(&e));
                        self.bad_gateway(route, path, "upstream_failed", &detail)
                    }
                };
            }
        };
        let info = resp.extensions().get::<ConnectionInfo>().copied();
        debug!(route = %route.path, %method, path, status = resp.status().as_u16(),
            upstream_connection = info.map(|i| i.id), resumed = info.map(|i| i.resumed),
            ms = started.elapsed().as_secs_f64() * 1000.0, "request forwarded");
        response(resp)
    }

    fn bad_gateway(
        &self,
        route: &Route,
        path: &str,
        category: &str,
        message: &str,
    ) -> Response<Body> {
        warn!(
            route = %route.path,
            path,
            profile = route.link.profile_label(),
            target = %route.link.upstream.target,
            category,
            error = message,
            "upstream request failed"
        );
        problem(StatusCode::BAD_GATEWAY, category, message, Some(&route.path))
    }

    /// The request as the upstream gets it.
    fn upstream_request(
        &self,
        req: Request<Incoming>,
        route: &Route,
        rest: &str,
        from: Client,
    ) -> Result<Request<Incoming>, String> {
        let (mut parts, body) = req.into_parts();
        let upstream = &route.link.upstream;
        let path = upstream_path(upstream.base.as_deref(), parts.uri.path(), rest);
        let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        let uri = format!("{}://{}{path}{query}", upstream.scheme(), upstream.target);
        parts.uri =
            uri.parse::<Uri>().map_err(|_| "the request URL cannot be forwarded".to_owned())?;

        let original_host =
            parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
        strip_hop_by_hop(&mut parts.headers);
        add_forwarding(&mut parts.headers, from, original_host.as_deref());
        let host = HeaderValue::from_str(&upstream.authority())
            .map_err(|_| "the upstream host is not a valid header".to_owned())?;
        parts.headers.insert(header::HOST, host);
        parts.version = http::Version::HTTP_11;
        Ok(Request::from_parts(parts, body))
    }
}

/// The upstream's response without hop-by-hop headers, its body streamed.
fn response(resp: Response<Incoming>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, Either::Left(body))
}

/// Removes the hop-by-hop headers and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// Appends the client to `X-Forwarded-For` and `Forwarded`, and says how it came
/// (`X-Forwarded-Proto`, `X-Forwarded-Host`).
fn add_forwarding(headers: &mut HeaderMap, from: Client, host: Option<&str>) {
    let ip = from.addr.ip();
    let proto = if from.tls { "https" } else { "http" };
    append(headers, HeaderName::from_static("x-forwarded-for"), &ip.to_string());

    let node = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("\"[{v6}]\""),
    };
    let mut forwarded = format!("for={node};proto={proto}");
    // Only the gateway says which host the client asked for; a client's own claim goes.
    headers.remove(HeaderName::from_static("x-forwarded-host"));
    let quotable = |h: &&str| h.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if let Some(host) = host.filter(quotable) {
        forwarded.push_str(&format!(";host=\"{host}\""));
        if let Ok(v) = HeaderValue::from_str(host) {
            headers.insert(HeaderName::from_static("x-forwarded-host"), v);
        }
    }
    append(headers, header::FORWARDED, &forwarded);
    headers.insert(HeaderName::from_static("x-forwarded-proto"), HeaderValue::from_static(proto));
}

/// Appends `value` to a comma-separated header, joining what earlier proxies wrote.
fn append(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let earlier: Vec<&str> =
        headers.get_all(&name).iter().filter_map(|v| v.to_str().ok()).collect();
    let joined = if earlier.is_empty() {
        value.to_owned()
    } else {
        format!("{}, {value}", earlier.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&joined) {
        headers.insert(name, v);
    }
}

/// True when the path has a `.` or `..` segment, also percent-encoded: upstreams would
/// resolve them, possibly to outside the route's base.
///
/// Encoded slashes and backslashes count as separators, since many upstreams decode them
/// before they resolve the path (`..%2fsecret`).
fn has_dot_segment(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let separated = lower.replace("%2f", "/").replace("%5c", "/").replace('\\', "/");
    separated.split('/').any(|segment| {
        let decoded = segment.replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// An error and its causes, for a message.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    let mut depth = 0;
    while let Some(cause) = next.filter(|_| depth < 8) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
        depth += 1;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(addr: &str, tls: bool) -> Client {
        Client { addr: addr.parse().unwrap(), tls }
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Secret-Hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn forwarding_headers_append_to_earlier_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        h.insert(header::FORWARDED, HeaderValue::from_static("for=203.0.113.7"));
        add_forwarding(&mut h, client("[::1]:5000", true), Some("gw.example:8443"));
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, ::1");
        assert_eq!(
            h[header::FORWARDED],
            "for=203.0.113.7, for=\"[::1]\";proto=https;host=\"gw.example:8443\""
        );
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "gw.example:8443");

        let mut h = HeaderMap::new();
        h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
        add_forwarding(&mut h, client("127.0.0.1:5000", false), None);
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert_eq!(h[header::FORWARDED], "for=127.0.0.1;proto=http");
        assert!(!h.contains_key("x-forwarded-host"));
    }

    #[test]
    fn dot_segments_are_found_also_when_encoded() {
        for bad in [
            "/a/../b",
            "/a/./b",
            "/..",
            "/a/%2e%2E/b",
            "/a/.%2e",
            "/%2e",
            "/files/..%2fsecret.txt",
            "/files/%2e%2e%2Fsecret.txt",
            "/files/..%5csecret",
        ] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for good in ["/", "/a.b/c", "/...", "/a/.well-known"] {
            assert!(!has_dot_segment(good), "{good}");
        }
    }
}
