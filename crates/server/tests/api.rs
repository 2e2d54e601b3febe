//! The REST API, driven through the router without sockets, each test on a fresh store.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tlsdeck_server::{ADMIN_REALM, bootstrap, hash_password};
use tlsdeck_store::{NewUser, SqliteStore};
use tower::ServiceExt;

mod support;
use support::{Api, PASSWORD, PROFILES, assert_problem};

fn basic(title: &str) -> Value {
    json!({"title": title, "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]})
}

#[tokio::test]
async fn health_needs_no_token() {
    let api = Api::new().await;
    let r = api.send("GET", "/healthz", None, None, &[]).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn refuses_requests_without_a_valid_token() {
    let api = Api::new().await;
    assert_problem(&api.send("GET", PROFILES, None, None, &[]).await, StatusCode::UNAUTHORIZED);
    let r = api.send("GET", PROFILES, Some("not-a-token"), None, &[]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refuses_a_wrong_password_without_saying_which_part_was_wrong() {
    let api = Api::new().await;
    for (user, pw, realm) in [
        ("admin", "Wrong-pw-9x", ADMIN_REALM),
        ("nobody", PASSWORD, ADMIN_REALM),
        ("admin", PASSWORD, "x/y"),
    ] {
        let body = json!({"username": user, "password": pw, "realm": realm, "client_id": "c"});
        let r = api.send("POST", "/api/token", None, Some(body), &[]).await;
        assert_problem(&r, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["detail"], "wrong username, password or realm");
        assert!(!r.body.to_string().contains(pw), "no password in a response");
    }
}

#[tokio::test]
async fn issues_a_bearer_token_that_logout_ends() {
    let api = Api::new().await;
    let body = json!({"username": "admin", "password": PASSWORD, "realm": ADMIN_REALM,
                      "client_id": "id", "client_secret": "secret", "grant_type": "password"});
    let r = api.send("POST", "/api/token", None, Some(body), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["token_type"].as_str(), r.body["expires_in"].as_i64()),
        (Some("Bearer"), Some(28800))
    );
    let token = r.body["access_token"].as_str().unwrap();

    assert_eq!(api.send("GET", PROFILES, Some(token), None, &[]).await.status, StatusCode::OK);
    let r = api.send("DELETE", "/api/token", Some(token), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_problem(
        &api.send("GET", PROFILES, Some(token), None, &[]).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn creates_a_profile_with_defaults_etag_and_location() {
    let api = Api::new().await;
    let r = api.call("POST", PROFILES, Some(basic("My Profile 1.0"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let p = &r.body;
    assert_eq!(p["name"], "my-profile-1-0");
    assert_eq!(p["version"], "1.0.0");
    assert_eq!(p["type"], "tls_client_profile");
    assert_eq!(p["protocols"], json!(["tls_v1.2"]));
    assert_eq!(p["server_name_indication"], true);
    assert_eq!(p["insecure_server_connections"], false);
    assert_eq!(p["keystore_url"], Value::Null);
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["url"], format!("http://tlsdeck.test{PROFILES}/{id}"));
    assert_eq!(r.headers[header::LOCATION], p["url"].as_str().unwrap());
    assert_eq!(r.headers[header::ETAG], format!("\"{id}-1\"").as_str());
}

#[tokio::test]
async fn applies_the_tls13_rule_and_reports_warnings_on_save() {
    let api = Api::new().await;
    let body = json!({
        "title": "t13",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE-RSA-AES128-SHA"],
    });
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let ciphers = r.body["ciphers"].as_array().unwrap();
    assert_eq!(ciphers.len(), 6);
    assert_eq!(ciphers[0], "TLS_AES_256_GCM_SHA384");
    assert_eq!(ciphers[5], "ECDHE_RSA_WITH_AES_128_CBC_SHA");
    let codes: Vec<&str> =
        r.body["warnings"].as_array().unwrap().iter().filter_map(|w| w["code"].as_str()).collect();
    assert_eq!(codes, ["cbc_cipher"]);
}

#[tokio::test]
async fn names_every_bad_field_at_once() {
    let api = Api::new().await;
    let body = json!({
        "title": "",
        "version": "1 0",
        "protocols": ["tls_v1.4"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "NOT_A_CIPHER"],
        "insecure_server_connections": "no",
    });
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(
        fields,
        ["title", "version", "protocols[0]", "ciphers[1]", "insecure_server_connections"]
    );
    assert!(r.body.to_string().contains("unknown cipher 'NOT_A_CIPHER'"));
}

#[tokio::test]
async fn refuses_a_protocol_without_a_usable_cipher() {
    let api = Api::new().await;
    let body =
        json!({"title": "x", "protocols": ["tls_v1.2"], "ciphers": ["TLS_AES_128_GCM_SHA256"]});
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["message"], "no chosen cipher can be used with tls_v1.2");
}

#[tokio::test]
async fn refuses_a_profile_whose_only_suites_this_openssl_lacks() {
    let api = Api::new().await;
    let body = json!({"title": "old", "protocols": ["tls_v1.0"], "ciphers": ["RSA_WITH_3DES_EDE_CBC_SHA"]});
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "ciphers");
    assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("tls_v1.0"), "{}", r.body);

    let body = json!({"title": "mixed", "protocols": ["tls_v1.2"],
                      "ciphers": ["RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"]});
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let codes: Vec<&str> =
        r.body["warnings"].as_array().unwrap().iter().filter_map(|w| w["code"].as_str()).collect();
    assert!(codes.contains(&"cipher_unavailable"), "{codes:?}");
}

#[tokio::test]
async fn refuses_references_to_stores_that_do_not_exist() {
    let api = Api::new().await;
    let mut body = basic("refs");
    body["keystore"] = json!("client-ks");
    body["truststore_url"] = json!("https://apic.example/api/orgs/admin/truststores/ca");
    let r = api.call("POST", PROFILES, Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["keystore", "truststore_url"]);
}

#[tokio::test]
async fn answers_bad_json_with_a_problem() {
    let api = Api::new().await;
    let req = Request::builder()
        .method("POST")
        .uri(PROFILES)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.token))
        .body(Body::from("{\"title\": "))
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn refuses_a_duplicate_name_and_version() {
    let api = Api::new().await;
    assert_eq!(api.call("POST", PROFILES, Some(basic("dup"))).await.status, StatusCode::CREATED);
    let r = api.call("POST", PROFILES, Some(basic("dup"))).await;
    assert_problem(&r, StatusCode::CONFLICT);
    assert!(r.body["detail"].as_str().unwrap().contains("dup:1.0.0"));
    let mut v2 = basic("dup");
    v2["version"] = json!("2.0.0");
    assert_eq!(api.call("POST", PROFILES, Some(v2)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn imports_an_exported_file_as_it_is() {
    let api = Api::new().await;
    let exported = json!({
        "type": "tls_client_profile",
        "api_version": "2.0.0",
        "id": "0f5b3e2c-9d1a-4a8b-8c7d-6e5f4a3b2c1d",
        "name": "backend-tls",
        "version": "1.0.0",
        "title": "Backend TLS",
        "summary": "exported from the source product",
        "protocols": ["tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        "insecure_server_connections": false,
        "server_name_indication": true,
        "keystore_url": null,
        "truststore_url": null,
        "created_at": "2023-05-01T12:00:00.000Z",
        "updated_at": "2023-05-02T12:00:00.000Z",
        "org_url": "https://apic.example/api/orgs/5f3e",
        "url": "https://apic.example/api/orgs/5f3e/tls-client-profiles/0f5b",
    });
    let r = api.call("POST", PROFILES, Some(exported)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_ne!(r.body["id"], "0f5b3e2c-9d1a-4a8b-8c7d-6e5f4a3b2c1d");
    assert_eq!(r.body["summary"], "exported from the source product");
}

#[tokio::test]
async fn lists_with_limit_offset_and_versions_of_a_name() {
    let api = Api::new().await;
    for (title, version) in [("b", "1.0.0"), ("a", "1.0.0"), ("a", "2.0.0"), ("c", "1.0.0")] {
        let mut body = basic(title);
        body["version"] = json!(version);
        assert_eq!(api.call("POST", PROFILES, Some(body)).await.status, StatusCode::CREATED);
    }
    let r = api.call("GET", &format!("{PROFILES}?limit=2&offset=1"), None).await;
    assert_eq!(r.body["total_results"], 4);
    let keys: Vec<String> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}:{}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert_eq!(keys, ["a:2.0.0", "b:1.0.0"]);

    let r = api.call("GET", &format!("{PROFILES}/a"), None).await;
    assert_eq!(
        (r.body["total_results"].as_u64(), r.body["results"].as_array().map(Vec::len)),
        (Some(2), Some(2))
    );
    assert_problem(&api.call("GET", &format!("{PROFILES}/zzz"), None).await, StatusCode::NOT_FOUND);

    let r = api.call("GET", &format!("{PROFILES}?limit=0&offset=-1"), None).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["errors"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn reads_changes_and_deletes_by_name_version_and_by_id() {
    let api = Api::new().await;
    let created = api.call("POST", PROFILES, Some(basic("by id"))).await.body;
    let id = created["id"].as_str().unwrap();

    let by_name = api.call("GET", &format!("{PROFILES}/by-id/1.0.0"), None).await;
    let by_id = api.call("GET", &format!("{PROFILES}/{id}"), None).await;
    assert_eq!(by_name.body, by_id.body);
    assert_eq!(by_id.headers[header::ETAG], format!("\"{id}-1\"").as_str());

    let r =
        api.call("PATCH", &format!("{PROFILES}/{id}"), Some(json!({"summary": "via id"}))).await;
    assert_eq!((r.status, r.body["summary"].as_str()), (StatusCode::OK, Some("via id")));
    let r = api.call("DELETE", &format!("{PROFILES}/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_problem(
        &api.call("GET", &format!("{PROFILES}/by-id/1.0.0"), None).await,
        StatusCode::NOT_FOUND,
    );
}

#[tokio::test]
async fn merges_a_patch_and_refuses_a_stale_if_match() {
    let api = Api::new().await;
    let item = format!("{PROFILES}/merge/1.0.0");
    let created = api.call("POST", PROFILES, Some(basic("merge"))).await;
    let etag1 = created.headers[header::ETAG].to_str().unwrap().to_owned();

    let patch = json!({"protocols": ["tls_v1.2", "tls_v1.3"], "summary": "now with 1.3"});
    let r = api.send("PATCH", &item, Some(&api.token), Some(patch), &[("if-match", &etag1)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["title"], "merge");
    assert_eq!(r.body["revision"], 2);
    assert_eq!(r.body["ciphers"].as_array().unwrap().len(), 6, "TLS 1.3 rule on update too");
    let etag2 = r.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(etag1, etag2);

    let r = api
        .send(
            "PATCH",
            &item,
            Some(&api.token),
            Some(json!({"title": "lost"})),
            &[("if-match", &etag1)],
        )
        .await;
    assert_problem(&r, StatusCode::PRECONDITION_FAILED);
    let r = api.send("DELETE", &item, Some(&api.token), None, &[("if-match", &etag1)]).await;
    assert_problem(&r, StatusCode::PRECONDITION_FAILED);
    assert_eq!(api.call("GET", &item, None).await.body["title"], "merge");

    let r = api.call("PATCH", &item, Some(json!({"summary": null}))).await;
    assert_eq!(r.body["summary"], Value::Null, "null removes a field");
    let r = api.call("PATCH", &item, Some(json!({"ciphers": ["BOGUS"]}))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.call("GET", &item, None).await.body["revision"],
        3,
        "a refused patch writes nothing"
    );
}

#[tokio::test]
async fn clears_only_with_the_org_as_confirmation() {
    let api = Api::new().await;
    api.call("POST", PROFILES, Some(basic("one"))).await;
    api.call("POST", PROFILES, Some(basic("two"))).await;
    assert_problem(&api.call("DELETE", PROFILES, None).await, StatusCode::BAD_REQUEST);
    assert_problem(
        &api.call("DELETE", &format!("{PROFILES}?confirm=other"), None).await,
        StatusCode::BAD_REQUEST,
    );
    let r = api.call("DELETE", &format!("{PROFILES}?confirm=admin"), None).await;
    assert_eq!((r.status, r.body["deleted"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(api.call("GET", PROFILES, None).await.body["total_results"], 0);
}

#[tokio::test]
async fn shows_the_effective_openssl_settings_and_lint() {
    let api = Api::new().await;
    let body = json!({"title": "eff", "protocols": ["tls_v1.2", "tls_v1.3"],
                      "ciphers": ["TLS_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"]});
    api.call("POST", PROFILES, Some(body)).await;
    let r = api.call("GET", &format!("{PROFILES}/eff/1.0.0/effective"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["cipher_list"], "ECDHE-RSA-AES128-GCM-SHA256");
    assert_eq!(r.body["ciphersuites"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(r.body["min_version"], "TLSv1.2");
    assert_eq!(r.body["max_version"], "TLSv1.3");
    let r = api.call("GET", &format!("{PROFILES}/eff/1.0.0/lint"), None).await;
    assert_eq!(r.body["grade"], "A");
}

#[tokio::test]
async fn hides_orgs_the_caller_is_not_a_member_of() {
    let api = Api::new().await;
    api.with_store(|s| {
        let other = s.create_org("p1", "Provider", "provider").unwrap();
        let user = s
            .create_user(&NewUser {
                username: "dev".into(),
                realm: "provider/default-idp-2".into(),
                email: None,
                password_hash: hash_password("dev-password"),
            })
            .unwrap();
        s.add_member(other.id, user.id, "viewer").unwrap();
    });
    let dev = api.login("dev", "dev-password", "provider/default-idp-2").await;

    let r = api.send("GET", PROFILES, Some(&dev), None, &[]).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let r = api.send("GET", "/api/orgs/nope/tls-client-profiles", Some(&dev), None, &[]).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let r = api
        .send("POST", "/api/orgs/p1/tls-client-profiles", Some(&dev), Some(basic("x")), &[])
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = api.send("GET", "/api/orgs/p1/tls-client-profiles", Some(&dev), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn probe_reports_a_refused_connection() {
    let api = Api::new().await;
    api.call("POST", PROFILES, Some(basic("probe"))).await;
    // 127.0.0.2: no other test listens there, so the freed port stays closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let body = json!({"target": format!("127.0.0.2:{port}"), "timeout_ms": 2000});
    let r = api.call("POST", &format!("{PROFILES}/probe/1.0.0/probe"), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["error"]["category"], "connection_refused");

    let r = api
        .call("POST", &format!("{PROFILES}/probe/1.0.0/probe"), Some(json!({"target": "no port"})))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "target");
}

#[tokio::test]
async fn writes_a_generated_password_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tlsdeck.db")).unwrap();
    let made = bootstrap(&store, dir.path(), None).unwrap().unwrap();
    let pw = made.generated_password.unwrap();
    let meta = std::fs::metadata(&made.password_file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&made.password_file).unwrap().trim(), pw);
    assert!(
        bootstrap(&store, dir.path(), None).unwrap().is_none(),
        "a second start creates nothing"
    );
    let db = std::fs::read(dir.path().join("tlsdeck.db")).unwrap();
    assert!(!db.windows(pw.len()).any(|w| w == pw.as_bytes()), "the password is stored hashed");
}

#[tokio::test]
async fn answers_every_error_as_problem_json() {
    let api = Api::new().await;
    let r = api.call("PUT", &format!("{PROFILES}/a/1.0.0"), Some(basic("a"))).await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers.contains_key(header::ALLOW));
    assert_problem(&api.call("GET", "/api/nothing-here", None).await, StatusCode::NOT_FOUND);

    let huge = "x".repeat(9 << 20);
    let req = Request::builder()
        .method("POST")
        .uri(PROFILES)
        .header(header::AUTHORIZATION, format!("Bearer {}", api.token))
        .body(Body::from(huge))
        .unwrap();
    let resp = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn names_every_missing_field_of_a_log_in() {
    let api = Api::new().await;
    let r = api
        .send(
            "POST",
            "/api/token",
            None,
            Some(json!({"username": "admin", "grant_type": "x"})),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["password", "realm", "grant_type"]);
}

#[tokio::test]
async fn names_every_bad_field_of_a_probe_request() {
    let api = Api::new().await;
    api.call("POST", PROFILES, Some(basic("probe"))).await;
    let body = json!({"target": 5, "timeout_ms": -5, "extra": true});
    let r = api.call("POST", &format!("{PROFILES}/probe/1.0.0/probe"), Some(body)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["extra", "target", "timeout_ms"]);
}

#[tokio::test]
async fn a_clear_without_confirmation_names_the_confirm_field() {
    let api = Api::new().await;
    let r = api.call("DELETE", &format!("{PROFILES}?confirm=nope"), None).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["errors"][0]["field"], "confirm");
}

#[tokio::test]
async fn failed_log_ins_slow_down_further_guesses_for_that_user() {
    let api = Api::new().await;
    let guess = json!({"username": "admin", "password": "Guess-pw-123", "realm": ADMIN_REALM});
    for _ in 0..2 {
        api.send("POST", "/api/token", None, Some(guess.clone()), &[]).await;
    }
    let started = std::time::Instant::now();
    let r = api.send("POST", "/api/token", None, Some(guess), &[]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "the third guess is held back"
    );
    api.login("admin", PASSWORD, ADMIN_REALM).await;
}

#[tokio::test]
async fn a_nul_in_a_url_or_a_log_in_name_is_refused_plainly_on_every_backend() {
    let api = Api::new().await;
    for uri in [
        "/api/orgs/admin/keystores/a%00b",
        "/api/orgs/a%00b/tls-client-profiles",
        "/api/orgs/admin/events?resource=a%00b",
    ] {
        let r = api.call("GET", uri, None).await;
        assert_problem(&r, StatusCode::BAD_REQUEST);
    }
    let grant = json!({"username": "ad\u{0}min", "password": "x", "realm": "admin/default-idp-1"});
    let r = api.send("POST", "/api/token", None, Some(grant), &[]).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["errors"][0]["field"], "username");
}
