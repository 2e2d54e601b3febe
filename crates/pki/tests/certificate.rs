//! Certificate metadata and the warnings it earns.

mod common;

use chrono::{TimeDelta, Utc};
use common::{Spec, ec_key, openssl, pki, root, rsa_key, write};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use tlsdeck_pki::{CertInfo, certificate_warnings, generate_self_signed, parse_certificate};

fn info(issued: &common::Issued) -> CertInfo {
    parse_certificate(&issued.cert.to_der().unwrap()).unwrap().info
}

fn codes(info: &CertInfo) -> Vec<&'static str> {
    certificate_warnings(info, Utc::now()).iter().map(|w| w.code).collect()
}

#[test]
fn shows_every_field_of_an_rsa_leaf() {
    let ca = root("Meta Root");
    let leaf = Spec::new("meta.test", rsa_key(2048))
        .issued_by(&ca)
        .sans(&["meta.test", "IP:127.0.0.1", "IP:::1"])
        .build();
    let info = info(&leaf);
    assert_eq!(info.subject, "CN=meta.test, O=tlsdeck tests");
    assert_eq!(info.issuer, "CN=Meta Root, O=tlsdeck tests");
    let serial = leaf.cert.serial_number().to_bn().unwrap().to_hex_str().unwrap().to_string();
    assert_eq!(info.serial, serial);
    assert_eq!(info.sans, ["DNS:meta.test", "IP:127.0.0.1", "IP:::1"]);
    assert!(info.not_before < Utc::now() && info.not_after > Utc::now() + TimeDelta::days(360));
    assert_eq!((info.key_type.as_str(), info.key_bits, info.curve.as_deref()), ("RSA", 2048, None));
    assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!info.is_ca);
    assert!(codes(&info).is_empty());
}

#[test]
fn fingerprint_matches_the_openssl_command() {
    let dir = tempfile::tempdir().unwrap();
    let issued = root("Fingerprint Root");
    write(dir.path(), "c.pem", issued.cert_pem());
    openssl(
        dir.path(),
        &["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256", "-out", "fp.txt"],
    );
    let out = std::fs::read_to_string(dir.path().join("fp.txt")).unwrap();
    let expected = out.trim().rsplit('=').next().unwrap();
    let info = info(&issued);
    assert_eq!(info.fingerprint_sha256, expected);
    assert_eq!(info.fingerprint_sha256.len(), 32 * 3 - 1);
    assert!(info.is_ca);
    assert_eq!(info.curve.as_deref(), Some("P-256"));
    assert_eq!(info.key_type, "EC");
}

#[test]
fn names_ed25519_keys_and_rsa_signatures() {
    let ed = Spec::new("ed.test", PKey::generate_ed25519().unwrap())
        .digest(MessageDigest::null())
        .build();
    let info = info(&ed);
    assert_eq!((info.key_type.as_str(), info.signature_algorithm.as_str()), ("Ed25519", "ED25519"));
    let rsa = Spec::new("rsa.test", rsa_key(2048)).build();
    assert_eq!(common_info_sig(&rsa), "sha256WithRSAEncryption");
}

fn common_info_sig(issued: &common::Issued) -> String {
    info(issued).signature_algorithm
}

#[test]
fn warns_about_expired_and_soon_expiring_certificates() {
    let expired = info(&Spec::new("old.test", ec_key()).days(-400, -10).build());
    let warnings = certificate_warnings(&expired, Utc::now());
    assert_eq!(warnings.len(), 1);
    assert_eq!((warnings[0].code, warnings[0].field), ("expired", "certificates"));
    assert!(warnings[0].message.contains("CN=old.test"));

    let soon = info(&Spec::new("soon.test", ec_key()).days(-30, 10).build());
    let warnings = certificate_warnings(&soon, Utc::now());
    assert_eq!(warnings[0].code, "expiring_soon");
    assert!(
        warnings[0].message.contains("CN=soon.test") && warnings[0].message.contains("10 days")
    );
    let later = Utc::now() + TimeDelta::days(11);
    assert_eq!(certificate_warnings(&soon, later)[0].code, "expired");
    let fresh = info(&Spec::new("fresh.test", ec_key()).days(-1, 31).build());
    assert!(codes(&fresh).is_empty());
}

#[test]
fn warns_about_weak_rsa_keys_and_sha1_signatures() {
    let ca = root("Sha1 Root");
    let weak = info(&Spec::new("weak.test", rsa_key(1024)).issued_by(&ca).build());
    assert_eq!(codes(&weak), ["weak_key"]);
    let sha1 = Spec::new("sha1.test", rsa_key(2048))
        .digest(MessageDigest::sha1())
        .issued_by(&ca_rsa())
        .build();
    let sha1 = info(&sha1);
    assert_eq!(sha1.signature_algorithm, "sha1WithRSAEncryption");
    assert_eq!(codes(&sha1), ["sha1_signature"]);
    assert!(certificate_warnings(&sha1, Utc::now())[0].message.contains("CN=sha1.test"));
}

fn ca_rsa() -> common::Issued {
    Spec::new("Rsa Root", rsa_key(2048)).ca().build()
}

#[test]
fn does_not_warn_about_a_self_signed_roots_own_sha1_signature() {
    let root = Spec::new("Old Root", rsa_key(2048)).ca().digest(MessageDigest::sha1()).build();
    assert!(codes(&info(&root)).is_empty());
}

#[test]
fn metadata_survives_json() {
    let info = info(&pki().leaf);
    let json = serde_json::to_string(&info).unwrap();
    assert_eq!(serde_json::from_str::<CertInfo>(&json).unwrap(), info);
}

#[test]
fn generates_a_self_signed_p256_certificate_with_a_san() {
    let (cert, key) = generate_self_signed("client.tlsdeck.local", &[], 365).unwrap();
    assert_eq!(cert.info.subject, "CN=client.tlsdeck.local");
    assert_eq!(cert.info.issuer, cert.info.subject);
    assert_eq!(cert.info.sans, ["DNS:client.tlsdeck.local"]);
    assert_eq!((cert.info.key_type.as_str(), cert.info.curve.as_deref()), ("EC", Some("P-256")));
    assert!(cert.info.not_after > Utc::now() + TimeDelta::days(364));
    assert!(key.matches(&cert));
    assert!(cert.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    let ip = generate_self_signed("127.0.0.1", &["localhost"], 1).unwrap().0;
    assert_eq!(ip.info.sans, ["IP:127.0.0.1", "DNS:localhost"]);
}

#[test]
fn refuses_bytes_that_are_not_a_certificate() {
    let err = parse_certificate(b"nope").unwrap_err();
    assert!(matches!(err, tlsdeck_pki::PkiError::CertificateUnreadable { index: 1 }));
}
