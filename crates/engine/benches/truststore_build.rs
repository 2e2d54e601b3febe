//! Times building a client context with a 146-certificate truststore, cold and cached, beside
//! the time the `openssl` command takes to load the same bundle, in the same run.
//!
//! Run it from the repository root with `bench/truststore-build [--runs N]`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use serde_json::json;
use tlsdeck_engine::{ClientContext, ContextCache, Trust};
use tlsdeck_model::ClientProfile;

/// How many CA certificates the bundle holds: the size of a typical system bundle.
const BUNDLE_SIZE: usize = 146;
/// The keys the CAs share: 12 RSA-2048 and 4 EC P-256, so the bundle mixes both kinds
/// without generating 146 RSA keys.
const RSA_KEYS: usize = 12;
const EC_KEYS: usize = 4;
/// Runs of each timed step unless `--runs` says otherwise; the median is reported.
const DEFAULT_RUNS: usize = 101;
const MAX_RUNS: usize = 501;
/// Lookups timed against the warm cache.
const CACHED_LOOKUPS: usize = 10_000;
/// No timed step runs longer than this, whatever the number of runs.
const STEP_BUDGET: Duration = Duration::from_secs(20);
/// How long the bench certificates are valid.
const VALID_DAYS: u32 = 365;

fn main() {
    let runs = runs_from_args();
    let dir = tempfile::TempDir::new().expect("temp dir");
    let bundle = Bundle::generate();
    bundle.write(dir.path());
    let profile = profile();

    let anchor_and_verify = time_openssl(dir.path(), runs);
    let cold = time_steps(runs, || {
        let trust = Trust::Certificates(bundle.ders.clone());
        let started = Instant::now();
        ClientContext::build(&profile, &trust).expect("context with the bundle");
        started.elapsed()
    });
    let cold_one = time_steps(runs, || {
        let trust = Trust::Certificates(bundle.ders[..1].to_vec());
        let started = Instant::now();
        ClientContext::build(&profile, &trust).expect("context with one certificate");
        started.elapsed()
    });
    let parse = time_steps(runs, || {
        let started = Instant::now();
        for der in &bundle.ders {
            X509::from_der(der).expect("DER");
        }
        started.elapsed()
    });
    let cached = time_cached(&profile, &bundle);

    report(&Figures { runs, anchor_and_verify, cold, cold_one, parse, cached });
}

fn runs_from_args() -> usize {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut runs = DEFAULT_RUNS;
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().and_then(|n| n.parse().ok())) {
            ("--runs", Some(n)) if (1..=MAX_RUNS).contains(&n) => runs = n,
            _ => panic!("usage: truststore-build [--runs N], N from 1 to {MAX_RUNS}"),
        }
    }
    runs
}

fn profile() -> ClientProfile {
    let v = json!({
        "title": "bench",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"],
    });
    ClientProfile::from_json(&v).expect("bench profile")
}

/// The CA bundle and a leaf issued by its last CA.
struct Bundle {
    cas: Vec<X509>,
    ders: Vec<Vec<u8>>,
    leaf: X509,
}

impl Bundle {
    fn generate() -> Self {
        let keys = key_pool();
        let cas: Vec<X509> = (0..BUNDLE_SIZE)
            .map(|i| {
                let key = &keys[i % keys.len()];
                certificate(&format!("tlsdeck bench CA {:03}", i + 1), key, None, i)
            })
            .collect();
        let issuer = (cas.last().expect("a CA"), &keys[(BUNDLE_SIZE - 1) % keys.len()]);
        let leaf = certificate("bench.localhost", &keys[0], Some(issuer), BUNDLE_SIZE);
        let ders = cas.iter().map(|c| c.to_der().expect("DER")).collect();
        Self { cas, ders, leaf }
    }

    /// `bundle.pem` (every CA) and `leaf.pem` in `dir`.
    fn write(&self, dir: &Path) {
        let pem: Vec<u8> = self.cas.iter().flat_map(|c| c.to_pem().expect("PEM")).collect();
        std::fs::write(dir.join("bundle.pem"), pem).expect("write bundle.pem");
        std::fs::write(dir.join("leaf.pem"), self.leaf.to_pem().expect("PEM"))
            .expect("write leaf.pem");
    }
}

fn key_pool() -> Vec<PKey<Private>> {
    let rsa = (0..RSA_KEYS).map(|_| PKey::from_rsa(Rsa::generate(2048).expect("RSA key")));
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let ec = (0..EC_KEYS).map(|_| PKey::from_ec_key(EcKey::generate(&group).expect("EC key")));
    rsa.chain(ec).map(|k| k.expect("key")).collect()
}

/// A CA certificate for `cn` (self-signed), or a leaf when `issuer` is given.
fn certificate(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    serial: usize,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("O", "tlsdeck bench").expect("O");
    name.append_entry_by_text("CN", cn).expect("CN");
    let name = name.build();

    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    b.set_serial_number(&serial_number(serial)).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&name, |(ca, _)| ca.subject_name())).expect("issuer");
    b.set_pubkey(key).expect("public key");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("now")).expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(VALID_DAYS).expect("later")).expect("not after");
    let constraints = match issuer {
        None => BasicConstraints::new().critical().ca().build(),
        Some(_) => BasicConstraints::new().critical().build(),
    };
    b.append_extension(constraints.expect("constraints")).expect("constraints");
    if issuer.is_none() {
        let usage = KeyUsage::new().critical().key_cert_sign().crl_sign().build();
        b.append_extension(usage.expect("usage")).expect("usage");
    }
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256()).expect("sign");
    b.build()
}

fn serial_number(n: usize) -> Asn1Integer {
    let n = u32::try_from(n + 1).expect("small serial");
    BigNum::from_u32(n).and_then(|bn| bn.to_asn1_integer()).expect("serial")
}

/// Runs `step` up to `runs` times (fewer if the step budget runs out) and keeps the times.
fn time_steps(runs: usize, mut step: impl FnMut() -> Duration) -> Vec<Duration> {
    let started = Instant::now();
    let mut times = Vec::with_capacity(runs);
    while times.len() < runs && started.elapsed() < STEP_BUDGET {
        times.push(step());
    }
    times
}

/// One warm lookup after another, each timed alone.
fn time_cached(profile: &ClientProfile, bundle: &Bundle) -> Vec<Duration> {
    let cache = ContextCache::new();
    let build = || ClientContext::build(profile, &Trust::Certificates(bundle.ders.clone()));
    let first = cache.get_or_build("bench", "r1", build).expect("cold build");
    time_steps(CACHED_LOOKUPS, || {
        let started = Instant::now();
        let ctx = cache.get_or_build("bench", "r1", build).expect("cached");
        let took = started.elapsed();
        assert!(Arc::ptr_eq(&first, &ctx), "the cache rebuilt the context");
        took
    })
}

/// `openssl version` (the anchor: process start-up) and `openssl verify -CAfile bundle.pem
/// leaf.pem`, alternated so that drift affects both alike.
fn time_openssl(dir: &Path, runs: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut anchor, mut verify) = (Vec::new(), Vec::new());
    let started = Instant::now();
    while verify.len() < runs && started.elapsed() < STEP_BUDGET {
        anchor.push(run_openssl(dir, &["version"]));
        verify.push(run_openssl(dir, &["verify", "-CAfile", "bundle.pem", "leaf.pem"]));
    }
    (anchor, verify)
}

fn run_openssl(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new("openssl").args(args).current_dir(dir).output();
    let took = started.elapsed();
    let out = out.expect("openssl runs (is it on PATH?)");
    assert!(out.status.success(), "openssl {args:?} failed: {out:?}");
    took
}

struct Figures {
    runs: usize,
    anchor_and_verify: (Vec<Duration>, Vec<Duration>),
    cold: Vec<Duration>,
    cold_one: Vec<Duration>,
    parse: Vec<Duration>,
    cached: Vec<Duration>,
}

fn report(f: &Figures) {
    let (anchor, verify) = (median(&f.anchor_and_verify.0), median(&f.anchor_and_verify.1));
    let loading = verify.saturating_sub(anchor);
    let (cold, cold_one, cached) = (median(&f.cold), median(&f.cold_one), median(&f.cached));
    let ratio = |d: Duration| ratio_text(d.as_secs_f64() / anchor.as_secs_f64());

    println!("linked OpenSSL: {}", openssl::version::version());
    println!("openssl command: {}", openssl_command_version());
    println!(
        "bundle: {BUNDLE_SIZE} self-signed CAs ({RSA_KEYS} RSA-2048 and {EC_KEYS} P-256 keys shared)"
    );
    println!("medians of {} runs ({} cached lookups)\n", f.runs, f.cached.len());
    println!("| measurement | runs | median | ratio to anchor |");
    println!("|---|---:|---:|---:|");
    let rows = [
        ("`openssl version` (anchor: process start-up)", f.anchor_and_verify.0.len(), anchor),
        ("`openssl verify -CAfile bundle.pem leaf.pem`", f.anchor_and_verify.1.len(), verify),
        ("openssl loading the bundle and verifying (verify − anchor)", 0, loading),
        ("`ClientContext::build`, `Trust::Certificates` of 146, cold", f.cold.len(), cold),
        ("`ClientContext::build`, `Trust::Certificates` of 1, cold", f.cold_one.len(), cold_one),
        (
            "parsing the 146 DER certificates alone (`X509::from_der`)",
            f.parse.len(),
            median(&f.parse),
        ),
        ("`ContextCache::get_or_build`, cached", f.cached.len(), cached),
    ];
    for (what, n, d) in rows {
        let n = if n == 0 { "—".to_owned() } else { n.to_string() };
        println!("| {what} | {n} | {} | {} |", show(d), ratio(d));
    }
    println!();
    println!("cold build / openssl loading: {:.2}", cold.as_secs_f64() / loading.as_secs_f64());
    println!("cold build / cached lookup: {:.0}", cold.as_secs_f64() / cached.as_secs_f64());
}

fn openssl_command_version() -> String {
    let out = Command::new("openssl").arg("version").output().expect("openssl runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    match us {
        1000.0.. => format!("{:.2} ms", us / 1000.0),
        1.0.. => format!("{us:.1} µs"),
        _ => format!("{:.0} ns", us * 1000.0),
    }
}

fn ratio_text(r: f64) -> String {
    if r >= 0.01 { format!("{r:.3}") } else { format!("{r:.1e}") }
}
