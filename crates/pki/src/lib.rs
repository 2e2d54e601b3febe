//! Certificate and key material: parsing uploads, ordering chains, metadata, sealing keys.
//!
//! OpenSSL stays inside this crate; callers see DER bytes and plain values. No error, log line
//! or `Debug` output holds a private key or a password.

mod certificate;
mod der;
mod error;
mod generate;
mod key;
mod keystore;
mod material;
mod pem;
mod pkcs12;
mod seal;
mod truststore;

pub use certificate::{
    CertInfo, Certificate, EXPIRY_WARNING_DAYS, MIN_RSA_BITS, certificate_warnings,
    parse_certificate,
};
pub use error::PkiError;
pub use generate::generate_self_signed;
pub use key::PrivateKey;
pub use keystore::{
    Keystore, MAX_INTERMEDIATES, keystore_warnings, parse_keystore, parse_keystore_parts,
};
pub use pkcs12::{MAX_PKCS12_ITERATIONS, ensure_legacy_provider};
pub use seal::{MASTER_KEY_ENV, MASTER_KEY_FILE, MasterKey, keystore_seal_context};
pub use truststore::{
    SYSTEM_CA_BUNDLE, Truststore, parse_truststore, system_ca_bundle, truststore_warnings,
};
pub use zeroize::Zeroizing;

/// The largest upload the parsers accept: 4 MiB.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;
