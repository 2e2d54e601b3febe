//! A per-connection verify callback that keeps the first verification failure.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use openssl::ssl::{SslRef, SslVerifyMode};
use openssl::x509::X509StoreContextRef;

use crate::certs;
use crate::report::PeerCertificate;

/// OpenSSL's `X509_V_ERR_*` codes the diagnosis tells apart.
mod code {
    pub const CERT_NOT_YET_VALID: i32 = 9;
    pub const CERT_HAS_EXPIRED: i32 = 10;
    pub const HOSTNAME_MISMATCH: i32 = 62;
    pub const IP_ADDRESS_MISMATCH: i32 = 64;
    pub const EE_KEY_TOO_SMALL: i32 = 66;
    pub const CA_KEY_TOO_SMALL: i32 = 67;
    pub const CA_MD_TOO_WEAK: i32 = 68;
}

/// What kind of verification failure it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifyKind {
    /// The certificate's validity ended.
    Expired,
    /// The certificate's validity has not started.
    NotYetValid,
    /// The leaf is not for the target name or IP.
    NameMismatch,
    /// A key or signature digest is too weak for the security level.
    TooWeak,
    /// Anything else: unknown issuer, self-signed, bad signature, ...
    Untrusted,
}

/// The first verification failure of one handshake, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VerifyFailure {
    /// OpenSSL's error code.
    pub code: i32,
    /// OpenSSL's text for it, e.g. `self-signed certificate`.
    pub reason: &'static str,
    /// The position in the chain: 0 is the leaf.
    pub depth: u32,
    /// The subject of the certificate at fault.
    pub subject: String,
    /// Its validity period.
    pub not_before: Option<DateTime<Utc>>,
    /// Its validity period.
    pub not_after: Option<DateTime<Utc>>,
    /// The names it is for.
    pub names: Vec<String>,
    /// The chain as verification saw it, leaf first.
    pub chain: Vec<PeerCertificate>,
}

impl VerifyFailure {
    pub(crate) fn kind(&self) -> VerifyKind {
        match self.code {
            code::CERT_HAS_EXPIRED => VerifyKind::Expired,
            code::CERT_NOT_YET_VALID => VerifyKind::NotYetValid,
            code::HOSTNAME_MISMATCH | code::IP_ADDRESS_MISMATCH => VerifyKind::NameMismatch,
            code::EE_KEY_TOO_SMALL | code::CA_KEY_TOO_SMALL | code::CA_MD_TOO_WEAK => {
                VerifyKind::TooWeak
            }
            _ => VerifyKind::Untrusted,
        }
    }

    /// One line for `verify_error`, e.g. `certificate has expired at depth 0 (CN=x)`.
    pub(crate) fn text(&self) -> String {
        format!("{} at depth {} ({})", self.reason, self.depth, self.subject)
    }

    fn from_context(ctx: &X509StoreContextRef) -> Self {
        let cert = ctx.current_cert();
        let chain =
            ctx.chain().map(|c| c.iter().map(certs::describe).collect()).unwrap_or_default();
        Self {
            code: ctx.error().as_raw(),
            reason: ctx.error().error_string(),
            depth: ctx.error_depth(),
            subject: cert.map(|c| certs::name_text(c.subject_name())).unwrap_or_default(),
            not_before: cert.and_then(|c| certs::utc(c.not_before())),
            not_after: cert.and_then(|c| certs::utc(c.not_after())),
            names: cert.map(certs::presented_names).unwrap_or_default(),
            chain,
        }
    }
}

/// Holds the first failure seen by the callback installed on one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct VerifyCapture(Arc<Mutex<Option<VerifyFailure>>>);

impl VerifyCapture {
    /// Verifies the peer on `ssl`, recording the first failure; `insecure` lets the
    /// handshake go on past failures.
    pub(crate) fn install(&self, ssl: &mut SslRef, insecure: bool) {
        self.install_with_mode(ssl, SslVerifyMode::PEER, insecure);
    }

    /// Like [`Self::install`], with the verify `mode` a server chose.
    pub(crate) fn install_with_mode(&self, ssl: &mut SslRef, mode: SslVerifyMode, insecure: bool) {
        let slot = Arc::clone(&self.0);
        ssl.set_verify_callback(mode, move |preverify_ok, ctx| {
            if !preverify_ok
                && let Ok(mut first) = slot.lock()
                && first.is_none()
            {
                *first = Some(VerifyFailure::from_context(ctx));
            }
            preverify_ok || insecure
        });
    }

    /// The first failure, if any.
    pub(crate) fn first(&self) -> Option<VerifyFailure> {
        self.0.lock().ok().and_then(|f| f.clone())
    }
}
