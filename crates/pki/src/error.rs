//! The error of this layer: material that cannot become a certificate, keystore or sealed key.
//!
//! No message ever holds key material or a password: variants carry only counts, labels
//! checked to be plain words, paths the operator chose, and I/O causes.

use std::path::PathBuf;

/// Why certificate or key material was refused, or a key could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The input is larger than the parsers accept.
    #[error("the input is too large ({size} bytes; the limit is {limit} bytes)")]
    TooLarge {
        /// The size of the input in bytes.
        size: usize,
        /// The largest input accepted, in bytes.
        limit: usize,
    },
    /// The input is neither PEM text, a DER certificate or key, nor PKCS#12.
    #[error("the input is not recognised as PEM, DER or PKCS#12")]
    NotRecognised,
    /// A PEM block is cut short or its body is not base64.
    #[error("the PEM block `{label}` {reason}")]
    MalformedPem {
        /// The block's label, e.g. `CERTIFICATE` (only upper-case letters, digits and spaces).
        label: String,
        /// What is wrong with it, e.g. `has no END line`.
        reason: &'static str,
    },
    /// A certificate in the input could not be read.
    #[error("certificate {index} in the input could not be read")]
    CertificateUnreadable {
        /// Its position among the certificates of the input, counted from 1.
        index: usize,
    },
    /// The input holds no certificate.
    #[error("no certificate found")]
    NoCertificate,
    /// A keystore input holds no private key.
    #[error("no private key found")]
    NoPrivateKey,
    /// A keystore input holds more than one private key.
    #[error("more than one private key found (a keystore holds exactly one)")]
    MultiplePrivateKeys,
    /// A private key is in a form this crate does not read, or its contents are damaged.
    #[error("the private key could not be read (accepted: PKCS#8, PKCS#1 RSA, SEC1 EC)")]
    KeyUnreadable,
    /// A truststore input holds a private key.
    #[error("a truststore holds certificates only: remove the private key")]
    PrivateKeyInTruststore,
    /// The key or PKCS#12 file is encrypted and no password was given.
    #[error("the key or file is encrypted: give its password")]
    PasswordMissing,
    /// The password given does not decrypt the key or PKCS#12 file.
    #[error("the password is wrong: it does not decrypt the private key or PKCS#12 file")]
    PasswordWrong,
    /// The encryption used needs OpenSSL's legacy provider, which could not be loaded.
    #[error(
        "the file uses a legacy encryption (such as RC2-40 or single DES) that the linked \
         OpenSSL cannot load (re-export it with AES-256-CBC)"
    )]
    LegacyAlgorithmUnavailable,
    /// A PKCS#12 file asks for more key-derivation rounds than are allowed.
    #[error("the PKCS#12 file asks for {iterations} key-derivation rounds (the limit is {limit})")]
    TooManyIterations {
        /// The rounds the file asks for.
        iterations: u64,
        /// The most rounds accepted.
        limit: u64,
    },
    /// The private key matches the public key of none of the certificates.
    #[error("private key does not match any certificate")]
    KeyMatchesNoCertificate,
    /// The path from the leaf has more intermediates than a keystore may hold.
    #[error("the chain has {count} intermediate certificates (at most {limit} are allowed)")]
    TooManyIntermediates {
        /// Intermediates on the path from the leaf, not counting a self-signed root.
        count: usize,
        /// The most intermediates accepted.
        limit: usize,
    },
    /// The master key in the environment or the key file is not 32 bytes in a known encoding.
    #[error("the master key from {origin} is not 64 hex digits or base64 of 32 bytes")]
    MasterKeyInvalid {
        /// Where it came from: the variable's name or the file's path.
        origin: String,
    },
    /// The master key file could not be created or read.
    #[error("master key file {path}")]
    MasterKeyFile {
        /// The key file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// OpenSSL could not seal the data (the random source or cipher failed).
    #[error("sealing failed in openssl")]
    Sealing,
    /// Sealed data is too short or carries an unknown format version.
    #[error("sealed data is not in a known format")]
    SealedFormat,
    /// Sealed data failed authentication: a wrong master key, other associated data, or damage.
    #[error("sealed data could not be opened (wrong master key or associated data, or altered)")]
    Unsealing,
    /// The operating system's CA bundle could not be read.
    #[error("system CA bundle {path}")]
    SystemBundle {
        /// The bundle file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// OpenSSL failed while generating a key or certificate.
    #[error("generating the self-signed certificate failed: {reason}")]
    Generation {
        /// OpenSSL's reasons, lower case.
        reason: String,
    },
}

impl PkiError {
    /// A generation failure, keeping OpenSSL's reasons as text.
    pub(crate) fn generation(err: &openssl::error::ErrorStack) -> Self {
        Self::Generation { reason: reasons(err).join("; ") }
    }
}

/// OpenSSL's reason strings for an error stack, lower case.
pub(crate) fn reasons(err: &openssl::error::ErrorStack) -> Vec<String> {
    let found: Vec<String> =
        err.errors().iter().filter_map(|e| e.reason()).map(str::to_lowercase).collect();
    if found.is_empty() { vec!["no reason given".to_owned()] } else { found }
}
