//! The `tlsdeck` binary end to end: a real server process on loopback, the CLI against
//! it, and probes against a real `openssl s_server`.

use std::io::{BufRead, BufReader};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tlsdeck");
const PASSWORD: &str = "Cli-Test-Passw0rd";

/// A child process stopped by its own PID when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tlsdeck serve` on a port the system picks and returns it once the server says
/// it listens; what it prints goes to `log`.
fn spawn_server(
    data_dir: &Path,
    log: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> (Running, u16) {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env("TLSDECK_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut copy = std::fs::File::create(log).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = writeln!(copy, "{line}");
            if let Some(port) = line.rsplit(':').next().and_then(|p| p.parse::<u16>().ok())
                && line.contains("listening on")
            {
                let _ = tx.send(port);
            }
        }
    });
    let running = Running(child);
    let port =
        rx.recv_timeout(Duration::from_secs(30)).expect("the server did not start within 30 s");
    (running, port)
}

struct Env {
    dir: tempfile::TempDir,
    server: String,
    _serve: Running,
}

impl Env {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let (serve, port) = spawn_server(&dir.path().join("data"), &log, &[], &[]);
        let env = Self { dir, server: format!("http://127.0.0.1:{port}"), _serve: serve };
        let out = env.run(&[
            "login",
            "--server",
            &env.server,
            "--username",
            "admin",
            "--password",
            PASSWORD,
            "--realm",
            "admin/default-idp-1",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        env
    }

    /// What the server printed: its standard output and its log.
    fn server_output(&self) -> Vec<u8> {
        let mut out = std::fs::read(self.dir.path().join("server.log")).unwrap_or_default();
        out.extend(std::fs::read(self.dir.path().join("server.err")).unwrap_or_default());
        out
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TLSDECK_CONFIG_DIR", self.config_dir())
            .env_remove("TLSDECK_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

const PROFILE_YAML: &str = "\
title: Backend TLS
protocols: [tls_v1.2, tls_v1.3]
ciphers:
  - ECDHE-RSA-AES128-GCM-SHA256
  - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
";

#[test]
fn saves_the_login_readable_by_its_owner_only() {
    let env = Env::start();
    let file = env.config_dir().join("credentials.json");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(!saved.contains(PASSWORD), "the password is not saved");
}

#[test]
fn creates_gets_lists_updates_and_deletes_a_profile() {
    let env = Env::start();
    let file = env.write("p.yaml", PROFILE_YAML);
    let created = env.json(&["tls-client-profiles:create", &file, "--format", "json"]);
    assert_eq!(created["name"], "backend-tls");
    assert_eq!(created["ciphers"].as_array().unwrap().len(), 7, "TLS 1.3 rule applied");

    let got = env.json(&["tls-client-profiles:get", "backend-tls:1.0.0", "--format", "json"]);
    assert_eq!(got["id"], created["id"]);

    let yaml = env.run(&["tls-client-profiles:get", "backend-tls:1.0.0"]);
    let yaml: Value = serde_yaml::from_slice(&yaml.stdout).unwrap();
    assert_eq!(yaml["title"], "Backend TLS");

    let change = env.write("c.json", r#"{"summary": "changed", "server_name_indication": false}"#);
    let updated =
        env.json(&["tls-client-profiles:update", "backend-tls:1.0.0", &change, "--format", "json"]);
    assert_eq!(
        (updated["summary"].as_str(), updated["server_name_indication"].as_bool()),
        (Some("changed"), Some(false))
    );

    let table = env.run(&["tls-client-profiles:list-all"]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("backend-tls ") && l.contains(" 1.0.0 ")),
        "{table}"
    );
    assert!(table.contains("tls-client-profile-default"), "the default profile: {table}");

    let versions = env.json(&["tls-client-profiles:list", "backend-tls", "--format", "json"]);
    assert_eq!(versions["total_results"], 1);

    let out = env.run(&["tls-client-profiles:delete", "backend-tls:1.0.0"]);
    assert!(out.status.success());
    let events = env.run(&["events:list", "--resource", "backend-tls"]);
    let events = String::from_utf8_lossy(&events.stdout);
    let actions: Vec<&str> =
        events.lines().skip(1).filter_map(|l| l.split_whitespace().nth(3)).collect();
    assert_eq!(actions, ["delete", "update", "create"], "{events}");
    let out = env.run(&["tls-client-profiles:get", "backend-tls:1.0.0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

#[test]
fn writes_output_to_a_file_and_clears_with_confirmation() {
    let env = Env::start();
    let file = env.write("p.yaml", PROFILE_YAML);
    let out_file = env.dir.path().join("out.json");
    let out = env.run(&[
        "tls-client-profiles:create",
        &file,
        "--format",
        "json",
        "--output",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    let saved: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(saved["name"], "backend-tls");

    let out = env.run(&["tls-client-profiles:clear", "--confirm", "wrong"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&["tls-client-profiles:clear", "--confirm", "admin"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "deleted 2 TLS client profiles in org admin",
        "the created one and the default"
    );
}

#[test]
fn reports_every_bad_field_and_exits_one() {
    let env = Env::start();
    let file = env.write("bad.yaml", "title: ''\nciphers: [NOPE_CIPHER]\nprotocols: [tls_v9]\n");
    let out = env.run(&["tls-client-profiles:create", &file]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["422", "title:", "ciphers[0]: unknown cipher 'NOPE_CIPHER'", "protocols[0]:"] {
        assert!(err.contains(needle), "missing {needle} in {err}");
    }
}

#[test]
fn exits_two_on_usage_errors() {
    let env = Env::start();
    assert_eq!(env.run(&["tls-client-profiles:get", "no-version"]).status.code(), Some(2));
    assert_eq!(env.run(&["tls-client-profiles:nonsense"]).status.code(), Some(2));
    assert_eq!(env.run(&["probe", "localhost:1"]).status.code(), Some(2));
    assert_eq!(
        env.run(&["login", "-s", "127.0.0.1:1", "-u", "a", "-p", "b", "-r", "c"]).status.code(),
        Some(2)
    );
    let out = Command::new(BIN)
        .args(["tls-client-profiles:list-all"])
        .env("TLSDECK_CONFIG_DIR", env.dir.path().join("empty"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "not logged in");
}

/// An `openssl s_server` with a self-signed certificate for localhost.
struct SelfSigned {
    cert: PathBuf,
    port: u16,
    _server: Running,
}

fn self_signed_server(dir: &Path) -> SelfSigned {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-tls1_2"])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Running(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ACCEPT ").and_then(|a| a.rsplit(':').next()) {
                let _ = tx.send(port.parse::<u16>().ok());
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).expect("s_server did not start");
    SelfSigned { cert, port: port.expect("a port"), _server: server }
}

#[test]
fn probes_locally_from_a_profile_file() {
    let dir = tempfile::tempdir().unwrap();
    let peer = self_signed_server(dir.path());
    let profile = dir.path().join("p.yaml");
    std::fs::write(&profile, "title: local\nciphers: [ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n")
        .unwrap();
    let target = format!("localhost:{}", peer.port);
    let probe = |extra_env: Option<&Path>| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "probe",
            "--profile-file",
            profile.to_str().unwrap(),
            &target,
            "--format",
            "json",
        ]);
        if let Some(ca) = extra_env {
            cmd.env("SSL_CERT_FILE", ca);
        }
        cmd.output().unwrap()
    };

    let out = probe(None);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["error"]["category"], "untrusted_certificate");

    let with_ca = Command::new(BIN)
        .args(["probe", "--profile-file", profile.to_str().unwrap(), &target, "--format", "json"])
        .arg("--ca-file")
        .arg(&peer.cert)
        .output()
        .unwrap();
    assert_eq!(with_ca.status.code(), Some(0), "{}", String::from_utf8_lossy(&with_ca.stdout));

    let out = probe(Some(&peer.cert));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["protocol"], "tls_v1.2");
    assert_eq!(report["cipher"], "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(report["sni"], "localhost");
    assert_eq!(report["verified"], true);
    assert_eq!(report["peer_certificates"][0]["subject"], "CN=localhost");
}

#[test]
fn probes_through_the_server_with_a_stored_profile() {
    let env = Env::start();
    let peer = self_signed_server(env.dir.path());
    let file = env.write("p.yaml", "title: remote\ninsecure_server_connections: true\nciphers: [ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n");
    assert!(env.run(&["tls-client-profiles:create", &file]).status.success());

    let target = format!("https://127.0.0.1:{}/", peer.port);
    let out = env.run(&["probe", "--profile", "remote:1.0.0", &target, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["cipher"], "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_eq!(report["sni"], Value::Null, "no SNI for an IP literal");
    assert_eq!(report["verified"], false);

    let table = env.run(&["probe", "--profile", "remote:1.0.0", &target]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("cipher") && l.contains("ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")),
        "{table}"
    );
}

#[test]
fn keeps_the_password_out_of_output_and_logs() {
    let env = Env::start();
    let file = env.write("p.yaml", PROFILE_YAML);
    let mut seen = Vec::new();
    for args in [
        vec!["tls-client-profiles:create", file.as_str()],
        vec!["tls-client-profiles:list-all", "--format", "json"],
    ] {
        let out = env.run(&args);
        seen.extend(out.stdout);
        seen.extend(out.stderr);
    }
    let bad_login = env.run(&[
        "login",
        "-s",
        &env.server,
        "-u",
        "admin",
        "-p",
        "Wrong-Passw0rd-xyz",
        "-r",
        "admin/default-idp-1",
    ]);
    assert_eq!(bad_login.status.code(), Some(1));
    seen.extend(bad_login.stdout);
    seen.extend(bad_login.stderr);
    seen.extend(env.server_output());
    let text = String::from_utf8_lossy(&seen);
    assert!(!text.contains(PASSWORD) && !text.contains("Wrong-Passw0rd-xyz"), "{text}");
    assert!(text.contains("failed log-in"), "failed log-ins are logged");
}

fn openssl_in(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl {args:?}");
}

/// A root and a leaf signed by it, with the leaf's key as PEM, DER and in a PKCS#12 file.
struct Material {
    dir: tempfile::TempDir,
}

impl Material {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("leaf.ext"), "subjectAltName=DNS:localhost\n").unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let root = ["-subj", "/CN=CLI Root", "-keyout", "root.key", "-out", "root.pem"];
        openssl_in(dir.path(), &[&["req", "-x509", "-days", "5"][..], &ec, &root].concat());
        let leaf = ["-subj", "/CN=localhost", "-keyout", "leaf.key", "-out", "leaf.csr"];
        openssl_in(dir.path(), &[&["req", "-new"][..], &ec, &leaf].concat());
        openssl_in(
            dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-CAcreateserial",
                "-days",
                "5",
                "-extfile",
                "leaf.ext",
                "-out",
                "leaf.pem",
            ],
        );
        openssl_in(
            dir.path(),
            &[
                "pkcs12",
                "-export",
                "-in",
                "leaf.pem",
                "-inkey",
                "leaf.key",
                "-certfile",
                "root.pem",
                "-passout",
                "pass:p12-Secret-pw",
                "-out",
                "client.p12",
            ],
        );
        openssl_in(
            dir.path(),
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "leaf.key",
                "-outform",
                "DER",
                "-out",
                "leaf-key.der",
            ],
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn key_pem_line(&self) -> String {
        std::fs::read_to_string(self.path("leaf.key")).unwrap().lines().nth(1).unwrap().to_owned()
    }

    fn key_der(&self) -> Vec<u8> {
        std::fs::read(self.path("leaf-key.der")).unwrap()
    }
}

#[test]
fn manages_keystores_truststores_and_entries_without_ever_showing_the_key() {
    let env = Env::start();
    let m = Material::new();
    let mut seen: Vec<u8> = Vec::new();
    let mut run = |args: &[&str], ok: bool| {
        let out = env.run(args);
        assert_eq!(out.status.success(), ok, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        seen.extend(&out.stdout);
        seen.extend(&out.stderr);
        out
    };

    let out = run(
        &[
            "keystores:create",
            "--file",
            &m.path("client.p12"),
            "--password",
            "p12-Secret-pw",
            "--title",
            "Client KS",
            "--format",
            "json",
        ],
        true,
    );
    let ks: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ks["certificates"][0]["subject"], "CN=localhost");
    run(
        &[
            "keystores:create",
            "--file",
            &m.path("client.p12"),
            "--password",
            "wrong",
            "--title",
            "x",
        ],
        false,
    );

    let out = run(
        &[
            "truststores:create",
            "--file",
            &m.path("root.pem"),
            "--title",
            "CLI CA",
            "--format",
            "json",
        ],
        true,
    );
    let ts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ts["entry_count"], 1);
    let out = run(
        &["entries:create", &m.path("leaf.pem"), "--truststore", "cli-ca", "--format", "json"],
        true,
    );
    let added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = added["results"][0]["id"].as_str().unwrap().to_owned();
    let out = run(&["entries:list", "--truststore", "cli-ca"], true);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3, "header and two entries");
    run(&["entries:delete", &id, "--truststore", "cli-ca"], true);

    let profile = env.write("p.yaml", "title: uses stores\nkeystore: client-ks\ntruststore: cli-ca\nciphers: [ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n");
    run(&["tls-client-profiles:create", &profile], true);
    let out = run(&["keystores:delete", "client-ks"], false);
    assert!(String::from_utf8_lossy(&out.stderr).contains("uses-stores:1.0.0"));
    let out = run(&["keystores:list"], true);
    assert!(String::from_utf8_lossy(&out.stdout).contains("client-ks"));
    run(&["keystores:get", "client-ks", "--format", "json"], true);

    let log = env.server_output();
    let data = env.dir.path().join("data");
    let mut db = std::fs::read(data.join("tlsdeck.db")).unwrap();
    db.extend(std::fs::read(data.join("tlsdeck.db-wal")).unwrap_or_default());
    let der = m.key_der();
    for (what, bytes) in [("CLI output", &seen), ("server log", &log), ("database", &db)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&m.key_pem_line()), "key PEM in the {what}");
        assert!(!bytes.windows(der.len()).any(|w| w == der.as_slice()), "key DER in the {what}");
        assert!(!text.contains("p12-Secret-pw"), "password in the {what}");
    }
}

/// The CLI logs in over https, trusting the certificate the listener presents (the default
/// keystore's, made for localhost), and refuses to without it.
fn cli_over_https(dir: &Path, port: u16) {
    let shown = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-showcerts"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    let begin = text.find("-----BEGIN CERTIFICATE-----").expect("the listener's certificate");
    let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
    let ca = dir.join("listener.pem");
    std::fs::write(&ca, format!("{}\n", &text[begin..end])).unwrap();

    let server = format!("https://localhost:{port}");
    let login = |ca: Option<&Path>| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "login",
            "-s",
            &server,
            "-u",
            "admin",
            "-p",
            PASSWORD,
            "-r",
            "admin/default-idp-1",
        ])
        .env("TLSDECK_CONFIG_DIR", dir.join("config"));
        if let Some(ca) = ca {
            cmd.arg("--ca-file").arg(ca);
        }
        cmd.output().unwrap()
    };
    assert_eq!(login(None).status.code(), Some(1), "an untrusted listener is refused");
    assert!(login(Some(&ca)).status.success());
    let out = Command::new(BIN)
        .args(["tls-server-profiles:list-all"])
        .env("TLSDECK_CONFIG_DIR", dir.join("config"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("tls-server-profile-default"));
}

/// Sends one HTTP/1.0 request over TLS with `openssl s_client`; the answer, or None when
/// the handshake failed.
fn over_tls(port: u16, tls_flag: &str, request: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            tls_flag,
            "-quiet",
            "-ign_eof",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(request.as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.starts_with("HTTP/").then_some(text)
}

fn http_request(method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let body = body.unwrap_or("");
    format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn serves_over_tls_through_a_server_profile_and_reloads_it_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--tls-server-profile", "tls-server-profile-default:1.0.0"];
    let log = dir.path().join("server.log");
    let (_serve, port) = spawn_server(&dir.path().join("data"), &log, &extra, &[]);

    let health = over_tls(port, "-tls1_2", &http_request("GET", "/healthz", None, None));
    assert!(health.is_some_and(|h| h.contains("\"status\":\"ok\"")), "TLS 1.2 serves the API");
    cli_over_https(dir.path(), port);
    let login =
        format!(r#"{{"username":"admin","password":"{PASSWORD}","realm":"admin/default-idp-1"}}"#);
    let answer = over_tls(port, "-tls1_3", &http_request("POST", "/api/token", None, Some(&login)))
        .expect("TLS 1.3 handshake");
    let json = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let token: Value = serde_json::from_str(json).unwrap();
    let token = token["access_token"].as_str().unwrap();

    let path = "/api/orgs/admin/tls-server-profiles/tls-server-profile-default/1.0.0";
    let patch = r#"{"protocols": ["tls_v1.3"]}"#;
    let answer = over_tls(port, "-tls1_3", &http_request("PATCH", path, Some(token), Some(patch)));
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.0 200")), "the profile changed");

    assert!(
        over_tls(port, "-tls1_2", &http_request("GET", "/healthz", None, None)).is_none(),
        "new connections follow the changed profile: TLS 1.2 is refused"
    );
    assert!(over_tls(port, "-tls1_3", &http_request("GET", "/healthz", None, None)).is_some());

    let path2 = "/api/orgs/admin/tls-server-profiles/tls-server-profile-default/2.0.0";
    let delete =
        over_tls(port, "-tls1_3", &http_request("DELETE", path, Some(token), None)).unwrap();
    assert!(delete.starts_with("HTTP/1.0 409"), "the serving profile cannot be deleted: {delete}");
    let rename = r#"{"version": "2.0.0"}"#;
    let answer = over_tls(port, "-tls1_3", &http_request("PATCH", path, Some(token), Some(rename)));
    assert!(answer.is_some_and(|a| a.starts_with("HTTP/1.0 200")));
    let health = over_tls(port, "-tls1_3", &http_request("GET", "/healthz", None, None));
    assert!(health.is_some(), "the listener follows its profile through a rename");
    assert!(over_tls(port, "-tls1_3", &http_request("GET", path2, Some(token), None)).is_some());
}

#[test]
fn refuses_to_start_with_a_master_key_that_does_not_open_the_stored_keys() {
    let dir = tempfile::tempdir().unwrap();
    let start = |key: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .env("TLSDECK_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(k) = key {
            cmd.env("TLSDECK_MASTER_KEY", k);
        }
        (cmd.spawn().unwrap(), ())
    };
    let log = dir.path().join("first.log");
    let (mut first, _) = spawn_server(&dir.path().join("data"), &log, &[], &[]);
    let _ = first.0.kill();
    let _ = first.0.wait();

    let (second, _) = start(Some(&"ab".repeat(32)));
    let mut second = Running(second);
    let deadline = Instant::now() + Duration::from_secs(30);
    while second.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server started with the wrong master key");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut second.0.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!second.0.wait().unwrap().success());
    assert!(err.contains("master key does not open"), "{err}");
}

/// Makes the provider org `payments` owned by erin, whose owner gives finn a custom role.
fn payments_org_with_a_cert_keeper(env: &Env) {
    let ok = |args: &[&str]| {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "users:create",
        "--username",
        "erin",
        "--realm",
        "provider/default-idp-2",
        "--password",
        "erin-long-password",
    ]);
    ok(&["orgs:create", "--title", "Payments", "--owner", "erin"]);
    assert!(ok(&["orgs:list"]).contains("payments"));
    ok(&[
        "users:create",
        "--username",
        "finn",
        "--realm",
        "provider/default-idp-2",
        "--password",
        "finn-long-password",
    ]);

    // The org's owner manages its roles and members.
    let erin_config = env.dir.path().join("erin");
    let as_erin = |args: &[&str]| {
        let out =
            Command::new(BIN).args(args).env("TLSDECK_CONFIG_DIR", &erin_config).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let realm = "provider/default-idp-2";
    as_erin(&["login", "-s", &env.server, "-u", "erin", "-p", "erin-long-password", "-r", realm]);
    let perms = "settings:view,settings:manage";
    as_erin(&["roles:create", "--title", "Cert Keeper", "--permissions", perms, "-o", "payments"]);
    assert!(as_erin(&["roles:list", "-o", "payments"]).contains("cert-keeper"));
    as_erin(&["members:set", "--username", "finn", "--roles", "cert-keeper", "-o", "payments"]);
    assert!(as_erin(&["members:list", "-o", "payments"]).contains("cert-keeper"));
}

#[test]
fn manages_orgs_users_roles_members_and_shares_a_profile_with_a_provider_org() {
    let env = Env::start();
    let ok = |args: &[&str]| {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    payments_org_with_a_cert_keeper(&env);

    let file = env.write(
        "shared.yaml",
        "title: Shared Backend\nciphers: [ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
    );
    ok(&["tls-client-profiles:create", &file]);
    ok(&[
        "tls-client-profiles:set-visibility",
        "shared-backend:1.0.0",
        "--type",
        "custom",
        "--orgs",
        "payments",
    ]);
    assert!(ok(&["events:list"]).contains("visibility"));

    let finn_config = env.dir.path().join("finn");
    let as_finn = |args: &[&str]| {
        Command::new(BIN).args(args).env("TLSDECK_CONFIG_DIR", &finn_config).output().unwrap()
    };
    let login = as_finn(&[
        "login",
        "-s",
        &env.server,
        "-u",
        "finn",
        "-p",
        "finn-long-password",
        "-r",
        "provider/default-idp-2",
    ]);
    assert!(login.status.success(), "{}", String::from_utf8_lossy(&login.stderr));
    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let target = format!("127.0.0.2:{port}");
    let out = as_finn(&[
        "probe",
        "--profile",
        "admin/shared-backend:1.0.0",
        "-o",
        "payments",
        &target,
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["error"]["category"], "connection_refused",
        "the shared profile ran: {report}"
    );
    let out = as_finn(&["tls-client-profiles:list-all"]);
    assert_eq!(out.status.code(), Some(1), "finn is no member of the admin org");
}
