//! The certificate a context presents: a keystore's leaf, its intermediates and key, as a
//! client certificate or as a server's certificate.

use std::fmt;

use openssl::pkey::{Id, PKey, Private};
use openssl::ssl::{SslContextBuilder, SslMode};
use openssl::x509::{X509, X509Ref, X509VerifyResult};
use tlsdeck_model::ServerKey;

use crate::certs;
use crate::error::EngineError;

/// A certificate chain and its private key, as a keystore holds them: a client context
/// presents it as client certificate, a server context as its own certificate.
///
/// `Debug` shows the number of certificates and never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The certificates in DER: the leaf first, then the intermediates that lead to its CA.
    pub chain: Vec<Vec<u8>>,
    /// The leaf's private key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &format_args!("{} certificates", self.chain.len()))
            .field("key_pkcs8", &format_args!("[redacted]"))
            .finish()
    }
}

/// What a context presents, as plain data for the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presented {
    /// The leaf's subject.
    pub subject: String,
    /// The leaf's issuer, when the chain lacks it and the leaf is not self-issued.
    pub missing_issuer: Option<String>,
}

/// Which end presents an identity; it names the certificate in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A client certificate, for mutual TLS.
    Client,
    /// A listener's own certificate.
    Server,
}

impl Role {
    fn unreadable(self, why: impl Into<String>) -> EngineError {
        match self {
            Self::Client => EngineError::Identity(why.into()),
            Self::Server => EngineError::ServerIdentity(why.into()),
        }
    }

    fn mismatch(self, leaf: String) -> EngineError {
        match self {
            Self::Client => EngineError::KeyMismatch { leaf },
            Self::Server => EngineError::ServerKeyMismatch { leaf },
        }
    }

    fn settings(self) -> (&'static str, &'static str) {
        match self {
            Self::Client => ("client certificate", "client certificate chain"),
            Self::Server => ("server certificate", "server certificate chain"),
        }
    }
}

impl Identity {
    /// Installs the leaf, the intermediates and the key into `builder`, after checking that
    /// the key belongs to the leaf.
    pub(crate) fn apply(
        &self,
        builder: &mut SslContextBuilder,
        role: Role,
    ) -> Result<Presented, EngineError> {
        let (leaf, intermediates) = self.certificates(role)?;
        let key = self.key(role)?;
        let subject = certs::name_text(leaf.subject_name());
        if !leaf.public_key().is_ok_and(|public| public.public_eq(&key)) {
            return Err(role.mismatch(subject));
        }
        let missing_issuer = missing_issuer(&leaf, &intermediates);

        // Send exactly the keystore's chain: never one OpenSSL completes from the truststore.
        let (leaf_setting, chain_setting) = role.settings();
        builder.set_mode(SslMode::NO_AUTO_CHAIN);
        builder.set_certificate(&leaf).map_err(|e| EngineError::refused(leaf_setting, &e))?;
        for cert in intermediates {
            builder
                .add_extra_chain_cert(cert)
                .map_err(|e| EngineError::refused(chain_setting, &e))?;
        }

        builder.set_private_key(&key).map_err(|_| role.mismatch(subject.clone()))?;
        builder.check_private_key().map_err(|_| role.mismatch(subject.clone()))?;
        Ok(Presented { subject, missing_issuer })
    }

    /// The kind of the private key, as far as the suites it can serve are concerned.
    pub(crate) fn server_key(&self) -> Result<ServerKey, EngineError> {
        let kind = match self.key(Role::Server)?.id() {
            Id::RSA | Id::RSA_PSS => ServerKey::Rsa,
            Id::EC => ServerKey::Ec,
            Id::DSA => ServerKey::Dsa,
            _ => ServerKey::Other,
        };
        Ok(kind)
    }

    fn certificates(&self, role: Role) -> Result<(X509, Vec<X509>), EngineError> {
        let mut certs = self.chain.iter().enumerate().map(|(i, der)| {
            X509::from_der(der).map_err(|_| {
                role.unreadable(format!("certificate {} of the chain is not DER", i + 1))
            })
        });
        let leaf =
            certs.next().ok_or_else(|| role.unreadable("the chain holds no certificate"))??;
        Ok((leaf, certs.collect::<Result<_, _>>()?))
    }

    fn key(&self, role: Role) -> Result<PKey<Private>, EngineError> {
        // OpenSSL's reasons are dropped: they say nothing useful here, and the key stays out.
        PKey::private_key_from_pkcs8(&self.key_pkcs8)
            .map_err(|_| role.unreadable("the private key is not PKCS#8 DER"))
    }
}

/// The leaf's issuer, when no certificate of the chain issued the leaf and the leaf did not
/// issue itself.
fn missing_issuer(leaf: &X509Ref, intermediates: &[X509]) -> Option<String> {
    let self_issued = leaf.issued(leaf) == X509VerifyResult::OK;
    let issuer_sent = intermediates.iter().any(|c| c.issued(leaf) == X509VerifyResult::OK);
    (!self_issued && !issuer_sent).then(|| certs::name_text(leaf.issuer_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let id = Identity { chain: vec![vec![1], vec![2]], key_pkcs8: vec![0xAB; 8] };
        let shown = format!("{id:?}");
        assert_eq!(shown, r#"Identity { chain: 2 certificates, key_pkcs8: [redacted] }"#);
    }

    #[test]
    fn an_empty_chain_is_refused() {
        let id = Identity { chain: Vec::new(), key_pkcs8: Vec::new() };
        let err = id.certificates(Role::Client).unwrap_err();
        assert_eq!(err.to_string(), "client certificate: the chain holds no certificate");
        let err = id.certificates(Role::Server).unwrap_err();
        assert_eq!(err.to_string(), "server certificate: the chain holds no certificate");
    }

    #[test]
    fn an_unreadable_key_is_refused_without_quoting_it() {
        let id = Identity { chain: Vec::new(), key_pkcs8: b"secret bytes".to_vec() };
        let err = id.key(Role::Client).unwrap_err().to_string();
        assert_eq!(err, "client certificate: the private key is not PKCS#8 DER");
    }
}
