//! The tlsdeck gateway, the data plane: forwards HTTP requests by route to upstream URLs,
//! opening every upstream TLS connection through the route's client profile with the
//! engine the probe uses, over pooled keep-alive HTTP/1.1 connections.
//!
//! - **Routes.** The longest path prefix wins, matched segment by segment (`/orders` takes
//!   `/orders` and `/orders/1`, not `/orders-old`). An upstream URL without a path gets the
//!   request's path unchanged; one with a path (even `/`) gets that path in place of the
//!   route's prefix. Requests whose path has `.` or `..` segments are refused (400).
//! - **Headers.** `Host` is the upstream's; the client's host goes on in `X-Forwarded-Host`
//!   and `Forwarded`. The client's address is appended to `X-Forwarded-For` and `Forwarded`,
//!   `X-Forwarded-Proto` says how it came. Hop-by-hop headers (and those `Connection` names)
//!   are dropped both ways. Bodies stream through without being buffered.
//! - **Pools.** One pool per upstream, client profile and profile material revision;
//!   idle connections close after `pool.idle_timeout_ms`, at most
//!   `pool.max_idle_per_upstream` stay open. TLS sessions are resumed per profile revision
//!   and server.
//! - **Reload.** A thread follows the store's change feed; a change to a route's profile or
//!   its keystore or truststore gives new requests a new context and pool within a second,
//!   while requests in flight finish on the old one, whose connections then close.
//! - **Failures.** An upstream that cannot be reached or handshaken with gives 502 with an
//!   `application/problem+json` body holding the probe's `category` and message; an answer
//!   slower than `response_timeout_ms` gives 504; no route gives 404.

mod config;
mod listener;
mod material;
mod problem;
mod proxy;
mod reload;
mod routes;
mod upstream;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use tokio::sync::watch;
use tracing::info;

pub use config::{
    ADMIN_ORG, Config, ConfigError, PoolConfig, ProfileName, ProfileRef, RouteConfig,
    StoreLocation, Upstream,
};
pub use material::{Material, MaterialError, seal_context};

use crate::listener::ServerSlot;
use crate::proxy::Proxy;
use crate::reload::Reloader;
use crate::routes::Routes;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The configuration file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store, a profile or key material cannot be used; the text names the field.
    #[error("{0}")]
    Material(String),
    /// The listener or the runtime cannot start.
    #[error("{what}: {source}")]
    Io {
        /// What was being started.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

impl GatewayError {
    fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { what: what.into(), source }
    }
}

/// A gateway whose routes, contexts and listener profile are built, ready to start.
#[derive(Debug)]
pub struct Gateway {
    listen: SocketAddr,
    proxy: Arc<Proxy>,
    listener: Option<Arc<ServerSlot>>,
    reloader: Reloader,
}

impl Gateway {
    /// Opens the store the configuration names and builds everything (blocking).
    pub fn prepare(config: &Config) -> Result<Self, GatewayError> {
        let material = Material::open(&config.store)
            .map_err(|e| GatewayError::Material(format!("store: {e}")))?;
        Self::with_material(config, material)
    }

    /// Builds everything from an open store (blocking); every route whose profile cannot be
    /// used is named.
    pub fn with_material(config: &Config, material: Material) -> Result<Self, GatewayError> {
        let material = Arc::new(material);
        let listener = config
            .tls_server_profile
            .clone()
            .map(|name| ServerSlot::new(&material, name).map(Arc::new))
            .transpose()
            .map_err(|e| GatewayError::Material(format!("tls_server_profile: {e}")))?;
        let routes = Routes::build(config, &material).map_err(|errors| {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("routes[{}].tls_client_profile: {}", e.index, e.error))
                .collect();
            GatewayError::Material(lines.join("; "))
        })?;
        let links = routes.links().to_vec();
        let proxy = Arc::new(Proxy { routes, response_timeout: config.response_timeout });
        let reloader = Reloader { material, links, listener: listener.clone() };
        Ok(Self { listen: config.listen, proxy, listener, reloader })
    }

    /// Binds the listener and serves on a runtime of its own, following the store's change
    /// feed, until the returned handle is stopped or dropped.
    pub fn start(self) -> Result<Running, GatewayError> {
        let std_listener = std::net::TcpListener::bind(self.listen).map_err(|e| {
            GatewayError::io(format!("listen: cannot listen on {}", self.listen), e)
        })?;
        let addr = std_listener.local_addr().map_err(|e| GatewayError::io("listen", e))?;
        std_listener.set_nonblocking(true).map_err(|e| GatewayError::io("listen", e))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("gateway")
            .build()
            .map_err(|e| GatewayError::io("the runtime", e))?;

        let feed_stop = Arc::new(AtomicBool::new(false));
        let feed = self
            .reloader
            .follow(Arc::clone(&feed_stop))
            .map_err(|e| GatewayError::io("the change feed thread", e))?;
        let (stop, stopped) = watch::channel(false);
        let (proxy, tls) = (self.proxy, self.listener);
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = std::thread::Builder::new().name("gateway-main".into()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(listener) => listener::serve(listener, proxy, tls, stopped).await,
                    Err(e) => tracing::error!(error = %e, "the listener cannot be used"),
                }
            });
        });
        let server = server.map_err(|e| GatewayError::io("the server thread", e))?;
        info!(%addr, scheme, "gateway listening");
        Ok(Running { addr, scheme, stop, server: Some(server), feed_stop, feed: Some(feed) })
    }
}

/// A started gateway; dropping it stops it like [`Running::stop`].
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    scheme: &'static str,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    feed_stop: Arc<AtomicBool>,
    feed: Option<JoinHandle<()>>,
}

impl Running {
    /// The address the gateway listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting, lets open connections finish their requests (up to 10 s), and stops
    /// following the change feed.
    pub fn stop(mut self) {
        self.shut_down();
    }

    /// Waits until SIGINT or SIGTERM, then stops as [`Running::stop`] does.
    pub fn wait_for_signal(self) -> Result<(), GatewayError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GatewayError::io("the signal runtime", e))?;
        runtime.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .map_err(|e| GatewayError::io("the SIGTERM handler", e))?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            Ok::<_, GatewayError>(())
        })?;
        info!("shutting down");
        self.stop();
        Ok(())
    }

    fn shut_down(&mut self) {
        let _ = self.stop.send(true);
        self.feed_stop.store(true, Ordering::Release);
        for handle in [self.server.take(), self.feed.take()].into_iter().flatten() {
            let _ = handle.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// `tlsdeck gateway --config FILE`: reads the file, builds everything, serves until SIGINT
/// or SIGTERM, and exits with success then.
pub fn run(config_file: &Path) -> Result<ExitCode, GatewayError> {
    let config = Config::from_file(config_file)?;
    let running = Gateway::prepare(&config)?.start()?;
    println!("tlsdeck gateway listening on {}", running.url());
    running.wait_for_signal()?;
    Ok(ExitCode::SUCCESS)
}
