//! Handshakes with a keystore's client certificate and a truststore's CAs, against real
//! `openssl s_server` peers on loopback.

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{
    Loopback, SServer, client_identity, der, has_ipv6_loopback, pem_files, pki, profile,
    root_truststore,
};
use tlsdeck_engine::{
    ClientContext, ContextCache, EngineError, FailureCategory, Identity, ProbeOptions, ProbeReport,
    Target, Trust, probe, probe_with_identity,
};
use tlsdeck_model::ClientProfile;

/// How long a test waits for s_server to report a handshake.
const SERVER_REPORT_WAIT: Duration = Duration::from_secs(5);
/// The client's subject, as the engine writes names.
const CLIENT: &str = "CN=tlsdeck client, O=tlsdeck tests";
/// The intermediate's subject, as the engine writes names.
const INTERMEDIATE: &str = "CN=tlsdeck test intermediate, O=tlsdeck tests";

fn tls12() -> ClientProfile {
    profile(json!({
        "title": "tls 1.2",
        "protocols": ["tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
}

fn tls13() -> ClientProfile {
    profile(json!({
        "title": "tls 1.3", "protocols": ["tls_v1.3"], "ciphers": ["TLS_AES_128_GCM_SHA256"],
    }))
}

/// The client certificate with its intermediate, as a complete keystore holds it.
fn chained() -> Identity {
    let p = pki();
    client_identity(&[&p.client, &p.intermediate])
}

/// The client certificate alone: its intermediate is missing from the keystore.
fn leaf_only() -> Identity {
    client_identity(&[&pki().client])
}

/// A server for `localhost` that requires a client certificate verifying against the root
/// alone, and refuses one that does not.
fn mutual_tls_server(version: &str) -> (SServer, tempfile::TempDir) {
    let dir = pem_files();
    let args = [
        "-cert",
        "localhost.crt",
        "-key",
        "localhost.key",
        version,
        "-Verify",
        "2",
        "-verify_return_error",
        "-CAfile",
        "root.crt",
    ];
    (SServer::start(dir.path(), &args), dir)
}

/// A server presenting `name.crt`, with `chain` files sent after it.
fn server_with(name: &str, chain: Option<&str>) -> (SServer, tempfile::TempDir) {
    let dir = pem_files();
    let (cert, key) = (format!("{name}.crt"), format!("{name}.key"));
    let mut args = vec!["-cert", cert.as_str(), "-key", key.as_str()];
    if let Some(chain) = chain {
        args.extend(["-cert_chain", chain]);
    }
    (SServer::start(dir.path(), &args), dir)
}

fn with_identity(p: &ClientProfile, identity: &Identity, target: &Target) -> ProbeReport {
    probe_with_identity(p, &root_truststore(), Some(identity), target, &ProbeOptions::default())
}

#[track_caller]
fn assert_ok(r: &ProbeReport) {
    assert!(r.ok && r.error.is_none() && r.verified, "expected a verified handshake, got {r:#?}");
}

#[track_caller]
fn assert_fails(r: &ProbeReport, category: FailureCategory) -> String {
    let error = r.error.as_ref().unwrap_or_else(|| panic!("expected {category}, got {r:#?}"));
    assert_eq!(error.category, category, "{r:#?}");
    assert!(!r.ok);
    error.message.clone()
}

#[track_caller]
fn assert_server_saw_the_client(s: &SServer) {
    let subject = s.wait_for_line("subject=", SERVER_REPORT_WAIT);
    let subject = subject.unwrap_or_else(|| panic!("no client certificate: {:?}", s.output()));
    assert!(subject.contains("tlsdeck client"), "{subject}");
}

#[test]
fn mutual_tls12_succeeds_with_a_chained_keystore() {
    let (s, _dir) = mutual_tls_server("-tls1_2");
    assert_ok(&with_identity(&tls12(), &chained(), &s.localhost()));
    assert_server_saw_the_client(&s);
}

#[test]
fn mutual_tls13_succeeds_with_a_chained_keystore() {
    let (s, _dir) = mutual_tls_server("-tls1_3");
    assert_ok(&with_identity(&tls13(), &chained(), &s.localhost()));
    assert_server_saw_the_client(&s);
}

#[track_caller]
fn assert_names_the_missing_intermediate(r: &ProbeReport) {
    let message = assert_fails(r, FailureCategory::ClientCertificateRejected);
    assert!(message.contains(&format!("our client certificate '{CLIENT}'")), "{message}");
    assert!(message.contains("unknown_ca alert"), "{message}");
    let missing = format!("the intermediate '{INTERMEDIATE}' is missing from the keystore");
    assert!(message.contains(&missing), "{message}");
}

#[test]
fn mutual_tls12_with_a_leaf_only_keystore_names_the_missing_intermediate() {
    let (s, _dir) = mutual_tls_server("-tls1_2");
    assert_names_the_missing_intermediate(&with_identity(&tls12(), &leaf_only(), &s.localhost()));
}

#[test]
fn mutual_tls13_with_a_leaf_only_keystore_names_the_missing_intermediate() {
    let (s, _dir) = mutual_tls_server("-tls1_3");
    assert_names_the_missing_intermediate(&with_identity(&tls13(), &leaf_only(), &s.localhost()));
}

#[test]
fn a_server_that_does_not_trust_our_ca_rejects_our_certificate() {
    let dir = pem_files();
    let args = [
        "-cert",
        "localhost.crt",
        "-key",
        "localhost.key",
        "-tls1_2",
        "-Verify",
        "2",
        "-verify_return_error",
        "-CAfile",
        "unrelated_root.crt",
    ];
    let s = SServer::start(dir.path(), &args);
    let r = with_identity(&tls12(), &chained(), &s.localhost());
    let message = assert_fails(&r, FailureCategory::ClientCertificateRejected);
    assert!(message.contains(&format!("'{CLIENT}' (unknown_ca alert)")), "{message}");
    assert!(message.contains("does not trust the CA"), "{message}");
    assert!(!message.contains("missing"), "{message}");
}

#[test]
fn a_private_ca_server_is_verified_through_a_truststore() {
    let (s, _dir) = server_with("behind_intermediate", Some("intermediate.crt"));
    let r = probe(&tls12(), &root_truststore(), &s.localhost(), &ProbeOptions::default());
    assert_ok(&r);
    let subjects: Vec<&str> = r.peer_certificates.iter().map(|c| c.subject.as_str()).collect();
    assert_eq!(subjects, ["CN=behind.localhost, O=tlsdeck tests", INTERMEDIATE]);
}

#[test]
fn an_unrelated_truststore_fails_untrusted_certificate() {
    let (s, _dir) = server_with("localhost", None);
    let unrelated = Trust::Certificates(vec![der(&pki().unrelated_root)]);
    let r = probe(&tls12(), &unrelated, &s.localhost(), &ProbeOptions::default());
    let message = assert_fails(&r, FailureCategory::UntrustedCertificate);
    assert!(message.contains("'CN=localhost, O=tlsdeck tests' at depth 0"), "{message}");
    assert!(message.contains("truststore"), "{message}");
}

#[test]
fn an_ip_san_is_verified_by_ip() {
    let (s, _dir) = server_with("ip_only", None);
    let r = probe(&tls12(), &root_truststore(), &s.ip(), &ProbeOptions::default());
    assert_ok(&r);
    assert_eq!(r.sni, None);
}

#[test]
fn a_name_mismatch_names_the_expected_and_presented_names() {
    let (s, _dir) = server_with("ip_only", None);
    let r = probe(&tls12(), &root_truststore(), &s.localhost(), &ProbeOptions::default());
    let message = assert_fails(&r, FailureCategory::HostnameMismatch);
    assert!(message.contains("for '127.0.0.1', '::1', not 'localhost'"), "{message}");
}

#[test]
fn an_ipv6_san_is_verified_for_the_ipv6_loopback() {
    if !has_ipv6_loopback() {
        eprintln!("SKIPPED: this machine cannot listen on ::1, so the IPv6 SAN is not tested");
        return;
    }
    let dir = pem_files();
    let ip_only = ["-cert", "ip_only.crt", "-key", "ip_only.key"];
    let s = SServer::start_on(Loopback::V6, dir.path(), &ip_only);
    let r = probe(&tls12(), &root_truststore(), &s.ipv6(), &ProbeOptions::default());
    assert_ok(&r);
    assert_eq!(r.address, Some(format!("[::1]:{}", s.port)));
    assert_eq!(r.sni, None);

    let localhost = ["-cert", "localhost.crt", "-key", "localhost.key"];
    let s = SServer::start_on(Loopback::V6, dir.path(), &localhost);
    let r = probe(&tls12(), &root_truststore(), &s.ipv6(), &ProbeOptions::default());
    let message = assert_fails(&r, FailureCategory::HostnameMismatch);
    assert!(message.contains("for 'localhost', '127.0.0.1', not '::1'"), "{message}");
}

#[test]
fn an_expired_intermediate_says_which_certificate_expired_and_when() {
    let (s, _dir) = server_with("behind_expired", Some("expired_intermediate.crt"));
    let r = probe(&tls12(), &root_truststore(), &s.localhost(), &ProbeOptions::default());
    let message = assert_fails(&r, FailureCategory::ExpiredCertificate);
    let intermediate = &r.peer_certificates[1];
    assert_eq!(intermediate.subject, "CN=tlsdeck expired intermediate, O=tlsdeck tests");
    let not_after = intermediate.not_after.expect("not_after");
    let not_after = not_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let which = "'CN=tlsdeck expired intermediate, O=tlsdeck tests' at depth 1";
    assert!(message.contains(&format!("{which} expired on {not_after}")), "{message}");
}

#[test]
fn a_key_that_does_not_match_the_leaf_is_refused_before_connecting() {
    let p = pki();
    let wrong_key = p.localhost.key.private_key_to_pkcs8().expect("PKCS#8");
    let identity = Identity { key_pkcs8: wrong_key.clone(), ..chained() };
    let err = ClientContext::build_with_identity(&tls12(), &root_truststore(), Some(&identity))
        .expect_err("a mismatched key is refused");
    assert_eq!(err, EngineError::KeyMismatch { leaf: CLIENT.into() });

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let target: Target =
        format!("127.0.0.1:{}", listener.local_addr().expect("addr").port()).parse().unwrap();
    let r = probe_with_identity(
        &tls12(),
        &root_truststore(),
        Some(&identity),
        &target,
        &ProbeOptions::default(),
    );
    let message = assert_fails(&r, FailureCategory::Configuration);
    assert!(message.contains(&format!("leaf certificate '{CLIENT}'")), "{message}");
    assert_eq!(r.address, None);
    let accepted = listener.accept().map(|_| ()).map_err(|e| e.kind());
    assert_eq!(accepted, Err(ErrorKind::WouldBlock), "the probe connected");
    assert_key_not_shown(&message, &wrong_key);
}

#[test]
fn an_identity_never_shows_its_key() {
    let identity = chained();
    let shown = format!("{identity:?}");
    assert!(shown.contains("2 certificates") && shown.contains("redacted"), "{shown}");
    assert_key_not_shown(&shown, &identity.key_pkcs8);
}

/// Neither the bytes of `key` as Rust prints them nor its hex appear in `text`.
#[track_caller]
fn assert_key_not_shown(text: &str, key: &[u8]) {
    let window = &key[key.len() / 2..key.len() / 2 + 8];
    let decimal = format!("{window:?}");
    let decimal = decimal.trim_matches(['[', ']']);
    let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(decimal) && !text.to_lowercase().contains(&hex), "{text}");
}

#[test]
fn a_cached_context_is_reused_until_the_revision_changes() {
    let (s, _dir) = mutual_tls_server("-tls1_2");
    let cache = ContextCache::new();
    let build = |identity: Identity| {
        move || ClientContext::build_with_identity(&tls12(), &root_truststore(), Some(&identity))
    };

    let cold = cache.get_or_build("profile-1", "p1:k1:t1", build(chained())).expect("built");
    assert_ok(&cold.probe(&s.localhost(), &ProbeOptions::default()));
    let cached = cache.get_or_build("profile-1", "p1:k1:t1", build(leaf_only())).expect("cached");
    assert!(Arc::ptr_eq(&cold, &cached), "the same revision is built once");

    let changed = cache.get_or_build("profile-1", "p1:k2:t1", build(leaf_only())).expect("built");
    assert!(!Arc::ptr_eq(&cold, &changed), "a new keystore revision builds a new context");
    let r = changed.probe(&s.localhost(), &ProbeOptions::default());
    assert_fails(&r, FailureCategory::ClientCertificateRejected);
    assert_eq!(cache.len(), 1);
}
