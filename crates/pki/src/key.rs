//! Private keys: read from every common form, held as PKCS#8 DER that is wiped on drop.

use std::fmt;

use openssl::ec::EcKey;
use openssl::error::ErrorStack;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::certificate::Certificate;
use crate::der;
use crate::error::{PkiError, reasons};
use crate::pem::Block;
use crate::pkcs12;

/// A private key as unencrypted PKCS#8 DER, wiped from memory when dropped.
///
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct PrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
}

impl PrivateKey {
    /// Reads a private key from unencrypted PKCS#8 DER, e.g. after unsealing it.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        let key = PKey::private_key_from_pkcs8(der).map_err(|_| PkiError::KeyUnreadable)?;
        Self::from_pkey(&key)
    }

    /// The key as unencrypted PKCS#8 DER.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Whether this key is the private half of the certificate's public key.
    pub fn matches(&self, certificate: &Certificate) -> bool {
        let Ok(key) = self.to_pkey() else { return false };
        let Ok(cert) = X509::from_der(&certificate.der) else { return false };
        cert.public_key().is_ok_and(|public| public.public_eq(&key))
    }

    pub(crate) fn from_pkey(key: &PKey<Private>) -> Result<Self, PkiError> {
        let pkcs8 = key.private_key_to_pkcs8().map_err(|_| PkiError::KeyUnreadable)?;
        Ok(Self { pkcs8: Zeroizing::new(pkcs8) })
    }

    pub(crate) fn to_pkey(&self) -> Result<PKey<Private>, PkiError> {
        PKey::private_key_from_pkcs8(&self.pkcs8).map_err(|_| PkiError::KeyUnreadable)
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(redacted)")
    }
}

/// The key in a PEM block whose label ends in `PRIVATE KEY`.
pub(crate) fn from_block(block: &Block, password: Option<&str>) -> Result<PKey<Private>, PkiError> {
    if block.label == "ENCRYPTED PRIVATE KEY" {
        return from_encrypted_pkcs8(&block.der, password);
    }
    if block.is_encrypted() {
        let password = usable_password(password)?;
        let pem = block.to_pem();
        return PKey::private_key_from_pem_passphrase(pem.as_bytes(), password.as_bytes())
            .map_err(|e| decryption_error(&e));
    }
    match block.label.as_str() {
        "PRIVATE KEY" => PKey::private_key_from_pkcs8(&block.der).ok(),
        "RSA PRIVATE KEY" => Rsa::private_key_from_der(&block.der).and_then(PKey::from_rsa).ok(),
        "EC PRIVATE KEY" => {
            EcKey::private_key_from_der(&block.der).and_then(PKey::from_ec_key).ok()
        }
        _ => PKey::private_key_from_der(&block.der).ok(),
    }
    .ok_or(PkiError::KeyUnreadable)
}

/// A key in DER: PKCS#8 (plain or encrypted), PKCS#1 RSA or SEC1 EC.
pub(crate) fn from_der(
    input: &[u8],
    password: Option<&str>,
) -> Option<Result<PKey<Private>, PkiError>> {
    if der::is_encrypted_pkcs8(input) {
        return Some(from_encrypted_pkcs8(input, password));
    }
    PKey::private_key_from_der(input).ok().map(Ok)
}

fn from_encrypted_pkcs8(der: &[u8], password: Option<&str>) -> Result<PKey<Private>, PkiError> {
    let password = usable_password(password)?;
    pkcs12::ensure_legacy_provider();
    PKey::private_key_from_pkcs8_passphrase(der, password.as_bytes())
        .map_err(|e| decryption_error(&e))
}

/// The password, refusing none and one OpenSSL cannot take (holding a NUL byte).
pub(crate) fn usable_password(password: Option<&str>) -> Result<&str, PkiError> {
    match password {
        None => Err(PkiError::PasswordMissing),
        Some(p) if p.contains('\0') => Err(PkiError::PasswordWrong),
        Some(p) => Ok(p),
    }
}

/// A failed decryption: an algorithm OpenSSL could not fetch, or else a wrong password.
pub(crate) fn decryption_error(err: &ErrorStack) -> PkiError {
    let unsupported = reasons(err).iter().any(|r| r.contains("unsupported"));
    if unsupported { PkiError::LegacyAlgorithmUnavailable } else { PkiError::PasswordWrong }
}
