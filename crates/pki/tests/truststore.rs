//! Truststores: bundles of any size, duplicates, same-name CAs, containers and refusals.

mod common;

use chrono::Utc;
use common::{Pki, openssl, pki, root, run_child, write};
use tlsdeck_pki::{PkiError, parse_truststore, system_ca_bundle, truststore_warnings};

#[test]
fn a_bundle_of_146_certificates_gives_146_entries() {
    let bundle: String = (0..146).map(|i| root(&format!("Bundle CA {i}")).cert_pem()).collect();
    let text = format!("# a bundle\r\n{}", bundle.replace('\n', "\r\n"));
    let store = parse_truststore(text.as_bytes(), None).unwrap();
    assert_eq!(store.entries.len(), 146);
    assert!(store.duplicates.is_empty());
    assert_eq!(store.entries[145].info.subject, "CN=Bundle CA 145, O=tlsdeck tests");
}

#[test]
fn stores_duplicates_once_and_reports_them() {
    let a = root("Dup Root");
    let b = root("Other Root");
    let text = a.cert_pem() + &b.cert_pem() + &a.cert_pem();
    let store = parse_truststore(text.as_bytes(), None).unwrap();
    assert_eq!(store.entries.len(), 2);
    assert_eq!(store.duplicates.len(), 1);
    assert_eq!(store.duplicates[0].subject, "CN=Dup Root, O=tlsdeck tests");
    let warnings = truststore_warnings(&store, Utc::now());
    assert_eq!(warnings.iter().map(|w| w.code).collect::<Vec<_>>(), ["duplicate"]);
}

#[test]
fn keeps_two_cas_with_one_subject_and_different_keys() {
    let text = root("Same Name").cert_pem() + &root("Same Name").cert_pem();
    let store = parse_truststore(text.as_bytes(), None).unwrap();
    assert_eq!(store.entries.len(), 2);
    assert_eq!(store.entries[0].info.subject, store.entries[1].info.subject);
    assert!(store.duplicates.is_empty());
}

#[test]
fn refuses_input_without_certificates() {
    for input in
        [&b""[..], b"   \n", b"-----BEGIN PUBLIC KEY-----\nAAEC\n-----END PUBLIC KEY-----\n"]
    {
        let err = parse_truststore(input, None).unwrap_err();
        assert!(matches!(err, PkiError::NoCertificate), "{err:?}");
    }
    let err = parse_truststore(b"just some text", None).unwrap_err();
    assert!(matches!(err, PkiError::NotRecognised));
}

#[test]
fn refuses_a_private_key() {
    let Pki { root, leaf, .. } = pki();
    let text = root.cert_pem() + &leaf.key_pkcs8_pem();
    let err = parse_truststore(text.as_bytes(), None).unwrap_err();
    assert!(matches!(err, PkiError::PrivateKeyInTruststore));
}

#[test]
fn reads_a_der_certificate() {
    let der = root("Der Root").cert.to_der().unwrap();
    assert_eq!(parse_truststore(&der, None).unwrap().entries.len(), 1);
}

#[test]
fn reads_certificate_only_pkcs12() {
    let dir = tempfile::tempdir().unwrap();
    let Pki { root, intermediate, .. } = pki();
    write(dir.path(), "cas.pem", root.cert_pem() + &intermediate.cert_pem());
    openssl(
        dir.path(),
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "cas.pem",
            "-passout",
            "pass:trust",
            "-out",
            "t.p12",
        ],
    );
    let p12 = std::fs::read(dir.path().join("t.p12")).unwrap();
    let store = parse_truststore(&p12, Some("trust")).unwrap();
    assert_eq!(store.entries.len(), 2);
    assert!(matches!(parse_truststore(&p12, None), Err(PkiError::PasswordMissing)));
    assert!(matches!(parse_truststore(&p12, Some("no")), Err(PkiError::PasswordWrong)));
}

#[test]
fn reads_the_system_bundle_named_by_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let bundle: String = (0..3).map(|i| root(&format!("System CA {i}")).cert_pem()).collect();
    let path = write(dir.path(), "bundle.crt", bundle);
    run_child("child_reads_ssl_cert_file", &[("SSL_CERT_FILE", &path)]);
}

#[test]
#[ignore = "run in a child process with SSL_CERT_FILE set"]
fn child_reads_ssl_cert_file() {
    let certs = system_ca_bundle().unwrap();
    assert_eq!(certs.len(), 3);
    assert_eq!(certs[0].info.subject, "CN=System CA 0, O=tlsdeck tests");
}

#[test]
fn reads_the_operating_system_bundle_when_present() {
    if std::env::var_os("SSL_CERT_FILE").is_some()
        || !std::path::Path::new(tlsdeck_pki::SYSTEM_CA_BUNDLE).exists()
    {
        return;
    }
    assert!(system_ca_bundle().unwrap().len() > 10);
}
