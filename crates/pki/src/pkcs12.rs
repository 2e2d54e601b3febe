//! PKCS#12 files, including legacy ones (RC2-40, 3DES) through OpenSSL's legacy provider.

use std::sync::OnceLock;

use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::provider::Provider;
use openssl::x509::X509;

use crate::der;
use crate::error::{PkiError, reasons};
use crate::key::usable_password;

/// The most MAC key-derivation rounds accepted; real files use 2,048 to a few hundred thousand.
pub const MAX_PKCS12_ITERATIONS: u64 = 1_000_000;

/// What a PKCS#12 file holds.
pub(crate) struct Contents {
    pub(crate) key: Option<PKey<Private>>,
    /// The certificate that goes with the key first, then the others as stored.
    pub(crate) certs: Vec<X509>,
}

/// Loads OpenSSL's legacy provider (and keeps the default one) for the rest of the process.
///
/// Answers whether the legacy provider is available. Loading it also makes legacy algorithms
/// such as RC4 and single DES available to every OpenSSL user in the process.
pub fn ensure_legacy_provider() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let default = Provider::try_load(None, "default", true);
        let legacy = Provider::try_load(None, "legacy", true);
        // Providers unload on drop; these stay loaded until the process ends.
        let available = legacy.is_ok();
        std::mem::forget(default);
        std::mem::forget(legacy);
        if !available {
            tracing::warn!("openssl legacy provider unavailable: legacy PKCS#12 files are refused");
        }
        available
    })
}

/// Parses DER input as PKCS#12, or answers `None` when it is not PKCS#12 at all.
pub(crate) fn parse(input: &[u8], password: Option<&str>) -> Option<Result<Contents, PkiError>> {
    let p12 = Pkcs12::from_der(input).ok()?;
    Some(open(&p12, input, password))
}

fn open(p12: &Pkcs12, input: &[u8], password: Option<&str>) -> Result<Contents, PkiError> {
    let too_many = der::pkcs12_mac_iterations(input).filter(|&n| n > MAX_PKCS12_ITERATIONS);
    if let Some(iterations) = too_many {
        return Err(PkiError::TooManyIterations { iterations, limit: MAX_PKCS12_ITERATIONS });
    }
    let legacy = ensure_legacy_provider();
    // Files exported without a password are protected by the empty one.
    let given = match password {
        None => "",
        Some(_) => usable_password(password)?,
    };
    let parsed = p12.parse2(given).map_err(|e| classify(&e, password.is_some(), legacy))?;
    let mut certs: Vec<X509> = parsed.cert.into_iter().collect();
    certs.extend(parsed.ca.into_iter().flatten());
    Ok(Contents { key: parsed.pkey, certs })
}

/// Tells a wrong or missing password from an algorithm OpenSSL could not load.
fn classify(err: &openssl::error::ErrorStack, password_given: bool, legacy: bool) -> PkiError {
    let reasons = reasons(err);
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    if has("mac verify failure") || has("mac verify error") {
        return if password_given { PkiError::PasswordWrong } else { PkiError::PasswordMissing };
    }
    if has("unsupported") || !legacy {
        return PkiError::LegacyAlgorithmUnavailable;
    }
    if password_given { PkiError::PasswordWrong } else { PkiError::PasswordMissing }
}
