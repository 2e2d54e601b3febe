//! Handshakes against real `openssl s_server` peers on loopback, one server per test.

mod support;

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::json;
use support::{SServer, pem_files, pki, profile, root_trust};
use tlsdeck_engine::{
    ClientContext, FailureCategory, ProbeOptions, ProbeReport, Target, Trust, probe,
};
use tlsdeck_model::{ClientProfile, ProtocolVersion};

/// The certificate most servers present: localhost, signed by the test root.
const LOCALHOST: [&str; 4] = ["-cert", "localhost.crt", "-key", "localhost.key"];
/// How long a test waits for s_server to report a handshake.
const SERVER_REPORT_WAIT: Duration = Duration::from_secs(5);

fn tls12() -> ClientProfile {
    profile(json!({
        "title": "tls 1.2",
        "protocols": ["tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_256_GCM_SHA384"],
    }))
}

fn tls13() -> ClientProfile {
    profile(json!({
        "title": "tls 1.3",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"],
    }))
}

fn run(p: &ClientProfile, target: &Target) -> ProbeReport {
    probe(p, &root_trust(), target, &ProbeOptions::default())
}

fn server(args: &[&str]) -> (SServer, tempfile::TempDir) {
    let dir = pem_files();
    let all: Vec<&str> = LOCALHOST.iter().chain(args).copied().collect();
    (SServer::start(dir.path(), &all), dir)
}

#[track_caller]
fn assert_ok(r: &ProbeReport) {
    assert!(r.ok && r.error.is_none(), "expected a handshake, got {r:#?}");
}

#[track_caller]
fn assert_fails(r: &ProbeReport, category: FailureCategory) -> String {
    let error = r.error.as_ref().unwrap_or_else(|| panic!("expected {category}, got {r:#?}"));
    assert_eq!(error.category, category, "{r:#?}");
    assert!(!r.ok);
    error.message.clone()
}

#[test]
fn tls12_server_completes_with_a_tls12_profile() {
    let (s, _dir) = server(&["-tls1_2"]);
    let r = run(&tls12(), &s.localhost());
    assert_ok(&r);
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls12));
    assert!(r.verified && r.verify_error.is_none() && !r.insecure);
    assert_eq!(r.sni.as_deref(), Some("localhost"));
    assert_eq!(r.target, format!("localhost:{}", s.port));
    assert_eq!(r.address, Some(format!("127.0.0.1:{}", s.port)));
    assert!(r.handshake_ms > 0.0);
    assert!(matches!(
        r.cipher.as_deref(),
        Some("ECDHE_RSA_WITH_AES_128_GCM_SHA256" | "ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    ));
    let leaf = &r.peer_certificates[0];
    assert_eq!(leaf.subject, "CN=localhost, O=tlsdeck tests");
    assert_eq!(leaf.issuer, "CN=tlsdeck test root, O=tlsdeck tests");
    assert!(leaf.not_before < leaf.not_after && leaf.not_after.is_some());
}

#[test]
fn tls12_server_refuses_a_tls13_only_profile() {
    let (s, _dir) = server(&["-tls1_2"]);
    let message = assert_fails(&run(&tls13(), &s.localhost()), FailureCategory::ProtocolMismatch);
    assert!(message.contains("tls_v1.3"), "{message}");
}

#[test]
fn tls13_server_completes_with_a_tls13_profile() {
    let (s, _dir) = server(&["-tls1_3"]);
    let r = run(&tls13(), &s.localhost());
    assert_ok(&r);
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls13));
    assert!(r.verified);
}

#[test]
fn tls13_server_refuses_a_tls12_only_profile() {
    let (s, _dir) = server(&["-tls1_3"]);
    let message = assert_fails(&run(&tls12(), &s.localhost()), FailureCategory::ProtocolMismatch);
    assert!(message.contains("tls_v1.2"), "{message}");
}

#[test]
fn one_suite_server_negotiates_exactly_that_suite() {
    let (s, _dir) = server(&["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"]);
    let r = run(&tls12(), &s.localhost());
    assert_ok(&r);
    assert_eq!(r.cipher.as_deref(), Some("ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
}

#[test]
fn one_suite_server_shares_no_cipher_with_a_profile_without_it() {
    let (s, _dir) = server(&["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"]);
    let p = profile(json!({
        "title": "t",
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
    }));
    let r = run(&p, &s.localhost());
    let message = assert_fails(&r, FailureCategory::NoSharedCipher);
    assert!(message.contains("none of the 2 cipher suites"), "{message}");
    assert!(r.protocol.is_none() && r.cipher.is_none());
}

fn tls10_server() -> (SServer, tempfile::TempDir) {
    server(&["-tls1", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"])
}

#[test]
fn tls10_server_completes_with_a_tls10_profile() {
    let (s, _dir) = tls10_server();
    let p = profile(json!({
        "title": "legacy", "protocols": ["tls_v1.0"], "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA"],
    }));
    let r = run(&p, &s.localhost());
    assert_ok(&r);
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls10));
    assert_eq!(r.cipher.as_deref(), Some("ECDHE_RSA_WITH_AES_128_CBC_SHA"));
    assert!(r.verified);
}

#[test]
fn tls10_server_is_refused_by_the_default_tls12_profile() {
    let (s, _dir) = tls10_server();
    let p = profile(json!({"title": "default", "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA"]}));
    assert_fails(&run(&p, &s.localhost()), FailureCategory::ProtocolMismatch);
}

#[test]
fn a_profile_with_a_version_gap_offers_only_the_lowest_run() {
    // The model refuses gaps; a hand-made profile shows what the engine does anyway.
    let mut p = profile(json!({
        "title": "gap",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    p.protocols.retain(|v| *v != ProtocolVersion::Tls11);
    let (old, _dir) = tls10_server();
    let r = run(&p, &old.localhost());
    assert_ok(&r);
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls10));

    let (modern, _dir2) = server(&["-tls1_2"]);
    assert_fails(&run(&p, &modern.localhost()), FailureCategory::ProtocolMismatch);
}

fn sni_server() -> (SServer, tempfile::TempDir) {
    let dir = pem_files();
    let args = [
        "-cert",
        "other.crt",
        "-key",
        "other.key",
        "-servername",
        "localhost",
        "-cert2",
        "localhost.crt",
        "-key2",
        "localhost.key",
    ];
    (SServer::start(dir.path(), &args), dir)
}

#[test]
fn sni_selects_the_certificate_for_the_name() {
    let (s, _dir) = sni_server();
    let r = run(&tls12(), &s.localhost());
    assert_ok(&r);
    assert!(r.verified);
    assert_eq!(r.sni.as_deref(), Some("localhost"));
    assert_eq!(r.peer_certificates[0].subject, "CN=localhost, O=tlsdeck tests");
}

#[test]
fn without_sni_the_default_certificate_mismatches_the_name() {
    let (s, _dir) = sni_server();
    let p = profile(json!({
        "title": "no sni",
        "server_name_indication": false,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    let r = run(&p, &s.localhost());
    let message = assert_fails(&r, FailureCategory::HostnameMismatch);
    assert_eq!(r.sni, None);
    assert!(message.contains("'default.test', not 'localhost'"), "{message}");
    assert!(message.contains("no SNI was sent"), "{message}");
    assert_eq!(r.peer_certificates[0].subject, "CN=default.test, O=tlsdeck tests");
}

#[test]
fn a_server_that_does_not_serve_the_sni_name_needs_another_name() {
    let dir = pem_files();
    let args = [
        "-cert",
        "localhost.crt",
        "-key",
        "localhost.key",
        "-servername",
        "other.test",
        "-servername_fatal",
        "-cert2",
        "other.crt",
        "-key2",
        "other.key",
    ];
    let s = SServer::start(dir.path(), &args);
    let r = run(&tls12(), &s.localhost());
    let message = assert_fails(&r, FailureCategory::SniRequired);
    assert!(message.contains("'localhost' sent in SNI"), "{message}");
}

#[test]
fn a_self_signed_server_is_tolerated_only_by_an_insecure_profile() {
    let dir = pem_files();
    let s = SServer::start(dir.path(), &["-cert", "self_signed.crt", "-key", "self_signed.key"]);
    let insecure = profile(json!({
        "title": "insecure", "insecure_server_connections": true,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    let r = run(&insecure, &s.localhost());
    assert_ok(&r);
    assert!(r.insecure && !r.verified);
    let verify_error = r.verify_error.unwrap_or_default();
    assert!(verify_error.contains("self-signed certificate"), "{verify_error}");

    let r = run(&tls12(), &s.localhost());
    let message = assert_fails(&r, FailureCategory::UntrustedCertificate);
    assert!(message.contains("'CN=tlsdeck self-signed, O=tlsdeck tests' at depth 0"), "{message}");
    assert!(r.verify_error.is_some() && !r.verified);
    assert_eq!(r.peer_certificates.len(), 1);
}

#[test]
fn an_expired_certificate_says_which_and_when() {
    let dir = pem_files();
    let s = SServer::start(dir.path(), &["-cert", "expired.crt", "-key", "expired.key"]);
    let r = run(&tls12(), &s.localhost());
    let message = assert_fails(&r, FailureCategory::ExpiredCertificate);
    let not_after = r.peer_certificates[0]
        .not_after
        .expect("not_after")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(message.contains("'CN=expired.localhost, O=tlsdeck tests' at depth 0"), "{message}");
    assert!(message.contains(&format!("expired on {not_after}")), "{message}");
}

#[test]
fn the_system_store_does_not_trust_the_test_root() {
    let (s, _dir) = server(&[]);
    let r = probe(&tls12(), &Trust::System, &s.localhost(), &ProbeOptions::default());
    let message = assert_fails(&r, FailureCategory::UntrustedCertificate);
    assert!(message.contains("'CN=localhost, O=tlsdeck tests' at depth 0"), "{message}");
}

#[test]
fn an_ip_target_is_verified_by_ip_and_gets_no_sni() {
    let (s, _dir) = server(&[]);
    let r = run(&tls12(), &s.ip());
    assert_ok(&r);
    assert!(r.verified);
    assert_eq!(r.sni, None);
}

#[test]
fn an_ip_the_certificate_does_not_hold_is_a_hostname_mismatch() {
    let dir = pem_files();
    let s = SServer::start(dir.path(), &["-cert", "other.crt", "-key", "other.key"]);
    let message = assert_fails(&run(&tls12(), &s.ip()), FailureCategory::HostnameMismatch);
    assert!(message.contains("not '127.0.0.1'"), "{message}");
}

#[test]
fn the_tls13_rule_lets_a_tls12_cipher_profile_negotiate_tls13_as_the_server_reports() {
    let (s, _dir) = server(&[]);
    let p = profile(json!({
        "title": "both",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(p.tls13_suites().count(), 5);
    let r = run(&p, &s.localhost());
    assert_ok(&r);
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls13));
    assert_server_reports_the_same_suite(&s, &r);
}

#[test]
fn a_tls12_suite_is_reported_as_the_server_reports_it() {
    let (s, _dir) = server(&["-tls1_2"]);
    let r = run(&tls12(), &s.localhost());
    assert_ok(&r);
    assert_server_reports_the_same_suite(&s, &r);
}

#[track_caller]
fn assert_server_reports_the_same_suite(s: &SServer, r: &ProbeReport) {
    let said = s.wait_for_line("CIPHER is ", SERVER_REPORT_WAIT);
    let said = said.unwrap_or_else(|| panic!("s_server reported no cipher: {:?}", s.output()));
    let suite =
        tlsdeck_model::cipher::lookup(&said).unwrap_or_else(|| panic!("unknown suite {said}"));
    assert_eq!(r.cipher.as_deref(), Some(suite.name));
}

#[test]
fn a_tls13_server_that_requires_a_client_certificate_is_explained() {
    let (s, _dir) = server(&["-tls1_3", "-Verify", "1", "-CAfile", "root.crt"]);
    let r = run(&tls13(), &s.localhost());
    let message = assert_fails(&r, FailureCategory::ClientCertificateRequired);
    assert!(message.contains("certificate_required alert"), "{message}");
    assert_eq!(r.protocol, Some(ProtocolVersion::Tls13));
    assert!(message.contains("keystore"), "{message}");
}

#[test]
fn a_tls12_server_that_requires_a_client_certificate_is_explained() {
    let (s, _dir) = server(&["-tls1_2", "-Verify", "1", "-CAfile", "root.crt"]);
    let message =
        assert_fails(&run(&tls12(), &s.localhost()), FailureCategory::ClientCertificateRequired);
    assert!(message.contains("keystore"), "{message}");
}

#[test]
fn one_context_serves_many_probes_at_once() {
    let (s, _dir) = server(&[]);
    let ctx = ClientContext::build(&tls12(), &root_trust()).expect("context");
    let target = s.localhost();
    let reports: Vec<ProbeReport> = thread::scope(|scope| {
        let probes: Vec<_> =
            (0..4).map(|_| scope.spawn(|| ctx.probe(&target, &ProbeOptions::default()))).collect();
        probes.into_iter().map(|h| h.join().expect("probe thread")).collect()
    });
    for r in &reports {
        assert_ok(r);
    }
}

#[test]
fn nothing_listening_is_connection_refused() {
    // 127.0.0.3: no other test listens there, so the freed port stays closed.
    let port = TcpListener::bind("127.0.0.3:0").expect("bind").local_addr().expect("addr").port();
    let target: Target = format!("127.0.0.3:{port}").parse().unwrap();
    let r = run(&tls12(), &target);
    let message = assert_fails(&r, FailureCategory::ConnectionRefused);
    assert!(message.contains(&format!("port {port}")), "{message}");
    assert_eq!(r.address, None);
}

#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (done, wait) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let held = listener.accept();
        let _ = wait.recv_timeout(Duration::from_secs(10));
        drop(held);
    });

    let target: Target = format!("127.0.0.1:{port}").parse().unwrap();
    let opts = ProbeOptions { timeout: Duration::from_secs(1) };
    let r = probe(&tls12(), &root_trust(), &target, &opts);
    let _ = done.send(());
    let _ = holder.join();

    let message = assert_fails(&r, FailureCategory::Timeout);
    assert!(message.contains("within 1 s"), "{message}");
    assert!((1000.0..3000.0).contains(&r.handshake_ms), "{}", r.handshake_ms);
    assert_eq!(r.address, Some(format!("127.0.0.1:{port}")));
}

#[test]
fn the_test_pki_is_what_the_tests_assume() {
    let p = pki();
    assert_eq!(
        p.localhost.cert.issuer_name().to_der().ok(),
        p.root.cert.subject_name().to_der().ok()
    );
    assert!(p.expired.cert.not_after() < openssl::asn1::Asn1Time::days_from_now(0).unwrap());
}
