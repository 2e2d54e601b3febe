//! Explains a failed handshake: a category and a message that says what to change.
//!
//! Works on plain data taken from OpenSSL (reason codes, alert numbers, the first verify
//! failure), so every rule can be tested without a socket.

use std::io;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tlsdeck_model::ProtocolVersion;

use crate::identity::Presented;
use crate::report::FailureCategory as Cat;
use crate::verify::{VerifyFailure, VerifyKind};

/// OpenSSL's `SSL_R_*` reason codes the diagnosis tells apart.
mod reason {
    pub const NO_SUITABLE_KEY_SHARE: i32 = 101;
    pub const CERTIFICATE_VERIFY_FAILED: i32 = 134;
    pub const VERSION_TOO_HIGH: i32 = 166;
    pub const NO_CIPHERS_AVAILABLE: i32 = 181;
    pub const NO_PROTOCOLS_AVAILABLE: i32 = 191;
    pub const UNSUPPORTED_PROTOCOL: i32 = 258;
    pub const UNSUPPORTED_SSL_VERSION: i32 = 259;
    pub const WRONG_CIPHER_RETURNED: i32 = 261;
    pub const WRONG_SSL_VERSION: i32 = 266;
    pub const WRONG_VERSION_NUMBER: i32 = 267;
    pub const UNEXPECTED_EOF_WHILE_READING: i32 = 294;
    pub const DH_KEY_TOO_SMALL: i32 = 394;
    pub const VERSION_TOO_LOW: i32 = 396;
    /// Reason codes of received alerts are this plus the alert number.
    pub const ALERT_OFFSET: i32 = 1000;
}

/// TLS alert numbers (RFC 8446 §6) the diagnosis tells apart.
mod alert {
    pub const HANDSHAKE_FAILURE: i32 = 40;
    pub const BAD_CERTIFICATE: i32 = 42;
    pub const UNSUPPORTED_CERTIFICATE: i32 = 43;
    pub const CERTIFICATE_REVOKED: i32 = 44;
    pub const CERTIFICATE_EXPIRED: i32 = 45;
    pub const CERTIFICATE_UNKNOWN: i32 = 46;
    pub const UNKNOWN_CA: i32 = 48;
    pub const ACCESS_DENIED: i32 = 49;
    pub const DECRYPT_ERROR: i32 = 51;
    pub const PROTOCOL_VERSION: i32 = 70;
    pub const INSUFFICIENT_SECURITY: i32 = 71;
    pub const INTERNAL_ERROR: i32 = 80;
    pub const UNRECOGNIZED_NAME: i32 = 112;
    pub const CERTIFICATE_REQUIRED: i32 = 116;
}

/// OpenSSL's library number for its SSL routines (`ERR_LIB_SSL`).
const LIB_SSL: i32 = 20;

/// `(reason code, reason text)` of each SSL-library error of `err`, in the order raised.
pub(crate) fn ssl_reasons(err: &openssl::ssl::Error) -> Vec<(i32, String)> {
    let Some(stack) = err.ssl_error() else {
        return Vec::new();
    };
    let ssl_lib = stack.errors().iter().filter(|e| e.library_code() == LIB_SSL);
    ssl_lib.map(|e| (e.reason_code(), e.reason().unwrap_or("unknown").to_owned())).collect()
}

/// What OpenSSL and the socket said about a failed handshake.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    /// `(reason code, reason text)` of each SSL-library error, in the order raised.
    pub reasons: Vec<(i32, String)>,
    /// The socket error, if the socket failed.
    pub io: Option<(io::ErrorKind, String)>,
    /// True once the server's hello arrived.
    pub server_hello_seen: bool,
    /// The first verification failure, if verification failed the handshake.
    pub verify: Option<VerifyFailure>,
}

/// What the probe tried, for the messages.
#[derive(Debug, Clone)]
pub(crate) struct Attempt<'a> {
    /// The target host, as the user wrote it.
    pub host: &'a str,
    /// The `host:port` shown to the user.
    pub target: &'a str,
    /// The SNI sent, if any.
    pub sni: Option<&'a str>,
    /// The versions the profile allows.
    pub protocols: &'a [ProtocolVersion],
    /// How many suites the handshake offered.
    pub suites_offered: usize,
    /// The probe's timeout.
    pub timeout: Duration,
    /// The client certificate the context presents, if any.
    pub identity: Option<&'a Presented>,
}

/// What a connection tried, owned, for diagnosing an alert that arrives after the handshake.
#[derive(Debug, Clone)]
pub(crate) struct OwnedAttempt {
    pub host: String,
    pub target: String,
    pub sni: Option<String>,
    pub protocols: Vec<ProtocolVersion>,
    pub suites_offered: usize,
    pub timeout: Duration,
    pub identity: Option<Presented>,
}

impl OwnedAttempt {
    pub(crate) fn new(at: &Attempt<'_>) -> Self {
        Self {
            host: at.host.to_owned(),
            target: at.target.to_owned(),
            sni: at.sni.map(str::to_owned),
            protocols: at.protocols.to_vec(),
            suites_offered: at.suites_offered,
            timeout: at.timeout,
            identity: at.identity.cloned(),
        }
    }

    pub(crate) fn borrow(&self) -> Attempt<'_> {
        Attempt {
            host: &self.host,
            target: &self.target,
            sni: self.sni.as_deref(),
            protocols: &self.protocols,
            suites_offered: self.suites_offered,
            timeout: self.timeout,
            identity: self.identity.as_ref(),
        }
    }
}

/// The category and message for a failed handshake.
pub(crate) fn diagnose(ev: &Evidence, at: &Attempt<'_>) -> (Cat, String) {
    if let Some(v) = &ev.verify {
        return certificate(v, at);
    }
    if let Some(a) = ev.reasons.iter().find_map(|(r, _)| received_alert(*r)) {
        return alert_received(a, ev, at);
    }
    if let Some(found) = ev.reasons.iter().find_map(|(r, text)| local_reason(*r, text, at)) {
        return found;
    }
    if let Some((kind, text)) = &ev.io {
        return socket(*kind, text, at);
    }
    fallback(ev)
}

/// True when an OpenSSL reason code stands for an alert received from the peer.
pub(crate) fn is_alert(reason: i32) -> bool {
    received_alert(reason).is_some()
}

fn received_alert(reason: i32) -> Option<i32> {
    let n = reason - reason::ALERT_OFFSET;
    (0..=255).contains(&n).then_some(n)
}

fn certificate(v: &VerifyFailure, at: &Attempt<'_>) -> (Cat, String) {
    let which = format!("the certificate '{}' at depth {}", v.subject, v.depth);
    match v.kind() {
        VerifyKind::Expired => (
            Cat::ExpiredCertificate,
            format!("{which} expired on {}; the server must renew it", time(v.not_after)),
        ),
        VerifyKind::NotYetValid => (
            Cat::ExpiredCertificate,
            format!(
                "{which} is not valid before {}; check the server's certificate and this \
                 machine's clock",
                time(v.not_before)
            ),
        ),
        VerifyKind::NameMismatch => (Cat::HostnameMismatch, name_mismatch(v, at)),
        VerifyKind::TooWeak => (
            Cat::WeakCertificate,
            format!(
                "{which} is refused at this profile's OpenSSL security level: {}; the server \
                 needs a stronger certificate (RSA keys of at least 2048 bits, SHA-256 \
                 signatures); trusting its CA would not help",
                v.reason
            ),
        ),
        VerifyKind::Untrusted => (
            Cat::UntrustedCertificate,
            format!(
                "{which} is not trusted: {}; add the CA that issued it to the profile's truststore \
                 (or, for testing only, turn on insecure_server_connections)",
                v.reason
            ),
        ),
    }
}

fn name_mismatch(v: &VerifyFailure, at: &Attempt<'_>) -> String {
    let presented = if v.names.is_empty() {
        "no name at all".to_owned()
    } else {
        v.names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
    };
    let sni = match at.sni {
        Some(name) => format!("SNI '{name}' was sent"),
        None => "no SNI was sent, so the server may have shown its default certificate".to_owned(),
    };
    format!(
        "the server's certificate is for {presented}, not '{}' ({sni}); connect with a name the \
         certificate holds, or give the server a certificate for '{}'",
        at.host, at.host
    )
}

fn alert_received(a: i32, ev: &Evidence, at: &Attempt<'_>) -> (Cat, String) {
    let before_hello = !ev.server_hello_seen;
    if let Some(ours) = at.identity
        && refuses_client_certificate(a, before_hello)
    {
        return (Cat::ClientCertificateRejected, client_certificate_rejected(a, ours));
    }
    let legacy_only = at.protocols.iter().all(|v| v.is_legacy());
    match a {
        alert::PROTOCOL_VERSION => (Cat::ProtocolMismatch, no_shared_version(at)),
        alert::INTERNAL_ERROR if before_hello && legacy_only => (
            Cat::ProtocolMismatch,
            format!(
                "the server failed the handshake (internal_error alert) when offered only {}; \
                 servers on OpenSSL 3 refuse TLS 1.0 and 1.1 at their default security level, \
                 so allow tls_v1.2 in the profile if the server supports it",
                versions(at.protocols)
            ),
        ),
        alert::HANDSHAKE_FAILURE | alert::INSUFFICIENT_SECURITY if before_hello => (
            Cat::NoSharedCipher,
            format!(
                "the server accepts none of the {} cipher suites this profile offers ({} alert \
                 before its hello); add a suite the server supports to the profile's ciphers",
                at.suites_offered,
                alert_name(a)
            ),
        ),
        alert::HANDSHAKE_FAILURE => (
            Cat::ClientCertificateRequired,
            "the server ended the handshake after its hello with a handshake_failure alert, which \
             is how TLS 1.2 servers refuse a missing or unacceptable client certificate; set a \
             keystore on the profile that the server accepts"
                .to_owned(),
        ),
        alert::UNRECOGNIZED_NAME => (Cat::SniRequired, unrecognized_name(at)),
        alert::CERTIFICATE_REQUIRED => (
            Cat::ClientCertificateRequired,
            "the server requires a client certificate and none was sent (certificate_required \
             alert); set a keystore on the profile"
                .to_owned(),
        ),
        alert::BAD_CERTIFICATE
        | alert::UNSUPPORTED_CERTIFICATE
        | alert::CERTIFICATE_REVOKED
        | alert::CERTIFICATE_EXPIRED
        | alert::CERTIFICATE_UNKNOWN
        | alert::UNKNOWN_CA
        | alert::ACCESS_DENIED => (
            Cat::ClientCertificateRequired,
            format!(
                "the server refused the client certificate, or its absence ({} alert); set a \
                 keystore on the profile with a certificate the server accepts",
                alert_name(a)
            ),
        ),
        _ => (
            Cat::HandshakeFailed,
            format!("the server ended the handshake with an alert: {}", alert_name(a)),
        ),
    }
}

/// True when alert `a` is how servers refuse a client certificate that was sent.
fn refuses_client_certificate(a: i32, before_hello: bool) -> bool {
    match a {
        alert::HANDSHAKE_FAILURE => !before_hello,
        alert::CERTIFICATE_REQUIRED
        | alert::BAD_CERTIFICATE
        | alert::UNSUPPORTED_CERTIFICATE
        | alert::CERTIFICATE_REVOKED
        | alert::CERTIFICATE_EXPIRED
        | alert::CERTIFICATE_UNKNOWN
        | alert::UNKNOWN_CA
        | alert::ACCESS_DENIED
        | alert::DECRYPT_ERROR => true,
        _ => false,
    }
}

/// Why the server refused the client certificate we sent, and what to change.
fn client_certificate_rejected(a: i32, ours: &Presented) -> String {
    let refused = format!(
        "the server refused our client certificate '{}' ({} alert)",
        ours.subject,
        alert_name(a)
    );
    if let Some(issuer) = &ours.missing_issuer {
        return format!(
            "{refused}: the keystore sends the leaf without the certificate that issued it; the \
             intermediate '{issuer}' is missing from the keystore (add it after the leaf)"
        );
    }
    let hint = match a {
        alert::CERTIFICATE_REQUIRED => {
            "the certificate was not sent: its key suits none of the signature algorithms the \
             server accepts"
        }
        alert::UNKNOWN_CA => {
            "the server does not trust the CA that issued it; use a certificate from a CA the \
             server trusts, or have the server trust this one"
        }
        alert::CERTIFICATE_EXPIRED => "the server holds it expired; renew it",
        alert::CERTIFICATE_REVOKED => "the server holds it revoked; have a new one issued",
        alert::ACCESS_DENIED => "the server knows the certificate but denies it access",
        alert::DECRYPT_ERROR => {
            "the server could not verify the signature made with its key; check the key type and \
             the signature algorithms the server accepts"
        }
        _ => {
            "check that the server trusts its CA and accepts its key type and usage (the \
             certificate needs the clientAuth extended key usage)"
        }
    };
    format!("{refused}; {hint}")
}

fn no_shared_version(at: &Attempt<'_>) -> String {
    format!(
        "the server accepts none of the protocol versions this profile allows ({}); add a \
         version the server supports to the profile's protocols",
        versions(at.protocols)
    )
}

fn unrecognized_name(at: &Attempt<'_>) -> String {
    match at.sni {
        Some(name) => format!(
            "the server does not serve the name '{name}' sent in SNI and refused the handshake \
             (unrecognized_name alert); connect with a host name the server is configured for"
        ),
        None => "the server needs to know which host is wanted, but no SNI was sent \
                 (unrecognized_name alert); turn on server_name_indication and connect by host \
                 name rather than IP address"
            .to_owned(),
    }
}

fn local_reason(r: i32, text: &str, at: &Attempt<'_>) -> Option<(Cat, String)> {
    let found = match r {
        reason::UNSUPPORTED_PROTOCOL
        | reason::UNSUPPORTED_SSL_VERSION
        | reason::WRONG_SSL_VERSION
        | reason::VERSION_TOO_LOW
        | reason::VERSION_TOO_HIGH => (
            Cat::ProtocolMismatch,
            format!(
                "the server chose a protocol version this profile does not allow (it allows {}); \
                 add the server's version to the profile's protocols, or upgrade the server",
                versions(at.protocols)
            ),
        ),
        reason::NO_PROTOCOLS_AVAILABLE | reason::NO_CIPHERS_AVAILABLE => (
            Cat::Configuration,
            format!(
                "OpenSSL found nothing to offer with this profile ({text}); check its protocols \
                 and ciphers"
            ),
        ),
        reason::WRONG_VERSION_NUMBER => (
            Cat::HandshakeFailed,
            format!(
                "{} did not answer with TLS ({text}); check that the port serves TLS",
                at.target
            ),
        ),
        reason::WRONG_CIPHER_RETURNED => (
            Cat::HandshakeFailed,
            "the server chose a cipher suite this profile did not offer; the server is \
             misbehaving"
                .to_owned(),
        ),
        reason::DH_KEY_TOO_SMALL | reason::NO_SUITABLE_KEY_SHARE => (
            Cat::HandshakeFailed,
            format!(
                "the server's key exchange is too weak or unsupported ({text}); the server must \
                 use stronger parameters"
            ),
        ),
        reason::CERTIFICATE_VERIFY_FAILED => (
            Cat::UntrustedCertificate,
            "the server's certificate failed verification; add the CA that issued it to the \
             profile's truststore"
                .to_owned(),
        ),
        reason::UNEXPECTED_EOF_WHILE_READING => (Cat::HandshakeFailed, closed_early(at)),
        _ => return None,
    };
    Some(found)
}

fn socket(kind: io::ErrorKind, text: &str, at: &Attempt<'_>) -> (Cat, String) {
    match kind {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => (
            Cat::Timeout,
            format!(
                "no answer from {} within {} during the TLS handshake: the server took the \
                 TCP connection but did not reply (check that the port serves TLS, or raise \
                 the timeout)",
                at.target,
                seconds(at.timeout)
            ),
        ),
        io::ErrorKind::UnexpectedEof => (Cat::HandshakeFailed, closed_early(at)),
        _ => (
            Cat::HandshakeFailed,
            format!("the connection to {} failed during the handshake: {text}", at.target),
        ),
    }
}

fn closed_early(at: &Attempt<'_>) -> String {
    format!(
        "{} closed the connection during the handshake without saying why; servers do this when \
         they accept none of the offered versions or suites",
        at.target
    )
}

fn fallback(ev: &Evidence) -> (Cat, String) {
    let texts: Vec<&str> = ev.reasons.iter().map(|(_, t)| t.as_str()).collect();
    let message = if texts.is_empty() {
        "the server closed the connection during the handshake without saying why".to_owned()
    } else {
        format!("the handshake failed: {}", texts.join("; "))
    };
    (Cat::HandshakeFailed, message)
}

fn alert_name(a: i32) -> &'static str {
    match a {
        alert::HANDSHAKE_FAILURE => "handshake_failure",
        alert::BAD_CERTIFICATE => "bad_certificate",
        alert::UNSUPPORTED_CERTIFICATE => "unsupported_certificate",
        alert::CERTIFICATE_REVOKED => "certificate_revoked",
        alert::CERTIFICATE_EXPIRED => "certificate_expired",
        alert::CERTIFICATE_UNKNOWN => "certificate_unknown",
        alert::UNKNOWN_CA => "unknown_ca",
        alert::ACCESS_DENIED => "access_denied",
        alert::DECRYPT_ERROR => "decrypt_error",
        alert::PROTOCOL_VERSION => "protocol_version",
        alert::INSUFFICIENT_SECURITY => "insufficient_security",
        alert::UNRECOGNIZED_NAME => "unrecognized_name",
        alert::CERTIFICATE_REQUIRED => "certificate_required",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        47 => "illegal_parameter",
        50 => "decode_error",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        109 => "missing_extension",
        110 => "unsupported_extension",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

fn versions(v: &[ProtocolVersion]) -> String {
    v.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "an unreadable date".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt() -> Attempt<'static> {
        Attempt {
            host: "localhost",
            target: "localhost:443",
            sni: Some("localhost"),
            protocols: &[ProtocolVersion::Tls12],
            suites_offered: 3,
            timeout: Duration::from_secs(1),
            identity: None,
        }
    }

    fn leaf_only() -> Presented {
        Presented {
            subject: "CN=client, O=Example".into(),
            missing_issuer: Some("CN=Example Issuing CA, O=Example".into()),
        }
    }

    fn chained() -> Presented {
        Presented { subject: "CN=client, O=Example".into(), missing_issuer: None }
    }

    fn alert(n: i32, server_hello_seen: bool) -> Evidence {
        Evidence {
            reasons: vec![(reason::ALERT_OFFSET + n, "alert".into())],
            server_hello_seen,
            ..Evidence::default()
        }
    }

    fn verify(code: i32) -> Evidence {
        Evidence {
            verify: Some(VerifyFailure {
                code,
                reason: "some reason",
                depth: 0,
                subject: "CN=example".into(),
                not_before: DateTime::from_timestamp(0, 0),
                not_after: DateTime::from_timestamp(86_400, 0),
                names: vec!["example".into(), "127.0.0.2".into()],
                chain: Vec::new(),
            }),
            reasons: vec![(reason::CERTIFICATE_VERIFY_FAILED, "certificate verify failed".into())],
            ..Evidence::default()
        }
    }

    #[test]
    fn handshake_failure_before_the_server_hello_means_no_shared_cipher() {
        let (cat, msg) = diagnose(&alert(alert::HANDSHAKE_FAILURE, false), &attempt());
        assert_eq!(cat, Cat::NoSharedCipher);
        assert!(msg.contains("none of the 3 cipher suites"), "{msg}");
    }

    #[test]
    fn handshake_failure_after_the_server_hello_points_at_the_client_certificate() {
        let (cat, _) = diagnose(&alert(alert::HANDSHAKE_FAILURE, true), &attempt());
        assert_eq!(cat, Cat::ClientCertificateRequired);
    }

    #[test]
    fn an_internal_error_to_a_legacy_only_profile_points_at_the_version() {
        let mut at = attempt();
        at.protocols = &[ProtocolVersion::Tls10];
        let (cat, msg) = diagnose(&alert(80, false), &at);
        assert_eq!(cat, Cat::ProtocolMismatch);
        assert!(msg.contains("tls_v1.2"), "{msg}");
        let (cat, _) = diagnose(&alert(80, false), &attempt());
        assert_eq!(cat, Cat::HandshakeFailed);
    }

    #[test]
    fn a_weak_key_is_not_an_untrusted_issuer() {
        let (cat, msg) = diagnose(&verify(66), &attempt());
        assert_eq!(cat, Cat::WeakCertificate);
        assert!(msg.contains("2048"), "{msg}");
    }

    #[test]
    fn classifies_alerts() {
        let cases = [
            (alert::PROTOCOL_VERSION, Cat::ProtocolMismatch),
            (alert::UNRECOGNIZED_NAME, Cat::SniRequired),
            (alert::CERTIFICATE_REQUIRED, Cat::ClientCertificateRequired),
            (alert::UNKNOWN_CA, Cat::ClientCertificateRequired),
            (80, Cat::HandshakeFailed),
        ];
        for (n, want) in cases {
            assert_eq!(diagnose(&alert(n, true), &attempt()).0, want, "alert {n}");
        }
    }

    #[test]
    fn a_refused_client_certificate_is_named() {
        let ours = chained();
        let with_cert = Attempt { identity: Some(&ours), ..attempt() };
        for n in [
            alert::UNKNOWN_CA,
            alert::BAD_CERTIFICATE,
            alert::CERTIFICATE_UNKNOWN,
            alert::DECRYPT_ERROR,
            alert::CERTIFICATE_REQUIRED,
            alert::HANDSHAKE_FAILURE,
        ] {
            let (cat, msg) = diagnose(&alert(n, true), &with_cert);
            assert_eq!(cat, Cat::ClientCertificateRejected, "alert {n}");
            let name = alert_name(n);
            let named = format!("refused our client certificate 'CN=client, O=Example' ({name}");
            assert!(msg.contains(&named), "{msg}");
            assert!(!msg.contains("missing"), "{msg}");
        }
    }

    #[test]
    fn with_a_client_certificate_an_early_handshake_failure_still_means_no_shared_cipher() {
        let ours = chained();
        let with_cert = Attempt { identity: Some(&ours), ..attempt() };
        let (cat, _) = diagnose(&alert(alert::HANDSHAKE_FAILURE, false), &with_cert);
        assert_eq!(cat, Cat::NoSharedCipher);
    }

    #[test]
    fn a_leaf_sent_without_its_issuer_names_the_missing_intermediate() {
        let ours = leaf_only();
        let with_leaf = Attempt { identity: Some(&ours), ..attempt() };
        let (cat, msg) = diagnose(&alert(alert::UNKNOWN_CA, true), &with_leaf);
        assert_eq!(cat, Cat::ClientCertificateRejected);
        assert!(
            msg.contains(
                "the intermediate 'CN=Example Issuing CA, O=Example' is missing from the keystore"
            ),
            "{msg}"
        );
    }

    #[test]
    fn without_a_client_certificate_a_refusal_means_one_is_required() {
        for n in [alert::CERTIFICATE_REQUIRED, alert::UNKNOWN_CA, alert::BAD_CERTIFICATE] {
            let (cat, msg) = diagnose(&alert(n, true), &attempt());
            assert_eq!(cat, Cat::ClientCertificateRequired, "alert {n}");
            assert!(msg.contains("set a keystore"), "{msg}");
        }
        assert_eq!(
            diagnose(&alert(alert::DECRYPT_ERROR, true), &attempt()).0,
            Cat::HandshakeFailed
        );
    }

    #[test]
    fn says_whether_sni_was_sent_when_the_name_is_unrecognized() {
        let (_, msg) = diagnose(&alert(alert::UNRECOGNIZED_NAME, false), &attempt());
        assert!(msg.contains("'localhost' sent in SNI"), "{msg}");
        let no_sni = Attempt { sni: None, ..attempt() };
        let (_, msg) = diagnose(&alert(alert::UNRECOGNIZED_NAME, false), &no_sni);
        assert!(msg.contains("no SNI was sent"), "{msg}");
    }

    #[test]
    fn classifies_certificate_failures_with_what_and_when() {
        let (cat, msg) = diagnose(&verify(10), &attempt());
        assert_eq!(cat, Cat::ExpiredCertificate);
        assert!(msg.contains("'CN=example' at depth 0 expired on 1970-01-02T00:00:00Z"), "{msg}");

        let (cat, msg) = diagnose(&verify(62), &attempt());
        assert_eq!(cat, Cat::HostnameMismatch);
        assert!(msg.contains("for 'example', '127.0.0.2', not 'localhost'"), "{msg}");

        let (cat, msg) = diagnose(&verify(18), &attempt());
        assert_eq!(cat, Cat::UntrustedCertificate);
        assert!(msg.contains("'CN=example' at depth 0 is not trusted: some reason"), "{msg}");
    }

    #[test]
    fn classifies_local_version_refusals_and_timeouts() {
        let ev = Evidence {
            reasons: vec![(reason::UNSUPPORTED_PROTOCOL, "x".into())],
            ..Evidence::default()
        };
        let (cat, msg) = diagnose(&ev, &attempt());
        assert_eq!(cat, Cat::ProtocolMismatch);
        assert!(msg.contains("allows tls_v1.2"), "{msg}");

        let ev =
            Evidence { io: Some((io::ErrorKind::TimedOut, "t".into())), ..Evidence::default() };
        let (cat, msg) = diagnose(&ev, &attempt());
        assert_eq!(cat, Cat::Timeout);
        assert!(msg.contains("within 1 s"), "{msg}");
    }

    #[test]
    fn falls_back_to_openssls_words() {
        let ev = Evidence { reasons: vec![(999, "odd thing".into())], ..Evidence::default() };
        assert_eq!(
            diagnose(&ev, &attempt()),
            (Cat::HandshakeFailed, "the handshake failed: odd thing".into())
        );
        assert_eq!(diagnose(&Evidence::default(), &attempt()).0, Cat::HandshakeFailed);
    }
}
