//! TLS session resumption for the connections of one client context: the sessions a server
//! handed out, kept per server, and offered again on the next connection to that server.
//!
//! Each context has its own store, filled only by its own new-session callback, so a session
//! is only ever offered through the context that made it (as OpenSSL requires), and a new
//! profile revision, being a new context, starts without sessions.
//!
//! OpenSSL marks a session unusable when a connection that holds it is freed without having
//! sent its close_notify; a [`crate::ClientStream`] therefore ends its TLS session when it is
//! dropped, unless the connection failed at the TLS layer, which makes its server's sessions
//! forgotten instead. (Keeping DER copies would avoid that, but decoding one costs more CPU
//! than the resumption saves.)

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContextBuilder, SslRef, SslSession, SslSessionCacheMode, SslVersion};
use tracing::debug;

/// How many servers a context keeps sessions for; the oldest server is forgotten first.
const MAX_SERVERS: usize = 256;
/// How many sessions a context keeps per server: a TLS 1.3 server hands out tickets after
/// every handshake (OpenSSL: two after a full one, one after a resumption), and each is
/// offered once while others remain, so as many connections as are opened at once resume.
const PER_SERVER: usize = 32;

/// Which server a connection's sessions belong to: its SNI, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ServerKey(String);

impl ServerKey {
    pub(crate) fn new(sni: Option<&str>, host: &str, port: u16) -> Self {
        Self(format!("{}|{host}|{port}", sni.unwrap_or("")))
    }
}

/// The sessions of one context, per server, newest last.
#[derive(Default)]
pub(crate) struct Sessions {
    servers: Mutex<Servers>,
}

#[derive(Default)]
struct Servers {
    by_key: HashMap<ServerKey, VecDeque<Kept>>,
    /// The keys in the order first seen, to forget the oldest server first.
    order: VecDeque<ServerKey>,
}

/// One session, and whether it is a TLS 1.3 ticket.
struct Kept {
    session: SslSession,
    tls13: bool,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions").field("servers", &self.lock().by_key.len()).finish()
    }
}

/// The slot on each connection that names the server its new sessions belong to; set only
/// on connections that resume, so probes never keep a session.
fn key_slot() -> Option<Index<Ssl, ServerKey>> {
    static SLOT: OnceLock<Option<Index<Ssl, ServerKey>>> = OnceLock::new();
    *SLOT.get_or_init(|| Ssl::new_ex_index().ok())
}

impl Sessions {
    /// Makes `builder` hand every new session of a resuming connection to the returned store.
    pub(crate) fn install(builder: &mut SslContextBuilder) -> Arc<Self> {
        let sessions = Arc::new(Self::default());
        let sink = Arc::clone(&sessions);
        // Clients look sessions up themselves: OpenSSL's own cache would only hold them twice.
        builder
            .set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
        builder.set_new_session_callback(move |ssl, session| sink.keep(ssl, session));
        sessions
    }

    /// Prepares `ssl` to resume with `server`: offers its newest session, if any, and keeps
    /// the sessions the server hands out on this connection. True when one was offered.
    pub(crate) fn offer(&self, ssl: &mut SslRef, server: ServerKey) -> bool {
        let Some(slot) = key_slot() else {
            return false;
        };
        let session = self.take(&server);
        ssl.set_ex_data(slot, server);
        let Some(session) = session else {
            return false;
        };
        // SAFETY: `set_session` requires a session of the same SSL_CTX as `ssl`. This store
        // belongs to one context and is filled only by that context's new-session callback
        // (`install`), and `ssl` was made from that context (see `ClientContext::connect`).
        #[allow(unsafe_code, reason = "resumption has no safe call in the openssl crate")]
        let set = unsafe { ssl.set_session(&session) };
        set.is_ok()
    }

    /// Forgets the sessions of `server`, e.g. after a connection to it failed at the TLS layer.
    pub(crate) fn forget(&self, server: &ServerKey) {
        if let Some(kept) = self.lock().by_key.get_mut(server) {
            kept.clear();
        }
    }

    /// The newest session for `server`. A TLS 1.3 ticket is taken out while others remain
    /// (offered once, as RFC 8446 advises); the last one is shared rather than left to a full
    /// handshake. Older versions' sessions are always shared.
    fn take(&self, server: &ServerKey) -> Option<SslSession> {
        let mut servers = self.lock();
        let kept = servers.by_key.get_mut(server)?;
        if kept.back()?.tls13 && kept.len() > 1 {
            kept.pop_back().map(|k| k.session)
        } else {
            kept.back().map(|k| k.session.clone())
        }
    }

    fn keep(&self, ssl: &SslRef, session: SslSession) {
        let Some(server) = key_slot().and_then(|slot| ssl.ex_data(slot)) else {
            return;
        };
        let tls13 = session.protocol_version() == SslVersion::TLS1_3;
        let mut servers = self.lock();
        if !servers.by_key.contains_key(server) {
            if servers.order.len() >= MAX_SERVERS
                && let Some(oldest) = servers.order.pop_front()
            {
                servers.by_key.remove(&oldest);
            }
            servers.order.push_back(server.clone());
        }
        let kept = servers.by_key.entry(server.clone()).or_default();
        if kept.len() >= PER_SERVER {
            kept.pop_front();
        }
        kept.push_back(Kept { session, tls13 });
        debug!(sessions = kept.len(), "tls session kept for resumption");
    }

    /// The servers; a panic elsewhere never leaves them half-updated, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Servers> {
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys_tell_sni_host_and_port_apart() {
        let a = ServerKey::new(Some("a.test"), "localhost", 443);
        assert_ne!(a, ServerKey::new(None, "localhost", 443));
        assert_ne!(a, ServerKey::new(Some("a.test"), "localhost", 444));
        assert_eq!(a, ServerKey::new(Some("a.test"), "localhost", 443));
    }

    #[test]
    fn an_empty_store_offers_nothing() {
        let sessions = Sessions::default();
        assert!(sessions.take(&ServerKey::new(None, "localhost", 1)).is_none());
    }

    /// A minimal TLS 1.2 session made from DER, its session id being `[n]`.
    fn session(n: u8) -> SslSession {
        let mut fields = vec![0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x02, 0xc0, 0x2b];
        fields.extend([0x04, 0x01, n, 0x04, 0x20]);
        fields.extend([0u8; 32]);
        let mut der = vec![0x30, u8::try_from(fields.len()).expect("short")];
        der.extend(fields);
        SslSession::from_der(&der).expect("a session")
    }

    fn store_with(server: &ServerKey, tls13: bool, ids: &[u8]) -> Sessions {
        let sessions = Sessions::default();
        let kept = ids.iter().map(|n| Kept { session: session(*n), tls13 }).collect();
        sessions.lock().by_key.insert(server.clone(), kept);
        sessions
    }

    fn ids(offered: &[SslSession]) -> Vec<u8> {
        offered.iter().map(|s| s.id()[0]).collect()
    }

    #[test]
    fn tls13_tickets_are_offered_once_while_others_remain() {
        let server = ServerKey::new(Some("localhost"), "localhost", 443);
        let sessions = store_with(&server, true, &[1, 2, 3]);
        let offered: Vec<_> = (0..5).filter_map(|_| sessions.take(&server)).collect();
        assert_eq!(ids(&offered), [3, 2, 1, 1, 1]);
    }

    #[test]
    fn older_sessions_are_shared() {
        let server = ServerKey::new(None, "127.0.0.1", 443);
        let sessions = store_with(&server, false, &[1, 2]);
        let offered: Vec<_> = (0..2).filter_map(|_| sessions.take(&server)).collect();
        assert_eq!(ids(&offered), [2, 2]);
    }
}
