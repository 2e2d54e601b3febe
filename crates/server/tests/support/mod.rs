//! What the API tests share: a router on a fresh store with a logged-in owner, and a test
//! PKI made with the `openssl` command (root → intermediate → leaf, plus extras).

#![allow(dead_code, reason = "each test file uses a part")]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use tlsdeck_server::{ADMIN_REALM, AppState, bootstrap, router};
use tlsdeck_store::{SqliteStore, Store};
use tower::ServiceExt;

/// PEM files of a small PKI in a temporary folder.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    /// Makes root, intermediate and leaf (EC P-256), and an unrelated self-signed pair.
    pub fn new() -> Self {
        let pki = Self { dir: tempfile::tempdir().unwrap() };
        pki.write(
            "ca.ext",
            "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n",
        );
        pki.write(
            "leaf.ext",
            "basicConstraints=CA:false\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        );
        pki.self_signed("root", "/CN=Test Root");
        pki.issued("int", "/CN=Test Intermediate", "root", "ca.ext");
        pki.issued("leaf", "/CN=localhost", "int", "leaf.ext");
        pki.self_signed("other", "/CN=Unrelated");
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn self_signed(&self, name: &str, subject: &str) {
        openssl(
            self.dir.path(),
            &[
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
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-addext",
                "basicConstraints=critical,CA:true",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            ],
        );
    }

    fn issued(&self, name: &str, subject: &str, issuer: &str, ext: &str) {
        openssl(
            self.dir.path(),
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
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            self.dir.path(),
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                ext,
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// An RSA key with a self-signed certificate for localhost, as `rsa.pem` and `rsa.key`.
    pub fn rsa_self_signed(&self) {
        openssl(
            self.dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "rsa.key",
                "-out",
                "rsa.pem",
            ],
        );
    }

    /// The leaf's key encrypted with a password, as PKCS#8.
    pub fn encrypted_leaf_key(&self, password: &str) -> String {
        openssl(
            self.dir.path(),
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "leaf.key",
                "-out",
                "leaf-enc.key",
                "-v2",
                "aes-256-cbc",
                "-passout",
                &format!("pass:{password}"),
            ],
        );
        self.read("leaf-enc.key")
    }

    /// The DER bytes of the leaf's private key.
    pub fn leaf_key_der(&self) -> Vec<u8> {
        openssl(
            self.dir.path(),
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
        std::fs::read(self.path("leaf-key.der")).unwrap()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?} failed");
}

pub const PASSWORD: &str = "s3cret-Admin-pw";
pub const PROFILES: &str = "/api/orgs/admin/tls-client-profiles";

pub struct Api {
    pub app: Router,
    /// Call it through [`Api::with_store`]: PostgreSQL's client may not run on async threads.
    store: Arc<dyn Store>,
    pub token: String,
    dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Api {
    /// A router on a fresh store: SQLite, or with `TLSDECK_TEST_BACKEND=postgres` a new
    /// database on the server `TLSDECK_TEST_DATABASE_URL` names.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let store = off_runtime(move || {
            let store = open_test_store(&path);
            bootstrap(store.as_ref(), &path, Some(PASSWORD.into())).unwrap();
            store
        });
        let key = tlsdeck_pki::MasterKey::from_bytes([7; 32]);
        let app = router(AppState::new(store.clone(), key, "http://tlsdeck.test"));
        let mut api = Self { app, store, token: String::new(), dir };
        api.token = api.login("admin", PASSWORD, ADMIN_REALM).await;
        api
    }

    /// Runs `f` on the store from a thread of its own, as the server's handlers do.
    pub fn with_store<T: Send>(&self, f: impl FnOnce(&dyn Store) -> T + Send) -> T {
        let store = Arc::clone(&self.store);
        off_runtime(move || f(store.as_ref()))
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub async fn login(&self, username: &str, password: &str, realm: &str) -> String {
        let body = json!({"username": username, "password": password, "realm": realm});
        let r = self.send("POST", "/api/token", None, Some(body), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let resp = self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            let is_text = headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
            if is_text {
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            } else {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    panic!("{method} {uri} answered non-JSON: {}", String::from_utf8_lossy(&bytes))
                })
            }
        };
        Reply { status, headers, body }
    }

    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        self.send(method, uri, Some(&self.token), body, &[]).await
    }
}

/// Runs `f` on a plain thread, outside any async runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("the store call panicked"))
}

/// The store the tests run on, chosen by `TLSDECK_TEST_BACKEND` (`sqlite`, the default, or
/// `postgres`).
fn open_test_store(dir: &Path) -> Arc<dyn Store> {
    match std::env::var("TLSDECK_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let server = std::env::var("TLSDECK_TEST_DATABASE_URL")
                .expect("TLSDECK_TEST_BACKEND=postgres needs TLSDECK_TEST_DATABASE_URL");
            let name = format!("tlsdeck_api_{}", uuid::Uuid::new_v4().simple());
            let out = Command::new("psql")
                .args([&server, "-v", "ON_ERROR_STOP=1", "-qc", &format!("CREATE DATABASE {name}")])
                .output()
                .expect("psql runs");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let (base, _) = server.rsplit_once('/').expect("the URL names a database");
            tlsdeck_store::open_url(&format!("{base}/{name}")).unwrap()
        }
        Ok("sqlite") | Err(_) => Arc::new(SqliteStore::open(&dir.join("tlsdeck.db")).unwrap()),
        Ok(other) => panic!("TLSDECK_TEST_BACKEND={other}: use sqlite or postgres"),
    }
}

pub fn assert_problem(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(r.body["status"], status.as_u16());
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// The port `openssl s_server -accept 127.0.0.1:0` reports on its `ACCEPT` line; the rest
/// of its output is drained in the background.
pub fn accept_port(stdout: std::process::ChildStdout) -> u16 {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("ACCEPT ").and_then(|a| a.rsplit(':').next()) {
                let _ = tx.send(port.parse::<u16>().ok());
            }
        }
    });
    let port = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("s_server did not start");
    port.expect("s_server printed a port")
}
