//! What the engine really puts in its ClientHello, read off the wire by a loopback listener.

mod support;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::profile;
use tlsdeck_engine::{ProbeOptions, Target, Trust, effective, probe};
use tlsdeck_model::ClientProfile;
use tlsdeck_model::ProtocolVersion;
use tlsdeck_model::cipher::lookup;

/// How long the listener waits for the probe to connect and send its hello.
const WAIT: Duration = Duration::from_secs(5);
/// The renegotiation signalling value OpenSSL adds to every TLS 1.2 hello.
const RENEGOTIATION_SCSV: u16 = 0x00FF;
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// The parts of a ClientHello the tests look at.
#[derive(Debug, Default)]
struct ClientHello {
    legacy_version: u16,
    suites: Vec<u16>,
    server_name: Option<String>,
    supported_versions: Vec<u16>,
}

/// Probes a listener on 127.0.0.1 with `p`, addressing it as `host`, and returns the hello.
fn capture(p: &ClientProfile, host: &str) -> ClientHello {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let reader = thread::spawn(move || read_hello(&listener));
    let target: Target = format!("{host}:{port}").parse().expect("target");
    let opts = ProbeOptions { timeout: WAIT };
    let report = probe(p, &Trust::System, &target, &opts);
    assert!(!report.ok, "the listener never answers, so the probe cannot succeed");
    parse(&reader.join().expect("reader thread"))
}

/// The first TLS record sent to `listener`.
fn read_hello(listener: &TcpListener) -> Vec<u8> {
    let mut stream = accept_within(listener, WAIT);
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).expect("record header");
    assert_eq!(header[0], 22, "a handshake record");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    stream.read_exact(&mut body).expect("record body");
    body
}

fn accept_within(listener: &TcpListener, wait: Duration) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let start = Instant::now();
    while start.elapsed() < wait {
        if let Ok((stream, _)) = listener.accept() {
            stream.set_nonblocking(false).expect("blocking");
            return stream;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("the probe did not connect within {wait:?}");
}

/// A cursor over the hello's bytes; malformed input fails the test.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        assert!(self.0.len() >= n, "truncated ClientHello");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn u8(&mut self) -> usize {
        usize::from(self.take(1)[0])
    }

    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        u16::from_be_bytes([b[0], b[1]])
    }

    fn vec16(&mut self) -> Cursor<'a> {
        let n = usize::from(self.u16());
        Cursor(self.take(n))
    }
}

fn parse(record: &[u8]) -> ClientHello {
    let mut c = Cursor(record);
    assert_eq!(c.u8(), 1, "a ClientHello");
    c.take(3);
    let mut hello = ClientHello { legacy_version: c.u16(), ..ClientHello::default() };
    c.take(32);
    let session_id = c.u8();
    c.take(session_id);
    let mut suites = c.vec16();
    while !suites.0.is_empty() {
        hello.suites.push(suites.u16());
    }
    let compression = c.u8();
    c.take(compression);
    if !c.0.is_empty() {
        let mut extensions = c.vec16();
        while !extensions.0.is_empty() {
            let kind = extensions.u16();
            read_extension(&mut hello, kind, extensions.vec16());
        }
    }
    hello
}

fn read_extension(hello: &mut ClientHello, kind: u16, mut body: Cursor<'_>) {
    match kind {
        EXT_SERVER_NAME => {
            let mut list = body.vec16();
            assert_eq!(list.u8(), 0, "a host name");
            let name = list.vec16();
            hello.server_name = Some(String::from_utf8_lossy(name.0).into_owned());
        }
        EXT_SUPPORTED_VERSIONS => {
            let n = body.u8();
            let mut list = Cursor(body.take(n));
            while !list.0.is_empty() {
                hello.supported_versions.push(list.u16());
            }
        }
        _ => {}
    }
}

fn offered_code_points(p: &ClientProfile) -> Vec<u16> {
    effective(p).offered.iter().map(|n| lookup(n).expect("catalogue name").code_point).collect()
}

fn suites_without_scsv(hello: &ClientHello) -> Vec<u16> {
    hello.suites.iter().copied().filter(|s| *s != RENEGOTIATION_SCSV).collect()
}

#[test]
fn offers_exactly_the_effective_suites_tls13_first() {
    let p = profile(json!({
        "title": "both",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "RSA_WITH_AES_256_CBC_SHA"],
    }));
    let hello = capture(&p, "localhost");
    assert_eq!(suites_without_scsv(&hello), offered_code_points(&p));
    assert_eq!(hello.suites.len(), 8, "5 TLS 1.3 suites, 2 older ones and the SCSV");
    assert_eq!(hello.supported_versions, [0x0304, 0x0303]);
    assert_eq!(hello.server_name.as_deref(), Some("localhost"));
}

#[test]
fn leaves_unavailable_suites_out() {
    let p = profile(json!({
        "title": "3des",
        "ciphers": [
            "RSA_WITH_3DES_EDE_CBC_SHA",
            "RSA_WITH_AES_128_CBC_SHA",
            "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ],
    }));
    let hello = capture(&p, "localhost");
    assert_eq!(suites_without_scsv(&hello), [0x002F, 0xC02F]);
    assert_eq!(offered_code_points(&p), [0x002F, 0xC02F]);
}

#[test]
fn a_version_gap_offers_only_the_lowest_run() {
    // The model refuses gaps; a hand-made profile shows what the engine does anyway.
    let mut p = profile(json!({
        "title": "gap",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_CBC_SHA"],
    }));
    p.protocols.retain(|v| *v != ProtocolVersion::Tls11);
    let hello = capture(&p, "localhost");
    assert_eq!(hello.legacy_version, 0x0301, "TLS 1.0 is the highest version offered");
    assert!(hello.supported_versions.is_empty());
    assert_eq!(suites_without_scsv(&hello), offered_code_points(&p));
    assert_eq!(suites_without_scsv(&hello), [0xC013]);
}

#[test]
fn sends_no_sni_to_an_ip_literal() {
    let p = profile(json!({"title": "t", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}));
    let hello = capture(&p, "127.0.0.1");
    assert_eq!(hello.server_name, None);
    assert_eq!(hello.legacy_version, 0x0303);
}

#[test]
fn sends_no_sni_when_the_profile_turns_it_off() {
    let p = profile(json!({
        "title": "t",
        "server_name_indication": false,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(capture(&p, "localhost").server_name, None);
}
