//! Hot reload: a change to a route's profile in the store, made while requests run, reaches
//! new upstream connections within a second; requests in flight finish on the old
//! connections, which are not reused; nothing fails but what the new profile forbids.

mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::{
    Nginx, Reply, TLS12_SUITES, TLS13_SUITES, TestStore, gateway, get, profile_json, tls_server,
};
use tlsdeck_store::ProfileRefs;

/// How long the request loop runs at most, and how many requests each client sends at most.
const LOOP_LIMIT: Duration = Duration::from_secs(15);
const MAX_REQUESTS: usize = 3000;
/// How soon a change must reach new connections.
const RELOAD_WITHIN: Duration = Duration::from_millis(1500);

/// One request of the loop: when it started and ended, and its answer.
struct Sample {
    path: &'static str,
    started: Instant,
    ended: Instant,
    reply: Reply,
}

/// A file nginx sends slowly (2 kB/s over 6 kB), with the protocol in a header.
fn slow_location(dir: &std::path::Path) -> String {
    let file = dir.join("slow.txt");
    std::fs::write(&file, "x".repeat(6000)).expect("write the slow file");
    format!(
        "location /slow {{ limit_rate 2000; add_header X-Proto $ssl_protocol; alias {}; }}",
        file.display()
    )
}

/// Requests `path` one after the other until `done`, or the loop's limits.
fn request_loop(addr: SocketAddr, path: &'static str, done: &AtomicBool) -> Vec<Sample> {
    let begun = Instant::now();
    let mut samples = Vec::new();
    while !done.load(Ordering::Acquire)
        && samples.len() < MAX_REQUESTS
        && begun.elapsed() < LOOP_LIMIT
    {
        let started = Instant::now();
        let reply = get(addr, path, &[]);
        samples.push(Sample { path, started, ended: Instant::now(), reply });
    }
    samples
}

#[test]
fn a_profile_switched_from_tls12_to_tls13_reaches_new_connections_without_failing_requests() {
    let s = TestStore::new();
    let trust = s.truststore(&s.admin, "test-ca", &["ca"]);
    let refs = ProfileRefs { keystore: None, truststore: Some(trust) };
    let both = [TLS12_SUITES.as_slice(), TLS13_SUITES.as_slice()].concat();
    let stored = s.profile(&s.admin, profile_json("switch", &["tls_v1.2"], &both), refs);
    let files = tempfile::tempdir().expect("temp dir");
    let slow = slow_location(files.path());
    let modern = tls_server(&slow);
    let legacy = tls_server("ssl_protocols TLSv1.2;");
    let nginx = Nginx::start(&[&modern, &legacy]);
    let route = |path: &str, port: u16| {
        format!(
            "  - {{path: {path}, upstream: 'https://localhost:{port}', \
             tls_client_profile: 'switch:1.0.0'}}\n"
        )
    };
    let routes = [route("/", nginx.ports[0]), route("/legacy", nginx.ports[1])].concat();
    let gw = gateway(&s, "", &routes);
    let addr = gw.addr();

    let done = AtomicBool::new(false);
    let (samples, in_flight, switched_at) = std::thread::scope(|scope| {
        let in_flight = scope.spawn(|| get(addr, "/slow", &[]));
        let clients: Vec<_> = ["/", "/", "/legacy"]
            .into_iter()
            .map(|path| {
                let done = &done;
                scope.spawn(move || request_loop(addr, path, done))
            })
            .collect();

        std::thread::sleep(Duration::from_millis(300));
        let switched_at = Instant::now();
        s.update(&stored, serde_json::json!({"protocols": ["tls_v1.3"]}));
        std::thread::sleep(RELOAD_WITHIN + Duration::from_millis(500));
        done.store(true, Ordering::Release);
        let samples: Vec<Sample> =
            clients.into_iter().flat_map(|c| c.join().expect("client thread")).collect();
        (samples, in_flight.join().expect("slow request"), switched_at)
    });

    // The request in flight at the change finished on its TLS 1.2 connection.
    assert_eq!(in_flight.status, 200, "{in_flight:?}");
    assert_eq!(in_flight.header("x-proto"), Some("TLSv1.2"));
    assert_eq!(in_flight.body.len(), 6000);

    let modern: Vec<&Sample> = samples.iter().filter(|x| x.path == "/").collect();
    assert!(modern.iter().all(|x| x.reply.status == 200), "a request failed across the change");
    let first_new = modern
        .iter()
        .filter(|x| x.reply.field("proto") == "TLSv1.3")
        .map(|x| x.ended)
        .min()
        .expect("no request reached the upstream over TLS 1.3");
    assert!(
        first_new - switched_at < RELOAD_WITHIN,
        "the change took {:?}",
        first_new - switched_at
    );
    let stale =
        modern.iter().filter(|x| x.started > first_new && x.reply.field("proto") != "TLSv1.3");
    assert_eq!(stale.count(), 0, "a pooled connection of the old profile was used again");
    assert!(
        modern.iter().any(|x| x.reply.field("proto") == "TLSv1.2"),
        "no request before the change"
    );

    // The TLS 1.2-only upstream: served before, refused by the new profile after; nothing else.
    for x in samples.iter().filter(|x| x.path == "/legacy") {
        match x.reply.status {
            200 => assert!(x.started < first_new, "served over TLS 1.2 after the change"),
            502 => {
                assert_eq!(x.reply.problem("category"), "protocol_mismatch");
                assert!(x.ended > switched_at);
            }
            other => panic!("unexpected {other}: {:?}", x.reply),
        }
    }
    assert!(samples.iter().any(|x| x.path == "/legacy" && x.reply.status == 502));
}
