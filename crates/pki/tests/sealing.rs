//! Sealing keys at rest: round trips, tamper detection, and where the master key comes from.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::run_child;
use tlsdeck_pki::{MASTER_KEY_FILE, MasterKey, PkiError};

const AAD: &[u8] = b"org/acme/keystore/k1";
const SECRET: &[u8] = b"-----BEGIN PRIVATE KEY-----\nnot really a key\n";

fn key(byte: u8) -> MasterKey {
    MasterKey::from_bytes([byte; 32])
}

#[test]
fn sealed_data_opens_with_the_same_key_and_aad() {
    let sealed = key(7).seal(SECRET, AAD).unwrap();
    assert_eq!(sealed[0], 1, "format version");
    assert_eq!(sealed.len(), 1 + 12 + SECRET.len() + 16);
    assert!(!sealed.windows(8).any(|w| SECRET.windows(8).any(|s| s == w)));
    assert_eq!(&*key(7).open(&sealed, AAD).unwrap(), SECRET);
    assert_ne!(sealed, key(7).seal(SECRET, AAD).unwrap(), "each seal takes a fresh nonce");
}

#[test]
fn any_flipped_byte_is_detected() {
    let sealed = key(7).seal(SECRET, AAD).unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        let err = key(7).open(&bad, AAD).unwrap_err();
        assert!(matches!(err, PkiError::Unsealing | PkiError::SealedFormat), "byte {i}: {err:?}");
    }
}

#[test]
fn wrong_aad_or_key_is_refused() {
    let sealed = key(7).seal(SECRET, AAD).unwrap();
    assert!(matches!(key(7).open(&sealed, b"org/acme/keystore/k2"), Err(PkiError::Unsealing)));
    assert!(matches!(key(8).open(&sealed, AAD), Err(PkiError::Unsealing)));
}

#[test]
fn short_or_unknown_formats_are_refused() {
    let sealed = key(7).seal(SECRET, AAD).unwrap();
    for bad in [&[][..], &[1u8; 20][..], &sealed[..28]] {
        assert!(matches!(key(7).open(bad, AAD), Err(PkiError::SealedFormat)));
    }
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert!(matches!(key(7).open(&v2, AAD), Err(PkiError::SealedFormat)));
    let empty = key(7).seal(b"", AAD).unwrap();
    assert!(key(7).open(&empty, AAD).unwrap().is_empty());
}

#[test]
fn reads_master_keys_as_hex_or_base64() {
    let hex = "00".repeat(31) + "ff";
    let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=";
    let sealed = MasterKey::from_text(&hex).unwrap().seal(SECRET, AAD).unwrap();
    assert!(MasterKey::from_text(&format!(" {b64}\n")).unwrap().open(&sealed, AAD).is_ok());
    for bad in ["", "abc", &"0".repeat(63), &"zz".repeat(32), "AAAA"] {
        assert!(MasterKey::from_text(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn creates_the_key_file_with_mode_0600_and_reads_it_later() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let first = MasterKey::from_file(&data_dir).unwrap();
    let path = data_dir.join(MASTER_KEY_FILE);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let second = MasterKey::from_file(&data_dir).unwrap();
    let sealed = first.seal(SECRET, AAD).unwrap();
    assert_eq!(&*second.open(&sealed, AAD).unwrap(), SECRET);
    assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1, "no staging file left");
}

#[test]
fn refuses_a_damaged_key_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(MASTER_KEY_FILE), "not a key").unwrap();
    let err = MasterKey::from_file(dir.path()).unwrap_err();
    assert!(matches!(err, PkiError::MasterKeyInvalid { .. }));
}

#[test]
fn the_environment_key_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    run_child(
        "child_uses_env_key",
        &[("TLSDECK_MASTER_KEY", &"ab".repeat(32)), ("TLSDECK_TEST_DIR", data)],
    );
    assert!(!dir.path().join(MASTER_KEY_FILE).exists());
    run_child("child_refuses_bad_env_key", &[("TLSDECK_MASTER_KEY", "short")]);
}

#[test]
#[ignore = "run in a child process with TLSDECK_MASTER_KEY set"]
fn child_uses_env_key() {
    let dir = std::path::PathBuf::from(std::env::var("TLSDECK_TEST_DIR").unwrap());
    let from_env = MasterKey::from_env_or_file(&dir).unwrap();
    let sealed = key(0xab).seal(SECRET, AAD).unwrap();
    assert_eq!(&*from_env.open(&sealed, AAD).unwrap(), SECRET);
}

#[test]
#[ignore = "run in a child process with a bad TLSDECK_MASTER_KEY"]
fn child_refuses_bad_env_key() {
    let err = MasterKey::from_env_or_file(std::path::Path::new("/nonexistent")).unwrap_err();
    assert!(matches!(err, PkiError::MasterKeyInvalid { .. }));
    assert!(!err.to_string().contains("short"));
}
