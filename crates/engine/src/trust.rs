//! The certificates a client context verifies servers against, and a server context verifies
//! client certificates against.

use std::fmt;

use openssl::ssl::SslContextBuilder;
use openssl::x509::X509;

use crate::error::EngineError;

/// Where a context finds the certificates it trusts.
///
/// The caller chooses: the profile's truststore when it has one, the system store otherwise.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// OpenSSL's default verify paths (the system bundle; `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` override it).
    System,
    /// A PEM bundle of CA certificates.
    Pem(Vec<u8>),
    /// CA certificates in DER, one per entry, as a truststore stores them.
    Certificates(Vec<Vec<u8>>),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("System"),
            Self::Pem(pem) => write!(f, "Pem({} bytes)", pem.len()),
            Self::Certificates(certs) => write!(f, "Certificates({} certificates)", certs.len()),
        }
    }
}

impl Trust {
    /// Installs the trusted certificates into `builder`.
    pub(crate) fn apply(&self, builder: &mut SslContextBuilder) -> Result<(), EngineError> {
        match self.certificates()? {
            None => builder
                .set_default_verify_paths()
                .map_err(|e| EngineError::refused("system trust store", &e)),
            Some(certs) => add_all(builder, certs),
        }
    }

    /// Installs the trusted certificates into a server's `builder` for verifying client
    /// certificates, and names them in the certificate request as the CAs the server accepts.
    /// The system store is not named: its clients may send a certificate from any CA.
    pub(crate) fn apply_for_clients(
        &self,
        builder: &mut SslContextBuilder,
    ) -> Result<(), EngineError> {
        let Some(certs) = self.certificates()? else {
            return self.apply(builder);
        };
        for cert in &certs {
            builder.add_client_ca(cert).map_err(|e| EngineError::refused("client CA list", &e))?;
        }
        add_all(builder, certs)
    }

    /// The certificates of a bundle or truststore; `None` for the system store.
    fn certificates(&self) -> Result<Option<Vec<X509>>, EngineError> {
        match self {
            Self::System => Ok(None),
            Self::Pem(pem) => pem_bundle(pem).map(Some),
            Self::Certificates(ders) => der_certificates(ders).map(Some),
        }
    }
}

fn pem_bundle(pem: &[u8]) -> Result<Vec<X509>, EngineError> {
    let certs = X509::stack_from_pem(pem)
        .map_err(|_| EngineError::Trust("the PEM bundle could not be read".into()))?;
    if certs.is_empty() {
        return Err(EngineError::Trust("the PEM bundle holds no certificate".into()));
    }
    Ok(certs)
}

fn der_certificates(ders: &[Vec<u8>]) -> Result<Vec<X509>, EngineError> {
    if ders.is_empty() {
        return Err(EngineError::Trust("the truststore holds no certificate".into()));
    }
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            X509::from_der(der).map_err(|_| {
                EngineError::Trust(format!("certificate {} of the truststore is not DER", i + 1))
            })
        })
        .collect()
}

fn add_all(builder: &mut SslContextBuilder, certs: Vec<X509>) -> Result<(), EngineError> {
    let store = builder.cert_store_mut();
    for cert in certs {
        store.add_cert(cert).map_err(|e| EngineError::refused("trusted certificate", &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ssl::SslMethod;

    fn builder() -> SslContextBuilder {
        SslContextBuilder::new(SslMethod::tls_client()).unwrap()
    }

    #[test]
    fn an_empty_truststore_is_refused() {
        let err = Trust::Certificates(Vec::new()).apply(&mut builder()).unwrap_err();
        assert_eq!(err.to_string(), "trust bundle: the truststore holds no certificate");
    }

    #[test]
    fn an_entry_that_is_not_der_is_named_by_position() {
        let trust = Trust::Certificates(vec![b"\x30\x03\x02\x01\x01".to_vec(), b"junk".to_vec()]);
        let err = trust.apply(&mut builder()).unwrap_err();
        assert_eq!(err.to_string(), "trust bundle: certificate 1 of the truststore is not DER");
    }

    #[test]
    fn debug_shows_sizes_not_contents() {
        let trust = Trust::Certificates(vec![vec![1, 2, 3], vec![4]]);
        assert_eq!(format!("{trust:?}"), "Certificates(2 certificates)");
    }
}
