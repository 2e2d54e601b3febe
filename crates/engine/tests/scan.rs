//! A real scanner (nmap's `ssl-enum-ciphers`) lists exactly a listener's protocols and suites.
//!
//! nmap must be installed (Debian package `nmap`); without it these tests fail and say so.

mod support;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::listener::Listener;
use support::{identity, pki, root_truststore, server_profile};
use tlsdeck_engine::{ServerContext, server_effective};
use tlsdeck_model::cipher::lookup;
use tlsdeck_model::{ProtocolVersion, ServerProfile};

/// The longest a scan may take before it is stopped.
const SCAN_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);

/// Suites by protocol version, as nmap names the versions (`TLSv1.2`).
type Listing = BTreeMap<String, Vec<String>>;

/// Starts a listener for `profile`, scans it, and returns what nmap listed and nmap's output.
fn scan(profile: &ServerProfile) -> (Listing, String) {
    let p = pki();
    let keystore = identity(&[&p.behind_intermediate, &p.intermediate]);
    let ctx = ServerContext::build(profile, &keystore, &root_truststore()).expect("context");
    let listener = Listener::start(ctx);
    let output = run_nmap(listener.port);
    (parse(&output), output)
}

/// Runs `nmap -Pn -p PORT --script ssl-enum-ciphers 127.0.0.1`, killed by its PID if it
/// takes longer than [`SCAN_TIMEOUT`].
fn run_nmap(port: u16) -> String {
    let mut child = Command::new("nmap")
        .args(["-Pn", "-p", &port.to_string(), "--script", "ssl-enum-ciphers", "127.0.0.1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| match e.kind() {
            ErrorKind::NotFound => panic!(
                "nmap is not installed: install the Debian package `nmap` \
                 (`apt-get install -y nmap`) so that the listener can be scanned"
            ),
            _ => panic!("nmap could not be run: {e}"),
        });
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < SCAN_TIMEOUT => thread::sleep(POLL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("nmap did not finish within {SCAN_TIMEOUT:?}");
            }
        }
    };
    let output = reader.join().expect("nmap output");
    assert!(status.success(), "nmap failed ({status}):\n{output}");
    output
}

/// The `ssl-enum-ciphers` listing: for each version section, the suites under `ciphers:`,
/// by canonical name where the catalogue knows them.
fn parse(output: &str) -> Listing {
    let mut listing = Listing::new();
    let mut version: Option<String> = None;
    let mut in_ciphers = false;
    for line in output.lines() {
        let item = line.trim_start_matches(['|', '_']).trim();
        if let Some(v) =
            item.strip_suffix(':').filter(|v| v.starts_with("TLSv") || v.starts_with("SSLv"))
        {
            version = Some(v.to_owned());
            listing.entry(v.to_owned()).or_default();
            in_ciphers = false;
        } else if item == "ciphers:" {
            in_ciphers = true;
        } else if item.ends_with(':') || !item.starts_with("TLS_") {
            in_ciphers = false;
        } else if let (true, Some(v)) = (in_ciphers, &version) {
            let name = item.split_whitespace().next().unwrap_or(item);
            listing.entry(v.clone()).or_default().push(canonical(name));
        }
    }
    listing
}

/// The catalogue name of a suite nmap lists; nmap calls the TLS 1.3 suites `TLS_AKE_WITH_*`.
fn canonical(iana: &str) -> String {
    let name = iana.replace("TLS_AKE_WITH_", "TLS_");
    lookup(&name).map_or(name, |s| s.name.to_owned())
}

/// What the scan must list: each chosen version with the suites the listener serves for it.
fn expected(profile: &ServerProfile) -> Listing {
    let served = server_effective(profile).offered;
    profile
        .protocols
        .iter()
        .map(|v| {
            let suites = served
                .iter()
                .filter(|name| lookup(name).is_some_and(|s| s.supports(*v)))
                .cloned()
                .collect();
            (nmap_version(*v).to_owned(), suites)
        })
        .collect()
}

fn nmap_version(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::Tls10 => "TLSv1.0",
        ProtocolVersion::Tls11 => "TLSv1.1",
        ProtocolVersion::Tls12 => "TLSv1.2",
        ProtocolVersion::Tls13 => "TLSv1.3",
    }
}

/// nmap lists exactly the profile's versions and suites, in the profile's order, and finds
/// that the listener chooses by its own preference.
#[track_caller]
fn assert_scan_lists_exactly(profile: Value) {
    let profile = server_profile(profile);
    let (listed, output) = scan(&profile);
    assert_eq!(listed, expected(&profile), "nmap said:\n{output}");
    let server_preference = output.matches("cipher preference: server").count();
    assert_eq!(server_preference, profile.protocols.len(), "nmap said:\n{output}");
}

#[test]
fn a_scan_lists_exactly_a_modern_profiles_protocols_and_suites() {
    assert_scan_lists_exactly(json!({
        "title": "modern", "keystore": "ks",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": [
            "ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "DHE_RSA_WITH_AES_128_GCM_SHA256",
            "RSA_WITH_AES_128_CBC_SHA",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
        ],
    }));
}

#[test]
fn a_scan_lists_exactly_a_legacy_profiles_protocols_and_suites() {
    assert_scan_lists_exactly(json!({
        "title": "legacy", "keystore": "ks",
        "protocols": ["tls_v1.0", "tls_v1.1"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA", "RSA_WITH_AES_256_CBC_SHA"],
    }));
}
