//! Serving the API over TLS through a stored server profile of the `admin` org.
//!
//! Each new connection checks the revisions of the profile, its keystore and its truststore and rebuilds the acceptor when it moved, so changes
//! reach new connections without a restart. The profile is followed by id, so a rename
//! does not lose it; when a change leaves it unusable, the last working acceptor serves on
//! and the problem is logged once per revision.

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
    /// The profile's id: it is followed through renames.
    id: uuid::Uuid,
    /// The acceptor in use and the material revision it was built from.
    built: Mutex<(String, Arc<ServerContext>)>,
    /// The last material revision that could not be used, so its problem is logged once.
    refused: Mutex<Option<String>>,
}

impl Acceptor {
    /// The acceptor for the profile's current revision, rebuilt when it moved; the last
    /// working one when the profile can no longer be read or built.
    fn current(&self) -> Arc<ServerContext> {
        let (revision, ctx) = {
            let built = self.built.lock().unwrap_or_else(|e| e.into_inner());
            (built.0.clone(), Arc::clone(&built.1))
        };
        let stored = match self.state.store.server_profile_by_id(self.org.id, self.id) {
            Ok(s) if s.material_revision() == revision => return ctx,
            Ok(s) => s,
            Err(e) => {
                self.refuse("unreadable", &anyhow::anyhow!("the profile cannot be read: {e}"));
                return ctx;
            }
        };
        match build(&self.state, &self.org, &stored) {
            Ok(new) => {
                let new = Arc::new(new);
                *self.built.lock().unwrap_or_else(|e| e.into_inner()) =
                    (stored.material_revision(), Arc::clone(&new));
                tracing::info!(profile = %key(&stored), revision = stored.revision,
                    "TLS server profile reloaded");
                new
            }
            Err(e) => {
                self.refuse(&stored.material_revision(), &e);
                ctx
            }
        }
    }

    fn refuse(&self, revision: &str, e: &anyhow::Error) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if refused.as_deref() != Some(revision) {
            *refused = Some(revision.to_owned());
            tracing::error!(profile_id = %self.id, error = %e,
                "the listener's TLS server profile cannot be used; serving on with its last working settings");
        }
    }
}

fn key(p: &StoredServerProfile) -> String {
    format!("{}:{}", p.profile.name, p.profile.version)
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
    serving: uuid::Uuid,
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
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
            .ok_or_else(|| anyhow::anyhow!("--tls-server-profile must be NAME:VERSION"))?;
        let stored = state.store.server_profile(org.id, name, version).map_err(|e| {
            anyhow::anyhow!("no usable server profile {name}:{version} in org {}: {e}", org.name)
        })?;
        let ctx = Arc::new(build(&state, &org, &stored)?);
        let acceptor = Arc::new(Acceptor {
            state,
            org,
            id: stored.id,
            built: Mutex::new((stored.material_revision(), ctx)),
            refused: Mutex::new(None),
        });
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(BACKLOG);
        tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(Self { local, ready, serving: stored.id })
    }

    /// The id of the server profile the listener serves through.
    pub fn serving(&self) -> uuid::Uuid {
        self.serving
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
            let Ok(ctx) = tokio::task::spawn_blocking(move || acceptor.current()).await else {
                return;
            };
            match ctx.accept(stream).await {
                Ok(tls) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Err(e) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
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
