//! Keystores, truststores and their entries through the API, with a test PKI made by the
//! `openssl` command; private keys never come back.

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use tlsdeck_server::ensure_defaults;

mod support;
use support::{Api, PROFILES, Pki, assert_problem};

const KEYSTORES: &str = "/api/orgs/admin/keystores";
const TRUSTSTORES: &str = "/api/orgs/admin/truststores";

fn codes(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["code"].as_str().map(str::to_owned))
        .collect()
}

fn fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts no trace of the leaf's private key in `text`: PEM body or DER bytes as base64/hex.
fn assert_no_key(pki: &Pki, text: &str) {
    let pem = pki.read("leaf.key");
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!text.contains(body_line), "PEM key text leaked");
    let der = pki.leaf_key_der();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    assert!(!text.contains(&b64[..40]), "DER key leaked as base64");
    assert!(!text.contains(&hex::encode(&der)[..40]), "DER key leaked as hex");
}

async fn keystore(api: &Api, pki: &Pki, name: &str) -> Value {
    // Key first, then the intermediate before the leaf: the server finds the order itself.
    let upload = format!("{}{}{}", pki.read("leaf.key"), pki.read("int.pem"), pki.read("leaf.pem"));
    let r = api.call("POST", KEYSTORES, Some(json!({"title": name, "keystore": upload}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

#[tokio::test]
async fn creates_a_keystore_leaf_first_without_ever_answering_the_key() {
    let api = Api::new().await;
    let pki = Pki::new();
    let ks = keystore(&api, &pki, "Client KS").await;
    assert_eq!(ks["name"], "client-ks");
    let certs = ks["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(
        (certs[0]["subject"].as_str(), certs[0]["role"].as_str()),
        (Some("CN=localhost"), Some("leaf"))
    );
    assert_eq!(certs[1]["subject"], "CN=Test Intermediate");
    assert!(certs[0]["sans"].as_array().unwrap().iter().any(|s| s == "IP:127.0.0.1"));
    assert!(certs[0]["fingerprint_sha256"].as_str().unwrap().contains(':'));
    assert!(codes(&ks).contains(&"reordered".to_owned()), "{ks}");

    let got = api.call("GET", &format!("{KEYSTORES}/client-ks"), None).await;
    let listed = api.call("GET", KEYSTORES, None).await;
    for text in [ks.to_string(), got.body.to_string(), listed.body.to_string()] {
        assert_no_key(&pki, &text);
        assert!(!text.contains("PRIVATE KEY"));
    }
    // Every value the store holds, whatever its backend, and SQLite's files as they are.
    let dump = api.with_store(|s| s.export().unwrap());
    let mut raw = Vec::new();
    for cell in dump.tables.iter().flat_map(|t| t.rows.iter().flatten()) {
        match cell {
            tlsdeck_store::Cell::Text(t) => raw.extend_from_slice(t.as_bytes()),
            tlsdeck_store::Cell::Blob(b) => raw.extend_from_slice(b),
            _ => {}
        }
    }
    assert!(!raw.is_empty());
    raw.extend(std::fs::read(api.data_dir().join("tlsdeck.db")).unwrap_or_default());
    raw.extend(std::fs::read(api.data_dir().join("tlsdeck.db-wal")).unwrap_or_default());
    assert_no_key(&pki, &String::from_utf8_lossy(&raw));
    let der = pki.leaf_key_der();
    assert!(!raw.windows(der.len()).any(|w| w == der.as_slice()), "raw DER key in the database");
}

#[tokio::test]
async fn tells_apart_a_missing_a_wrong_password_and_a_key_of_no_certificate() {
    let api = Api::new().await;
    let pki = Pki::new();
    let encrypted = format!("{}{}", pki.encrypted_leaf_key("s3cret-pw"), pki.read("leaf.pem"));

    let r = api.call("POST", KEYSTORES, Some(json!({"title": "a", "keystore": encrypted}))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.body), ["password"]);
    let missing = r.body["errors"][0]["message"].clone();

    let body = json!({"title": "a", "keystore": encrypted, "password": "not-the-one"});
    let r = api.call("POST", KEYSTORES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_ne!(r.body["errors"][0]["message"], missing);
    assert!(!r.body.to_string().contains("not-the-one"), "the password is not echoed");

    let body = json!({"title": "a", "keystore": encrypted, "password": "s3cret-pw"});
    assert_eq!(api.call("POST", KEYSTORES, Some(body)).await.status, StatusCode::CREATED);

    let mismatched = format!("{}{}", pki.read("other.key"), pki.read("leaf.pem"));
    let r = api.call("POST", KEYSTORES, Some(json!({"title": "b", "keystore": mismatched}))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["message"], "private key does not match any certificate");

    let r = api.call("POST", KEYSTORES, Some(json!({"title": "c"}))).await;
    assert_eq!(fields(&r.body), ["keystore"]);
    let r =
        api.call("POST", KEYSTORES, Some(json!({"title": "d", "keystore_base64": "%%%"}))).await;
    assert_eq!(fields(&r.body), ["keystore_base64"]);
}

#[tokio::test]
async fn keeps_truststore_entries_once_and_manages_them_one_by_one() {
    let api = Api::new().await;
    let pki = Pki::new();
    let bundle = format!(
        "junk before\r\n{}{}{}",
        pki.read("root.pem"),
        pki.read("other.pem"),
        pki.read("root.pem")
    );
    let r = api
        .call("POST", TRUSTSTORES, Some(json!({"title": "Private CA", "truststore": bundle})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["entry_count"], 2);
    assert_eq!(r.body["duplicates"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["entries"][0]["subject"], "CN=Test Root");

    let entries = format!("{TRUSTSTORES}/private-ca/entries");
    let r = api
        .call(
            "POST",
            &entries,
            Some(json!({"certificate": pki.read("int.pem") + &pki.read("root.pem")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["total_results"].as_u64(), r.body["already_held"].as_u64()),
        (Some(1), Some(1))
    );
    let added = r.body["results"][0]["id"].as_str().unwrap().to_owned();

    let r = api.call("GET", &entries, None).await;
    assert_eq!(r.body["total_results"], 3);
    assert_eq!(
        api.call("GET", &format!("{entries}/{added}"), None).await.body["subject"],
        "CN=Test Intermediate"
    );
    assert_eq!(
        api.call("DELETE", &format!("{entries}/{added}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_problem(
        &api.call("GET", &format!("{entries}/{added}"), None).await,
        StatusCode::NOT_FOUND,
    );

    let r = api
        .call(
            "POST",
            TRUSTSTORES,
            Some(json!({"title": "Empty", "truststore": "no certificates here"})),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.body), ["truststore"]);
    assert_problem(
        &api.call("GET", &format!("{TRUSTSTORES}/empty"), None).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn profiles_name_stores_and_a_used_store_cannot_be_deleted() {
    let api = Api::new().await;
    let pki = Pki::new();
    keystore(&api, &pki, "Client KS").await;
    api.call("POST", TRUSTSTORES, Some(json!({"title": "CA", "truststore": pki.read("root.pem")})))
        .await;

    let body = json!({"title": "mtls", "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                      "keystore": "client-ks", "truststore": "ca"});
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["keystore"], "client-ks");
    let ks_url = r.body["keystore_url"].as_str().unwrap().to_owned();
    assert!(ks_url.starts_with("http://tlsdeck.test/api/orgs/admin/keystores/"));

    let body = json!({"title": "by url", "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "keystore_url": ks_url});
    assert_eq!(api.call("POST", PROFILES, Some(body)).await.status, StatusCode::CREATED);

    let body = json!({"title": "bad", "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "truststore": "nope"});
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_eq!(fields(&r.body), ["truststore"]);

    let r = api.call("DELETE", &format!("{KEYSTORES}/client-ks"), None).await;
    assert_problem(&r, StatusCode::CONFLICT);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("mtls:1.0.0") && detail.contains("by-url:1.0.0"), "{detail}");

    let r =
        api.call("PATCH", &format!("{PROFILES}/mtls/1.0.0"), Some(json!({"keystore": null}))).await;
    assert_eq!((r.status, &r.body["keystore"]), (StatusCode::OK, &Value::Null));
    api.call("DELETE", &format!("{PROFILES}/by-url/1.0.0"), None).await;
    assert_eq!(
        api.call("DELETE", &format!("{KEYSTORES}/client-ks"), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_new_store_starts_with_the_defaults_once() {
    let api = Api::new().await;
    let key = tlsdeck_pki::MasterKey::from_bytes([7; 32]);
    api.with_store(|s| ensure_defaults(s, &key).unwrap());

    let ts = api.call("GET", &format!("{TRUSTSTORES}/default-truststore"), None).await;
    assert_eq!(ts.status, StatusCode::OK);
    assert!(ts.body["entry_count"].as_u64().unwrap() > 10, "the system CA bundle");
    let ks = api.call("GET", &format!("{KEYSTORES}/default-keystore"), None).await;
    assert_eq!(ks.body["certificates"][0]["subject"], "CN=tlsdeck-default");
    let p = api.call("GET", &format!("{PROFILES}/tls-client-profile-default/1.0.0"), None).await;
    assert_eq!(p.body["truststore"], "default-truststore");

    api.call("DELETE", &format!("{PROFILES}/tls-client-profile-default/1.0.0"), None).await;
    api.with_store(|s| ensure_defaults(s, &key).unwrap());
    let p = api.call("GET", &format!("{PROFILES}/tls-client-profile-default/1.0.0"), None).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "a deleted default stays deleted");
}

#[tokio::test]
async fn metrics_show_the_days_until_each_certificate_expires() {
    let api = Api::new().await;
    let pki = Pki::new();
    keystore(&api, &pki, "Client KS").await;
    api.call("POST", TRUSTSTORES, Some(json!({"title": "CA", "truststore": pki.read("root.pem")})))
        .await;
    assert_eq!(api.send("GET", "/metrics", None, None, &[]).await.status, StatusCode::UNAUTHORIZED);
    let resp = api.call("GET", "/metrics", None).await;
    assert_eq!(resp.status, StatusCode::OK);
    let text = resp.body.as_str().map(str::to_owned).unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.contains("kind=\"keystore\"") && l.contains("subject=\"CN=localhost\""))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("tlsdeck_certificate_expiry_days{org=\"admin\""), "{line}");
    let days: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((29.0..=30.0).contains(&days), "{days}");
    assert!(text.contains("kind=\"truststore\",store=\"ca\",subject=\"CN=Test Root\""), "{text}");
}

/// An `openssl s_server` on loopback, stopped by its own PID when dropped.
struct Peer {
    child: std::process::Child,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer(pki: &Pki, extra: &[&str]) -> Peer {
    let mut child = std::process::Command::new("openssl")
        .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-naccept", "20"])
        .args(["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"])
        .args(extra)
        .current_dir(pki.dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let port = support::accept_port(child.stdout.take().unwrap());
    Peer { child, port }
}

async fn probe(api: &Api, profile: &str, port: u16) -> Value {
    let body = json!({"target": format!("localhost:{port}"), "timeout_ms": 5000});
    let r = api.call("POST", &format!("{PROFILES}/{profile}/1.0.0/probe"), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test]
async fn the_probe_verifies_with_the_truststore_and_presents_the_keystore() {
    let api = Api::new().await;
    let pki = Pki::new();
    keystore(&api, &pki, "Client KS").await;
    api.call("POST", TRUSTSTORES, Some(json!({"title": "CA", "truststore": pki.read("root.pem")})))
        .await;
    api.call(
        "POST",
        TRUSTSTORES,
        Some(json!({"title": "Other", "truststore": pki.read("other.pem")})),
    )
    .await;
    let suite = ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"];
    for (title, ks, ts) in [
        ("trusting", None, Some("ca")),
        ("mtls", Some("client-ks"), Some("ca")),
        ("wrong-ca", None, Some("other")),
        ("system", None, None),
    ] {
        let body = json!({"title": title, "ciphers": suite, "keystore": ks, "truststore": ts});
        assert_eq!(api.call("POST", PROFILES, Some(body)).await.status, StatusCode::CREATED);
    }

    let plain = peer(&pki, &[]);
    let r = probe(&api, "trusting", plain.port).await;
    assert_eq!((r["ok"].as_bool(), r["verified"].as_bool()), (Some(true), Some(true)), "{r}");
    assert_eq!(
        probe(&api, "wrong-ca", plain.port).await["error"]["category"],
        "untrusted_certificate"
    );
    assert_eq!(
        probe(&api, "system", plain.port).await["error"]["category"],
        "untrusted_certificate"
    );

    let mtls = peer(&pki, &["-Verify", "2", "-verify_return_error", "-CAfile", "root.pem"]);
    let r = probe(&api, "mtls", mtls.port).await;
    assert_eq!(r["ok"], true, "{r}");
    let r = probe(&api, "trusting", mtls.port).await;
    assert_eq!(r["ok"], false, "{r}");
    assert!(r["error"]["category"].as_str().unwrap().starts_with("client_certificate"), "{r}");

    // A new truststore entry moves the profile to a new revision: the context is rebuilt.
    let entries = format!("{TRUSTSTORES}/other/entries");
    let r = api.call("POST", &entries, Some(json!({"certificate": pki.read("root.pem")}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(probe(&api, "wrong-ca", plain.port).await["ok"], true);
}

#[tokio::test]
async fn refuses_what_would_make_a_store_ambiguous_or_change_nothing() {
    let api = Api::new().await;
    let pki = Pki::new();
    keystore(&api, &pki, "Client KS").await;
    api.call("POST", TRUSTSTORES, Some(json!({"title": "CA", "truststore": pki.read("root.pem")})))
        .await;

    let body = json!({"title": "x", "name": "0f5b3e2c-9d1a-4a8b-8c7d-6e5f4a3b2c1d", "truststore": pki.read("root.pem")});
    assert_eq!(fields(&api.call("POST", TRUSTSTORES, Some(body)).await.body), ["name"]);
    let body = json!({"title": "y", "truststore": pki.read("root.pem"), "bogus": true});
    assert_eq!(fields(&api.call("POST", TRUSTSTORES, Some(body)).await.body), ["bogus"]);
    let body = json!({"title": "z", "keystore": pki.read("leaf.pem") + &pki.read("leaf.key"), "password": 7});
    assert_eq!(fields(&api.call("POST", KEYSTORES, Some(body)).await.body), ["password"]);

    let item = format!("{KEYSTORES}/client-ks");
    for patch in [
        json!({"private_key": pki.read("other.key")}),
        json!({"password": "x"}),
        json!({"keystore": null}),
    ] {
        let r = api.call("PATCH", &item, Some(patch.clone())).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(api.call("GET", &item, None).await.body["revision"], 1, "nothing was written");

    let entries = format!("{TRUSTSTORES}/ca/entries");
    let only =
        api.call("GET", &entries, None).await.body["results"][0]["id"].as_str().unwrap().to_owned();
    let r = api.call("DELETE", &format!("{entries}/{only}"), None).await;
    assert_problem(&r, StatusCode::CONFLICT);

    let body = json!({"title": "p", "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "truststore": "ca"});
    api.call("POST", PROFILES, Some(body)).await;
    let r = api.call("DELETE", &format!("{TRUSTSTORES}/ca"), None).await;
    assert_eq!(r.body["used_by"], json!(["tls-client-profile p:1.0.0"]));
    let listed = api.call("GET", TRUSTSTORES, None).await;
    assert!(listed.body["results"][0]["warnings"].is_array());
}
