//! A client context compiled once from a profile, and the probe that handshakes with it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, Ssl, SslContext, SslContextBuilder, SslMethod, SslRef,
    SslStream, SslVerifyMode,
};
use openssl::x509::X509VerifyResult;
use openssl::x509::verify::X509CheckFlags;
use tlsdeck_model::{ClientProfile, ProtocolVersion};
use tracing::{debug, warn};

use crate::certs;
use crate::connect::{DeadlineStream, connect};
use crate::diagnosis::{self, Attempt, Evidence, diagnose};
use crate::effective::Plan;
use crate::error::EngineError;
use crate::identity::{Identity, Presented, Role};
use crate::report::{FailureCategory, ProbeReport};
use crate::session::Sessions;
use crate::settings::{self, canonical_name, protocol};
use crate::target::Target;
use crate::trust::Trust;
use crate::verify::VerifyCapture;

/// The longest timeout a probe accepts; longer ones are cut to it.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// How long a probe waits for the server's close_notify (or a late alert) after the handshake.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// How many reads of data sent before the server's close_notify a probe discards.
const MAX_CLOSE_READS: usize = 64;

/// How a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeOptions {
    /// The time allowed for resolving, connecting and the handshake together.
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(10) }
    }
}

/// An OpenSSL client context compiled from one profile revision, shared by every
/// connection made with it.
pub struct ClientContext {
    ctx: SslContext,
    /// `name:version`, for logs.
    profile: String,
    protocols: Vec<ProtocolVersion>,
    suites_offered: usize,
    insecure: bool,
    sni: bool,
    /// The client certificate presented, if any.
    identity: Option<Presented>,
    /// The sessions servers handed to connections that resume, per server.
    pub(crate) sessions: Arc<Sessions>,
}

impl fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientContext")
            .field("profile", &self.profile)
            .field("protocols", &self.protocols)
            .field("insecure", &self.insecure)
            .field("sni", &self.sni)
            .field("client_certificate", &self.identity.as_ref().map(|i| &i.subject))
            .finish_non_exhaustive()
    }
}

impl ClientContext {
    /// Compiles `profile` into a context that verifies servers against `trust` and sends
    /// no client certificate.
    pub fn build(profile: &ClientProfile, trust: &Trust) -> Result<Self, EngineError> {
        Self::build_with_identity(profile, trust, None)
    }

    /// Compiles `profile` into a context that verifies servers against `trust` and, when
    /// the server asks, presents `identity`: its leaf and intermediates. The key is checked
    /// against the leaf here, before any handshake.
    pub fn build_with_identity(
        profile: &ClientProfile,
        trust: &Trust,
        identity: Option<&Identity>,
    ) -> Result<Self, EngineError> {
        let plan = Plan::client(profile);
        let mut b = SslContextBuilder::new(SslMethod::tls_client())
            .map_err(|e| EngineError::refused("client context", &e))?;
        settings::apply(&mut b, &plan)?;
        trust.apply(&mut b)?;
        b.set_verify(SslVerifyMode::PEER);
        let identity = identity.map(|id| id.apply(&mut b, Role::Client)).transpose()?;
        let sessions = Sessions::install(&mut b);

        Ok(Self {
            ctx: b.build(),
            profile: format!("{}:{}", profile.name, profile.version),
            protocols: profile.protocols.clone(),
            suites_offered: plan.offered().len(),
            insecure: profile.insecure_server_connections,
            sni: profile.server_name_indication,
            identity,
            sessions,
        })
    }

    /// The profile this context was compiled from, as `name:version`.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// True when the profile accepts a server certificate that fails verification.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// Handshakes with `target` and reports what happened; never panics, never fails.
    pub fn probe(&self, target: &Target, opts: &ProbeOptions) -> ProbeReport {
        let report = ProbeReport::new(target.to_string(), self.insecure);
        if opts.timeout.is_zero() {
            return report
                .failed(FailureCategory::Configuration, "the timeout must be longer than zero");
        }
        let timeout = opts.timeout.min(MAX_TIMEOUT);
        let report = self.handshake(report, target, timeout);
        debug!(
            profile = %self.profile,
            target = %report.target,
            ok = report.ok,
            error = report.error.as_ref().map(|e| e.category.as_str()),
            "probe finished"
        );
        report
    }

    fn handshake(
        &self,
        mut report: ProbeReport,
        target: &Target,
        timeout: Duration,
    ) -> ProbeReport {
        let deadline = Instant::now() + timeout;
        let (tcp, addr) = match connect(target, deadline) {
            Ok(found) => found,
            Err((category, message)) => return report.failed(category, message),
        };
        report.address = Some(addr.to_string());

        let capture = VerifyCapture::default();
        let ssl = match self.new_ssl(target, &capture) {
            Ok(ssl) => ssl,
            Err(e) => return report.failed(FailureCategory::Configuration, e.to_string()),
        };
        report.sni = self.sni_name(target).map(str::to_owned);

        let started = Instant::now();
        let result = ssl.connect(DeadlineStream::new(tcp, deadline));
        report.handshake_ms = started.elapsed().as_secs_f64() * 1000.0;

        let shown = report.target.clone();
        let attempt = self.attempt(target, &shown, timeout);
        match result {
            Ok(stream) => self.completed(report, stream, &capture, &attempt, deadline),
            Err(HandshakeError::SetupFailure(e)) => {
                let e = EngineError::refused("connection setup", &e);
                report.failed(FailureCategory::Configuration, e.to_string())
            }
            Err(HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid)) => {
                self.failed(report, &mid, &capture, &attempt)
            }
        }
    }

    /// A connection object with this connection's verify callback, expected name and SNI.
    pub(crate) fn new_ssl(
        &self,
        target: &Target,
        capture: &VerifyCapture,
    ) -> Result<Ssl, EngineError> {
        let refused = |e| EngineError::refused("target name", &e);
        let mut ssl = Ssl::new(&self.ctx).map_err(|e| EngineError::refused("connection", &e))?;
        capture.install(&mut ssl, self.insecure);

        let param = ssl.param_mut();
        param.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
        match target.ip() {
            Some(ip) => param.set_ip(ip).map_err(refused)?,
            None => param.set_host(&target.host).map_err(refused)?,
        }
        if let Some(name) = self.sni_name(target) {
            ssl.set_hostname(name).map_err(refused)?;
        }
        Ok(ssl)
    }

    /// The name sent in SNI: the host, when SNI is on and the host is not an IP literal.
    pub(crate) fn sni_name<'t>(&self, target: &'t Target) -> Option<&'t str> {
        (self.sni && target.ip().is_none()).then_some(target.host.as_str())
    }

    pub(crate) fn attempt<'a>(
        &'a self,
        target: &'a Target,
        shown: &'a str,
        timeout: Duration,
    ) -> Attempt<'a> {
        Attempt {
            host: &target.host,
            target: shown,
            sni: self.sni_name(target),
            protocols: &self.protocols,
            suites_offered: self.suites_offered,
            timeout,
            identity: self.identity.as_ref(),
        }
    }

    fn completed(
        &self,
        mut report: ProbeReport,
        mut stream: SslStream<DeadlineStream>,
        capture: &VerifyCapture,
        attempt: &Attempt<'_>,
        deadline: Instant,
    ) -> ProbeReport {
        let ssl = stream.ssl();
        report.protocol = ssl.version2().and_then(protocol);
        report.cipher = ssl.current_cipher().map(canonical_name);
        report.peer_certificates = peer_chain(ssl);
        let failure = capture.first();
        report.verified = failure.is_none() && ssl.verify_result() == X509VerifyResult::OK;
        report.verify_error = failure.map(|f| f.text()).or_else(|| {
            let result = ssl.verify_result();
            (result != X509VerifyResult::OK).then(|| result.error_string().to_owned())
        });
        if self.insecure {
            self.warn_insecure(&report.target, report.verify_error.as_deref());
        }

        if let Some(late) = close(&mut stream, deadline) {
            let (category, message) = diagnose(&late, attempt);
            return report.failed(category, message);
        }
        report.ok = true;
        report
    }

    fn failed(
        &self,
        mut report: ProbeReport,
        mid: &MidHandshakeSslStream<DeadlineStream>,
        capture: &VerifyCapture,
        attempt: &Attempt<'_>,
    ) -> ProbeReport {
        let verify = capture.first();
        report.verify_error = verify.as_ref().map(|v| v.text());
        report.peer_certificates = peer_chain(mid.ssl());
        if report.peer_certificates.is_empty() {
            report.peer_certificates = verify.as_ref().map(|v| v.chain.clone()).unwrap_or_default();
        }

        let (category, message) = self.diagnose_handshake(mid.error(), mid.ssl(), verify, attempt);
        report.failed(category, message)
    }

    /// The category and message of a failed handshake, from OpenSSL's error, the connection
    /// and the first verification failure.
    pub(crate) fn diagnose_handshake(
        &self,
        err: &openssl::ssl::Error,
        ssl: &SslRef,
        verify: Option<crate::verify::VerifyFailure>,
        attempt: &Attempt<'_>,
    ) -> (FailureCategory, String) {
        let mut evidence = evidence(err, ssl);
        evidence.verify = verify.filter(|_| !self.insecure);
        diagnose(&evidence, attempt)
    }

    /// Logs, at warn, that a connection went on past a failed verification.
    pub(crate) fn warn_insecure(&self, target: &str, verify_error: Option<&str>) {
        warn!(
            profile = %self.profile,
            target,
            verify_error = verify_error.unwrap_or("none"),
            "insecure connection: the server's certificate is not enforced"
        );
    }
}

/// Sends our close_notify and reads briefly until the server's; returns the evidence when the
/// server sends an alert instead (a TLS 1.3 server refuses a client certificate only after
/// the client considers the handshake done).
fn close(stream: &mut SslStream<DeadlineStream>, deadline: Instant) -> Option<Evidence> {
    stream.shutdown().ok()?;
    stream.get_mut().set_deadline(deadline.min(Instant::now() + CLOSE_WAIT));
    let mut discard = [0u8; 1024];
    for _ in 0..MAX_CLOSE_READS {
        if let Err(e) = stream.ssl_read(&mut discard) {
            let ev = evidence(&e, stream.ssl());
            return ev.reasons.iter().any(|(r, _)| diagnosis::is_alert(*r)).then_some(ev);
        }
    }
    None
}

/// The reason codes and socket error of a failed handshake.
pub(crate) fn evidence(err: &openssl::ssl::Error, ssl: &SslRef) -> Evidence {
    let reasons = diagnosis::ssl_reasons(err);
    let io = err.io_error().map(|e| (e.kind(), e.to_string())).or_else(|| {
        let eof = err.ssl_error().is_none() && err.code() == openssl::ssl::ErrorCode::SYSCALL;
        eof.then(|| (std::io::ErrorKind::UnexpectedEof, "connection closed".to_owned()))
    });
    Evidence { reasons, io, server_hello_seen: server_hello_seen(ssl), verify: None }
}

/// The server random is all zeros until the server's hello arrives.
fn server_hello_seen(ssl: &SslRef) -> bool {
    let mut random = [0u8; 32];
    let n = ssl.server_random(&mut random);
    random[..n.min(random.len())].iter().any(|b| *b != 0)
}

fn peer_chain(ssl: &SslRef) -> Vec<crate::report::PeerCertificate> {
    ssl.peer_cert_chain()
        .map(|chain| chain.iter().map(certs::describe).collect())
        .unwrap_or_default()
}

/// Compiles `profile` and probes `target` once, without a client certificate; a profile that
/// cannot be compiled gives a report with the category `configuration`.
pub fn probe(
    profile: &ClientProfile,
    trust: &Trust,
    target: &Target,
    opts: &ProbeOptions,
) -> ProbeReport {
    probe_with_identity(profile, trust, None, target, opts)
}

/// Compiles `profile` with `identity` as the client certificate and probes `target` once; a
/// profile or identity that cannot be compiled (such as a key that does not match the leaf)
/// gives a report with the category `configuration`, without connecting.
pub fn probe_with_identity(
    profile: &ClientProfile,
    trust: &Trust,
    identity: Option<&Identity>,
    target: &Target,
    opts: &ProbeOptions,
) -> ProbeReport {
    match ClientContext::build_with_identity(profile, trust, identity) {
        Ok(ctx) => ctx.probe(target, opts),
        Err(e) => ProbeReport::new(target.to_string(), profile.insecure_server_connections)
            .failed(FailureCategory::Configuration, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_context_can_be_shared_between_threads() {
        assert_send_sync::<ClientContext>();
    }

    #[test]
    fn a_profile_without_usable_suites_is_a_configuration_error() {
        let p = ClientProfile::from_json(&json!({
            "title": "t", "protocols": ["tls_v1.0"], "ciphers": ["DES-CBC3-SHA"],
        }))
        .unwrap();
        let err = ClientContext::build(&p, &Trust::System).unwrap_err();
        assert_eq!(err, EngineError::NoUsableCipher { protocol: ProtocolVersion::Tls10 });
        let report =
            probe(&p, &Trust::System, &"localhost:1".parse().unwrap(), &ProbeOptions::default());
        let error = report.error.unwrap();
        assert_eq!(error.category, FailureCategory::Configuration);
        assert!(error.message.contains("tls_v1.0"), "{}", error.message);
        assert!(!report.ok && report.address.is_none());
    }

    #[test]
    fn a_trust_bundle_without_certificates_is_a_configuration_error() {
        let p =
            ClientProfile::from_json(&json!({"title": "t", "ciphers": ["AES128-SHA"]})).unwrap();
        for pem in [
            &b""[..],
            b"not pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let err = ClientContext::build(&p, &Trust::Pem(pem.to_vec())).unwrap_err();
            assert!(matches!(err, EngineError::Trust(_)), "{err}");
        }
    }

    #[test]
    fn a_zero_timeout_is_refused_without_connecting() {
        let p =
            ClientProfile::from_json(&json!({"title": "t", "ciphers": ["AES128-SHA"]})).unwrap();
        let opts = ProbeOptions { timeout: Duration::ZERO };
        let report = probe(&p, &Trust::System, &"localhost:1".parse().unwrap(), &opts);
        assert_eq!(report.error.map(|e| e.category), Some(FailureCategory::Configuration));
    }
}
