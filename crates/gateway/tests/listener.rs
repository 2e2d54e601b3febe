//! The gateway's own side: listening over TLS through an `admin` server profile that reloads
//! like the routes' profiles, plain HTTP upstreams, and errors at start that name the field.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{
    Nginx, TLS12_SUITES, TLS13_SUITES, TestStore, gateway, get, parse_reply, profile_json,
    tls_server,
};
use tlsdeck_engine::{ClientContext, ConnectOptions, Target, Trust, connect_tcp};
use tlsdeck_gateway::{Config, Gateway};
use tlsdeck_model::{ClientProfile, ServerProfile};
use tlsdeck_store::ProfileRefs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn server_profile(protocols: &[&str]) -> ServerProfile {
    let ciphers = [TLS13_SUITES.as_slice(), TLS12_SUITES.as_slice()].concat();
    ServerProfile::from_json(&json!({"title": "listener", "name": "listener", "version": "1.0.0",
        "protocols": protocols, "ciphers": ciphers, "keystore": "listener-ks"}))
    .expect("server profile")
}

/// A client that trusts the test CA and speaks only `protocol`.
fn client(protocol: &str) -> ClientContext {
    let ciphers =
        if protocol == "tls_v1.3" { TLS13_SUITES.to_vec() } else { TLS12_SUITES.to_vec() };
    let p = ClientProfile::from_json(
        &json!({"title": "c", "protocols": [protocol], "ciphers": ciphers}),
    )
    .expect("client profile");
    let ca = std::fs::read(support::pki().path("ca.pem")).expect("ca");
    ClientContext::build(&p, &Trust::Pem(ca)).expect("client context")
}

/// `GET path` over TLS through `ctx`; the connect error's category when the handshake fails.
fn get_tls(port: u16, ctx: &ClientContext, path: &str) -> Result<support::Reply, String> {
    let target: Target = format!("localhost:{port}").parse().expect("target");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let tcp = connect_tcp(&target, Duration::from_secs(5)).await.map_err(|e| e.to_string())?;
        let mut tls = ctx
            .connect(tcp, &target, &ConnectOptions::default())
            .await
            .map_err(|e| e.category().to_string())?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        tls.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        Ok(parse_reply(&raw))
    })
}

#[test]
fn listens_through_a_server_profile_and_follows_its_changes() {
    let s = TestStore::new();
    let trust = s.truststore(&s.admin, "test-ca", &["ca"]);
    let refs = ProfileRefs { keystore: None, truststore: Some(trust) };
    s.profile(&s.admin, profile_json("tls13", &["tls_v1.3"], &TLS13_SUITES), refs);
    let ks = s.keystore(&s.admin, "listener-ks", "localhost");
    let server_refs = ProfileRefs { keystore: Some(ks), truststore: None };
    let stored = s
        .store
        .create_server_profile(s.admin.id, &server_profile(&["tls_v1.2", "tls_v1.3"]), server_refs)
        .expect("server profile");
    let nginx = Nginx::start(&[&tls_server("")]);
    let route = format!(
        "  - {{path: /, upstream: 'https://localhost:{}', tls_client_profile: tls13:1.0.0}}\n",
        nginx.ports[0]
    );
    let gw = gateway(&s, "tls_server_profile: listener:1.0.0\n", &route);
    assert!(gw.url().starts_with("https://127.0.0.1:"));
    let port = gw.addr().port();

    let reply = get_tls(port, &client("tls_v1.3"), "/x").expect("a TLS 1.3 request");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.field("xfp"), "https");

    s.store
        .update_server_profile(
            s.admin.id,
            stored.id,
            None,
            &server_profile(&["tls_v1.2"]),
            server_refs,
        )
        .expect("server profile update");
    let changed = Instant::now();
    let refused = loop {
        match get_tls(port, &client("tls_v1.3"), "/x") {
            Err(category) => break category,
            Ok(_) if changed.elapsed() < Duration::from_secs(3) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(_) => panic!("the listener still speaks TLS 1.3 after the change"),
        }
    };
    assert_eq!(refused, "protocol_mismatch");
    assert_eq!(get_tls(port, &client("tls_v1.2"), "/x").expect("TLS 1.2").status, 200);
}

#[test]
fn a_plain_http_upstream_takes_no_profile() {
    let s = TestStore::new();
    let trust = s.truststore(&s.admin, "test-ca", &["ca"]);
    let refs = ProfileRefs { keystore: None, truststore: Some(trust) };
    s.profile(&s.admin, profile_json("tls13", &["tls_v1.3"], &TLS13_SUITES), refs);
    let nginx = Nginx::start(&[&tls_server("")]);
    let inner_route = format!(
        "  - {{path: /, upstream: 'https://localhost:{}', tls_client_profile: tls13:1.0.0}}\n",
        nginx.ports[0]
    );
    let inner = gateway(&s, "", &inner_route);
    let outer = gateway(&s, "", &format!("  - {{path: /, upstream: 'http://{}'}}\n", inner.addr()));

    let reply = get(outer.addr(), "/through/two", &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.contains("xff=127.0.0.1, 127.0.0.1 "), "{}", reply.body);
    assert_eq!(reply.field("uri"), "/through/two");
}

#[test]
fn a_profile_that_is_not_in_the_store_is_named_at_start() {
    let s = TestStore::new();
    let text = "listen: 127.0.0.1:0\nstore: .\ntls_server_profile: nope:1\nroutes:\n  \
                - {path: /, upstream: 'https://localhost:1', tls_client_profile: missing:1.0.0}\n";
    let config = Config::parse(text, s.dir.path()).expect("config");
    let err = Gateway::with_material(&config, s.material()).unwrap_err().to_string();
    assert_eq!(
        err,
        "tls_server_profile: the TLS server profile nope:1 of org admin is not in the store"
    );

    let text = text.replace("tls_server_profile: nope:1\n", "");
    let config = Config::parse(&text, s.dir.path()).expect("config");
    let err = Gateway::with_material(&config, s.material()).unwrap_err().to_string();
    assert_eq!(
        err,
        "routes[0].tls_client_profile: the TLS client profile missing:1.0.0 of org admin is not \
         in the store"
    );
}
