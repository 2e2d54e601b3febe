//! Test support: a PKI generated in code, `openssl s_server` peers on loopback, and (in
//! `listener` and `s_client`) a tokio listener accepting through a server context with the
//! `openssl s_client` that talks to it.

#![allow(dead_code, reason = "each test binary uses a different part of the support code")]

pub mod listener;
pub mod s_client;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use tempfile::TempDir;
use tlsdeck_engine::{Identity, Target, Trust};
use tlsdeck_model::{ClientProfile, ServerProfile};

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How often to look at a server's output while waiting.
const POLL: Duration = Duration::from_millis(20);
/// How many fresh ports to try when a server cannot bind.
const START_ATTEMPTS: usize = 3;
const DAY: i64 = 86_400;

/// A certificate and its key.
pub struct Leaf {
    pub cert: X509,
    pub key: PKey<Private>,
}

/// What a certificate is for: its basic constraints and key usages follow from it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Ca,
    Server,
    Client,
}

/// The test PKI: root → intermediate → leaves, an expired intermediate, and strangers.
pub struct Pki {
    /// The root CA every test trusts.
    pub root: Leaf,
    /// Signed by the root, for `localhost` and `127.0.0.1`.
    pub localhost: Leaf,
    /// Signed by the root, for `default.test` only: what an SNI server shows by default.
    pub other: Leaf,
    /// Self-signed, for `localhost` and `127.0.0.1`.
    pub self_signed: Leaf,
    /// Signed by the root, for `localhost`, expired yesterday.
    pub expired: Leaf,
    /// A CA signed by the root.
    pub intermediate: Leaf,
    /// A client certificate (clientAuth) signed by the intermediate.
    pub client: Leaf,
    /// A server certificate for `localhost` and `127.0.0.1` signed by the intermediate.
    pub behind_intermediate: Leaf,
    /// A server certificate signed by the root for the IPs `127.0.0.1` and `::1` only.
    pub ip_only: Leaf,
    /// A CA signed by the root, expired yesterday.
    pub expired_intermediate: Leaf,
    /// A valid server certificate for `localhost` signed by the expired intermediate.
    pub behind_expired: Leaf,
    /// A self-signed CA that issued nothing the servers present.
    pub unrelated_root: Leaf,
    /// A client certificate (clientAuth) signed by the unrelated root.
    pub stranger: Leaf,
}

/// The PKI, generated once per test binary.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let now = unix_now();
        let valid = (now - DAY, now + 30 * DAY);
        let past = (now - 30 * DAY, now - DAY);
        let local = ["localhost", "127.0.0.1"];
        let root = issue("tlsdeck test root", None, &[], valid, Role::Ca);
        let intermediate = issue("tlsdeck test intermediate", Some(&root), &[], valid, Role::Ca);
        let expired_intermediate =
            issue("tlsdeck expired intermediate", Some(&root), &[], past, Role::Ca);
        let unrelated_root = issue("tlsdeck unrelated root", None, &[], valid, Role::Ca);
        Pki {
            localhost: issue("localhost", Some(&root), &local, valid, Role::Server),
            other: issue("default.test", Some(&root), &["default.test"], valid, Role::Server),
            self_signed: issue("tlsdeck self-signed", None, &local, valid, Role::Server),
            expired: issue("expired.localhost", Some(&root), &["localhost"], past, Role::Server),
            client: issue("tlsdeck client", Some(&intermediate), &[], valid, Role::Client),
            behind_intermediate: issue(
                "behind.localhost",
                Some(&intermediate),
                &local,
                valid,
                Role::Server,
            ),
            ip_only: issue(
                "tlsdeck ip only",
                Some(&root),
                &["127.0.0.1", "::1"],
                valid,
                Role::Server,
            ),
            behind_expired: issue(
                "behind-expired.localhost",
                Some(&expired_intermediate),
                &["localhost"],
                valid,
                Role::Server,
            ),
            stranger: issue("tlsdeck stranger", Some(&unrelated_root), &[], valid, Role::Client),
            unrelated_root,
            root,
            intermediate,
            expired_intermediate,
        }
    })
}

/// A certificate in DER.
pub fn der(leaf: &Leaf) -> Vec<u8> {
    leaf.cert.to_der().expect("certificate to DER")
}

/// Trust in the test root only, as a truststore stores it: DER entries.
pub fn root_truststore() -> Trust {
    Trust::Certificates(vec![der(&pki().root)])
}

/// The client certificate with the given chain (leaf first) and the client's key.
pub fn client_identity(chain: &[&Leaf]) -> Identity {
    let key_pkcs8 = pki().client.key.private_key_to_pkcs8().expect("key to PKCS#8");
    Identity { chain: chain.iter().map(|c| der(c)).collect(), key_pkcs8 }
}

/// A keystore's chain (leaf first) with the leaf's own key: what a server presents.
pub fn identity(chain: &[&Leaf]) -> Identity {
    let key_pkcs8 = chain[0].key.private_key_to_pkcs8().expect("key to PKCS#8");
    Identity { chain: chain.iter().map(|c| der(c)).collect(), key_pkcs8 }
}

/// Trust in the test root only.
pub fn root_trust() -> Trust {
    Trust::Pem(pki().root.cert.to_pem().expect("root to PEM"))
}

fn unix_now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs();
    i64::try_from(secs).expect("time fits i64")
}

/// Issues a certificate for `cn` with `sans`, signed by `issuer` (self-signed without one).
fn issue(cn: &str, issuer: Option<&Leaf>, sans: &[&str], validity: (i64, i64), role: Role) -> Leaf {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa key")).expect("pkey");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("O", "tlsdeck tests").expect("O");
    name.append_entry_by_text("CN", cn).expect("CN");
    let name = name.build();

    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    b.set_serial_number(&serial()).expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&name, |i| i.cert.subject_name())).expect("issuer");
    b.set_pubkey(&key).expect("pubkey");
    b.set_not_before(&Asn1Time::from_unix(validity.0).expect("time")).expect("not before");
    b.set_not_after(&Asn1Time::from_unix(validity.1).expect("time")).expect("not after");
    add_extensions(&mut b, issuer, sans, role);

    let signer = issuer.map_or(&key, |i| &i.key);
    b.sign(signer, MessageDigest::sha256()).expect("sign");
    Leaf { cert: b.build(), key }
}

fn add_extensions(b: &mut X509Builder, issuer: Option<&Leaf>, sans: &[&str], role: Role) {
    if role == Role::Ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
            .expect("bc");
        let usage = KeyUsage::new().critical().key_cert_sign().crl_sign().build().expect("ku");
        b.append_extension(usage).expect("ku");
    } else {
        b.append_extension(BasicConstraints::new().critical().build().expect("bc")).expect("bc");
        let usage = KeyUsage::new().critical().digital_signature().key_encipherment().build();
        b.append_extension(usage.expect("ku")).expect("ku");
        let mut eku = ExtendedKeyUsage::new();
        if role == Role::Server {
            eku.server_auth();
        } else {
            eku.client_auth();
        }
        b.append_extension(eku.build().expect("eku")).expect("eku");
    }
    let ctx = b.x509v3_context(issuer.map(|i| &*i.cert), None);
    let ski = SubjectKeyIdentifier::new().build(&ctx).expect("ski");
    let mut san = SubjectAlternativeName::new();
    for s in sans {
        if s.parse::<std::net::IpAddr>().is_ok() {
            san.ip(s);
        } else {
            san.dns(s);
        }
    }
    let san = (!sans.is_empty()).then(|| san.build(&ctx).expect("san"));
    b.append_extension(ski).expect("ski");
    if let Some(san) = san {
        b.append_extension(san).expect("san");
    }
}

fn serial() -> Asn1Integer {
    let mut bn = BigNum::new().expect("bn");
    bn.rand(64, MsbOption::MAYBE_ZERO, false).expect("rand");
    bn.to_asn1_integer().expect("serial")
}

/// The PKI as PEM files in a fresh temporary folder: `NAME.crt` and `NAME.key`.
pub fn pem_files() -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let p = pki();
    let leaves = [
        ("root", &p.root),
        ("localhost", &p.localhost),
        ("other", &p.other),
        ("self_signed", &p.self_signed),
        ("expired", &p.expired),
        ("intermediate", &p.intermediate),
        ("client", &p.client),
        ("behind_intermediate", &p.behind_intermediate),
        ("ip_only", &p.ip_only),
        ("expired_intermediate", &p.expired_intermediate),
        ("behind_expired", &p.behind_expired),
        ("unrelated_root", &p.unrelated_root),
        ("stranger", &p.stranger),
    ];
    for (name, leaf) in leaves {
        write(dir.path(), &format!("{name}.crt"), &leaf.cert.to_pem().expect("cert pem"));
        write(
            dir.path(),
            &format!("{name}.key"),
            &leaf.key.private_key_to_pem_pkcs8().expect("key pem"),
        );
    }
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("write PEM file");
}

/// A running `openssl s_server` on loopback, stopped by its own PID when dropped.
pub struct SServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    output: Arc<Mutex<Vec<String>>>,
    /// Held open: s_server stops when its standard input ends.
    _stdin: ChildStdin,
}

impl SServer {
    /// Starts `openssl s_server` on 127.0.0.1 with `args` (file names relative to `dir`) and
    /// waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> SServer {
        Self::start_on(Loopback::V4, dir, args)
    }

    /// Starts `openssl s_server` on the `loopback` address with `args` and waits until it
    /// listens.
    pub fn start_on(loopback: Loopback, dir: &Path, args: &[&str]) -> SServer {
        let mut last_output = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(loopback, dir, args) {
                Ok(server) => return server,
                Err(output) => last_output = output,
            }
        }
        panic!("s_server {args:?} did not start; its output:\n{}", last_output.join("\n"));
    }

    fn try_start(loopback: Loopback, dir: &Path, args: &[&str]) -> Result<SServer, Vec<String>> {
        let port = free_port_on(loopback);
        let mut child = Command::new("openssl")
            .arg("s_server")
            .arg("-accept")
            .arg(format!("{}:{port}", loopback.host()))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl s_server runs");
        let output = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take(), &output);
        collect_lines(child.stderr.take(), &output);
        let stdin = child.stdin.take().expect("piped stdin");
        let mut server = SServer { child, port, output, _stdin: stdin };
        if server.wait_listening() { Ok(server) } else { Err(server.output()) }
    }

    /// True once s_server says ACCEPT; false if it exits or the wait times out.
    fn wait_listening(&mut self) -> bool {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if self.output().iter().any(|l| l == "ACCEPT") {
                return true;
            }
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            thread::sleep(POLL);
        }
        false
    }

    /// Everything s_server printed so far, stdout and stderr interleaved by line.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits (at most `timeout`) for a line starting with `prefix`; returns the rest of it.
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> Option<String> {
        let start = Instant::now();
        loop {
            let found =
                self.output().iter().find_map(|l| l.strip_prefix(prefix).map(str::to_owned));
            if found.is_some() || start.elapsed() > timeout {
                return found;
            }
            thread::sleep(POLL);
        }
    }

    /// The target `localhost:PORT`.
    pub fn localhost(&self) -> Target {
        format!("localhost:{}", self.port).parse().expect("target")
    }

    /// The target `127.0.0.1:PORT`.
    pub fn ip(&self) -> Target {
        format!("127.0.0.1:{}", self.port).parse().expect("target")
    }

    /// The target `[::1]:PORT`.
    pub fn ipv6(&self) -> Target {
        format!("[::1]:{}", self.port).parse().expect("target")
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects the lines of `pipe` into `into` until it closes; the thread ends then.
fn collect_lines(
    pipe: Option<impl Read + Send + 'static>,
    into: &Arc<Mutex<Vec<String>>>,
) -> Option<thread::JoinHandle<()>> {
    let pipe = pipe?;
    let into = Arc::clone(into);
    Some(thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut lines) = into.lock() {
                lines.push(line);
            }
        }
    }))
}

/// A loopback address a test server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loopback {
    /// 127.0.0.1
    V4,
    /// ::1
    V6,
}

impl Loopback {
    /// The address as s_server's `-accept` wants it.
    fn host(self) -> &'static str {
        match self {
            Self::V4 => "127.0.0.1",
            Self::V6 => "[::1]",
        }
    }
}

/// True when this machine can listen on ::1.
pub fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    free_port_on(Loopback::V4)
}

fn free_port_on(loopback: Loopback) -> u16 {
    let listener =
        TcpListener::bind(format!("{}:0", loopback.host())).expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// A profile from JSON, through the model's rules.
pub fn profile(v: serde_json::Value) -> ClientProfile {
    ClientProfile::from_json(&v).unwrap_or_else(|e| panic!("test profile is invalid: {e}"))
}

/// A server profile from JSON, through the model's rules.
pub fn server_profile(v: serde_json::Value) -> ServerProfile {
    ServerProfile::from_json(&v).unwrap_or_else(|e| panic!("test server profile is invalid: {e}"))
}
