//! Upstream connections are pooled and reused, or made per request and then resumed from the
//! TLS sessions the route's profile kept; nginx's `$connection` and `$ssl_session_reused`
//! tell which.

mod support;

use std::collections::HashSet;

use serde_json::json;
use support::{
    Nginx, TLS12_SUITES, TLS13_SUITES, TestStore, gateway, get, profile_json, tls_server,
};
use tlsdeck_store::ProfileRefs;

/// How many requests each pooling test sends, and from how many client threads.
const REQUESTS: usize = 120;
const CLIENTS: usize = 4;

fn store() -> TestStore {
    let s = TestStore::new();
    let trust = s.truststore(&s.admin, "test-ca", &["ca"]);
    let refs = ProfileRefs { keystore: None, truststore: Some(trust) };
    s.profile(&s.admin, profile_json("tls12", &["tls_v1.2"], &TLS12_SUITES), refs);
    s.profile(&s.admin, profile_json("tls13", &["tls_v1.3"], &TLS13_SUITES), refs);
    s
}

/// Sends `count` requests to `path` from [`CLIENTS`] threads; returns the answers' pages.
fn load(addr: std::net::SocketAddr, path: &str, count: usize) -> Vec<support::Reply> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(move || {
                    (0..count / CLIENTS).map(|_| get(addr, path, &[])).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("client thread")).collect()
    })
}

#[test]
fn many_requests_share_a_few_pooled_upstream_connections() {
    let s = store();
    let nginx = Nginx::start(&[&tls_server("")]);
    let up = format!("https://localhost:{}", nginx.ports[0]);
    let routes = format!(
        "  - {{path: /a, upstream: '{up}', tls_client_profile: 'tls13:1.0.0'}}\n  \
         - {{path: /b, upstream: '{up}', tls_client_profile: 'tls13:1.0.0'}}\n"
    );
    let gw = gateway(&s, "", &routes);

    let mut replies = load(gw.addr(), "/a/x", REQUESTS);
    replies.extend(load(gw.addr(), "/b/y", REQUESTS));
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().find(|r| r.status != 200)
    );
    let connections: HashSet<&str> = replies.iter().map(|r| r.field("conn")).collect();
    assert!(
        connections.len() <= 2 * CLIENTS,
        "{} requests took {} upstream connections",
        replies.len(),
        connections.len()
    );
    assert_eq!(nginx.access_log().len(), 2 * REQUESTS);
}

#[test]
fn without_keep_alive_every_request_connects_anew_and_resumes_the_session() {
    let s = store();
    let nginx = Nginx::start(&[&tls_server("")]);
    let up = format!("https://localhost:{}", nginx.ports[0]);
    let route = |path: &str, profile: &str, extra: &str| {
        format!(
            "  - {{path: {path}, upstream: '{up}', tls_client_profile: '{profile}', \
             keep_alive: false{extra}}}\n"
        )
    };
    let routes = [
        route("/tls13", "tls13:1.0.0", ""),
        route("/tls12", "tls12:1.0.0", ""),
        route("/full", "tls13:1.0.0", ", session_resumption: false"),
    ]
    .concat();
    let gw = gateway(&s, "", &routes);

    for (path, proto) in [("/tls13", "TLSv1.3"), ("/tls12", "TLSv1.2")] {
        let replies: Vec<_> = (0..10).map(|_| get(gw.addr(), path, &[])).collect();
        let connections: HashSet<&str> = replies.iter().map(|r| r.field("conn")).collect();
        assert_eq!(connections.len(), 10, "{path}: connections were reused");
        assert!(replies.iter().all(|r| r.field("proto") == proto));
        assert_eq!(replies[0].field("reused"), ".", "{path}: the first handshake is full");
        let resumed = replies.iter().filter(|r| r.field("reused") == "r").count();
        assert_eq!(
            resumed,
            9,
            "{path}: {:?}",
            replies.iter().map(|r| r.field("reused")).collect::<Vec<_>>()
        );
    }
    let full: Vec<_> = (0..5).map(|_| get(gw.addr(), "/full", &[])).collect();
    assert!(
        full.iter().all(|r| r.field("reused") == "."),
        "a session was resumed without resumption"
    );
}

#[test]
fn a_shared_admin_profile_serves_the_orgs_it_is_shared_with() {
    let s = store();
    let payments = s.provider("payments");
    let trust = s.store.truststore(s.admin.id, "test-ca").expect("truststore").id;
    let mut shared = profile_json("shared", &["tls_v1.3"], &TLS13_SUITES);
    shared["visibility"] = json!({"type": "custom", "orgs": ["payments"]});
    s.profile(&s.admin, shared, ProfileRefs { keystore: None, truststore: Some(trust) });
    let nginx = Nginx::start(&[&tls_server("")]);
    let up = format!("https://localhost:{}", nginx.ports[0]);
    let route = |profile: &str| {
        format!(
            "  - {{path: /, upstream: '{up}', tls_client_profile: '{profile}', org: {}}}\n",
            payments.name
        )
    };

    let gw = gateway(&s, "", &route("admin/shared:1.0.0"));
    assert_eq!(get(gw.addr(), "/", &[]).status, 200);

    let text = format!("listen: 127.0.0.1:0\nstore: .\nroutes:\n{}", route("admin/tls13:1.0.0"));
    let config = tlsdeck_gateway::Config::parse(&text, s.dir.path()).expect("config");
    let err = tlsdeck_gateway::Gateway::with_material(&config, s.material()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "routes[0].tls_client_profile: the TLS client profile admin/tls13:1.0.0 is not shared \
         with org payments (see its visibility)"
    );
}
