//! Upstream connections: a connector that opens every one through the route's client
//! context (the probe's engine), and the pooled HTTP/1.1 client of one upstream at one
//! profile revision.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::Uri;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tlsdeck_engine::{
    ClientContext, ClientStream, ConnectError, ConnectOptions, FailureCategory, Target, connect_tcp,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tracing::debug;

use crate::config::PoolConfig;

/// Numbers upstream connections, for logs.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// The HTTP client of one upstream at one profile revision, with its own pool.
pub type UpstreamClient = Client<Connector, Incoming>;

/// How one route's upstream connections are made.
#[derive(Debug, Clone)]
pub struct Dial {
    /// Where to connect.
    pub target: Target,
    /// The client context of an `https://` upstream.
    pub context: Option<Arc<ClientContext>>,
    /// The time for the TCP connection and the TLS handshake together.
    pub connect_timeout: Duration,
    /// Offer kept sessions on new connections.
    pub resume: bool,
}

/// Builds the pooled client that dials as `dial` says.
pub fn client(dial: Dial, pool: PoolConfig, keep_alive: bool) -> UpstreamClient {
    let max_idle = if keep_alive { pool.max_idle_per_upstream } else { 0 };
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(pool.idle_timeout)
        .pool_max_idle_per_host(max_idle)
        .pool_timer(TokioTimer::new())
        // The proxy writes the Host header itself.
        .set_host(false)
        .build(Connector { dial: Arc::new(dial) })
}

/// Opens upstream connections for the HTTP client; the URI it is given is ignored, the
/// route's target is dialled.
#[derive(Debug, Clone)]
pub struct Connector {
    dial: Arc<Dial>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = UpstreamIo;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamIo, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let dial = Arc::clone(&self.dial);
        Box::pin(async move { dial.connect().await })
    }
}

impl Dial {
    async fn connect(&self) -> Result<UpstreamIo, ConnectError> {
        let started = Instant::now();
        let tcp = connect_tcp(&self.target, self.connect_timeout).await?;
        let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
        let Some(ctx) = &self.context else {
            debug!(target = %self.target, connection = id, "upstream connection made");
            let info = ConnectionInfo { id, resumed: false };
            return Ok(UpstreamIo { io: TokioIo::new(Stream::Plain(tcp)), info });
        };

        let left = self.connect_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            let message = format!("no TLS connection to {} within the timeout", self.target);
            return Err(ConnectError::new(FailureCategory::Timeout, message));
        }
        let opts = ConnectOptions { timeout: left, resume: self.resume };
        let tls = ctx.connect(tcp, &self.target, &opts).await?;
        let info = ConnectionInfo { id, resumed: tls.resumed() };
        debug!(
            target = %self.target,
            profile = ctx.profile(),
            connection = id,
            resumed = info.resumed,
            protocol = tls.protocol().map(|p| p.as_str()),
            cipher = tls.cipher(),
            "upstream tls connection made"
        );
        Ok(UpstreamIo { io: TokioIo::new(Stream::Tls(Box::new(tls))), info })
    }
}

/// What the proxy learns about the upstream connection a response came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The connection's number, for logs.
    pub id: u64,
    /// True when its TLS handshake resumed a session.
    pub resumed: bool,
}

/// An upstream connection, plain or TLS, as the HTTP client reads and writes it.
#[derive(Debug)]
pub struct UpstreamIo {
    io: TokioIo<Stream>,
    info: ConnectionInfo,
}

impl Connection for UpstreamIo {
    fn connected(&self) -> Connected {
        Connected::new().extra(self.info)
    }
}

impl hyper::rt::Read for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A plain or TLS upstream stream.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<ClientStream>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
