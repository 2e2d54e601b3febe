//! The master key that opens the private keys keystores hold sealed, for processes that build
//! contexts straight from the store (the gateway) rather than through the server.

use std::fmt;
use std::path::Path;

use tlsdeck_pki::{MASTER_KEY_ENV, MASTER_KEY_FILE, MasterKey};

pub use tlsdeck_pki::keystore_seal_context;

use crate::error::EngineError;
use crate::identity::Identity;

/// Opens sealed private keys into the [`Identity`] a context presents. `Debug` never shows
/// the key.
pub struct KeyUnsealer(MasterKey);

impl fmt::Debug for KeyUnsealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyUnsealer(redacted)")
    }
}

impl KeyUnsealer {
    /// The master key from `TLSDECK_MASTER_KEY` when set, else from `master.key` in
    /// `data_dir` when that file exists. Unlike the server, this never creates a key: a new
    /// one would open nothing stored.
    pub fn from_env_or_existing_file(data_dir: Option<&Path>) -> Result<Self, EngineError> {
        if std::env::var_os(MASTER_KEY_ENV).is_some_and(|v| !v.is_empty()) {
            let text = std::env::var(MASTER_KEY_ENV).unwrap_or_default();
            return MasterKey::from_text(&text).map(Self).ok_or_else(|| {
                EngineError::MasterKey(format!(
                    "{MASTER_KEY_ENV} is not 64 hex digits or the base64 of 32 bytes"
                ))
            });
        }
        let Some(dir) = data_dir.filter(|d| d.join(MASTER_KEY_FILE).exists()) else {
            let place = data_dir.map_or(String::new(), |d| {
                format!(", or keep the server's {MASTER_KEY_FILE} in {}", d.display())
            });
            return Err(EngineError::MasterKey(format!("none found: set {MASTER_KEY_ENV}{place}")));
        };
        MasterKey::from_file(dir).map(Self).map_err(|e| EngineError::MasterKey(e.to_string()))
    }

    /// A master key from raw bytes, e.g. for tests.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(MasterKey::from_bytes(bytes))
    }

    /// The identity of a keystore: its `chain` (DER, leaf first) and its private key, opened
    /// from `sealed_key` with the associated data `context` it was sealed with.
    pub fn identity(
        &self,
        chain: Vec<Vec<u8>>,
        sealed_key: &[u8],
        context: &[u8],
    ) -> Result<Identity, EngineError> {
        let key = self.0.open(sealed_key, context).map_err(|_| {
            EngineError::MasterKey(
                "the private key does not open with this master key (start with the key the \
                 store was sealed with)"
                    .to_owned(),
            )
        })?;
        Ok(Identity { chain, key_pkcs8: key.to_vec() })
    }

    /// Seals `key_pkcs8` for `context`, as the server stores a keystore's key (for tests and
    /// tools that fill a store directly).
    pub fn seal(&self, key_pkcs8: &[u8], context: &[u8]) -> Result<Vec<u8>, EngineError> {
        self.0.seal(key_pkcs8, context).map_err(|e| EngineError::MasterKey(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_context() {
        let unsealer = KeyUnsealer::from_bytes([3; 32]);
        let sealed = unsealer.seal(b"pkcs8 bytes", b"ctx").unwrap();
        let id = unsealer.identity(vec![vec![1]], &sealed, b"ctx").unwrap();
        assert_eq!(id.key_pkcs8, b"pkcs8 bytes");
        let err = unsealer.identity(vec![vec![1]], &sealed, b"other").unwrap_err();
        assert!(!err.to_string().contains("pkcs8"), "{err}");
        assert!(err.to_string().contains("master key"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(format!("{:?}", KeyUnsealer::from_bytes([9; 32])), "KeyUnsealer(redacted)");
    }
}
