//! Keystores: one private key and its chain, ordered from the leaf that matches the key.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Ref};
use tlsdeck_model::Warning;

use crate::certificate::{Certificate, certificate_warnings, describe};
use crate::error::PkiError;
use crate::key::PrivateKey;
use crate::material::{self, Material, Purpose};

/// The most intermediates a keystore's chain may hold.
pub const MAX_INTERMEDIATES: usize = 10;

/// A private key with its certificate chain.
#[derive(Debug, Clone)]
pub struct Keystore {
    /// The chain: the leaf that matches the key first, then each issuer in turn.
    pub chain: Vec<Certificate>,
    /// Certificates of the upload that are not on the path from the leaf.
    pub off_path: Vec<Certificate>,
    /// Whether the upload gave the chain in another order than leaf first.
    pub reordered: bool,
    key: PrivateKey,
}

impl Keystore {
    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The leaf certificate, whose public key matches the private key.
    ///
    /// # Panics
    ///
    /// If the caller has emptied `chain`; a parsed keystore always has a leaf.
    pub fn leaf(&self) -> &Certificate {
        &self.chain[0]
    }
}

/// Reads a keystore from one input: PEM with the chain and key in any order, DER or PKCS#12.
///
/// The password opens an encrypted key or a PKCS#12 file; it is ignored when none is needed.
pub fn parse_keystore(input: &[u8], password: Option<&str>) -> Result<Keystore, PkiError> {
    let material = read(input, password)?;
    assemble(material)
}

/// Reads a keystore given as two inputs: the certificates, and the private key.
///
/// Either input may be PEM, DER or PKCS#12; the password applies to both.
pub fn parse_keystore_parts(
    cert_input: &[u8],
    key_input: &[u8],
    password: Option<&str>,
) -> Result<Keystore, PkiError> {
    let mut material = read(cert_input, password)?;
    let key_part = read(key_input, password)?;
    material.certs.extend(key_part.certs);
    material.keys.extend(key_part.keys);
    material.from_pkcs12 |= key_part.from_pkcs12;
    assemble(material)
}

/// The warnings for a keystore at `now`: those of each chain certificate, a reordered chain,
/// and each certificate off the path.
pub fn keystore_warnings(keystore: &Keystore, now: DateTime<Utc>) -> Vec<Warning> {
    let mut warnings: Vec<Warning> =
        keystore.chain.iter().flat_map(|c| certificate_warnings(&c.info, now)).collect();
    if keystore.reordered {
        let msg = "the chain was uploaded out of order and is stored leaf first";
        warnings.push(Warning::new("reordered", "certificates", msg));
    }
    for cert in &keystore.off_path {
        let msg = format!(
            "certificate {} is not on the path from the leaf and is not presented",
            cert.info.subject
        );
        warnings.push(Warning::new("off_path", "certificates", msg));
    }
    warnings
}

fn read(input: &[u8], password: Option<&str>) -> Result<Material, PkiError> {
    material::read(input, password, Purpose::Keystore, crate::MAX_INPUT_BYTES)
}

/// Builds the keystore: one key, its leaf, the issuer path, and what is left over.
fn assemble(material: Material) -> Result<Keystore, PkiError> {
    let key = single_key(material.keys)?;
    if material.certs.is_empty() {
        return Err(PkiError::NoCertificate);
    }
    let leaf = material
        .certs
        .iter()
        .position(|c| c.public_key().is_ok_and(|p| p.public_eq(&key)))
        .ok_or(PkiError::KeyMatchesNoCertificate)?;
    let path = issuer_path(&material.certs, leaf);
    let count = intermediates(&material.certs, &path);
    if count > MAX_INTERMEDIATES {
        return Err(PkiError::TooManyIntermediates { count, limit: MAX_INTERMEDIATES });
    }

    let reordered = !material.from_pkcs12 && path.windows(2).any(|w| w[0] > w[1]);
    let chain = describe_all(&material.certs, path.iter().copied())?;
    let rest = (0..material.certs.len()).filter(|i| !path.contains(i));
    let off_path = describe_all(&material.certs, rest)?;
    let key = PrivateKey::from_pkey(&key)?;
    Ok(Keystore { chain, off_path, reordered, key })
}

/// The one private key; copies of the same key count once.
fn single_key(keys: Vec<PKey<Private>>) -> Result<PKey<Private>, PkiError> {
    let mut keys = keys.into_iter();
    let first = keys.next().ok_or(PkiError::NoPrivateKey)?;
    if keys.any(|other| !other.public_eq(&first)) {
        return Err(PkiError::MultiplePrivateKeys);
    }
    Ok(first)
}

/// Indexes of the path from the leaf: each next certificate is named as the issuer of the
/// previous one and verifies its signature. Stops at a self-issued certificate.
fn issuer_path(certs: &[X509], leaf: usize) -> Vec<usize> {
    let mut path = vec![leaf];
    // Each step adds a certificate not yet on the path, so this many steps always suffice.
    for _ in 0..certs.len() {
        let current = &certs[path[path.len() - 1]];
        if self_issued(current) {
            break;
        }
        let next = (0..certs.len()).find(|i| !path.contains(i) && issued_by(current, &certs[*i]));
        match next {
            Some(i) => path.push(i),
            None => break,
        }
    }
    path
}

/// Intermediates on the path: every certificate after the leaf except a self-issued root.
fn intermediates(certs: &[X509], path: &[usize]) -> usize {
    let after_leaf = path.len().saturating_sub(1);
    let ends_in_root = path.len() > 1 && self_issued(&certs[path[path.len() - 1]]);
    after_leaf - usize::from(ends_in_root)
}

fn self_issued(cert: &X509Ref) -> bool {
    same_name(cert, cert)
}

fn same_name(issued: &X509Ref, issuer: &X509Ref) -> bool {
    issued.issuer_name().try_cmp(issuer.subject_name()).is_ok_and(|o| o == Ordering::Equal)
}

fn issued_by(cert: &X509Ref, issuer: &X509Ref) -> bool {
    same_name(cert, issuer)
        && issuer.public_key().is_ok_and(|key| cert.verify(&key).unwrap_or(false))
}

fn describe_all(
    certs: &[X509],
    indexes: impl Iterator<Item = usize>,
) -> Result<Vec<Certificate>, PkiError> {
    indexes.map(|i| describe(&certs[i], i + 1)).collect()
}
