//! A server context compiled once from a server profile, and the asynchronous accept with
//! which a listener turns a TCP connection into a TLS stream through it.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use openssl::dh::Dh;
use openssl::ssl::{Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode};
use tlsdeck_model::{MutualAuthentication, ProtocolVersion, ServerProfile};
use tokio::net::TcpStream;
use tracing::debug;

use crate::effective::Plan;
use crate::error::EngineError;
use crate::identity::{Identity, Role};
use crate::settings;
use crate::stream::{AcceptError, TlsStream};
use crate::trust::Trust;
use crate::verify::VerifyCapture;

/// How long a client has to complete the handshake unless the context says otherwise.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// OpenSSL 3.0's `SSL_OP_ALLOW_CLIENT_RENEGOTIATION`, which the openssl crate does not name:
/// from 3.0 on a server refuses client-initiated renegotiation unless it is set.
const ALLOW_CLIENT_RENEGOTIATION: SslOptions = SslOptions::from_bits_retain(1 << 8);
/// The first OpenSSL version with [`ALLOW_CLIENT_RENEGOTIATION`], as `OPENSSL_VERSION_NUMBER`.
const OPENSSL_3: i64 = 0x3000_0000;

/// The ffdhe2048 group of RFC 7919 for DHE suites, as
/// `openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048` writes it.
const FFDHE2048: &str = "-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
";

/// An OpenSSL server context compiled from one server profile revision, shared by every
/// connection a listener accepts with it.
pub struct ServerContext {
    ctx: SslContext,
    /// `name:version`, for logs.
    profile: String,
    protocols: Vec<ProtocolVersion>,
    mutual_authentication: MutualAuthentication,
    limit_renegotiation: bool,
    /// The subject of the certificate presented.
    subject: String,
    /// How client certificates are asked for; `None` when they are not.
    client_verify: Option<SslVerifyMode>,
    handshake_timeout: Duration,
}

impl fmt::Debug for ServerContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerContext")
            .field("profile", &self.profile)
            .field("protocols", &self.protocols)
            .field("mutual_authentication", &self.mutual_authentication)
            .field("limit_renegotiation", &self.limit_renegotiation)
            .field("certificate", &self.subject)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl ServerContext {
    /// Compiles `profile` into a context that presents `identity` (its leaf, intermediates
    /// and key, checked against each other and against the profile's suites) and verifies
    /// client certificates against `trust` as the profile's `mutual_authentication` says.
    ///
    /// With [`Trust::System`], client certificates verify against the system store and the
    /// certificate request names no CA.
    pub fn build(
        profile: &ServerProfile,
        identity: &Identity,
        trust: &Trust,
    ) -> Result<Self, EngineError> {
        let plan = Plan::server(profile);
        check_key(profile, identity)?;

        let mut b = SslContextBuilder::new(SslMethod::tls_server())
            .map_err(|e| EngineError::refused("server context", &e))?;
        settings::apply(&mut b, &plan)?;
        set_server_options(&mut b, profile.limit_renegotiation);
        if plan.uses_dhe() {
            set_dh_group(&mut b)?;
        }
        let presented = identity.apply(&mut b, Role::Server)?;
        let client_verify = set_client_verification(&mut b, profile.mutual_authentication, trust)?;
        b.set_session_id_context(&session_id_context(profile))
            .map_err(|e| EngineError::refused("session id context", &e))?;

        Ok(Self {
            ctx: b.build(),
            profile: format!("{}:{}", profile.name, profile.version),
            protocols: profile.protocols.clone(),
            mutual_authentication: profile.mutual_authentication,
            limit_renegotiation: profile.limit_renegotiation,
            subject: presented.subject,
            client_verify,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// The same context with another handshake timeout (a zero one is raised to 1 ms).
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a client has to complete the handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Runs the server side of the handshake on `tcp`, within the handshake timeout.
    ///
    /// Needs a tokio runtime with the time driver enabled.
    pub async fn accept(&self, tcp: TcpStream) -> Result<TlsStream, AcceptError> {
        let mut ssl = Ssl::new(&self.ctx).map_err(|e| AcceptError::setup(&e))?;
        let capture = VerifyCapture::default();
        if let Some(mode) = self.client_verify {
            capture.install_with_mode(&mut ssl, mode, false);
        }
        let mut stream =
            tokio_openssl::SslStream::new(ssl, tcp).map_err(|e| AcceptError::setup(&e))?;

        let handshake = Pin::new(&mut stream).accept();
        let result = match tokio::time::timeout(self.handshake_timeout, handshake).await {
            Err(_) => Err(AcceptError::timeout(self.handshake_timeout)),
            Ok(Err(e)) => Err(AcceptError::handshake(&e, capture.first())),
            Ok(Ok(())) => Ok(()),
        };
        match result {
            Ok(()) => Ok(TlsStream::new(stream)),
            Err(err) => {
                debug!(profile = %self.profile, error = %err, "tls handshake failed");
                Err(err)
            }
        }
    }
}

/// Refuses a key that cannot serve any chosen suite of some TLS 1.2-and-older version.
fn check_key(profile: &ServerProfile, identity: &Identity) -> Result<(), EngineError> {
    let key = identity.server_key()?;
    profile.check_key(key).map_err(|errs| {
        let messages: Vec<&str> = errs.fields().iter().map(|f| f.message.as_str()).collect();
        EngineError::UnservableSuites(messages.join("; "))
    })
}

/// The server's suite preference, and client-initiated renegotiation refused or allowed.
fn set_server_options(b: &mut SslContextBuilder, limit_renegotiation: bool) {
    let allow = if openssl::version::number() >= OPENSSL_3 {
        ALLOW_CLIENT_RENEGOTIATION
    } else {
        SslOptions::empty()
    };
    b.clear_options(SslOptions::NO_RENEGOTIATION | allow);
    b.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
    b.set_options(if limit_renegotiation { SslOptions::NO_RENEGOTIATION } else { allow });
}

/// The group of the DHE suites: OpenSSL serves none of them without one.
fn set_dh_group(b: &mut SslContextBuilder) -> Result<(), EngineError> {
    let dh = Dh::params_from_pem(FFDHE2048.as_bytes())
        .map_err(|e| EngineError::refused("DHE group", &e))?;
    b.set_tmp_dh(&dh).map_err(|e| EngineError::refused("DHE group", &e))
}

/// Asks for client certificates as `mutual` says, verifying them against `trust`; returns the
/// verify mode when they are asked for.
fn set_client_verification(
    b: &mut SslContextBuilder,
    mutual: MutualAuthentication,
    trust: &Trust,
) -> Result<Option<SslVerifyMode>, EngineError> {
    let mode = match mutual {
        MutualAuthentication::None => {
            b.set_verify(SslVerifyMode::NONE);
            return Ok(None);
        }
        MutualAuthentication::Request => SslVerifyMode::PEER,
        MutualAuthentication::Require => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
    };
    trust.apply_for_clients(b)?;
    b.set_verify(mode);
    Ok(Some(mode))
}

/// Sessions are resumed only by the profile that made them (OpenSSL refuses to resume a
/// session with a client certificate without a context).
fn session_id_context(profile: &ServerProfile) -> [u8; 32] {
    let id = format!("tlsdeck server profile {}:{}", profile.name, profile.version);
    openssl::sha::sha256(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn a_context_can_be_shared_between_threads() {
        assert_send_sync::<ServerContext>();
    }

    #[test]
    fn the_dh_group_reads() {
        let dh = Dh::params_from_pem(FFDHE2048.as_bytes()).unwrap();
        assert_eq!(dh.prime_p().num_bits(), 2048);
        assert_eq!(dh.generator().to_dec_str().unwrap().to_string(), "2");
    }

    #[test]
    fn the_renegotiation_option_is_openssl_3s() {
        assert!(openssl::version::number() >= OPENSSL_3, "the tests expect OpenSSL 3");
        let names: Vec<_> = ALLOW_CLIENT_RENEGOTIATION.iter_names().collect();
        assert!(names.is_empty(), "bit 8 has a name in the openssl crate now: {names:?}");
    }
}
