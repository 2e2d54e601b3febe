//! The gateway on a shared PostgreSQL store: a change another instance makes reaches new
//! upstream connections through LISTEN/NOTIFY within a second.
//!
//! Needs `TLSDECK_TEST_DATABASE_URL` naming a server that lets this user create databases
//! (`scripts/test` starts a throwaway cluster); skipped without it, unless
//! `TLSDECK_REQUIRE_POSTGRES=1` makes that a failure.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{MASTER_KEY, Nginx, TLS12_SUITES, TLS13_SUITES, get, pki, tls_server};
use tlsdeck_engine::KeyUnsealer;
use tlsdeck_gateway::{Config, Gateway, Material};
use tlsdeck_model::ClientProfile;
use tlsdeck_store::{Labels, NewEntry, ProfileRefs};

/// A fresh database on the test server, or `None` when there is no server to use.
fn fresh_database() -> Option<String> {
    let Ok(server) = std::env::var("TLSDECK_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("TLSDECK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TLSDECK_REQUIRE_POSTGRES=1 but TLSDECK_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipped: TLSDECK_TEST_DATABASE_URL is not set");
        return None;
    };
    let name = format!("tlsdeck_gateway_{}", uuid::Uuid::new_v4().simple());
    let out = Command::new("psql")
        .args([server.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (base, _) = server.rsplit_once('/').expect("the URL names a database");
    Some(format!("{base}/{name}"))
}

fn profile(protocols: &[&str]) -> ClientProfile {
    let ciphers = [TLS12_SUITES.as_slice(), TLS13_SUITES.as_slice()].concat();
    ClientProfile::from_json(&serde_json::json!({"title": "pg", "name": "pg", "version": "1.0.0",
        "protocols": protocols, "ciphers": ciphers, "truststore": "test-ca"}))
    .expect("profile")
}

#[test]
fn a_change_by_another_instance_reaches_new_connections_through_notify() {
    let Some(url) = fresh_database() else { return };
    // Store calls of the PostgreSQL client run outside any runtime, as in the gateway.
    let gateway_store = tlsdeck_store::open_url(&url).expect("open the store");
    let other_instance = tlsdeck_store::open_url(&url).expect("open the store again");
    let admin = other_instance.create_org("admin", "Admin", "admin").expect("admin org");
    let labels = Labels { name: "test-ca".into(), title: "CA".into(), summary: None };
    let entry = NewEntry { fingerprint: "ca".into(), der: pki().cert_der("ca") };
    let trust = other_instance.create_truststore(admin.id, &labels, &[entry]).expect("truststore");
    let refs = ProfileRefs { keystore: None, truststore: Some(trust.id) };
    let stored = other_instance
        .create_client_profile(admin.id, &profile(&["tls_v1.2"]), refs)
        .expect("profile");

    let nginx = Nginx::start(&[&tls_server("")]);
    let text = format!(
        "listen: 127.0.0.1:0\nstore: {url}\nroutes:\n  - {{path: /, upstream: \
         'https://localhost:{}', tls_client_profile: 'pg:1.0.0'}}\n",
        nginx.ports[0]
    );
    let config = Config::parse(&text, std::path::Path::new(".")).expect("config");
    let material =
        Material::new(Arc::clone(&gateway_store), Ok(KeyUnsealer::from_bytes(MASTER_KEY)));
    let gw = Gateway::with_material(&config, material).expect("gateway").start().expect("start");
    assert_eq!(get(gw.addr(), "/", &[]).field("proto"), "TLSv1.2");

    other_instance
        .update_client_profile(admin.id, stored.id, None, &profile(&["tls_v1.3"]), refs)
        .expect("update");
    let changed = Instant::now();
    loop {
        let reply = get(gw.addr(), "/", &[]);
        assert_eq!(reply.status, 200, "{reply:?}");
        if reply.field("proto") == "TLSv1.3" {
            break;
        }
        assert!(changed.elapsed() < Duration::from_secs(1), "the change did not arrive in 1 s");
    }
}
