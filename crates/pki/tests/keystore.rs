//! Keystores: finding the leaf, ordering the chain, every key form and container, and refusals.

mod common;

use chrono::Utc;
use common::{
    Issued, Pki, Spec, ec_key, intermediate, openssl, pki, root, rsa_key, run_child, write,
};
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::symm::Cipher;
use tlsdeck_pki::{PkiError, keystore_warnings, parse_keystore, parse_keystore_parts};

const PASSWORD: &str = "correct horse battery";

fn subjects(certs: &[tlsdeck_pki::Certificate]) -> Vec<&str> {
    certs.iter().map(|c| c.info.subject.as_str()).collect()
}

fn concat(parts: &[&str]) -> String {
    parts.concat()
}

fn fingerprint(issued: &Issued) -> String {
    let digest = issued.cert.digest(openssl::hash::MessageDigest::sha256()).unwrap();
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[test]
fn orders_the_chain_leaf_first_whatever_the_upload_order() {
    let Pki { root, intermediate, leaf } = pki();
    let input = concat(&[
        &root.cert_pem(),
        &leaf.key_pkcs8_pem(),
        &intermediate.cert_pem(),
        &leaf.cert_pem(),
    ]);
    let ks = parse_keystore(input.as_bytes(), None).unwrap();
    assert_eq!(
        subjects(&ks.chain),
        [
            "CN=leaf.test, O=tlsdeck tests",
            "CN=Test Intermediate, O=tlsdeck tests",
            "CN=Test Root, O=tlsdeck tests"
        ]
    );
    assert!(ks.reordered);
    assert!(ks.off_path.is_empty());
    assert_eq!(ks.leaf().info.fingerprint_sha256, fingerprint(&leaf));
    assert_eq!(ks.key().pkcs8_der(), leaf.key_pkcs8_der());
    let codes: Vec<&str> = keystore_warnings(&ks, Utc::now()).iter().map(|w| w.code).collect();
    assert_eq!(codes, ["reordered"]);
}

#[test]
fn a_leaf_first_upload_is_not_reordered() {
    let Pki { root, intermediate, leaf } = pki();
    let input = concat(&[
        &leaf.cert_pem(),
        &intermediate.cert_pem(),
        &root.cert_pem(),
        &leaf.key_pkcs8_pem(),
    ]);
    let ks = parse_keystore(input.as_bytes(), None).unwrap();
    assert_eq!(ks.chain.len(), 3);
    assert!(!ks.reordered);
    assert!(keystore_warnings(&ks, Utc::now()).is_empty());
}

#[test]
fn reports_certificates_off_the_path() {
    let Pki { intermediate, leaf, .. } = pki();
    let stranger = root("Unrelated Root");
    let input = concat(&[
        &leaf.cert_pem(),
        &stranger.cert_pem(),
        &intermediate.cert_pem(),
        &leaf.key_pkcs8_pem(),
    ]);
    let ks = parse_keystore(input.as_bytes(), None).unwrap();
    assert_eq!(ks.chain.len(), 2);
    assert!(!ks.reordered);
    assert_eq!(subjects(&ks.off_path), ["CN=Unrelated Root, O=tlsdeck tests"]);
    let warnings = keystore_warnings(&ks, Utc::now());
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].code, warnings[0].field), ("off_path", "certificates"));
    assert!(warnings[0].message.contains("CN=Unrelated Root"));
}

#[test]
fn an_issuer_with_the_right_name_but_another_key_is_off_the_path() {
    let Pki { intermediate, leaf, .. } = pki();
    let impostor_root = root("Test Root");
    let impostor = intermediate_named_like(&impostor_root);
    let input = concat(&[
        &leaf.cert_pem(),
        &impostor.cert_pem(),
        &intermediate.cert_pem(),
        &leaf.key_pkcs8_pem(),
    ]);
    let ks = parse_keystore(input.as_bytes(), None).unwrap();
    assert_eq!(ks.chain[1].info.fingerprint_sha256, fingerprint(&intermediate));
    assert_eq!(ks.off_path.len(), 1);
}

fn intermediate_named_like(issuer: &Issued) -> Issued {
    intermediate("Test Intermediate", issuer)
}

#[test]
fn refuses_a_key_that_matches_no_certificate() {
    let Pki { intermediate, leaf, .. } = pki();
    let other = ec_key();
    let key = String::from_utf8(other.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let input = concat(&[&leaf.cert_pem(), &intermediate.cert_pem(), &key]);
    let err = parse_keystore(input.as_bytes(), None).unwrap_err();
    assert!(matches!(err, PkiError::KeyMatchesNoCertificate));
    assert_eq!(err.to_string(), "private key does not match any certificate");
}

#[test]
fn refuses_uploads_without_key_without_certificate_or_with_two_keys() {
    let Pki { leaf, intermediate, .. } = pki();
    let no_key = parse_keystore(leaf.cert_pem().as_bytes(), None).unwrap_err();
    assert!(matches!(no_key, PkiError::NoPrivateKey));
    let no_cert = parse_keystore(leaf.key_pkcs8_pem().as_bytes(), None).unwrap_err();
    assert!(matches!(no_cert, PkiError::NoCertificate));
    let two = concat(&[&leaf.cert_pem(), &leaf.key_pkcs8_pem(), &intermediate.key_pkcs8_pem()]);
    let err = parse_keystore(two.as_bytes(), None).unwrap_err();
    assert!(matches!(err, PkiError::MultiplePrivateKeys));
    let same_twice = concat(&[&leaf.cert_pem(), &leaf.key_pkcs8_pem(), &leaf.key_pkcs8_pem()]);
    assert!(parse_keystore(same_twice.as_bytes(), None).is_ok());
}

/// A leaf under a root and `n` intermediates, as leaf-first PEM with the key.
fn chain_with_intermediates(n: usize) -> String {
    let mut issuers = vec![root("Deep Root")];
    for i in 0..n {
        let next = intermediate(&format!("Intermediate {i}"), issuers.last().unwrap());
        issuers.push(next);
    }
    let leaf = common::leaf("deep.test", issuers.last().unwrap());
    let mut pem = leaf.cert_pem();
    for issuer in issuers.iter().rev() {
        pem.push_str(&issuer.cert_pem());
    }
    pem + &leaf.key_pkcs8_pem()
}

#[test]
fn accepts_ten_intermediates_and_refuses_eleven() {
    let ks = parse_keystore(chain_with_intermediates(10).as_bytes(), None).unwrap();
    assert_eq!(ks.chain.len(), 12);
    let err = parse_keystore(chain_with_intermediates(11).as_bytes(), None).unwrap_err();
    assert!(matches!(err, PkiError::TooManyIntermediates { count: 11, limit: 10 }), "{err:?}");
}

#[test]
fn reads_chain_and_key_given_as_two_texts() {
    let Pki { root, intermediate, leaf } = pki();
    let certs = concat(&[&intermediate.cert_pem(), &leaf.cert_pem(), &root.cert_pem()]);
    let ks = parse_keystore_parts(certs.as_bytes(), leaf.key_pkcs8_pem().as_bytes(), None).unwrap();
    assert_eq!(ks.chain.len(), 3);
    assert!(ks.reordered);
}

#[test]
fn reads_der_certificate_and_der_key_as_two_inputs() {
    let leaf = Spec::new("der.test", rsa_key(2048)).build();
    let cert = leaf.cert.to_der().unwrap();
    let rsa_der = leaf.key.rsa().unwrap().private_key_to_der().unwrap();
    let ks = parse_keystore_parts(&cert, &rsa_der, None).unwrap();
    assert_eq!(ks.leaf().info.subject, "CN=der.test, O=tlsdeck tests");
    let ks = parse_keystore_parts(&cert, &leaf.key_pkcs8_der(), None).unwrap();
    assert_eq!(ks.chain.len(), 1);
    let err = parse_keystore(&cert, None).unwrap_err();
    assert!(matches!(err, PkiError::NoPrivateKey));
}

#[test]
fn survives_crlf_bare_cr_bom_junk_and_the_old_label() {
    let Pki { intermediate, leaf, .. } = pki();
    let old_label = leaf.cert_pem().replace("CERTIFICATE", "X509 CERTIFICATE");
    let text = format!(
        "Bag Attributes: friendlyName\nsubject=/CN=leaf\n{old_label}some notes\n{}\n{}",
        intermediate.cert_pem(),
        leaf.key_pkcs8_pem()
    );
    let mut crlf = b"\xef\xbb\xbf".to_vec();
    crlf.extend(text.replace('\n', "\r\n").bytes());
    let mut bare_cr = b"\x00\xff\xfe binary junk \x01".to_vec();
    bare_cr.extend(text.replace('\n', "\r").bytes());
    bare_cr.extend(b"\x89PNG\x00\xff trailing");
    for input in [crlf, bare_cr] {
        let ks = parse_keystore(&input, None).unwrap();
        assert_eq!(ks.chain.len(), 2);
    }
}

#[test]
fn reads_rsa_pkcs1_keys() {
    let leaf = Spec::new("rsa.test", rsa_key(2048)).build();
    let pkcs1 = String::from_utf8(leaf.key.rsa().unwrap().private_key_to_pem().unwrap()).unwrap();
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    let ks = parse_keystore((pkcs1 + &leaf.cert_pem()).as_bytes(), None).unwrap();
    assert_eq!(ks.leaf().info.key_type, "RSA");
    assert_eq!(ks.key().pkcs8_der(), leaf.key_pkcs8_der());
}

#[test]
fn reads_sec1_ec_keys_with_and_without_parameters_block() {
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["ecparam", "-name", "prime256v1", "-genkey", "-out", "ec.pem"]);
    openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "ec.pem",
            "-subj",
            "/CN=ec.test",
            "-days",
            "30",
            "-out",
            "cert.pem",
        ],
    );
    let with_params = std::fs::read_to_string(dir.path().join("ec.pem")).unwrap();
    assert!(
        with_params.contains("BEGIN EC PARAMETERS") && with_params.contains("BEGIN EC PRIVATE KEY")
    );
    let cert = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
    let ks = parse_keystore((cert.clone() + &with_params).as_bytes(), None).unwrap();
    assert_eq!(ks.leaf().info.curve.as_deref(), Some("P-256"));

    let start = with_params.find("-----BEGIN EC PRIVATE KEY").unwrap();
    let without_params = &with_params[start..];
    assert!(parse_keystore((cert + without_params).as_bytes(), None).is_ok());
}

fn encrypted_pkcs8(issued: &Issued, password: &str) -> String {
    let pem =
        issued.key.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), password.as_bytes());
    String::from_utf8(pem.unwrap()).unwrap()
}

#[test]
fn opens_encrypted_pkcs8_with_its_password_and_tells_wrong_from_missing() {
    let Pki { leaf, .. } = pki();
    let input = leaf.cert_pem() + &encrypted_pkcs8(&leaf, PASSWORD);
    assert!(input.contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let ks = parse_keystore(input.as_bytes(), Some(PASSWORD)).unwrap();
    assert_eq!(ks.key().pkcs8_der(), leaf.key_pkcs8_der());
    let missing = parse_keystore(input.as_bytes(), None).unwrap_err();
    assert!(matches!(missing, PkiError::PasswordMissing));
    assert_eq!(missing.to_string(), "the key or file is encrypted: give its password");
    let wrong = parse_keystore(input.as_bytes(), Some("nope")).unwrap_err();
    assert!(matches!(wrong, PkiError::PasswordWrong));
    let nul = parse_keystore(input.as_bytes(), Some("a\0b")).unwrap_err();
    assert!(matches!(nul, PkiError::PasswordWrong));
}

#[test]
fn opens_encrypted_pkcs8_der_given_apart() {
    let Pki { leaf, .. } = pki();
    let der = leaf
        .key
        .private_key_to_pkcs8_passphrase(Cipher::aes_256_cbc(), PASSWORD.as_bytes())
        .unwrap();
    let cert = leaf.cert.to_der().unwrap();
    assert!(parse_keystore_parts(&cert, &der, Some(PASSWORD)).is_ok());
    let err = parse_keystore_parts(&cert, &der, None).unwrap_err();
    assert!(matches!(err, PkiError::PasswordMissing));
}

#[test]
fn opens_traditional_encrypted_pem_and_tells_wrong_from_missing() {
    let rsa = Rsa::generate(2048).unwrap();
    let leaf = Spec::new("trad.test", PKey::from_rsa(rsa.clone()).unwrap()).build();
    let key =
        rsa.private_key_to_pem_passphrase(Cipher::aes_128_cbc(), PASSWORD.as_bytes()).unwrap();
    let key = String::from_utf8(key).unwrap();
    assert!(key.contains("Proc-Type: 4,ENCRYPTED") && key.contains("DEK-Info"));
    let input = key.replace('\n', "\r\n") + &leaf.cert_pem();
    let ks = parse_keystore(input.as_bytes(), Some(PASSWORD)).unwrap();
    assert_eq!(ks.key().pkcs8_der(), leaf.key_pkcs8_der());
    assert!(matches!(parse_keystore(input.as_bytes(), None), Err(PkiError::PasswordMissing)));
    assert!(matches!(parse_keystore(input.as_bytes(), Some("nope")), Err(PkiError::PasswordWrong)));
}

/// Writes leaf, chain and key, then exports them as PKCS#12 with `extra` options.
fn export_pkcs12(dir: &std::path::Path, pki: &Pki, password: &str, extra: &[&str]) -> Vec<u8> {
    write(dir, "leaf.pem", pki.leaf.cert_pem());
    write(dir, "key.pem", pki.leaf.key_pkcs8_pem());
    write(dir, "chain.pem", pki.intermediate.cert_pem() + &pki.root.cert_pem());
    let pass = format!("pass:{password}");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-in",
        "leaf.pem",
        "-inkey",
        "key.pem",
        "-certfile",
        "chain.pem",
        "-passout",
        &pass,
        "-out",
        "out.p12",
    ];
    args.extend(extra);
    openssl(dir, &args);
    std::fs::read(dir.join("out.p12")).unwrap()
}

#[test]
fn opens_modern_pkcs12_and_tells_wrong_from_missing_password() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let p12 = export_pkcs12(
        dir.path(),
        &pki,
        PASSWORD,
        &["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256"],
    );
    let ks = parse_keystore(&p12, Some(PASSWORD)).unwrap();
    assert_eq!(ks.chain.len(), 3);
    assert!(!ks.reordered);
    assert_eq!(ks.key().pkcs8_der(), pki.leaf.key_pkcs8_der());
    assert!(matches!(parse_keystore(&p12, None), Err(PkiError::PasswordMissing)));
    assert!(matches!(parse_keystore(&p12, Some("nope")), Err(PkiError::PasswordWrong)));
}

#[test]
fn opens_pkcs12_exported_with_an_empty_password_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let p12 = export_pkcs12(dir.path(), &pki, "", &[]);
    assert_eq!(parse_keystore(&p12, None).unwrap().chain.len(), 3);
}

#[test]
fn opens_legacy_rc2_pkcs12_through_the_legacy_provider() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let p12 = export_pkcs12(dir.path(), &pki, PASSWORD, &["-legacy"]);
    let ks = parse_keystore(&p12, Some(PASSWORD)).unwrap();
    assert_eq!(ks.chain.len(), 3);
    assert!(matches!(parse_keystore(&p12, Some("nope")), Err(PkiError::PasswordWrong)));
    assert!(matches!(parse_keystore(&p12, None), Err(PkiError::PasswordMissing)));
}

#[test]
fn refuses_legacy_pkcs12_when_the_legacy_provider_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let p12 = export_pkcs12(dir.path(), &pki(), PASSWORD, &["-legacy"]);
    let path = write(dir.path(), "legacy.p12", p12);
    let empty = dir.path().join("no-modules");
    std::fs::create_dir(&empty).unwrap();
    let modules = empty.to_str().unwrap();
    run_child(
        "child_refuses_legacy_pkcs12",
        &[("OPENSSL_MODULES", modules), ("TLSDECK_TEST_P12", &path)],
    );
}

#[test]
#[ignore = "run in a child process without OpenSSL's legacy provider"]
fn child_refuses_legacy_pkcs12() {
    let p12 = std::fs::read(std::env::var("TLSDECK_TEST_P12").unwrap()).unwrap();
    assert!(!tlsdeck_pki::ensure_legacy_provider());
    let err = parse_keystore(&p12, Some(PASSWORD)).unwrap_err();
    assert!(matches!(err, PkiError::LegacyAlgorithmUnavailable), "{err:?}");
    assert!(matches!(parse_keystore(&p12, Some("nope")), Err(PkiError::PasswordWrong)));
}

#[test]
fn refuses_unrecognised_and_oversized_input() {
    let err = parse_keystore(b"\x01\x02 definitely not a keystore", None).unwrap_err();
    assert!(matches!(err, PkiError::NotRecognised));
    let big = vec![b'a'; tlsdeck_pki::MAX_INPUT_BYTES + 1];
    let err = parse_keystore(&big, None).unwrap_err();
    assert!(matches!(err, PkiError::TooLarge { .. }));
    let err = parse_keystore(b"-----BEGIN CERTIFICATE-----\nAAAA", None).unwrap_err();
    assert!(matches!(err, PkiError::MalformedPem { .. }));
    let err =
        parse_keystore(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None)
            .unwrap_err();
    assert!(matches!(err, PkiError::CertificateUnreadable { index: 1 }));
}

#[test]
fn refuses_a_key_it_cannot_read() {
    let leaf = pki().leaf;
    let openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAEC\n-----END OPENSSH PRIVATE KEY-----\n";
    let err = parse_keystore((leaf.cert_pem() + openssh).as_bytes(), None).unwrap_err();
    assert!(matches!(err, PkiError::KeyUnreadable), "{err:?}");
}

#[test]
fn key_matches_its_certificate() {
    let Pki { leaf, intermediate, .. } = pki();
    let ks = parse_keystore((leaf.cert_pem() + &leaf.key_pkcs8_pem()).as_bytes(), None).unwrap();
    assert!(ks.key().matches(ks.leaf()));
    let other = tlsdeck_pki::parse_certificate(&intermediate.cert.to_der().unwrap()).unwrap();
    assert!(!ks.key().matches(&other));
    let again = tlsdeck_pki::PrivateKey::from_pkcs8_der(ks.key().pkcs8_der()).unwrap();
    assert_eq!(again.pkcs8_der(), ks.key().pkcs8_der());
}
