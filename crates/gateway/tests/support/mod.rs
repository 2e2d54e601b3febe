//! What the gateway tests share: a test PKI made with the `openssl` command, a store filled
//! through its API as the server would, real upstreams on loopback (`nginx` with a
//! configuration of our own, `openssl s_server -www`), a gateway started in-process, and a
//! small HTTP client. Every server is stopped by its own PID when dropped.

#![allow(dead_code, reason = "each test file uses a part")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use tlsdeck_engine::KeyUnsealer;
use tlsdeck_gateway::{Config, Gateway, Material, Running, seal_context};
use tlsdeck_model::ClientProfile;
use tlsdeck_store::{
    Labels, NewEntry, NewKeystore, Org, ProfileRefs, SqliteStore, Store, StoredProfile,
};
use uuid::Uuid;

/// The master key the test stores seal with.
pub const MASTER_KEY: [u8; 32] = [42; 32];
/// How long a server may take to start.
const START: Duration = Duration::from_secs(10);

/// PEM files of a test PKI (EC P-256): `ca` issues `localhost` (DNS:localhost,
/// IP:127.0.0.1), `ip-only` (IP:127.0.0.1) and `client` (clientAuth); `self-signed` is
/// its own issuer, for localhost.
pub struct Pki {
    dir: TempDir,
}

/// The PKI, made once per test binary.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(Pki::new)
}

impl Pki {
    fn new() -> Self {
        let pki = Self { dir: tempfile::tempdir().expect("temp dir") };
        pki.write("ca.ext", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n");
        pki.write(
            "localhost.ext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        pki.write("ip-only.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        pki.write("client.ext", "extendedKeyUsage=clientAuth\n");
        pki.self_signed(
            "ca",
            "/CN=tlsdeck gateway test CA",
            &["-addext", "basicConstraints=critical,CA:true"],
        );
        pki.issued("localhost", "/CN=localhost");
        pki.issued("ip-only", "/CN=ip only");
        pki.issued("client", "/CN=gateway client");
        pki.self_signed(
            "self-signed",
            "/CN=localhost",
            &["-addext", "subjectAltName=DNS:localhost"],
        );
        pki
    }

    /// The folder of the PEM files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The path of one file.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A certificate in DER.
    pub fn cert_der(&self, name: &str) -> Vec<u8> {
        let out =
            openssl_out(self.dir(), &["x509", "-in", &format!("{name}.pem"), "-outform", "DER"]);
        assert!(!out.is_empty());
        out
    }

    /// A private key in PKCS#8 DER.
    pub fn key_der(&self, name: &str) -> Vec<u8> {
        openssl_out(
            self.dir(),
            &["pkcs8", "-topk8", "-nocrypt", "-in", &format!("{name}.key"), "-outform", "DER"],
        )
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("write");
    }

    fn self_signed(&self, name: &str, subject: &str, extra: &[&str]) {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            subject,
            "-keyout",
            &key,
            "-out",
            &pem,
        ];
        args.extend_from_slice(extra);
        openssl(self.dir(), &args);
    }

    fn issued(&self, name: &str, subject: &str) {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        openssl(
            self.dir(),
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                subject,
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            self.dir(),
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                &ext,
                "-out",
                &pem,
            ],
        );
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn openssl_out(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A fresh SQLite store in a data dir, with the `admin` org, filled as the server would.
pub struct TestStore {
    pub dir: TempDir,
    pub store: Arc<dyn Store>,
    pub admin: Org,
    unsealer: KeyUnsealer,
}

impl TestStore {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("tlsdeck.db")).expect("store"));
        let admin = store.create_org("admin", "Admin", "admin").expect("admin org");
        Self { dir, store, admin, unsealer: KeyUnsealer::from_bytes(MASTER_KEY) }
    }

    /// Material over this store, as the gateway reads it.
    pub fn material(&self) -> Material {
        Material::new(Arc::clone(&self.store), Ok(KeyUnsealer::from_bytes(MASTER_KEY)))
    }

    /// A provider org.
    pub fn provider(&self, name: &str) -> Org {
        self.store.create_org(name, name, "provider").expect("provider org")
    }

    /// A truststore of `org` holding the PKI's certificates `names`.
    pub fn truststore(&self, org: &Org, name: &str, names: &[&str]) -> Uuid {
        let labels = Labels { name: name.into(), title: name.into(), summary: None };
        let entries: Vec<NewEntry> = names
            .iter()
            .map(|n| NewEntry { fingerprint: format!("{name}-{n}"), der: pki().cert_der(n) })
            .collect();
        self.store.create_truststore(org.id, &labels, &entries).expect("truststore").id
    }

    /// A keystore of `org` with the PKI's certificate and key `leaf`, its key sealed.
    pub fn keystore(&self, org: &Org, name: &str, leaf: &str) -> Uuid {
        let sealed_key =
            self.unsealer.seal(&pki().key_der(leaf), &seal_context(org.id)).expect("seal");
        let ks = NewKeystore {
            labels: Labels { name: name.into(), title: name.into(), summary: None },
            chain: vec![pki().cert_der(leaf)],
            sealed_key,
        };
        self.store.create_keystore(org.id, &ks).expect("keystore").id
    }

    /// A client profile of `org` from JSON, linked to the stores.
    pub fn profile(&self, org: &Org, v: Value, refs: ProfileRefs) -> StoredProfile {
        let p = ClientProfile::from_json(&v).unwrap_or_else(|e| panic!("bad test profile: {e}"));
        self.store.create_client_profile(org.id, &p, refs).expect("profile")
    }

    /// Replaces a profile with the fields of `v`, as a PATCH through the server would.
    pub fn update(&self, stored: &StoredProfile, v: Value) -> StoredProfile {
        let mut input = stored.profile.to_input();
        for (k, val) in v.as_object().expect("an object") {
            input[k] = val.clone();
        }
        let p = ClientProfile::from_json(&input).unwrap_or_else(|e| panic!("bad update: {e}"));
        let refs = ProfileRefs {
            keystore: stored.keystore.as_ref().map(|l| l.id),
            truststore: stored.truststore.as_ref().map(|l| l.id),
        };
        self.store
            .update_client_profile(stored.org_id, stored.id, None, &p, refs)
            .expect("profile update")
    }
}

/// A profile's JSON: `protocols`, `ciphers`, and the test CA's truststore by name.
pub fn profile_json(name: &str, protocols: &[&str], ciphers: &[&str]) -> Value {
    json!({"title": name, "name": name, "version": "1.0.0", "protocols": protocols,
        "ciphers": ciphers, "truststore": "test-ca"})
}

/// TLS 1.3 suites and the ECDSA suites of TLS 1.2 the test PKI's keys serve.
pub const TLS12_SUITES: [&str; 2] =
    ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"];
pub const TLS13_SUITES: [&str; 1] = ["TLS_AES_128_GCM_SHA256"];

/// Starts a gateway in-process over `store` with the YAML `routes` (the `routes:` list).
pub fn gateway(store: &TestStore, extra: &str, routes: &str) -> Running {
    let text = format!("listen: 127.0.0.1:0\nstore: .\n{extra}routes:\n{routes}");
    let config = Config::parse(&text, store.dir.path()).unwrap_or_else(|e| panic!("{e}"));
    Gateway::with_material(&config, store.material())
        .unwrap_or_else(|e| panic!("the gateway cannot start: {e}"))
        .start()
        .expect("start")
}

/// A running nginx with a configuration of our own in a temporary folder, stopped by its PID.
pub struct Nginx {
    child: Child,
    dir: TempDir,
    /// The ports its servers listen on, in the order asked.
    pub ports: Vec<u16>,
}

/// The page every test server answers with: what the gateway sent and how it connected.
const PAGE: &str = "port=$server_port proto=$ssl_protocol cipher=$ssl_cipher \
    reused=$ssl_session_reused conn=$connection host=$host uri=$request_uri \
    xff=$http_x_forwarded_for fwd=[$http_forwarded] xfh=$http_x_forwarded_host \
    xfp=$http_x_forwarded_proto hop=$http_x_hop client=$ssl_client_s_dn\\n";

impl Nginx {
    /// Starts nginx with one `server` block per entry of `servers`: each is given its port
    /// and returns the directives inside the block after `listen` (the PKI's files by
    /// [`pem`]).
    pub fn start(servers: &[&dyn Fn(u16) -> String]) -> Self {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start(servers) {
                Ok(nginx) => return nginx,
                Err(log) => last = log,
            }
        }
        panic!("nginx did not start: {last}");
    }

    fn try_start(servers: &[&dyn Fn(u16) -> String]) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports: Vec<u16> = servers.iter().map(|_| free_port()).collect();
        let blocks: String = servers
            .iter()
            .zip(&ports)
            .map(|(s, port)| {
                format!("server {{\n listen 127.0.0.1:{port} ssl;\n{}\n}}\n", s(*port))
            })
            .collect();
        let d = dir.path().display();
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n \
             log_format conns '$server_port $connection $ssl_protocol $ssl_session_reused \
             $status';\n \
             access_log {d}/access.log conns;\n client_body_temp_path {d}/body;\n \
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n \
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n keepalive_requests 100000;\n \
             keepalive_timeout 120s;\n default_type text/plain;\n{blocks}}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs");
        let mut nginx = Self { child, dir, ports };
        if nginx.wait_listening() { Ok(nginx) } else { Err(nginx.error_log()) }
    }

    fn wait_listening(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < START {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            let addr = |p: &u16| SocketAddr::from(([127, 0, 0, 1], *p));
            if self.ports.iter().all(|p| TcpStream::connect_timeout(&addr(p), START).is_ok()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// nginx's error log.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// The access log: `port connection protocol reused status` per request.
    pub fn access_log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The absolute path of a PKI file, for nginx.
pub fn pem(name: &str) -> String {
    pki().path(name).display().to_string()
}

/// A TLS server block for `localhost` with the PKI's localhost certificate, answering every
/// request with [`PAGE`] after the directives in `extra` (TLS 1.2 and 1.3 unless they say
/// otherwise).
pub fn tls_server(extra: &str) -> impl Fn(u16) -> String + '_ {
    move |_| {
        let protocols =
            if extra.contains("ssl_protocols") { "" } else { "ssl_protocols TLSv1.2 TLSv1.3;" };
        format!(
            " server_name localhost;\n ssl_certificate {};\n ssl_certificate_key {};\n \
             {protocols}\n {extra}\n location / {{ return 200 \"{PAGE}\"; }}",
            pem("localhost.pem"),
            pem("localhost.key")
        )
    }
}

/// A running `openssl s_server -www`, stopped by its PID when dropped.
pub struct SServer {
    child: Child,
    pub port: u16,
    _stdin: ChildStdin,
}

impl SServer {
    /// Starts `openssl s_server -www` on 127.0.0.1 with `args` (the PKI's files by name).
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-naccept", "1000"])
            .args(args)
            .current_dir(pki().dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server runs");
        let stdin = child.stdin.take().expect("stdin");
        let port = accept_port(child.stdout.take().expect("stdout"));
        Self { child, port, _stdin: stdin }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port s_server reports on its `ACCEPT` line; the rest of its output is drained.
fn accept_port(stdout: std::process::ChildStdout) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ACCEPT ").and_then(|a| a.rsplit(':').next()) {
                let _ = tx.send(port.parse::<u16>().ok());
            }
        }
    });
    rx.recv_timeout(START).expect("s_server did not start").expect("s_server printed a port")
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The problem body's field.
    pub fn problem(&self, field: &str) -> Value {
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{self:?}");
        let v: Value = serde_json::from_str(&self.body).expect("problem JSON");
        v[field].clone()
    }

    /// A `key=value` field of the test page.
    pub fn field(&self, key: &str) -> &str {
        let prefix = format!("{key}=");
        self.body.split(' ').find_map(|w| w.strip_prefix(prefix.as_str())).map_or("", str::trim_end)
    }
}

/// `GET path` on the gateway at `addr` over a new plain connection, with `headers`.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut tcp = TcpStream::connect(addr).expect("connect to the gateway");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).expect("read the answer");
    parse_reply(&raw)
}

/// Parses an HTTP/1.1 answer whose body is plain or chunked.
pub fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Reply { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    for _ in 0..10_000 {
        let Some((size, rest)) = body.split_once("\r\n") else { break };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
