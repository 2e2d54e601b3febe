//! No `Debug` or `Display` output shows a private key, a master key or a password.

mod common;

use std::path::PathBuf;

use common::{Pki, pki};
use openssl::symm::Cipher;
use tlsdeck_pki::{MasterKey, PkiError, parse_keystore};

const PASSWORD: &str = "Tr0ub4dor&3-very-secret";

/// Checks that `text` holds no trace of `secret` in the forms it could leak in.
fn assert_hides(text: &str, secret: &[u8], what: &str) {
    let hex = hex::encode(secret);
    let debug_list = format!("{:?}", &secret[..12]);
    let debug_list = debug_list.trim_end_matches(']');
    let lower = text.to_lowercase();
    assert!(!lower.contains(&hex[..24]), "{what}: hex of the secret in {text}");
    assert!(!text.contains(debug_list), "{what}: bytes of the secret in {text}");
}

fn assert_hides_pem(text: &str, pem: &str) {
    for line in pem.lines().filter(|l| !l.starts_with("-----") && l.len() > 16) {
        assert!(!text.contains(line), "PEM body line in {text}");
    }
}

fn every_error() -> Vec<PkiError> {
    let io = || std::io::Error::other("io");
    vec![
        PkiError::TooLarge { size: 1, limit: 1 },
        PkiError::NotRecognised,
        PkiError::MalformedPem { label: "PRIVATE KEY".into(), reason: "has no END line" },
        PkiError::CertificateUnreadable { index: 1 },
        PkiError::NoCertificate,
        PkiError::NoPrivateKey,
        PkiError::MultiplePrivateKeys,
        PkiError::KeyUnreadable,
        PkiError::PrivateKeyInTruststore,
        PkiError::PasswordMissing,
        PkiError::PasswordWrong,
        PkiError::LegacyAlgorithmUnavailable,
        PkiError::TooManyIterations { iterations: 2, limit: 1 },
        PkiError::KeyMatchesNoCertificate,
        PkiError::TooManyIntermediates { count: 11, limit: 10 },
        PkiError::MasterKeyInvalid { origin: "TLSDECK_MASTER_KEY".into() },
        PkiError::MasterKeyFile { path: PathBuf::from("/data/master.key"), source: io() },
        PkiError::Sealing,
        PkiError::SealedFormat,
        PkiError::Unsealing,
        PkiError::SystemBundle { path: PathBuf::from("/etc/ssl/b.crt"), source: io() },
        PkiError::Generation { reason: "x".into() },
    ]
}

#[test]
fn every_error_has_its_own_plain_message() {
    let messages: Vec<String> = every_error().iter().map(ToString::to_string).collect();
    for (i, m) in messages.iter().enumerate() {
        assert!(!m.ends_with('.'), "{m}");
        assert!(m.chars().next().is_some_and(|c| !c.is_uppercase()), "{m}");
        assert!(!messages[..i].contains(m), "duplicate message {m}");
    }
}

#[test]
fn keystore_and_errors_hide_the_key_and_password() {
    let Pki { intermediate, leaf, .. } = pki();
    let der = leaf.key_pkcs8_der();
    let plain_pem = leaf.key_pkcs8_pem();
    let encrypted =
        leaf.key.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), PASSWORD.as_bytes());
    let encrypted = String::from_utf8(encrypted.unwrap()).unwrap();
    let input = leaf.cert_pem() + &encrypted;

    let ks = parse_keystore(input.as_bytes(), Some(PASSWORD)).unwrap();
    let mut outputs = vec![format!("{ks:?}"), format!("{ks:#?}"), format!("{:?}", ks.key())];

    let plain = leaf.cert_pem() + &plain_pem;
    let wrong_key = intermediate.cert_pem() + &plain_pem;
    let attempts = [
        parse_keystore(input.as_bytes(), Some("wrong")),
        parse_keystore(input.as_bytes(), None),
        parse_keystore(wrong_key.as_bytes(), Some(PASSWORD)),
        parse_keystore((leaf.cert_pem() + &damaged(&plain_pem)).as_bytes(), None),
        parse_keystore(&plain.as_bytes()[..plain.len() - 40], Some(PASSWORD)),
    ];
    for result in attempts {
        let err = result.unwrap_err();
        outputs.push(format!("{err:?}"));
        outputs.push(err.to_string());
    }
    for err in every_error() {
        outputs.push(format!("{err:?}"));
        outputs.push(err.to_string());
    }

    for text in &outputs {
        assert_hides(text, &der, "key");
        assert_hides_pem(text, &plain_pem);
        assert_hides_pem(text, &encrypted);
        assert!(!text.contains(PASSWORD), "password in {text}");
    }
}

/// The PEM key with its first body line's start overwritten.
fn damaged(pem: &str) -> String {
    let start = pem.find('\n').unwrap() + 1;
    format!("{}AAAAAAAA{}", &pem[..start], &pem[start + 8..])
}

#[test]
fn master_key_debug_hides_the_key() {
    let bytes: [u8; 32] = std::array::from_fn(|i| i as u8 * 7 + 3);
    let key = MasterKey::from_bytes(bytes);
    for text in [format!("{key:?}"), format!("{key:#?}")] {
        assert_hides(&text, &bytes, "master key");
        assert!(text.contains("redacted"));
    }
}
