//! TLS server profiles through the API: the same shapes and rules as client profiles,
//! plus a required keystore whose key must serve the chosen suites.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{Api, Pki, assert_problem};

const SERVER_PROFILES: &str = "/api/orgs/admin/tls-server-profiles";

fn fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

async fn with_ec_keystore(api: &Api, pki: &Pki) {
    let upload = format!("{}{}{}", pki.read("leaf.pem"), pki.read("int.pem"), pki.read("leaf.key"));
    let r = api
        .call(
            "POST",
            "/api/orgs/admin/keystores",
            Some(json!({"title": "Listener", "keystore": upload})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = api
        .call(
            "POST",
            "/api/orgs/admin/truststores",
            Some(json!({"title": "Clients", "truststore": pki.read("root.pem")})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn creates_reads_patches_and_deletes_a_server_profile() {
    let api = Api::new().await;
    let pki = Pki::new();
    with_ec_keystore(&api, &pki).await;
    let body = json!({"title": "Public listener", "keystore": "listener", "truststore": "clients",
                      "protocols": ["tls_v1.2", "tls_v1.3"], "mutual_authentication": "request",
                      "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]});
    let r = api.call("POST", SERVER_PROFILES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["type"], "tls_server_profile");
    assert_eq!(r.body["limit_renegotiation"], true);
    assert_eq!(r.body["mutual_authentication"], "request");
    assert_eq!(r.body["ciphers"].as_array().unwrap().len(), 6, "TLS 1.3 rule");
    assert!(r.body["keystore_url"].as_str().unwrap().contains("/keystores/"));

    let item = format!("{SERVER_PROFILES}/public-listener/1.0.0");
    let r = api.call("PATCH", &item, Some(json!({"mutual_authentication": "require"}))).await;
    assert_eq!((r.status, r.body["revision"].as_i64()), (StatusCode::OK, Some(2)));
    let r = api.call("GET", &format!("{item}/effective"), None).await;
    assert_eq!(r.body["min_version"], "TLSv1.2", "{}", r.body);
    let r = api.call("GET", &format!("{item}/lint"), None).await;
    assert_eq!(r.body["grade"], "A", "{}", r.body);

    let r = api.call("DELETE", "/api/orgs/admin/keystores/listener", None).await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert!(
        r.body["detail"].as_str().unwrap().contains("tls-server-profile public-listener:1.0.0")
    );
    assert_eq!(api.call("DELETE", &item, None).await.status, StatusCode::NO_CONTENT);
    assert_problem(&api.call("GET", &item, None).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn needs_a_keystore_whose_key_serves_the_suites() {
    let api = Api::new().await;
    let pki = Pki::new();
    with_ec_keystore(&api, &pki).await;
    let r = api
        .call(
            "POST",
            SERVER_PROFILES,
            Some(json!({"title": "x", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]})),
        )
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.body), ["keystore"]);

    let body = json!({"title": "rsa only", "keystore": "listener", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]});
    let r = api.call("POST", SERVER_PROFILES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("an EC key"), "{}", r.body);

    let body = json!({"title": "mtls", "keystore": "listener", "mutual_authentication": "require",
                      "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]});
    let r = api.call("POST", SERVER_PROFILES, Some(body)).await;
    assert_eq!(fields(&r.body), ["truststore"]);
}

#[tokio::test]
async fn a_keystore_cannot_take_a_key_its_server_profiles_cannot_serve() {
    let api = Api::new().await;
    let pki = Pki::new();
    with_ec_keystore(&api, &pki).await;
    let body = json!({"title": "ec listener", "keystore": "listener", "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]});
    assert_eq!(api.call("POST", SERVER_PROFILES, Some(body)).await.status, StatusCode::CREATED);

    pki.rsa_self_signed();
    let rsa = pki.read("rsa.pem") + &pki.read("rsa.key");
    let r = api
        .call("PATCH", "/api/orgs/admin/keystores/listener", Some(json!({"keystore": rsa})))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["errors"][0]["message"].as_str().unwrap().contains("ec-listener:1.0.0"),
        "{}",
        r.body
    );
    let ks = api.call("GET", "/api/orgs/admin/keystores/listener", None).await;
    assert_eq!(ks.body["revision"], 1, "nothing was written");
}
