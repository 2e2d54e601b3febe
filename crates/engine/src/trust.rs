//! The certificates a client context verifies servers against.

use std::fmt;

use openssl::ssl::SslContextBuilder;
use openssl::x509::X509;

use crate::error::EngineError;

/// Where a client context finds the certificates it trusts.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// OpenSSL's default verify paths (the system bundle; `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` override it).
    System,
    /// A PEM bundle of CA certificates, e.g. the contents of a truststore.
    Pem(Vec<u8>),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
        }
    }
}

impl Trust {
    /// Installs the trusted certificates into `builder`.
    pub(crate) fn apply(&self, builder: &mut SslContextBuilder) -> Result<(), EngineError> {
        match self {
            Self::System => builder
                .set_default_verify_paths()
                .map_err(|e| EngineError::refused("system trust store", &e)),
            Self::Pem(pem) => add_pem_bundle(builder, pem),
        }
    }
}

fn add_pem_bundle(builder: &mut SslContextBuilder, pem: &[u8]) -> Result<(), EngineError> {
    let certs = X509::stack_from_pem(pem)
        .map_err(|_| EngineError::Trust("the PEM bundle could not be read".into()))?;
    if certs.is_empty() {
        return Err(EngineError::Trust("the PEM bundle holds no certificate".into()));
    }
    let store = builder.cert_store_mut();
    for cert in certs {
        store.add_cert(cert).map_err(|e| EngineError::refused("trusted certificate", &e))?;
    }
    Ok(())
}
