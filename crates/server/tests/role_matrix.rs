//! Every role, built-in and custom, against every TLS operation: allowed, or 403.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tlsdeck_server::{ADMIN_REALM, hash_password};
use tlsdeck_store::{NewUser, Store};

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
        op("GET", "/api/orgs/admin/tls-client-profiles", None, false),
        op("GET", "/api/orgs/admin/tls-client-profiles/fixture/1.0.0", None, false),
        op("GET", "/api/orgs/admin/tls-client-profiles/fixture/1.0.0/effective", None, false),
        op("GET", "/api/orgs/admin/tls-client-profiles/fixture/1.0.0/lint", None, false),
        op(
            "POST",
            "/api/orgs/admin/tls-client-profiles/fixture/1.0.0/probe",
            Some(json!({"target": "127.0.0.2:9", "timeout_ms": 1000})),
            false,
        ),
        op(
            "POST",
            "/api/orgs/admin/tls-client-profiles",
            Some(json!({"title": "{n}", "ciphers": suite})),
            true,
        ),
        op(
            "PATCH",
            "/api/orgs/admin/tls-client-profiles/fixture/1.0.0",
            Some(json!({"summary": "{n}"})),
            true,
        ),
        op("DELETE", "/api/orgs/admin/tls-client-profiles/{n}-gone/1.0.0", None, true),
        op("GET", "/api/orgs/admin/tls-server-profiles", None, false),
        op(
            "POST",
            "/api/orgs/admin/tls-server-profiles",
            Some(json!({"title": "{n}", "keystore": "ks", "ciphers": suite})),
            true,
        ),
        op("GET", "/api/orgs/admin/keystores", None, false),
        op("GET", "/api/orgs/admin/keystores/ks", None, false),
        op(
            "POST",
            "/api/orgs/admin/keystores",
            Some(json!({"title": "{n}", "keystore": ks})),
            true,
        ),
        op("GET", "/api/orgs/admin/truststores", None, false),
        op("GET", "/api/orgs/admin/truststores/ca/entries", None, false),
        op(
            "POST",
            "/api/orgs/admin/truststores/ca/entries",
            Some(json!({"certificate": pki.read("int.pem")})),
            true,
        ),
        op(
            "POST",
            "/api/orgs/admin/truststores",
            Some(json!({"title": "{n}", "truststore": pki.read("root.pem")})),
            true,
        ),
    ]
}

fn fill(v: &Value, n: &str) -> Value {
    serde_json::from_str(&v.to_string().replace("{n}", n)).unwrap()
}

/// The items the operations read and change, and the custom roles.
async fn fixtures(api: &Api, pki: &Pki) {
    let suite = json!(["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]);
    let fixture = json!({"title": "fixture", "ciphers": suite});
    api.call("POST", "/api/orgs/admin/tls-client-profiles", Some(fixture)).await;
    let ks = pki.read("leaf.pem") + &pki.read("int.pem") + &pki.read("leaf.key");
    api.call("POST", "/api/orgs/admin/keystores", Some(json!({"title": "ks", "keystore": ks})))
        .await;
    let ca = json!({"title": "ca", "truststore": pki.read("root.pem")});
    api.call("POST", "/api/orgs/admin/truststores", Some(ca)).await;
    let custom = [
        ("settings-editor", vec!["settings:view", "settings:manage"]),
        ("settings-reader", vec!["settings:view"]),
        ("auditor", vec!["member:view"]),
    ];
    for (name, perms) in custom {
        let role = json!({"name": name, "title": name, "permissions": perms});
        let r = api.call("POST", "/api/orgs/admin/roles", Some(role)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
}

/// A logged-in user holding only `role` in the admin org.
async fn member(api: &Api, role: &str) -> String {
    let admin = api.store.org("admin").unwrap();
    let username = format!("user-{role}");
    let user = api
        .store
        .create_user(&NewUser {
            username: username.clone(),
            realm: ADMIN_REALM.into(),
            email: None,
            password_hash: hash_password("role-matrix-pw"),
        })
        .unwrap();
    api.store.set_roles(admin.id, user.id, &[role.to_owned()]).unwrap();
    api.login(&username, "role-matrix-pw", ADMIN_REALM).await
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_permissions_allow() {
    let api = Api::new().await;
    let pki = Pki::new();
    fixtures(&api, &pki).await;
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
    for (role, reads, writes) in roles {
        let token = member(&api, role).await;
        let gone = json!({"title": format!("{role}-gone"), "ciphers": ["AES128-GCM-SHA256"]});
        api.call("POST", "/api/orgs/admin/tls-client-profiles", Some(gone)).await;

        for op in ops(&pki) {
            let path = op.path.replace("{n}", role);
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
