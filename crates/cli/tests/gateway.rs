//! `tlsdeck gateway` end to end: a `tlsdeck serve` process and a gateway process on the same
//! data dir, an `openssl s_server` upstream that requires a client certificate, profiles and
//! key material uploaded and changed with the CLI over HTTP; and the exit codes of a bad
//! configuration.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tlsdeck");
const PASSWORD: &str = "Gateway-Test-Passw0rd";
/// How long a process may take to say it listens.
const START: Duration = Duration::from_secs(30);

/// A child process stopped by its own PID when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and returns it with the line after `marker` that it prints on its standard
/// output (the rest is drained).
fn spawn_until(mut cmd: Command, marker: &'static str) -> (Running, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(marker) {
                let _ = tx.send(rest.to_owned());
            }
        }
    });
    let running = Running(child);
    let found = rx.recv_timeout(START).unwrap_or_else(|_| panic!("no '{marker}' within {START:?}"));
    (running, found)
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, a server certificate for localhost and a client certificate, EC P-256, in `dir`.
fn make_pki(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca = [&["req", "-x509"], &ec[..], &["-days", "30", "-subj", "/CN=cli gateway CA"]].concat();
    openssl(dir, &[&ca[..], &["-keyout", "ca.key", "-out", "ca.pem"]].concat());
    for (name, ext) in [
        ("server", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).expect("ext");
        let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
        let subject = format!("/CN={name}");
        let req = [&["req", "-new"], &ec[..], &["-subj", &subject]].concat();
        openssl(dir, &[&req[..], &["-keyout", &key, "-out", &csr]].concat());
        openssl(
            dir,
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
                &format!("{name}.ext"),
                "-out",
                &pem,
            ],
        );
    }
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TLSDECK_CONFIG_DIR", self.dir.path().join("config"))
            .env_remove("TLSDECK_LOG")
            .env_remove("TLSDECK_MASTER_KEY")
            .stdin(Stdio::null())
            .output()
            .expect("tlsdeck runs")
    }

    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `GET path` through the gateway; the status and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).expect("connect to the gateway");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let req = format!("GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).expect("send");
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).expect("read");
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, raw)
}

/// s_server's `-www` page names the protocol on a line like `New, TLSv1.3, Cipher is ...`.
fn protocol(page: &str) -> &str {
    page.lines()
        .find_map(|l| l.strip_prefix("New, ").or_else(|| l.strip_prefix("Reused, ")))
        .and_then(|l| l.split(',').next())
        .unwrap_or("")
}

/// Starts `tlsdeck serve` on `env`'s data dir, logs in, and uploads the test CA as
/// `test-ca`, the client certificate as `client-ks`, and `backend:1.0.0` (TLS 1.2) using them.
fn serve_with_material(env: &Env) -> Running {
    let mut serve = Command::new(BIN);
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(env.dir.path().join("data"))
        .env("TLSDECK_ADMIN_PASSWORD", PASSWORD)
        .env_remove("TLSDECK_MASTER_KEY")
        .env_remove("TLSDECK_DATABASE_URL")
        .stderr(Stdio::null());
    let (serve, server) = spawn_until(serve, "tlsdeck listening on ");
    let realm = "admin/default-idp-1";
    let login = ["--server", &server, "--username", "admin", "--password", PASSWORD];
    env.ok(&[&["login"], &login[..], &["--realm", realm]].concat());
    env.ok(&["truststores:create", "--file", &env.path("ca.pem"), "--title", "Test CA"]);
    let (cert, key) = (env.path("client.pem"), env.path("client.key"));
    env.ok(&["keystores:create", "--file", &cert, "--key", &key, "--title", "Client KS"]);
    let profile = "title: Backend\nprotocols: [tls_v1.2]\nkeystore: client-ks\n\
                   truststore: test-ca\n\
                   ciphers: [ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n";
    std::fs::write(env.path("backend.yaml"), profile).expect("profile file");
    env.ok(&["tls-client-profiles:create", &env.path("backend.yaml")]);
    serve
}

/// `openssl s_server -www` requiring a client certificate from the test CA; it and its port.
fn upstream(env: &Env) -> (Running, Option<ChildStdin>, String) {
    let mut cmd = Command::new("openssl");
    let cert = ["-cert", "server.pem", "-key", "server.key", "-Verify", "1", "-CAfile", "ca.pem"];
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-www", "-naccept", "1000"])
        .args(cert)
        .current_dir(env.dir.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::null());
    let (mut running, accept) = spawn_until(cmd, "ACCEPT ");
    // Held open: s_server stops when its standard input ends.
    let stdin = running.0.stdin.take();
    let port = accept.rsplit(':').next().expect("a port").to_owned();
    (running, stdin, port)
}

#[test]
fn serves_with_material_uploaded_to_the_server_and_follows_a_patched_profile() {
    let env = Env { dir: tempfile::tempdir().expect("temp dir") };
    make_pki(env.dir.path());
    let _serve = serve_with_material(&env);
    let (_upstream, _stdin, port) = upstream(&env);
    let config = format!(
        "listen: 127.0.0.1:0\nstore: data\nroutes:\n  - path: /orders\n    \
         upstream: https://localhost:{port}/\n    tls_client_profile: backend:1.0.0\n"
    );
    std::fs::write(env.path("gateway.yaml"), config).expect("gateway file");
    let mut gateway = Command::new(BIN);
    gateway
        .args(["gateway", "--config", &env.path("gateway.yaml")])
        .env_remove("TLSDECK_MASTER_KEY")
        .stderr(Stdio::null());
    let (_gateway, url) = spawn_until(gateway, "tlsdeck gateway listening on ");
    let addr = url.trim_start_matches("http://").to_owned();

    let (status, page) = get(&addr, "/orders/1");
    assert_eq!(status, 200, "{page}");
    assert_eq!(protocol(&page), "TLSv1.2", "{page}");

    std::fs::write(env.path("tls13.yaml"), "protocols: [tls_v1.3]\n").expect("change file");
    env.ok(&["tls-client-profiles:update", "backend:1.0.0", &env.path("tls13.yaml")]);
    let changed = Instant::now();
    let mut requests = 0;
    loop {
        let (status, page) = get(&addr, "/orders/1");
        requests += 1;
        assert_eq!(status, 200, "request {requests} failed across the change: {page}");
        if protocol(&page) == "TLSv1.3" {
            break;
        }
        assert!(changed.elapsed() < Duration::from_secs(2), "still TLS 1.2 after {requests}");
    }
    assert!(changed.elapsed() < Duration::from_millis(1500), "took {:?}", changed.elapsed());
}

#[test]
fn a_bad_configuration_names_its_fields_and_exits_1_and_a_missing_flag_exits_2() {
    let env = Env { dir: tempfile::tempdir().expect("temp dir") };
    let head = "listen: 127.0.0.1:0\nstore: nowhere\nroutes:\n";
    let bad = format!("{head}  - {{path: x, upstream: 'https://localhost:1'}}\n");
    std::fs::write(env.path("bad.yaml"), bad).expect("config");
    let out = env.run(&["gateway", "--config", &env.path("bad.yaml")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("routes[0].path: 'x' must start with '/'"), "{err}");
    assert!(err.contains("routes[0].tls_client_profile: an https:// upstream needs"), "{err}");

    let no_store = format!("{head}  - {{path: /, upstream: 'http://localhost:1'}}\n");
    std::fs::write(env.path("no-store.yaml"), no_store).expect("config");
    let out = env.run(&["gateway", "--config", &env.path("no-store.yaml")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("store:") && err.contains("holds no tlsdeck.db"), "{err}");

    let out = env.run(&["gateway", "--config", &env.path("missing.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(env.run(&["gateway"]).status.code(), Some(2));
}
