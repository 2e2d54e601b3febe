//! Truststores: CA certificates, each stored once, and the operating system's bundle.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tlsdeck_model::Warning;

use crate::certificate::{CertInfo, Certificate, certificate_warnings, describe};
use crate::error::PkiError;
use crate::material::{self, Purpose};

/// Where the operating system's CA bundle lives when `SSL_CERT_FILE` is not set.
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The largest system bundle read; it is trusted more than an upload, so it may be larger.
const MAX_SYSTEM_BUNDLE_BYTES: usize = 32 * 1024 * 1024;

/// Trusted certificates, each stored once.
#[derive(Debug, Clone)]
pub struct Truststore {
    /// The certificates, in upload order, without duplicates.
    pub entries: Vec<Certificate>,
    /// Certificates of the upload that repeated an entry (same SHA-256 fingerprint).
    pub duplicates: Vec<CertInfo>,
}

/// Reads a truststore from a PEM bundle, a DER certificate or a certificate-only PKCS#12 file.
///
/// An input holding no certificate is refused, and so is one holding a private key.
pub fn parse_truststore(input: &[u8], password: Option<&str>) -> Result<Truststore, PkiError> {
    read(input, password, crate::MAX_INPUT_BYTES)
}

/// The warnings for a truststore at `now`: those of each entry, and each duplicate dropped.
pub fn truststore_warnings(truststore: &Truststore, now: DateTime<Utc>) -> Vec<Warning> {
    let mut warnings: Vec<Warning> =
        truststore.entries.iter().flat_map(|c| certificate_warnings(&c.info, now)).collect();
    for dup in &truststore.duplicates {
        let msg = format!("certificate {} appears more than once and is stored once", dup.subject);
        warnings.push(Warning::new("duplicate", "certificates", msg));
    }
    warnings
}

/// The operating system's CA certificates: the file named by `SSL_CERT_FILE`, or else
/// [`SYSTEM_CA_BUNDLE`].
pub fn system_ca_bundle() -> Result<Vec<Certificate>, PkiError> {
    let path = match std::env::var_os("SSL_CERT_FILE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(SYSTEM_CA_BUNDLE),
    };
    let bytes = std::fs::read(&path).map_err(|source| PkiError::SystemBundle { path, source })?;
    Ok(read(&bytes, None, MAX_SYSTEM_BUNDLE_BYTES)?.entries)
}

fn read(input: &[u8], password: Option<&str>, limit: usize) -> Result<Truststore, PkiError> {
    let material = material::read(input, password, Purpose::Truststore, limit)?;
    if material.certs.is_empty() {
        return Err(PkiError::NoCertificate);
    }
    let mut seen = HashSet::new();
    let mut store = Truststore { entries: Vec::new(), duplicates: Vec::new() };
    for (i, x509) in material.certs.iter().enumerate() {
        let cert = describe(x509, i + 1)?;
        if seen.insert(cert.info.fingerprint_sha256.clone()) {
            store.entries.push(cert);
        } else {
            store.duplicates.push(cert.info);
        }
    }
    Ok(store)
}
