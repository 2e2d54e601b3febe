//! Failed log-ins slow down later attempts, per user and per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The delay after the first failure; it doubles with each further one.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(4);
/// The most keys remembered, so a flood of made-up names cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// Recent failed log-ins by user and by address.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// How long to hold back an answer to this attempt: by the worse of the user's and
    /// the address's recent failures.
    pub fn delay(&self, keys: &[String]) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let worst = keys
            .iter()
            .filter_map(|k| map.get(k))
            .filter(|(_, at)| at.elapsed() < WINDOW)
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        if worst == 0 {
            return Duration::ZERO;
        }
        (FIRST_DELAY * 2u32.pow(worst.min(8) - 1)).min(MAX_DELAY)
    }

    /// Counts a failure against each key.
    pub fn failed(&self, keys: &[String]) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, at)| at.elapsed() < WINDOW);
        }
        for k in keys {
            let entry = map.entry(k.clone()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= WINDOW {
                entry.0 = 0;
            }
            *entry = (entry.0.saturating_add(1), Instant::now());
        }
    }

    /// Forgets the user's failures after a successful log-in.
    pub fn succeeded(&self, user_key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(user_key);
    }
}

/// The address a connection came from, as the server's listeners report it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// The client's address, when the server knows it.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts.extensions.get::<ConnectInfo<ClientAddr>>().map(|c| c.0.0.ip());
        Ok(Self(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_the_delay_with_each_failure_up_to_a_limit() {
        let t = Throttle::default();
        let keys = ["user:a".to_owned(), "addr:1".to_owned()];
        assert_eq!(t.delay(&keys), Duration::ZERO);
        t.failed(&keys);
        assert_eq!(t.delay(&keys), FIRST_DELAY);
        t.failed(&keys);
        assert_eq!(t.delay(&keys[..1]), FIRST_DELAY * 2);
        for _ in 0..10 {
            t.failed(&keys[1..]);
        }
        assert_eq!(t.delay(&keys), MAX_DELAY, "the address's failures count for every user");
        t.succeeded("user:a");
        assert_eq!(t.delay(&keys[..1]), Duration::ZERO);
    }
}
