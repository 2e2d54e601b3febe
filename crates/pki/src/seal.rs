//! Sealing private keys at rest: AES-256-GCM under a master key from the environment or a file.
//!
//! Sealed data is `version (1 byte) || nonce (12) || ciphertext || tag (16)`.

use std::fmt;
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::rand::rand_bytes;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use zeroize::Zeroizing;

use crate::error::PkiError;

/// The environment variable that holds the master key.
pub const MASTER_KEY_ENV: &str = "TLSDECK_MASTER_KEY";
/// The key file's name inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

const VERSION_1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// A key file larger than this is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// The 32-byte key that seals private keys at rest. Its `Debug` output never shows it.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(redacted)")
    }
}

impl MasterKey {
    /// A master key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A master key from text: 64 hex digits or base64 of 32 bytes, surrounding space ignored.
    pub fn from_text(text: &str) -> Option<Self> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; 32]);
        if text.len() == 64 && hex::decode_to_slice(text, &mut *bytes).is_ok() {
            return Some(Self(bytes));
        }
        let decoded = Zeroizing::new(STANDARD.decode(text).ok()?);
        bytes.copy_from_slice(decoded.get(..32).filter(|_| decoded.len() == 32)?);
        Some(Self(bytes))
    }

    /// The master key from `TLSDECK_MASTER_KEY` when set, else from `<data_dir>/master.key`,
    /// which is created with 32 random bytes and mode 0600 on first start.
    pub fn from_env_or_file(data_dir: &Path) -> Result<Self, PkiError> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => Self::from_text(&text)
                .ok_or(PkiError::MasterKeyInvalid { origin: MASTER_KEY_ENV.to_owned() }),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(PkiError::MasterKeyInvalid { origin: MASTER_KEY_ENV.to_owned() })
            }
            _ => Self::from_file(data_dir),
        }
    }

    /// The master key from `<data_dir>/master.key`, created on first use with mode 0600.
    pub fn from_file(data_dir: &Path) -> Result<Self, PkiError> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let file_error = |source| PkiError::MasterKeyFile { path: path.clone(), source };
        match std::fs::symlink_metadata(&path) {
            Ok(_) => read_key_file(&path),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(file_error)?;
                create_key_file(&path)
            }
            Err(e) => Err(file_error(e)),
        }
    }

    /// Encrypts and authenticates `plaintext`, binding it to `aad` (e.g. the keystore's id).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, PkiError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand_bytes(&mut nonce).map_err(|_| PkiError::Sealing)?;
        let mut tag = [0u8; TAG_LEN];
        let cipher = Cipher::aes_256_gcm();
        let ciphertext = encrypt_aead(cipher, &*self.0, Some(&nonce), aad, plaintext, &mut tag)
            .map_err(|_| PkiError::Sealing)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len() + TAG_LEN);
        sealed.push(VERSION_1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// Checks and decrypts data made by [`MasterKey::seal`] with the same key and `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let (&version, rest) = sealed.split_first().ok_or(PkiError::SealedFormat)?;
        if version != VERSION_1 || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(PkiError::SealedFormat);
        }
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let cipher = Cipher::aes_256_gcm();
        decrypt_aead(cipher, &*self.0, Some(nonce), aad, ciphertext, tag)
            .map(Zeroizing::new)
            .map_err(|_| PkiError::Unsealing)
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, PkiError> {
    let file_error = |source| PkiError::MasterKeyFile { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(file_error)?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(invalid_file(path));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "master key file is readable by group or others");
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(file_error)?);
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(MasterKey::from_bytes(raw));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid_file(path))?;
    MasterKey::from_text(text).ok_or_else(|| invalid_file(path))
}

/// Writes a fresh random key as hex, so that the file appears complete or not at all.
fn create_key_file(path: &Path) -> Result<MasterKey, PkiError> {
    let file_error = |source| PkiError::MasterKeyFile { path: path.to_owned(), source };
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand_bytes(&mut *bytes).map_err(|_| PkiError::Sealing)?;
    let text = Zeroizing::new(format!("{}\n", hex::encode(*bytes)));

    let staging = staging_path(path);
    let written = write_private(&staging, text.as_bytes());
    let linked = written.and_then(|()| std::fs::hard_link(&staging, path));
    let _ = std::fs::remove_file(&staging);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created master key file");
            Ok(MasterKey(bytes))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read_key_file(path),
        Err(e) => Err(file_error(e)),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A file name beside `path` that no other process or thread will pick.
fn staging_path(path: &Path) -> PathBuf {
    let mut salt = [0u8; 8];
    let _ = rand_bytes(&mut salt);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".new-{}-{}", std::process::id(), hex::encode(salt)));
    PathBuf::from(name)
}

fn invalid_file(path: &Path) -> PkiError {
    PkiError::MasterKeyInvalid { origin: path.display().to_string() }
}

/// The associated data a keystore's private key is sealed with: the owning org's id, so a
/// sealed key moved to another org does not open there unnoticed.
pub fn keystore_seal_context(org_id: impl std::fmt::Display) -> Vec<u8> {
    format!("tlsdeck keystore {org_id}").into_bytes()
}
