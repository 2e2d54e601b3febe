//! The gateway in front of real upstreams on loopback (nginx and `openssl s_server`): each
//! route's client profile decides protocols, suites, SNI, verification and the client
//! certificate, and every failure is a 502 with the probe's category.

mod support;

use serde_json::json;
use support::{
    Nginx, SServer, TLS12_SUITES, TLS13_SUITES, TestStore, free_port, gateway, get, pem,
    profile_json, tls_server,
};
use tlsdeck_store::ProfileRefs;

/// A store with the test CA's truststore and three profiles: TLS 1.2 only, TLS 1.3 only,
/// and TLS 1.3 with the client certificate.
fn store() -> (TestStore, ProfileRefs) {
    let s = TestStore::new();
    let trust = s.truststore(&s.admin, "test-ca", &["ca"]);
    let refs = ProfileRefs { keystore: None, truststore: Some(trust) };
    s.profile(&s.admin, profile_json("tls12", &["tls_v1.2"], &TLS12_SUITES), refs);
    s.profile(&s.admin, profile_json("tls13", &["tls_v1.3"], &TLS13_SUITES), refs);
    let ks = s.keystore(&s.admin, "client-ks", "client");
    let mut with_cert = profile_json("mtls", &["tls_v1.3"], &TLS13_SUITES);
    with_cert["keystore"] = json!("client-ks");
    s.profile(&s.admin, with_cert, ProfileRefs { keystore: Some(ks), truststore: Some(trust) });
    (s, refs)
}

fn route(path: &str, upstream: &str, profile: &str) -> String {
    format!("  - {{path: '{path}', upstream: '{upstream}', tls_client_profile: '{profile}'}}\n")
}

#[test]
fn each_route_speaks_its_profiles_protocol_and_a_mismatch_is_a_502() {
    let (s, _) = store();
    let nginx = Nginx::start(&[&tls_server("ssl_protocols TLSv1.2 TLSv1.3;")]);
    let tls13_only =
        SServer::start(&["-cert", "localhost.pem", "-key", "localhost.key", "-tls1_3"]);
    let n = nginx.ports[0];
    let routes = [
        route("/old", &format!("https://localhost:{n}"), "tls12:1.0.0"),
        route("/new", &format!("https://localhost:{n}/api/"), "tls13:1.0.0"),
        route("/strict", &format!("https://localhost:{}", tls13_only.port), "tls12:1.0.0"),
    ];
    let gw = gateway(&s, "", &routes.concat());

    let old = get(gw.addr(), "/old/x?q=1", &[]);
    assert_eq!(old.status, 200, "{old:?}");
    assert_eq!(old.field("proto"), "TLSv1.2");
    assert_eq!(old.field("uri"), "/old/x?q=1");
    let new = get(gw.addr(), "/new/x?q=1", &[]);
    assert_eq!(new.field("proto"), "TLSv1.3");
    assert_eq!(new.field("uri"), "/api/x?q=1", "the base replaces the route's prefix");

    let strict = get(gw.addr(), "/strict", &[]);
    assert_eq!(strict.status, 502, "{strict:?}");
    assert_eq!(strict.problem("category"), "protocol_mismatch");
    assert_eq!(strict.problem("route"), "/strict");
    assert!(strict.problem("detail").as_str().unwrap().contains("tls_v1.2"), "{strict:?}");
}

#[test]
fn headers_name_the_upstream_host_and_the_client() {
    let (s, _) = store();
    let nginx = Nginx::start(&[&tls_server("")]);
    let gw = gateway(
        &s,
        "",
        &route("/", &format!("https://localhost:{}", nginx.ports[0]), "tls13:1.0.0"),
    );
    let hops = [("X-Forwarded-For", "203.0.113.9"), ("Connection", "X-Hop"), ("X-Hop", "secret")];
    let r = get(gw.addr(), "/headers", &hops);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.field("host"), "localhost");
    assert_eq!(r.field("xff"), "203.0.113.9,");
    assert!(r.body.contains("xff=203.0.113.9, 127.0.0.1 "), "{}", r.body);
    assert!(r.body.contains("fwd=[for=127.0.0.1;proto=http;host=\"gw.test\"]"), "{}", r.body);
    assert_eq!(r.field("xfh"), "gw.test");
    assert_eq!(r.field("xfp"), "http");
    assert_eq!(r.field("hop"), "", "a header named by Connection went upstream");
}

#[test]
fn suites_are_the_profiles_and_none_shared_is_a_502() {
    let (s, refs) = store();
    s.profile(&s.admin, profile_json("aes128", &["tls_v1.2"], &[TLS12_SUITES[0]]), refs);
    s.profile(&s.admin, profile_json("aes256", &["tls_v1.2"], &[TLS12_SUITES[1]]), refs);
    let only_aes256 = "ssl_protocols TLSv1.2; ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384;";
    let nginx = Nginx::start(&[&tls_server(only_aes256)]);
    let up = format!("https://localhost:{}", nginx.ports[0]);
    let gw = gateway(
        &s,
        "",
        &[route("/a", &up, "aes256:1.0.0"), route("/b", &up, "aes128:1.0.0")].concat(),
    );

    let ok = get(gw.addr(), "/a", &[]);
    assert_eq!(ok.field("cipher"), "ECDHE-ECDSA-AES256-GCM-SHA384", "{ok:?}");
    let refused = get(gw.addr(), "/b", &[]);
    assert_eq!(refused.status, 502, "{refused:?}");
    assert_eq!(refused.problem("category"), "no_shared_cipher");
}

#[test]
fn sni_is_sent_for_host_names_and_a_server_that_needs_it_is_explained() {
    let (s, refs) = store();
    let mut no_sni = profile_json("no-sni", &["tls_v1.3"], &TLS13_SUITES);
    no_sni["server_name_indication"] = json!(false);
    s.profile(&s.admin, no_sni, refs);
    // A default server that refuses every handshake without a known name, beside `localhost`.
    let named = tls_server("");
    let nginx = Nginx::start(&[&|port| {
        format!(
            "{}\n}}\nserver {{\n listen 127.0.0.1:{port} ssl default_server;\n \
             ssl_reject_handshake on;\n ssl_protocols TLSv1.2 TLSv1.3;",
            named(port)
        )
    }]);
    let up = format!("https://localhost:{}", nginx.ports[0]);
    let gw = gateway(
        &s,
        "",
        &[route("/sni", &up, "tls13:1.0.0"), route("/none", &up, "no-sni:1.0.0")].concat(),
    );

    let ok = get(gw.addr(), "/sni", &[]);
    assert_eq!(ok.status, 200, "{ok:?}");
    let refused = get(gw.addr(), "/none", &[]);
    assert_eq!(refused.status, 502, "{refused:?}");
    assert_eq!(refused.problem("category"), "sni_required");
}

#[test]
fn mutual_tls_presents_the_keystore_and_a_server_that_requires_one_is_explained() {
    let (s, _) = store();
    let verify = format!("ssl_verify_client on;\n ssl_client_certificate {};", pem("ca.pem"));
    let nginx = Nginx::start(&[&tls_server(&verify)]);
    let strict = SServer::start(&[
        "-cert",
        "localhost.pem",
        "-key",
        "localhost.key",
        "-tls1_3",
        "-Verify",
        "1",
        "-CAfile",
        "ca.pem",
    ]);
    let n = format!("https://localhost:{}", nginx.ports[0]);
    let st = format!("https://localhost:{}", strict.port);
    let routes = [
        route("/mtls", &n, "mtls:1.0.0"),
        route("/plain", &n, "tls13:1.0.0"),
        route("/strict", &st, "tls13:1.0.0"),
        route("/strict-mtls", &st, "mtls:1.0.0"),
    ];
    let gw = gateway(&s, "", &routes.concat());

    let ok = get(gw.addr(), "/mtls", &[]);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("client=CN=gateway client"), "{}", ok.body);
    // nginx completes the handshake without a certificate and refuses at the HTTP level; its
    // answer is passed on as it is.
    let nginx_refused = get(gw.addr(), "/plain", &[]);
    assert_eq!(nginx_refused.status, 400, "{nginx_refused:?}");
    assert!(nginx_refused.body.contains("No required SSL certificate"), "{nginx_refused:?}");
    // s_server -Verify refuses the TLS 1.3 connection with an alert after the handshake.
    let refused = get(gw.addr(), "/strict", &[]);
    assert_eq!(refused.status, 502, "{refused:?}");
    assert_eq!(refused.problem("category"), "client_certificate_required");
    let passed = get(gw.addr(), "/strict-mtls", &[]);
    assert_eq!(passed.status, 200, "{passed:?}");
}

#[test]
fn untrusted_refused_and_unrouted_requests_are_problems() {
    let (s, _) = store();
    let stranger = SServer::start(&["-cert", "self-signed.pem", "-key", "self-signed.key"]);
    let closed = free_port();
    let routes = [
        route("/untrusted", &format!("https://localhost:{}", stranger.port), "tls13:1.0.0"),
        route("/closed", &format!("https://localhost:{closed}"), "tls13:1.0.0"),
    ];
    let gw = gateway(&s, "", &routes.concat());

    let r = get(gw.addr(), "/untrusted", &[]);
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(r.problem("category"), "untrusted_certificate");
    let r = get(gw.addr(), "/closed/x", &[]);
    assert_eq!(r.status, 502, "{r:?}");
    assert_eq!(r.problem("category"), "connection_refused");
    let r = get(gw.addr(), "/elsewhere", &[]);
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.problem("category"), "no_route");
    let r = get(gw.addr(), "/untrusted/../closed", &[]);
    assert_eq!(r.status, 400, "{r:?}");
}
