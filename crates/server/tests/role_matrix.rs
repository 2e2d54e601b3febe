//! Every role, built-in and custom, against every TLS operation: allowed, or 403.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tlsdeck_server::{ADMIN_REALM, hash_password};
use tlsdeck_store::NewUser;

mod support;
use support::{Api, Pki};

/// An operation: method, path (with `{n}` for a name unique to the role), body, and
/// whether it writes (needs settings:manage) or reads (needs settings:view).
struct Op {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    writes: bool,
}

fn ops(pki: &Pki) -> Vec<Op> {
    let ks = pki.read("leaf.pem") + &pki.read("int.pem") + &pki.read("leaf.key");
    let suite = json!(["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
    let op = |method, path, body, writes| Op { method, path, body, writes };
    vec![
        op("GET", "/api/orgs/{org}/tls-client-profiles", None, false),
        op("GET", "/api/orgs/{org}/tls-client-profiles/fixture/1.0.0", None, false),
        op("GET", "/api/orgs/{org}/tls-client-profiles/fixture/1.0.0/effective", None, false),
        op("GET", "/api/orgs/{org}/tls-client-profiles/fixture/1.0.0/lint", None, false),
        op(
            "POST",
            "/api/orgs/{org}/tls-client-profiles/fixture/1.0.0/probe",
            Some(json!({"target": "127.0.0.2:9", "timeout_ms": 1000})),
            false,
        ),
        op(
            "POST",
            "/api/orgs/{org}/tls-client-profiles",
            Some(json!({"title": "{n}", "ciphers": suite})),
            true,
        ),
        op(
            "PATCH",
            "/api/orgs/{org}/tls-client-profiles/fixture/1.0.0",
            Some(json!({"summary": "{n}"})),
            true,
        ),
        op("DELETE", "/api/orgs/{org}/tls-client-profiles/{n}-gone/1.0.0", None, true),
        op("GET", "/api/orgs/{org}/tls-server-profiles", None, false),
        op(
            "POST",
            "/api/orgs/{org}/tls-server-profiles",
            Some(json!({"title": "{n}", "keystore": "ks", "ciphers": suite})),
            true,
        ),
        op("GET", "/api/orgs/{org}/keystores", None, false),
        op("GET", "/api/orgs/{org}/keystores/ks", None, false),
        op(
            "POST",
            "/api/orgs/{org}/keystores",
            Some(json!({"title": "{n}", "keystore": ks})),
            true,
        ),
        op("GET", "/api/orgs/{org}/truststores", None, false),
        op("GET", "/api/orgs/{org}/truststores/ca/entries", None, false),
        op(
            "POST",
            "/api/orgs/{org}/truststores/ca/entries",
            Some(json!({"certificate": pki.read("int.pem")})),
            true,
        ),
        op(
            "POST",
            "/api/orgs/{org}/truststores",
            Some(json!({"title": "{n}", "truststore": pki.read("root.pem")})),
            true,
        ),
    ]
}

fn fill(v: &Value, n: &str) -> Value {
    serde_json::from_str(&v.to_string().replace("{n}", n)).unwrap()
}

/// The items the operations read and change, and the custom roles.
async fn fixtures(api: &Api, pki: &Pki, org: &str, token: &str) {
    let call = |method: &'static str, path: String, body: Value| async move {
        api.send(method, &path, Some(token), Some(body), &[]).await
    };
    let suite = json!(["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
    let fixture = json!({"title": "fixture", "ciphers": suite});
    call("POST", format!("/api/orgs/{org}/tls-client-profiles"), fixture).await;
    let ks = pki.read("leaf.pem") + &pki.read("int.pem") + &pki.read("leaf.key");
    call("POST", format!("/api/orgs/{org}/keystores"), json!({"title": "ks", "keystore": ks}))
        .await;
    let ca = json!({"title": "ca", "truststore": pki.read("root.pem")});
    call("POST", format!("/api/orgs/{org}/truststores"), ca).await;
    let custom = [
        ("settings-editor", vec!["settings:view", "settings:manage"]),
        ("settings-reader", vec!["settings:view"]),
        ("auditor", vec!["member:view"]),
    ];
    for (name, perms) in custom {
        let role = json!({"name": name, "title": name, "permissions": perms});
        let r = call("POST", format!("/api/orgs/{org}/roles"), role).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

/// A logged-in user holding only `role` in `org`, whose users come from `realm`.
async fn member(api: &Api, org: &str, realm: &str, role: &str) -> String {
    let username = format!("{org}-{role}");
    api.with_store(|s| {
        let admin = s.org(org).unwrap();
        let user = s
            .create_user(&NewUser {
                username: username.clone(),
                realm: realm.into(),
                email: None,
                password_hash: hash_password("role-matrix-pw"),
            })
            .unwrap();
        s.set_roles(admin.id, user.id, &[role.to_owned()]).unwrap();
    });
    api.login(&username, "role-matrix-pw", realm).await
}

/// Runs every operation in `org` as each role and checks allowed or 403.
async fn check(api: &Api, pki: &Pki, org: &str, realm: &str, roles: &[(&str, bool, bool)]) {
    check_as(api, pki, org, realm, roles, &api.token).await;
}

/// As [`check`], with throwaway items made by `creator`.
async fn check_as(
    api: &Api,
    pki: &Pki,
    org: &str,
    realm: &str,
    roles: &[(&str, bool, bool)],
    creator: &str,
) {
    for &(role, reads, writes) in roles {
        let token = member(api, org, realm, role).await;
        let gone = json!({"title": format!("{role}-gone"), "ciphers": ["AES128-GCM-SHA256"]});
        let path = format!("/api/orgs/{org}/tls-client-profiles");
        api.send("POST", &path, Some(creator), Some(gone), &[]).await;
        for op in ops(pki) {
            let path = op.path.replace("{org}", org).replace("{n}", role);
            let body = op.body.as_ref().map(|b| fill(b, role));
            let r = api.send(op.method, &path, Some(&token), body, &[]).await;
            let allowed = if op.writes { writes } else { reads };
            if allowed {
                assert!(
                    r.status.is_success(),
                    "{role} {} {path}: {} {}",
                    op.method,
                    r.status,
                    r.body
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role} {} {path}: {}",
                    op.method,
                    r.body
                );
            }
        }
    }
}

#[tokio::test]
async fn every_admin_org_role_may_do_exactly_what_its_permissions_allow() {
    let api = Api::new().await;
    let pki = Pki::new();
    fixtures(&api, &pki, "admin", &api.token).await;
    // (role, may read, may write)
    let roles = [
        ("owner", true, true),
        ("administrator", true, true),
        ("topology-administrator", true, true),
        ("member", true, false),
        ("viewer", true, false),
        ("settings-editor", true, true),
        ("settings-reader", true, false),
        ("auditor", false, false),
    ];
    check(&api, &pki, "admin", ADMIN_REALM, &roles).await;
}

#[tokio::test]
async fn every_provider_org_role_may_do_exactly_what_its_permissions_allow() {
    let api = Api::new().await;
    let pki = Pki::new();
    let realm = "provider/default-idp-2";
    let owner = json!({"username": "p-owner", "realm": realm, "password": "role-matrix-pw"});
    api.call("POST", "/api/users", Some(owner)).await;
    let org = json!({"title": "p1", "owner": {"username": "p-owner", "realm": realm}});
    assert_eq!(api.call("POST", "/api/orgs", Some(org)).await.status, StatusCode::CREATED);
    let owner_token = api.login("p-owner", "role-matrix-pw", realm).await;
    fixtures(&api, &pki, "p1", &owner_token).await;
    // The cloud owner is no member of p1, so the throwaway profiles are made by p1's owner.
    let roles = [
        ("owner", true, true),
        ("administrator", true, true),
        ("developer", true, false),
        ("viewer", true, false),
        ("settings-editor", true, true),
        ("settings-reader", true, false),
        ("auditor", false, false),
    ];
    check_as(&api, &pki, "p1", realm, &roles, &owner_token).await;
}
