//! The gateway's listener: plain TCP, or TLS through an `admin` server profile (the same
//! engine the management server's listener uses), serving HTTP/1.1 to the proxy until told
//! to stop, then letting the open connections finish their requests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tlsdeck_engine::ServerContext;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::config::ProfileName;
use crate::material::{Material, MaterialError};
use crate::proxy::{Client, Proxy};

/// How long a client may take to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long open connections get to finish after the gateway is told to stop.
const DRAIN: Duration = Duration::from_secs(10);

/// The listener's server profile and the acceptor built from its current revision; the last
/// working acceptor serves on when a change makes the profile unusable.
#[derive(Debug)]
pub struct ServerSlot {
    name: ProfileName,
    current: RwLock<(String, Arc<ServerContext>)>,
    /// The last revision that could not be used, so its problem is logged once.
    refused: Mutex<Option<String>>,
}

impl ServerSlot {
    /// The acceptor of the `admin` server profile `name`.
    pub fn new(material: &Material, name: ProfileName) -> Result<Self, MaterialError> {
        let (revision, ctx) = material.server_context(&name)?;
        Ok(Self {
            name,
            current: RwLock::new((revision, Arc::new(ctx))),
            refused: Mutex::new(None),
        })
    }

    fn current(&self) -> Arc<ServerContext> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner).1)
    }

    /// Rebuilds the acceptor when the profile's material revision moved.
    pub fn refresh(&self, material: &Material) {
        let revision = self.current.read().unwrap_or_else(PoisonError::into_inner).0.clone();
        let built = match material.server_revision(&self.name) {
            Ok(now) if now == revision => return,
            Ok(_) => material.server_context(&self.name),
            Err(e) => Err(e),
        };
        match built {
            Ok((revision, ctx)) => {
                info!(profile = %self.name, %revision, "TLS server profile reloaded");
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    (revision, Arc::new(ctx));
            }
            Err(e) => {
                let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
                if refused.as_deref() != Some(&e.to_string()) {
                    error!(profile = %self.name, error = %e,
                        "the listener's TLS server profile cannot be used; \
                         serving on with its last working settings");
                    *refused = Some(e.to_string());
                }
            }
        }
    }
}

/// Accepts connections on `listener` until `stop` turns true, then gives the open ones
/// [`DRAIN`] to finish.
pub async fn serve(
    listener: TcpListener,
    proxy: Arc<Proxy>,
    tls: Option<Arc<ServerSlot>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let for_connections = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    while connections.try_join_next().is_some() {}
                    let (proxy, tls) = (Arc::clone(&proxy), tls.clone());
                    let stop = for_connections.clone();
                    connections.spawn(connection(tcp, peer, proxy, tls, stop));
                }
                Err(e) => {
                    warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
    }
    drop(listener);
    let open = connections.len();
    debug!(open, "listener closed; letting open connections finish");
    let drained =
        tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} });
    if drained.await.is_err() {
        warn!(open = connections.len(), "connections still open after the drain time are closed");
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    proxy: Arc<Proxy>,
    tls: Option<Arc<ServerSlot>>,
    stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let Some(slot) = tls else {
        return http(TokioIo::new(tcp), Client { addr: peer, tls: false }, proxy, stop).await;
    };
    match slot.current().accept(tcp).await {
        Ok(stream) => {
            http(TokioIo::new(stream), Client { addr: peer, tls: true }, proxy, stop).await
        }
        Err(e) => debug!(%peer, error = %e, "tls handshake with a client failed"),
    }
}

async fn http<I>(io: I, from: Client, proxy: Arc<Proxy>, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let proxy = Arc::clone(&proxy);
        async move { Ok::<_, Infallible>(proxy.handle(req, from).await) }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    debug!(peer = %from.addr, error = %e, "client connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stopped| *stopped), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
