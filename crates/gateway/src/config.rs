//! The gateway's configuration file (YAML), parsed into validated values: every bad field is
//! named with its reason, all at once.
//!
//! ```yaml
//! listen: 127.0.0.1:8080                # required
//! tls_server_profile: edge:1.0.0        # optional: serve TLS through this admin server profile
//! store: ./tlsdeck-data                 # required: a data dir (relative to this file), or
//!                                       # a postgres:// URL
//! connect_timeout_ms: 5000              # TCP connection and TLS handshake with an upstream
//! response_timeout_ms: 30000            # until the upstream's response head (504 after)
//! pool: {idle_timeout_ms: 60000, max_idle_per_upstream: 64}
//! routes:                               # at least one; the longest matching path wins
//!   - path: /orders
//!     upstream: https://localhost:9443  # http(s)://host[:port][/base]
//!     tls_client_profile: backend-tls:1.0.0  # or admin/NAME:VERSION shared with `org`
//!     org: admin                        # default admin
//!     keep_alive: true                  # false: a new upstream connection per request
//!     session_resumption: true          # false: a full handshake on every new connection
//! ```

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tlsdeck_engine::Target;

/// The org whose profiles are used when a route names none, and whose server profiles the
/// listener may use.
pub const ADMIN_ORG: &str = "admin";
/// The largest configuration file read.
const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most routes one gateway serves.
const MAX_ROUTES: usize = 1000;

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_IDLE: usize = 64;

/// A validated gateway configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the gateway listens.
    pub listen: SocketAddr,
    /// Serve over TLS through this server profile of the `admin` org.
    pub tls_server_profile: Option<ProfileName>,
    /// Where profiles and key material are read from.
    pub store: StoreLocation,
    /// How long the TCP connection and the TLS handshake with an upstream may take.
    pub connect_timeout: Duration,
    /// How long an upstream may take to answer with its response head.
    pub response_timeout: Duration,
    /// How idle upstream connections are kept.
    pub pool: PoolConfig,
    /// The routes, in the order written.
    pub routes: Vec<RouteConfig>,
}

/// Where the store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A data dir of `tlsdeck serve`: its `tlsdeck.db`, and its `master.key` unless
    /// `TLSDECK_MASTER_KEY` is set.
    DataDir(PathBuf),
    /// A `postgres://` URL (the master key comes from `TLSDECK_MASTER_KEY`).
    Url(String),
}

/// How idle upstream connections are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// An idle connection is closed after this long.
    pub idle_timeout: Duration,
    /// At most this many idle connections per upstream and profile revision.
    pub max_idle_per_upstream: usize,
}

/// One route: requests whose path starts with `path` go to `upstream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConfig {
    /// The path prefix, matched segment by segment.
    pub path: String,
    /// Where the requests go.
    pub upstream: Upstream,
    /// The TLS client profile of an `https://` upstream.
    pub tls_client_profile: Option<ProfileRef>,
    /// The org the route acts for: its profiles, or the `admin` ones shared with it.
    pub org: String,
    /// Keep upstream connections open for later requests (the default); without, every
    /// request opens a new connection.
    pub keep_alive: bool,
    /// Resume TLS sessions on new upstream connections (the default).
    pub session_resumption: bool,
}

/// An upstream URL: `http(s)://host[:port][/base]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// True for `https://`.
    pub tls: bool,
    /// The host and port connected to.
    pub target: Target,
    /// The path that replaces the route's prefix, when the URL has one; without, the
    /// request's path goes on unchanged.
    pub base: Option<String>,
}

impl Upstream {
    /// The `Host` header the upstream gets: the host, and the port unless it is the default.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = self.target.to_string();
        if self.target.port == default {
            host.rsplit_once(':').map_or(host.clone(), |(h, _)| h.to_owned())
        } else {
            host
        }
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// A profile by name and version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileName {
    /// The profile's name.
    pub name: String,
    /// The profile's version.
    pub version: String,
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.version)
    }
}

/// A client profile as a route names it: `NAME:VERSION` in the route's org, or
/// `admin/NAME:VERSION` for an `admin` profile shared with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileRef {
    /// True for `admin/NAME:VERSION`.
    pub shared: bool,
    /// The name and version.
    pub profile: ProfileName,
}

impl fmt::Display for ProfileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.shared { write!(f, "{ADMIN_ORG}/{}", self.profile) } else { self.profile.fmt(f) }
    }
}

/// A configuration that cannot be used: every bad field with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid gateway configuration {origin}: {}", problems.join("; "))]
pub struct ConfigError {
    /// The file, or what else the configuration came from.
    pub origin: String,
    /// `field: reason`, one per bad field.
    pub problems: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    tls_server_profile: Option<String>,
    store: Option<String>,
    connect_timeout_ms: Option<u64>,
    response_timeout_ms: Option<u64>,
    pool: Option<RawPool>,
    routes: Option<Vec<RawRoute>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    idle_timeout_ms: Option<u64>,
    max_idle_per_upstream: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: Option<String>,
    upstream: Option<String>,
    tls_client_profile: Option<String>,
    org: Option<String>,
    keep_alive: Option<bool>,
    session_resumption: Option<bool>,
}

/// Collects `field: reason` lines.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, reason: impl fmt::Display) {
        self.0.push(format!("{field}: {reason}"));
    }

    fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "is required");
        }
        value
    }
}

impl Config {
    /// Reads and validates the file at `path`; a relative data dir is taken from the file's
    /// folder.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let origin = path.display().to_string();
        let fail = |reason: String| ConfigError { origin: origin.clone(), problems: vec![reason] };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        // A device or pipe reports no length: only regular files, read no further than the
        // limit either way.
        if !meta.is_file() {
            return Err(fail("it is not a regular file".to_owned()));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!("it is larger than {MAX_FILE_BYTES} bytes")));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(|e| fail(format!("cannot read it: {e}")))?,
                MAX_FILE_BYTES + 1,
            ),
            &mut text,
        )
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(fail(format!("it is larger than {MAX_FILE_BYTES} bytes")));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|mut e| {
            e.origin = origin;
            e
        })
    }

    /// Parses and validates YAML `text`; a relative data dir is taken from `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let fail = |problems| ConfigError { origin: "text".into(), problems };
        let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| fail(vec![e.to_string()]))?;
        let mut p = Problems::default();

        let listen = p.required("listen", raw.listen).and_then(|l| {
            l.parse::<SocketAddr>()
                .map_err(|_| {
                    p.add("listen", format!("'{l}' is not ADDRESS:PORT, e.g. 127.0.0.1:8080"))
                })
                .ok()
        });
        let tls_server_profile = raw
            .tls_server_profile
            .and_then(|s| profile_name(&s).map_err(|why| p.add("tls_server_profile", why)).ok());
        let store = p
            .required("store", raw.store)
            .and_then(|s| store_location(&s, base).map_err(|why| p.add("store", why)).ok());
        let connect_timeout = timeout(&mut p, "connect_timeout_ms", raw.connect_timeout_ms)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let response_timeout = timeout(&mut p, "response_timeout_ms", raw.response_timeout_ms)
            .unwrap_or(DEFAULT_RESPONSE_TIMEOUT);
        let pool = pool(&mut p, raw.pool);
        let routes = routes(&mut p, raw.routes.unwrap_or_default());

        match (listen, store) {
            (Some(listen), Some(store)) if p.0.is_empty() => Ok(Self {
                listen,
                tls_server_profile,
                store,
                connect_timeout,
                response_timeout,
                pool,
                routes,
            }),
            _ => Err(fail(p.0)),
        }
    }
}

fn timeout(p: &mut Problems, field: &str, ms: Option<u64>) -> Option<Duration> {
    let ms = ms?;
    if !(1..=3_600_000).contains(&ms) {
        p.add(field, "must be from 1 to 3600000 (one hour)");
        return None;
    }
    Some(Duration::from_millis(ms))
}

fn pool(p: &mut Problems, raw: Option<RawPool>) -> PoolConfig {
    let raw = raw.unwrap_or(RawPool { idle_timeout_ms: None, max_idle_per_upstream: None });
    let idle_timeout =
        timeout(p, "pool.idle_timeout_ms", raw.idle_timeout_ms).unwrap_or(DEFAULT_IDLE_TIMEOUT);
    let max_idle_per_upstream = match raw.max_idle_per_upstream {
        Some(n) if n > 10_000 => {
            p.add("pool.max_idle_per_upstream", "must be at most 10000");
            DEFAULT_MAX_IDLE
        }
        Some(n) => n,
        None => DEFAULT_MAX_IDLE,
    };
    PoolConfig { idle_timeout, max_idle_per_upstream }
}

fn routes(p: &mut Problems, raw: Vec<RawRoute>) -> Vec<RouteConfig> {
    if raw.is_empty() {
        p.add("routes", "at least one route is required");
    }
    if raw.len() > MAX_ROUTES {
        p.add("routes", format!("at most {MAX_ROUTES} routes are served"));
    }
    let mut seen = HashSet::new();
    let mut routes = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let field = |name: &str| format!("routes[{i}].{name}");
        let path = p
            .required(&field("path"), r.path)
            .and_then(|path| route_path(&path).map_err(|why| p.add(&field("path"), why)).ok());
        if let Some(path) = path.as_ref().filter(|path| !seen.insert((*path).clone())) {
            p.add(&field("path"), format!("'{path}' is the path of an earlier route"));
        }
        let upstream = p
            .required(&field("upstream"), r.upstream)
            .and_then(|u| upstream(&u).map_err(|why| p.add(&field("upstream"), why)).ok());
        let profile_given = r.tls_client_profile.is_some();
        let profile = r.tls_client_profile.and_then(|s| {
            profile_ref(&s).map_err(|why| p.add(&field("tls_client_profile"), why)).ok()
        });
        let org = r.org.unwrap_or_else(|| ADMIN_ORG.to_owned());
        if org.is_empty() {
            p.add(&field("org"), "must not be empty");
        }
        match (&upstream, profile_given) {
            (Some(u), true) if !u.tls => p.add(
                &field("tls_client_profile"),
                "an http:// upstream takes no TLS client profile (use https://)",
            ),
            (Some(u), false) if u.tls => p.add(
                &field("tls_client_profile"),
                "an https:// upstream needs a TLS client profile (NAME:VERSION)",
            ),
            _ => {}
        }
        if let (Some(path), Some(upstream)) = (path, upstream) {
            routes.push(RouteConfig {
                path,
                upstream,
                tls_client_profile: profile,
                org,
                keep_alive: r.keep_alive.unwrap_or(true),
                session_resumption: r.session_resumption.unwrap_or(true),
            });
        }
    }
    routes
}

fn route_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("'{}' must start with '/'", path.escape_debug()));
    }
    if path.contains(['?', '#']) || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a path holds no '?', '#', spaces or control characters".into());
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err("a path holds no '.' or '..' segments".into());
    }
    http::uri::PathAndQuery::from_str(path)
        .map_err(|_| format!("'{}' is not a valid URL path", path.escape_debug()))?;
    Ok(path.to_owned())
}

/// `http(s)://host[:port][/base]`.
fn upstream(url: &str) -> Result<Upstream, String> {
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("https://") {
        (true, &url["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &url["http://".len()..])
    } else {
        return Err(format!("'{}' is not http(s)://host[:port][/base]", url.escape_debug()));
    };
    if rest.contains(['?', '#']) {
        return Err("an upstream URL has no query or fragment".into());
    }
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    if authority.contains('@') {
        return Err("user names and passwords in the URL are not supported".into());
    }
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => authority.contains(':'),
    };
    let default = if tls { 443 } else { 80 };
    let authority = if has_port { authority.to_owned() } else { format!("{authority}:{default}") };
    let target = authority.parse::<Target>().map_err(|e| e.reason)?;
    let base = base.map(route_path).transpose()?;
    Ok(Upstream { tls, target, base })
}

fn profile_name(s: &str) -> Result<ProfileName, String> {
    let (name, version) = s
        .split_once(':')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty() && !v.contains(':'))
        .ok_or_else(|| format!("'{}' is not NAME:VERSION", s.escape_debug()))?;
    Ok(ProfileName { name: name.to_owned(), version: version.to_owned() })
}

fn profile_ref(s: &str) -> Result<ProfileRef, String> {
    match s.split_once('/') {
        None => Ok(ProfileRef { shared: false, profile: profile_name(s)? }),
        Some((ADMIN_ORG, rest)) => Ok(ProfileRef { shared: true, profile: profile_name(rest)? }),
        Some(_) => Err(format!(
            "'{}' is not NAME:VERSION or {ADMIN_ORG}/NAME:VERSION (only the {ADMIN_ORG} org shares \
             profiles with other orgs)",
            s.escape_debug()
        )),
    }
}

fn store_location(s: &str, base: &Path) -> Result<StoreLocation, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("must name a data dir or a postgres:// URL".into());
    }
    if s.starts_with("postgres://") || s.starts_with("postgresql://") {
        return Ok(StoreLocation::Url(s.to_owned()));
    }
    if s.contains("://") {
        return Err("is a data dir or a postgres:// URL".into());
    }
    Ok(StoreLocation::DataDir(base.join(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/etc/tlsdeck";

    fn parse(text: &str) -> Result<Config, Vec<String>> {
        Config::parse(text, Path::new(BASE)).map_err(|e| e.problems)
    }

    fn minimal(routes: &str) -> String {
        format!("listen: 127.0.0.1:8080\nstore: ./data\nroutes:\n{routes}")
    }

    #[test]
    fn reads_the_documented_example() {
        let c = parse(&minimal(
            "  - path: /orders\n    upstream: https://localhost:9443\n    \
             tls_client_profile: backend-tls:1.0.0\n    org: admin\n  \
             - path: /shared\n    upstream: HTTPS://[::1]/v2/\n    \
             tls_client_profile: admin/edge:2.0\n    org: payments\n  \
             - path: /\n    upstream: http://127.0.0.1\n    keep_alive: false\n",
        ))
        .unwrap();
        assert_eq!(c.store, StoreLocation::DataDir(PathBuf::from("/etc/tlsdeck/./data")));
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        let [orders, shared, root] = &c.routes[..] else { panic!("three routes") };
        assert_eq!(orders.upstream.target.to_string(), "localhost:9443");
        assert_eq!(orders.upstream.base, None);
        assert_eq!(orders.tls_client_profile.as_ref().unwrap().to_string(), "backend-tls:1.0.0");
        assert_eq!(shared.upstream.authority(), "[::1]");
        assert_eq!(shared.upstream.base.as_deref(), Some("/v2/"));
        assert!(shared.tls_client_profile.as_ref().unwrap().shared);
        assert_eq!(shared.org, "payments");
        assert_eq!(root.upstream.authority(), "127.0.0.1");
        assert_eq!(root.upstream.target.port, 80);
        assert!(!root.keep_alive && root.session_resumption && root.org == ADMIN_ORG);
    }

    #[test]
    fn names_every_bad_field_at_once() {
        let problems = parse(
            "listen: nowhere\nstore: ftp://x\nconnect_timeout_ms: 0\nroutes:\n  \
             - path: orders\n    upstream: https://localhost:1\n  \
             - path: /b\n    upstream: http://localhost:2\n    tls_client_profile: p:1\n  \
             - path: /c\n    upstream: localhost:3\n  \
             - path: /d\n    upstream: https://localhost:4\n    tls_client_profile: x/p:1\n",
        )
        .unwrap_err();
        let want = [
            "listen: 'nowhere' is not ADDRESS:PORT",
            "store: is a data dir or a postgres:// URL",
            "connect_timeout_ms: must be from 1",
            "routes[0].path: 'orders' must start with '/'",
            "routes[0].tls_client_profile: an https:// upstream needs a TLS client profile",
            "routes[1].tls_client_profile: an http:// upstream takes no TLS client profile",
            "routes[2].upstream: 'localhost:3' is not http(s)://host[:port][/base]",
            "routes[3].tls_client_profile: 'x/p:1' is not NAME:VERSION or admin/NAME:VERSION",
        ];
        for w in want {
            assert!(problems.iter().any(|p| p.starts_with(w)), "missing {w:?} in {problems:#?}");
        }
        assert_eq!(problems.len(), want.len(), "{problems:#?}");
    }

    #[test]
    fn refuses_missing_and_unknown_fields() {
        let problems = parse("routes: []\n").unwrap_err();
        assert_eq!(
            problems,
            ["listen: is required", "store: is required", "routes: at least one route is required"]
        );
        let problems = parse(&minimal("  - path: /\n    upstrem: http://x\n")).unwrap_err();
        assert!(problems[0].contains("unknown field `upstrem`"), "{problems:?}");
        assert!(problems[0].contains("routes[0]"), "{problems:?}");
    }

    #[test]
    fn refuses_duplicate_paths_and_dot_segments() {
        let problems = parse(&minimal(
            "  - {path: /a, upstream: 'http://x'}\n  - {path: /a, upstream: 'http://y'}\n  \
             - {path: /a/../b, upstream: 'http://y'}\n  - {path: /c, upstream: 'http://y/../z'}\n",
        ))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("routes[1].path: '/a' is the path of an earlier route"));
        assert!(problems[1].starts_with("routes[2].path: a path holds no '.' or '..'"));
        assert!(problems[2].starts_with("routes[3].upstream: a path holds no '.' or '..'"));
    }

    #[test]
    fn a_postgres_store_is_a_url() {
        let text = "listen: '[::1]:0'\nstore: postgres://u@db/t\nroutes:\n  \
                    - {path: /, upstream: 'http://localhost:1'}\n";
        let c = parse(text).unwrap();
        assert_eq!(c.store, StoreLocation::Url("postgres://u@db/t".into()));
    }
}
