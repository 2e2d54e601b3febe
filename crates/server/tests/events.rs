//! The audit log: changes, log-ins and refused requests, readable by org admins.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tlsdeck_server::{ADMIN_REALM, hash_password};
use tlsdeck_store::NewUser;

mod support;
use support::{Api, PASSWORD, PROFILES, assert_problem};

const EVENTS: &str = "/api/orgs/admin/events";

fn rows(v: &Value) -> Vec<(String, String, String, String)> {
    let field = |e: &Value, f: &str| e[f].as_str().unwrap_or("-").to_owned();
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (field(e, "actor"), field(e, "action"), field(e, "resource"), field(e, "outcome")))
        .collect()
}

#[tokio::test]
async fn records_changes_log_ins_and_refusals_newest_first() {
    let api = Api::new().await;
    api.with_store(|s| {
        let viewer = s
            .create_user(&NewUser {
                username: "watcher".into(),
                realm: ADMIN_REALM.into(),
                email: None,
                password_hash: hash_password("watcher-pw-1"),
            })
            .unwrap();
        let org = s.org("admin").unwrap();
        s.add_member(org.id, viewer.id, "viewer").unwrap();
    });
    let watcher = api.login("watcher", "watcher-pw-1", ADMIN_REALM).await;

    let body = json!({"title": "Audited", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]});
    api.call("POST", PROFILES, Some(body)).await;
    api.call(
        "PATCH",
        &format!("{PROFILES}/audited/1.0.0"),
        Some(json!({"visibility": {"type": "public"}})),
    )
    .await;
    api.call("DELETE", &format!("{PROFILES}/audited/1.0.0"), None).await;
    let bad = json!({"username": "admin", "password": "Not-The-Password-9", "realm": ADMIN_REALM});
    api.send("POST", "/api/token", None, Some(bad), &[]).await;
    let r =
        api.send("DELETE", &format!("{PROFILES}?confirm=admin"), Some(&watcher), None, &[]).await;
    assert_problem(&r, StatusCode::FORBIDDEN);

    let r = api.call("GET", EVENTS, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let admin = format!("admin ({ADMIN_REALM})");
    let watcher_actor = format!("watcher ({ADMIN_REALM})");
    let got = rows(&r.body);
    let want = [
        (watcher_actor.as_str(), "request", "DELETE /api/orgs/admin/tls-client-profiles", "denied"),
        (admin.as_str(), "login", "token", "failure"),
        (admin.as_str(), "delete", "tls-client-profile audited:1.0.0", "success"),
        (admin.as_str(), "visibility", "tls-client-profile audited:1.0.0", "success"),
        (admin.as_str(), "update", "tls-client-profile audited:1.0.0", "success"),
        (admin.as_str(), "create", "tls-client-profile audited:1.0.0", "success"),
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(
            (got[i].0.as_str(), got[i].1.as_str(), got[i].2.as_str(), got[i].3.as_str()),
            *w,
            "{got:?}"
        );
    }
    assert!(
        !r.body.to_string().contains("Not-The-Password-9")
            && !r.body.to_string().contains(PASSWORD)
    );

    let r = api.call("GET", &format!("{EVENTS}?resource=audited&limit=2"), None).await;
    assert_eq!((r.body["total_results"].as_u64(), rows(&r.body).len()), (Some(4), 2));
    let r = api.call("GET", &format!("{EVENTS}?since=2999-01-01T00:00:00Z"), None).await;
    assert_eq!(r.body["total_results"], 0);
    let r = api.call("GET", &format!("{EVENTS}?since=yesterday"), None).await;
    assert_problem(&r, StatusCode::BAD_REQUEST);

    let r = api.send("GET", EVENTS, Some(&watcher), None, &[]).await;
    assert_problem(&r, StatusCode::FORBIDDEN);
}
