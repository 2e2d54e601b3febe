//! Serving the API over TLS through a stored server profile of the `admin` org.
//!
//! Each new connection checks the profile's revision (which moves when the profile, its
//! keystore or its truststore changes) and rebuilds the acceptor when it moved, so changes
//! reach new connections without a restart.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tlsdeck_engine::{ServerContext, TlsStream};
use tlsdeck_store::{Org, StoredServerProfile};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::AppState;
use crate::apply::{identity, trust};

/// How many finished handshakes may wait for the HTTP server to take them.
const BACKLOG: usize = 256;

/// The listener's server profile, and its acceptor at the revision it was built from.
struct Acceptor {
    state: AppState,
    org: Org,
    name: String,
    version: String,
    built: Mutex<Option<(i64, Arc<ServerContext>)>>,
}

impl Acceptor {
    /// The acceptor for the profile's current revision, rebuilt when it moved.
    fn current(&self) -> anyhow::Result<Arc<ServerContext>> {
        let stored = self.state.store.server_profile(self.org.id, &self.name, &self.version)?;
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((revision, ctx)) = built.as_ref()
            && *revision == stored.revision
        {
            return Ok(Arc::clone(ctx));
        }
        let ctx = Arc::new(build(&self.state, &self.org, &stored)?);
        if built.is_some() {
            tracing::info!(profile = %format!("{}:{}", self.name, self.version),
                revision = stored.revision, "TLS server profile reloaded");
        }
        *built = Some((stored.revision, Arc::clone(&ctx)));
        Ok(ctx)
    }
}

fn build(state: &AppState, org: &Org, p: &StoredServerProfile) -> anyhow::Result<ServerContext> {
    let identity = identity(state, org, p.keystore.as_ref())?
        .ok_or_else(|| anyhow::anyhow!("the server profile has no keystore"))?;
    let trust = trust(state.store.as_ref(), p.truststore.as_ref())?;
    Ok(ServerContext::build(&p.profile, &identity, &trust)?)
}

/// A listener that hands the HTTP server connections whose TLS handshake completed.
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp` through the `admin` org's server profile `NAME:VERSION`;
    /// fails at once when the profile cannot become an acceptor.
    pub fn start(
        tcp: TcpListener,
        state: AppState,
        org: Org,
        profile: &str,
    ) -> anyhow::Result<Self> {
        let (name, version) = profile
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--tls-server-profile must be NAME:VERSION"))?;
        let acceptor = Arc::new(Acceptor {
            state,
            org,
            name: name.to_owned(),
            version: version.to_owned(),
            built: Mutex::new(None),
        });
        acceptor.current()?;
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(BACKLOG);
        tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(Self { local, ready })
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: Arc<Acceptor>,
    tx: mpsc::Sender<(TlsStream, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let (acceptor, tx) = (Arc::clone(&acceptor), tx.clone());
        tokio::spawn(async move {
            let ctx = match tokio::task::spawn_blocking(move || acceptor.current()).await {
                Ok(Ok(ctx)) => ctx,
                Ok(Err(e)) => {
                    return tracing::error!(error = %e, "the TLS server profile cannot be used");
                }
                Err(_) => return,
            };
            match ctx.accept(stream).await {
                Ok(tls) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(pair) => pair,
            // The accept loop never ends while this listener lives; wait forever if it did.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
