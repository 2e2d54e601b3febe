//! The routing table: path prefixes (longest wins, matched segment by segment), each leading
//! to a link, the upstream reached through one client profile at its current revision.
//!
//! A link's binding (its context and connection pool) is swapped whole when the profile's
//! material revision moves: new requests take the new pool, requests in flight finish on the
//! old one, whose idle connections close once the last of them is done.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tlsdeck_engine::{ClientContext, ConnectError, FailureCategory};
use tracing::{error, info, warn};

use crate::config::{Config, PoolConfig, RouteConfig, Upstream};
use crate::material::{Material, MaterialError, ProfileHandle};
use crate::upstream::{Dial, UpstreamClient, client};

/// One upstream as reached at one profile revision.
#[derive(Debug)]
pub struct Binding {
    /// The material revision the context was built from (`-` without TLS).
    pub revision: String,
    /// The pooled client, or why the profile cannot be used now (category `configuration`).
    pub client: Result<UpstreamClient, ConnectError>,
}

/// An upstream and the client profile routes reach it through.
#[derive(Debug)]
pub struct Link {
    /// Where requests go.
    pub upstream: Upstream,
    /// The client profile of an `https://` upstream.
    pub profile: Option<ProfileHandle>,
    settings: Settings,
    current: RwLock<Arc<Binding>>,
}

/// How a link's connections are made and kept.
#[derive(Debug, Clone, Copy)]
struct Settings {
    keep_alive: bool,
    resume: bool,
    connect_timeout: Duration,
    pool: PoolConfig,
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// The profile's revision did not move.
    Unchanged,
    /// New requests take a new binding.
    Rebound,
    /// The store could not be read; the binding stays until the next try.
    Retry,
}

impl Link {
    /// The binding new requests use.
    pub fn current(&self) -> Arc<Binding> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The profile as routes name it, for logs.
    pub fn profile_label(&self) -> Option<&str> {
        self.profile.as_ref().map(|p| p.label.as_str())
    }

    /// Builds a new binding when the profile's material revision moved, or when it became
    /// unusable (or usable again).
    pub fn refresh(&self, material: &Material) -> Refreshed {
        let Some(profile) = &self.profile else { return Refreshed::Unchanged };
        let current = self.current();
        let next = match material.client_context(profile) {
            Ok((revision, _)) if current.client.is_ok() && current.revision == revision => {
                return Refreshed::Unchanged;
            }
            Ok((revision, ctx)) => {
                info!(profile = %profile.label, upstream = %self.upstream.target, %revision,
                    "TLS client profile (re)loaded for new upstream connections");
                let client = self.settings.client(&self.upstream, Some(ctx));
                Binding { revision, client: Ok(client) }
            }
            Err(e) if e.is_transient() => {
                warn!(profile = %profile.label, error = %e,
                    "the TLS client profile cannot be read now; serving on with what was loaded");
                return Refreshed::Retry;
            }
            Err(e) if matches!(&current.client, Err(c) if c.message() == e.to_string()) => {
                return Refreshed::Unchanged;
            }
            Err(e) => {
                error!(profile = %profile.label, upstream = %self.upstream.target, error = %e,
                    "the TLS client profile cannot be used: its requests fail with 502");
                Binding { revision: String::new(), client: Err(unusable(&e)) }
            }
        };
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Refreshed::Rebound
    }
}

impl Settings {
    /// A pooled client for `upstream` that connects through `context`.
    fn client(&self, upstream: &Upstream, context: Option<Arc<ClientContext>>) -> UpstreamClient {
        let dial = Dial {
            target: upstream.target.clone(),
            context,
            connect_timeout: self.connect_timeout,
            resume: self.resume,
        };
        client(dial, self.pool, self.keep_alive)
    }
}

fn unusable(e: &MaterialError) -> ConnectError {
    ConnectError::new(FailureCategory::Configuration, e.to_string())
}

/// One route.
#[derive(Debug)]
pub struct Route {
    /// The path prefix.
    pub path: String,
    /// Where requests go.
    pub link: Arc<Link>,
}

/// The routes, longest prefix first.
#[derive(Debug)]
pub struct Routes {
    routes: Vec<Route>,
    links: Vec<Arc<Link>>,
}

/// Why a route's profile could not be found at start: the route's index and the reason.
#[derive(Debug)]
pub struct RouteError {
    /// The route's position in the file.
    pub index: usize,
    /// What is wrong with its profile.
    pub error: MaterialError,
}

impl Routes {
    /// Resolves every route's profile and builds its first binding; routes with the same
    /// upstream, profile and settings share one link, hence one pool.
    pub fn build(config: &Config, material: &Material) -> Result<Self, Vec<RouteError>> {
        let mut links: HashMap<String, Arc<Link>> = HashMap::new();
        let mut routes = Vec::new();
        let mut errors = Vec::new();
        for (index, r) in config.routes.iter().enumerate() {
            let link = match links.get(&link_key(r)) {
                Some(link) => Arc::clone(link),
                None => match Self::link(config, r, material) {
                    Ok(link) => {
                        let link = Arc::new(link);
                        links.insert(link_key(r), Arc::clone(&link));
                        link
                    }
                    Err(error) => {
                        errors.push(RouteError { index, error });
                        continue;
                    }
                },
            };
            routes.push(Route { path: r.path.clone(), link });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
        Ok(Self { routes, links: links.into_values().collect() })
    }

    fn link(config: &Config, r: &RouteConfig, material: &Material) -> Result<Link, MaterialError> {
        let profile =
            r.tls_client_profile.as_ref().map(|p| material.resolve(p, &r.org)).transpose()?;
        let (revision, context) = match &profile {
            Some(h) => material.client_context(h).map(|(rev, ctx)| (rev, Some(ctx)))?,
            None => ("-".to_owned(), None),
        };
        let settings = Settings {
            keep_alive: r.keep_alive,
            resume: r.session_resumption,
            connect_timeout: config.connect_timeout,
            pool: config.pool,
        };
        let binding = Binding { revision, client: Ok(settings.client(&r.upstream, context)) };
        Ok(Link {
            upstream: r.upstream.clone(),
            profile,
            settings,
            current: RwLock::new(Arc::new(binding)),
        })
    }

    /// The route for `path` and the rest of the path after its prefix (empty, or starting
    /// with `/`).
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Route, &'p str)> {
        self.routes.iter().find_map(|r| rest_after(&r.path, path).map(|rest| (r, rest)))
    }

    /// Every link, for reloading.
    pub fn links(&self) -> &[Arc<Link>] {
        &self.links
    }
}

fn link_key(r: &RouteConfig) -> String {
    let profile = r.tls_client_profile.as_ref().map(ToString::to_string).unwrap_or_default();
    format!(
        "{}|{}|{}|{profile}|{}|{}|{}",
        r.upstream.scheme(),
        r.upstream.target,
        r.org,
        r.keep_alive,
        r.session_resumption,
        r.upstream.base.as_deref().unwrap_or("")
    )
}

/// What follows `prefix` in `path` when the prefix matches whole segments: `/orders` matches
/// `/orders` and `/orders/1` but not `/orders-old`; `/` matches everything.
fn rest_after<'p>(prefix: &str, path: &'p str) -> Option<&'p str> {
    let trimmed = prefix.trim_end_matches('/');
    let rest = path.strip_prefix(trimmed)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// The upstream path for `rest` (what followed the route's prefix): the base with the rest
/// after it, or the request's whole path when the upstream has no base.
pub fn upstream_path(base: Option<&str>, whole: &str, rest: &str) -> String {
    match base {
        None => whole.to_owned(),
        Some(base) if rest.is_empty() => base.to_owned(),
        Some(base) => format!("{}{rest}", base.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_segments() {
        assert_eq!(rest_after("/orders", "/orders"), Some(""));
        assert_eq!(rest_after("/orders", "/orders/1"), Some("/1"));
        assert_eq!(rest_after("/orders/", "/orders/1"), Some("/1"));
        assert_eq!(rest_after("/orders/", "/orders"), Some(""));
        assert_eq!(rest_after("/orders", "/orders-old"), None);
        assert_eq!(rest_after("/orders", "/order"), None);
        assert_eq!(rest_after("/", "/anything/at/all"), Some("/anything/at/all"));
        assert_eq!(rest_after("/", "/"), Some("/"));
    }

    #[test]
    fn the_base_replaces_the_prefix() {
        assert_eq!(upstream_path(None, "/orders/1", "/1"), "/orders/1");
        assert_eq!(upstream_path(Some("/api"), "/orders/1", "/1"), "/api/1");
        assert_eq!(upstream_path(Some("/api/"), "/orders/1", "/1"), "/api/1");
        assert_eq!(upstream_path(Some("/api"), "/orders", ""), "/api");
        assert_eq!(upstream_path(Some("/"), "/orders/1", "/1"), "/1");
        assert_eq!(upstream_path(Some("/"), "/orders", ""), "/");
    }
}
