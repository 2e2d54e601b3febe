//! Turning uploaded bytes into certificates and keys, whatever the container.

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::error::PkiError;
use crate::{key, pem, pkcs12};

/// What the caller will accept from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Certificates and private keys.
    Keystore,
    /// Certificates only: a private key is refused.
    Truststore,
}

/// The certificates and keys of one input, in the order they came.
pub(crate) struct Material {
    pub(crate) certs: Vec<X509>,
    pub(crate) keys: Vec<PKey<Private>>,
    /// Whether they came from PKCS#12, whose order means nothing to the uploader.
    pub(crate) from_pkcs12: bool,
}

/// Reads PEM text, DER or PKCS#12, whichever the input is, after checking its size.
pub(crate) fn read(
    input: &[u8],
    password: Option<&str>,
    purpose: Purpose,
    limit: usize,
) -> Result<Material, PkiError> {
    if input.len() > limit {
        return Err(PkiError::TooLarge { size: input.len(), limit });
    }
    if input.trim_ascii().is_empty() {
        return Err(PkiError::NoCertificate);
    }
    if pem::looks_like_pem(input) {
        read_pem(input, password, purpose)
    } else {
        read_der(input, password, purpose)
    }
}

fn read_pem(input: &[u8], password: Option<&str>, purpose: Purpose) -> Result<Material, PkiError> {
    let blocks = pem::blocks(input)?;
    if !blocks.iter().any(|b| pem::is_wanted(&b.label)) {
        return Err(PkiError::NoCertificate);
    }
    let mut material = Material { certs: Vec::new(), keys: Vec::new(), from_pkcs12: false };
    for block in &blocks {
        if pem::is_certificate(&block.label) {
            let index = material.certs.len() + 1;
            let cert = X509::from_der(&block.der)
                .map_err(|_| PkiError::CertificateUnreadable { index })?;
            material.certs.push(cert);
        } else if block.label.ends_with("PRIVATE KEY") {
            if purpose == Purpose::Truststore {
                return Err(PkiError::PrivateKeyInTruststore);
            }
            material.keys.push(key::from_block(block, password)?);
        }
    }
    Ok(material)
}

fn read_der(input: &[u8], password: Option<&str>, purpose: Purpose) -> Result<Material, PkiError> {
    if let Ok(cert) = X509::from_der(input) {
        return Ok(Material { certs: vec![cert], keys: Vec::new(), from_pkcs12: false });
    }
    if let Some(contents) = pkcs12::parse(input, password) {
        let contents = contents?;
        if purpose == Purpose::Truststore && contents.key.is_some() {
            return Err(PkiError::PrivateKeyInTruststore);
        }
        let keys = contents.key.into_iter().collect();
        return Ok(Material { certs: contents.certs, keys, from_pkcs12: true });
    }
    match key::from_der(input, password) {
        Some(_) if purpose == Purpose::Truststore => Err(PkiError::PrivateKeyInTruststore),
        Some(found) => Ok(Material { certs: Vec::new(), keys: vec![found?], from_pkcs12: false }),
        None => Err(PkiError::NotRecognised),
    }
}
