//! What a probe found: the negotiated parameters, the peer chain, and a diagnosis on failure.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tlsdeck_model::ProtocolVersion;

use crate::target::Target;

/// The outcome of one handshake attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// True when the handshake completed.
    pub ok: bool,
    /// The target as `host:port`.
    pub target: String,
    /// The socket address connected to, when a TCP connection was made.
    pub address: Option<String>,
    /// The negotiated protocol version.
    pub protocol: Option<ProtocolVersion>,
    /// The negotiated suite, by its canonical catalogue name.
    pub cipher: Option<String>,
    /// The host name sent in SNI, when one was sent.
    pub sni: Option<String>,
    /// True when the server's chain verified against the trust and matched the target.
    pub verified: bool,
    /// True when the profile accepts server certificates that fail verification.
    pub insecure: bool,
    /// The first verification failure, also when an insecure profile tolerated it.
    pub verify_error: Option<String>,
    /// The certificates the server sent, leaf first.
    pub peer_certificates: Vec<PeerCertificate>,
    /// How long the TLS handshake took, in milliseconds.
    pub handshake_ms: f64,
    /// Why the probe failed, when it did.
    pub error: Option<ProbeError>,
}

impl ProbeReport {
    /// An empty report for `target`, to be filled in as the probe goes.
    pub(crate) fn new(target: String, insecure: bool) -> Self {
        Self {
            ok: false,
            target,
            address: None,
            protocol: None,
            cipher: None,
            sni: None,
            verified: false,
            insecure,
            verify_error: None,
            peer_certificates: Vec::new(),
            handshake_ms: 0.0,
            error: None,
        }
    }

    /// A report for a probe that could not start: the profile's settings or material were
    /// refused before any connection (category `configuration`).
    pub fn not_started(target: &Target, insecure: bool, message: impl Into<String>) -> Self {
        Self::new(target.to_string(), insecure).failed(FailureCategory::Configuration, message)
    }

    /// This report, marked failed with `category` and `message`.
    pub(crate) fn failed(mut self, category: FailureCategory, message: impl Into<String>) -> Self {
        self.ok = false;
        self.error = Some(ProbeError { category, message: message.into() });
        self
    }
}

/// One certificate the server presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertificate {
    /// The subject, e.g. `CN=example.com, O=Example`.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// The start of validity, when it could be read.
    pub not_before: Option<DateTime<Utc>>,
    /// The end of validity, when it could be read.
    pub not_after: Option<DateTime<Utc>>,
}

/// Why a probe failed, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    /// The kind of failure.
    pub category: FailureCategory,
    /// What happened and what to change.
    pub message: String,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.category, self.message)
    }
}

/// The kinds of probe failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureCategory {
    /// The server and the profile share no protocol version.
    ProtocolMismatch,
    /// The server accepts none of the offered cipher suites.
    NoSharedCipher,
    /// The server's chain does not lead to a trusted certificate.
    UntrustedCertificate,
    /// A certificate of the chain is expired (or not yet valid).
    ExpiredCertificate,
    /// The server's certificate is not for the target name or IP.
    HostnameMismatch,
    /// A certificate of the chain has a key or signature too weak for the security level.
    WeakCertificate,
    /// The server refused the name sent in SNI, or needs SNI and got none.
    SniRequired,
    /// The server wants a client certificate and none was sent.
    ClientCertificateRequired,
    /// The server refused the client certificate that was sent.
    ClientCertificateRejected,
    /// No TCP connection could be made.
    ConnectionRefused,
    /// No answer in time.
    Timeout,
    /// The host name could not be resolved.
    DnsFailure,
    /// The profile or trust could not become an OpenSSL context.
    Configuration,
    /// Any other handshake failure.
    HandshakeFailed,
}

impl FailureCategory {
    /// The name used in reports, e.g. `no_shared_cipher`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProtocolMismatch => "protocol_mismatch",
            Self::NoSharedCipher => "no_shared_cipher",
            Self::UntrustedCertificate => "untrusted_certificate",
            Self::ExpiredCertificate => "expired_certificate",
            Self::HostnameMismatch => "hostname_mismatch",
            Self::WeakCertificate => "weak_certificate",
            Self::SniRequired => "sni_required",
            Self::ClientCertificateRequired => "client_certificate_required",
            Self::ClientCertificateRejected => "client_certificate_rejected",
            Self::ConnectionRefused => "connection_refused",
            Self::Timeout => "timeout",
            Self::DnsFailure => "dns_failure",
            Self::Configuration => "configuration",
            Self::HandshakeFailed => "handshake_failed",
        }
    }
}

impl fmt::Display for FailureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_match_their_serialised_form() {
        use FailureCategory::*;
        let all = [
            ProtocolMismatch,
            NoSharedCipher,
            UntrustedCertificate,
            ExpiredCertificate,
            HostnameMismatch,
            WeakCertificate,
            SniRequired,
            ClientCertificateRequired,
            ClientCertificateRejected,
            ConnectionRefused,
            Timeout,
            DnsFailure,
            Configuration,
            HandshakeFailed,
        ];
        for c in all {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn a_report_round_trips_through_json() {
        let mut r = ProbeReport::new("localhost:443".into(), false);
        r.protocol = Some(ProtocolVersion::Tls13);
        r.peer_certificates.push(PeerCertificate {
            subject: "CN=localhost".into(),
            issuer: "CN=root".into(),
            not_before: DateTime::from_timestamp(0, 0),
            not_after: DateTime::from_timestamp(86_400, 0),
        });
        let r = r.failed(FailureCategory::Timeout, "no answer");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["protocol"], "tls_v1.3");
        assert_eq!(json["error"]["category"], "timeout");
        assert_eq!(json["peer_certificates"][0]["not_after"], "1970-01-02T00:00:00Z");
        let back: ProbeReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
