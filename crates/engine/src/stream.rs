//! A TLS stream a listener accepted, and why an accept failed; no OpenSSL type shows.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tlsdeck_model::ProtocolVersion;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::certs;
use crate::diagnosis::ssl_reasons;
use crate::settings::{canonical_name, protocol};
use crate::verify::VerifyFailure;

/// OpenSSL's `SSL_R_*` reason codes an accept tells apart.
mod reason {
    pub const CERTIFICATE_VERIFY_FAILED: i32 = 134;
    pub const HTTPS_PROXY_REQUEST: i32 = 155;
    pub const HTTP_REQUEST: i32 = 156;
    pub const NO_SHARED_CIPHER: i32 = 193;
    pub const PEER_DID_NOT_RETURN_A_CERTIFICATE: i32 = 199;
    pub const UNSUPPORTED_PROTOCOL: i32 = 258;
    pub const UNEXPECTED_EOF_WHILE_READING: i32 = 294;
}

/// A TLS connection accepted by a [`crate::ServerContext`], read and written with tokio.
pub struct TlsStream {
    inner: tokio_openssl::SslStream<TcpStream>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.peer_addr())
            .field("protocol", &self.protocol())
            .field("cipher", &self.cipher())
            .field("peer_subject", &self.peer_subject())
            .finish()
    }
}

impl TlsStream {
    pub(crate) fn new(inner: tokio_openssl::SslStream<TcpStream>) -> Self {
        Self { inner }
    }

    /// The subject of the client certificate, when the client sent one (it was verified, or
    /// the handshake would have failed).
    pub fn peer_subject(&self) -> Option<String> {
        let cert = self.inner.ssl().peer_certificate()?;
        Some(certs::name_text(cert.subject_name()))
    }

    /// The negotiated protocol version.
    pub fn protocol(&self) -> Option<ProtocolVersion> {
        self.inner.ssl().version2().and_then(protocol)
    }

    /// The negotiated suite, by canonical name.
    pub fn cipher(&self) -> Option<String> {
        self.inner.ssl().current_cipher().map(canonical_name)
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.get_ref().peer_addr().ok()
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What kind of failure an accept met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceptErrorKind {
    /// The client did not complete the handshake in time.
    Timeout,
    /// The client closed or reset the connection during the handshake.
    Closed,
    /// A required client certificate was not sent, or a sent one failed verification.
    ClientCertificate,
    /// The handshake failed otherwise: no shared protocol or suite, or not TLS at all.
    Handshake,
    /// The connection could not be set up on this side.
    Setup,
}

/// Why a connection did not become a [`TlsStream`]: a kind and a short reason, without
/// key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct AcceptError {
    kind: AcceptErrorKind,
    reason: String,
}

impl AcceptError {
    /// What kind of failure it was.
    pub fn kind(&self) -> AcceptErrorKind {
        self.kind
    }

    /// The reason, in plain words.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn new(kind: AcceptErrorKind, reason: impl Into<String>) -> Self {
        Self { kind, reason: reason.into() }
    }

    pub(crate) fn setup(err: &openssl::error::ErrorStack) -> Self {
        let reasons: Vec<&str> = err.errors().iter().filter_map(|e| e.reason()).collect();
        let why =
            if reasons.is_empty() { "no reason given".to_owned() } else { reasons.join("; ") };
        Self::new(AcceptErrorKind::Setup, format!("tls setup failed: {why}"))
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        let reason = format!("the client did not complete the handshake within {after:?}");
        Self::new(AcceptErrorKind::Timeout, reason)
    }

    /// The failure of a handshake, from OpenSSL's reasons and the first client certificate
    /// verification failure, if any.
    pub(crate) fn handshake(err: &openssl::ssl::Error, verify: Option<VerifyFailure>) -> Self {
        let reasons = ssl_reasons(err);
        let has = |code: i32| reasons.iter().any(|(r, _)| *r == code);
        let failed = |reason: &str| Self::new(AcceptErrorKind::Handshake, reason);

        if has(reason::PEER_DID_NOT_RETURN_A_CERTIFICATE) {
            let reason = "client certificate required, but the client sent none";
            return Self::new(AcceptErrorKind::ClientCertificate, reason);
        }
        if let Some(v) = verify.filter(|_| has(reason::CERTIFICATE_VERIFY_FAILED)) {
            let reason = format!("client certificate rejected: {}", v.text());
            return Self::new(AcceptErrorKind::ClientCertificate, reason);
        }
        if has(reason::UNSUPPORTED_PROTOCOL) {
            return failed("the client offered no protocol version the profile allows");
        }
        if has(reason::NO_SHARED_CIPHER) {
            return failed("the client offered no cipher suite the profile allows");
        }
        if has(reason::HTTP_REQUEST) || has(reason::HTTPS_PROXY_REQUEST) {
            return failed("the client spoke plain HTTP, not TLS");
        }
        if let Some(io) = err.io_error() {
            return Self::new(AcceptErrorKind::Closed, format!("connection failed: {io}"));
        }
        if reasons.is_empty() || has(reason::UNEXPECTED_EOF_WHILE_READING) {
            let reason = "the client closed the connection during the handshake";
            return Self::new(AcceptErrorKind::Closed, reason);
        }
        let texts: Vec<&str> = reasons.iter().map(|(_, text)| text.as_str()).collect();
        failed(&format!("tls handshake failed: {}", texts.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_stream<T: AsyncRead + AsyncWrite + Unpin + Send + Sync>() {}

    #[test]
    fn a_stream_can_move_between_tasks() {
        assert_stream::<TlsStream>();
    }

    #[test]
    fn a_timeout_says_how_long_was_waited() {
        let e = AcceptError::timeout(Duration::from_millis(250));
        assert_eq!(e.kind(), AcceptErrorKind::Timeout);
        assert_eq!(e.to_string(), "the client did not complete the handshake within 250ms");
    }
}
