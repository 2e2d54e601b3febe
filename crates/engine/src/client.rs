//! Client connections for long-lived users such as the gateway: the handshake through a
//! compiled context on a tokio TCP stream, with session resumption, and every failure
//! explained with the probe's categories and words.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use openssl::x509::X509VerifyResult;
use tlsdeck_model::ProtocolVersion;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tracing::debug;

use crate::connect::connect_async;
use crate::context::{ClientContext, evidence};
use crate::diagnosis::{Evidence, OwnedAttempt, diagnose, is_alert};
use crate::report::FailureCategory;
use crate::session::{ServerKey, Sessions};
use crate::settings::{canonical_name, protocol};
use crate::target::Target;
use crate::verify::VerifyCapture;

/// OpenSSL's reason for a peer that closed the connection without a close_notify: no sign of
/// tampering, so the server's sessions are kept.
const UNEXPECTED_EOF_WHILE_READING: i32 = 294;

/// How a client connection is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The time the TLS handshake may take.
    pub timeout: Duration,
    /// Offer a session kept from an earlier connection to the same server through the same
    /// context, and keep the sessions this connection is given.
    pub resume: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10), resume: true }
    }
}

/// Why a connection could not be made, or failed before its first byte arrived: the probe's
/// category and a plain message that says what to change. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{category}: {message}")]
pub struct ConnectError {
    category: FailureCategory,
    message: String,
}

impl ConnectError {
    /// A failure of `category`, explained by `message`.
    pub fn new(category: FailureCategory, message: impl Into<String>) -> Self {
        Self { category, message: message.into() }
    }

    /// The kind of failure, as the probe names it.
    pub fn category(&self) -> FailureCategory {
        self.category
    }

    /// What happened and what to change.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The connect error somewhere in the causes of `err`, also inside an `io::Error` (which
    /// is how a [`ClientStream`] reports an alert that arrives after the handshake).
    pub fn find<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Self> {
        let mut next = Some(err);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<Self>() {
                return Some(found);
            }
            let inner = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref);
            if let Some(found) = inner.and_then(|i| i.downcast_ref::<Self>()) {
                return Some(found);
            }
            next = e.source();
        }
        None
    }
}

/// Resolves `target` and opens a TCP connection to the first of its addresses that answers
/// within `timeout`; failures carry the probe's categories (`connection_refused`, `timeout`,
/// `dns_failure`).
pub async fn connect_tcp(target: &Target, timeout: Duration) -> Result<TcpStream, ConnectError> {
    let deadline = Instant::now() + timeout;
    match connect_async(target, deadline).await {
        Ok((stream, _)) => Ok(stream),
        Err((category, message)) => Err(ConnectError::new(category, message)),
    }
}

impl ClientContext {
    /// Runs the client side of the handshake with `target` on `tcp`, through exactly this
    /// context: the profile's versions and suites, SNI for host names, verification of the
    /// server's chain and name (unless the profile is insecure), and the client certificate.
    ///
    /// With `opts.resume`, a session this context kept for the same server is offered, and
    /// the ones the server hands out are kept. A failure has the category and message the
    /// probe would give. Needs a tokio runtime with the time driver enabled.
    pub async fn connect(
        &self,
        tcp: TcpStream,
        target: &Target,
        opts: &ConnectOptions,
    ) -> Result<ClientStream, ConnectError> {
        let configuration =
            |e: &dyn fmt::Display| ConnectError::new(FailureCategory::Configuration, e.to_string());
        let capture = VerifyCapture::default();
        let mut ssl = self.new_ssl(target, &capture).map_err(|e| configuration(&e))?;
        let resumption = opts.resume.then(|| {
            let server = ServerKey::new(self.sni_name(target), &target.host, target.port);
            self.sessions.offer(&mut ssl, server.clone());
            (Arc::clone(&self.sessions), server)
        });
        let mut stream = tokio_openssl::SslStream::new(ssl, tcp).map_err(|e| configuration(&e))?;

        let shown = target.to_string();
        let attempt = self.attempt(target, &shown, opts.timeout);
        let handshake = Pin::new(&mut stream).connect();
        let (category, message) = match tokio::time::timeout(opts.timeout, handshake).await {
            Ok(Ok(())) => {
                self.connected(&stream, &capture, &shown);
                let late = Some(Box::new(OwnedAttempt::new(&attempt)));
                return Ok(ClientStream { inner: stream, late, resumption, failed: false });
            }
            Ok(Err(e)) => {
                if let Some((sessions, server)) = &resumption {
                    sessions.forget(server);
                }
                self.diagnose_handshake(&e, stream.ssl(), capture.first(), &attempt)
            }
            Err(_) => {
                let silent = (io::ErrorKind::TimedOut, "no answer".to_owned());
                diagnose(&Evidence { io: Some(silent), ..Evidence::default() }, &attempt)
            }
        };
        debug!(profile = %self.profile(), target = %shown, error = category.as_str(),
            "tls connection failed");
        Err(ConnectError::new(category, message))
    }

    fn connected(
        &self,
        stream: &tokio_openssl::SslStream<TcpStream>,
        capture: &VerifyCapture,
        shown: &str,
    ) {
        let ssl = stream.ssl();
        if self.insecure() {
            let verify_error = capture.first().map(|f| f.text()).or_else(|| {
                let result = ssl.verify_result();
                (result != X509VerifyResult::OK).then(|| result.error_string().to_owned())
            });
            self.warn_insecure(shown, verify_error.as_deref());
        }
        debug!(
            profile = %self.profile(),
            target = shown,
            resumed = ssl.session_reused(),
            protocol = ssl.version_str(),
            "tls connection made"
        );
    }
}

/// A TLS connection made through a [`ClientContext`], read and written with tokio.
///
/// An alert that ends the connection before its first byte arrives (as TLS 1.3 servers
/// refuse a client certificate only after the client finished its handshake) is reported as
/// an `io::Error` holding the diagnosed [`ConnectError`]; find it with [`ConnectError::find`].
pub struct ClientStream {
    inner: tokio_openssl::SslStream<TcpStream>,
    /// What the handshake tried, until the first byte arrives.
    late: Option<Box<OwnedAttempt>>,
    /// Where this connection's sessions are kept, when it resumes.
    resumption: Option<(Arc<Sessions>, ServerKey)>,
    /// True once a read or write failed at the TLS layer.
    failed: bool,
}

impl fmt::Debug for ClientStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStream")
            .field("peer", &self.peer_addr())
            .field("protocol", &self.protocol())
            .field("cipher", &self.cipher())
            .field("resumed", &self.resumed())
            .finish()
    }
}

impl ClientStream {
    /// True when the handshake resumed an earlier session instead of a full handshake.
    pub fn resumed(&self) -> bool {
        self.inner.ssl().session_reused()
    }

    /// The negotiated protocol version.
    pub fn protocol(&self) -> Option<ProtocolVersion> {
        self.inner.ssl().version2().and_then(protocol)
    }

    /// The negotiated suite, by canonical name.
    pub fn cipher(&self) -> Option<String> {
        self.inner.ssl().current_cipher().map(canonical_name)
    }

    /// The server's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.get_ref().peer_addr().ok()
    }

    /// A read or write error, explained when it is an alert that ended the connection before
    /// any data arrived. A failure at the TLS layer makes the server's sessions forgotten.
    fn explain(&mut self, err: io::Error) -> io::Error {
        let Some(ssl_error) = err.get_ref().and_then(|e| e.downcast_ref::<openssl::ssl::Error>())
        else {
            return err;
        };
        let ev = evidence(ssl_error, self.inner.ssl());
        let truncated = ev.reasons.iter().all(|(r, _)| *r == UNEXPECTED_EOF_WHILE_READING);
        if !truncated {
            self.failed = true;
            if let Some((sessions, server)) = &self.resumption {
                sessions.forget(server);
            }
        }
        let Some(attempt) = self.late.take() else {
            return err;
        };
        if !ev.reasons.iter().any(|(r, _)| is_alert(*r)) {
            return err;
        }
        let (category, message) = diagnose(&ev, &attempt.borrow());
        io::Error::new(io::ErrorKind::ConnectionAborted, ConnectError::new(category, message))
    }
}

impl Drop for ClientStream {
    /// Ends the TLS session (sending close_notify if the socket takes it at once), unless the
    /// connection failed: OpenSSL keeps the sessions of a connection freed without it from
    /// being resumed, and a pooled connection is often dropped without a shutdown.
    fn drop(&mut self) {
        if !self.failed {
            let mut cx = Context::from_waker(Waker::noop());
            let _ = Pin::new(&mut self.inner).poll_shutdown(&mut cx);
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.late = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.explain(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(this.explain(e))),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_stream<T: AsyncRead + AsyncWrite + Unpin + Send + Sync>() {}

    #[test]
    fn a_stream_can_move_between_tasks() {
        assert_stream::<ClientStream>();
    }

    #[test]
    fn a_connect_error_is_found_inside_io_errors_and_causes() {
        let err = ConnectError::new(FailureCategory::ClientCertificateRequired, "send one");
        let io = io::Error::new(io::ErrorKind::ConnectionAborted, err.clone());

        #[derive(Debug, thiserror::Error)]
        #[error("request failed")]
        struct Outer(#[source] io::Error);

        let outer = Outer(io);
        assert_eq!(ConnectError::find(&outer), Some(&err));
        assert_eq!(ConnectError::find(&err), Some(&err));
        let plain = io::Error::other("no");
        assert_eq!(ConnectError::find(&plain), None);
    }

    #[test]
    fn a_connect_error_reads_as_category_and_message() {
        let err = ConnectError::new(FailureCategory::Timeout, "no answer");
        assert_eq!(err.to_string(), "timeout: no answer");
        assert_eq!(err.category(), FailureCategory::Timeout);
        assert_eq!(err.message(), "no answer");
    }
}
