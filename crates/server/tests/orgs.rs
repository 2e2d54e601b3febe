//! Provider orgs, users and members: who may do what, and tokens that end.

use axum::http::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{Api, assert_problem};

const ADMIN_REALM_: &str = "admin/default-idp-1";
const PROVIDER: &str = "provider/default-idp-2";

async fn user(api: &Api, username: &str, realm: &str) -> String {
    let body = json!({"username": username, "realm": realm, "password": "long-enough-pw-1", "email": null});
    let r = api.call("POST", "/api/users", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn names(v: &Value, field: &str) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o[field].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn an_admin_makes_a_provider_org_whose_owner_manages_it() {
    let api = Api::new().await;
    user(&api, "alice", PROVIDER).await;
    let r = api
        .call(
            "POST",
            "/api/orgs",
            Some(json!({"title": "Shop Team", "owner": {"username": "alice", "realm": PROVIDER}})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["name"].as_str()),
        (StatusCode::CREATED, Some("shop-team")),
        "{}",
        r.body
    );
    assert_eq!(
        names(&api.call("GET", "/api/orgs", None).await.body, "name"),
        ["admin", "shop-team"]
    );

    let alice = api.login("alice", "long-enough-pw-1", PROVIDER).await;
    let r = api.send("GET", "/api/orgs", Some(&alice), None, &[]).await;
    assert_eq!(names(&r.body, "name"), ["shop-team"]);
    let profile = json!({"title": "p", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]});
    let r = api
        .send(
            "POST",
            "/api/orgs/shop-team/tls-client-profiles",
            Some(&alice),
            Some(profile.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = api.send("GET", "/api/orgs/admin/tls-client-profiles", Some(&alice), None, &[]).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    let r = api.send("POST", "/api/users", Some(&alice), Some(json!({})), &[]).await;
    assert_problem(&r, StatusCode::NOT_FOUND);

    user(&api, "bob", PROVIDER).await;
    let add = json!({"username": "bob", "roles": ["developer"]});
    let r = api.send("POST", "/api/orgs/shop-team/members", Some(&alice), Some(add), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bob = api.login("bob", "long-enough-pw-1", PROVIDER).await;
    let r = api.send("GET", "/api/orgs/shop-team/tls-client-profiles", Some(&bob), None, &[]).await;
    assert_eq!(r.body["total_results"], 1);
    let r = api
        .send("POST", "/api/orgs/shop-team/tls-client-profiles", Some(&bob), Some(profile), &[])
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = api.send("GET", "/api/orgs/shop-team/members", Some(&alice), None, &[]).await;
    assert_eq!(names(&r.body, "username"), ["alice", "bob"]);

    let bad = json!({"username": "bob", "roles": ["topology-administrator"]});
    let r = api.send("POST", "/api/orgs/shop-team/members", Some(&alice), Some(bad), &[]).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(
        api.call("DELETE", "/api/orgs/shop-team", None).await.status,
        StatusCode::NO_CONTENT
    );
    let r =
        api.send("GET", "/api/orgs/shop-team/tls-client-profiles", Some(&alice), None, &[]).await;
    assert_problem(&r, StatusCode::NOT_FOUND);
    assert_problem(&api.call("DELETE", "/api/orgs/admin", None).await, StatusCode::CONFLICT);
}

#[tokio::test]
async fn disabling_a_user_or_changing_a_password_ends_their_tokens() {
    let api = Api::new().await;
    let id = user(&api, "carol", "admin/default-idp-1").await;
    api.with_store(|s| {
        let org = s.org("admin").unwrap();
        s.set_roles(org.id, id.parse().unwrap(), &["viewer".into()]).unwrap();
    });
    let carol = api.login("carol", "long-enough-pw-1", "admin/default-idp-1").await;
    let profiles = "/api/orgs/admin/tls-client-profiles";
    assert_eq!(api.send("GET", profiles, Some(&carol), None, &[]).await.status, StatusCode::OK);

    let guess = json!({"password": "another-long-pw-2", "current_password": "not-it"});
    let r = api.send("PATCH", &format!("/api/users/{id}"), Some(&carol), Some(guess), &[]).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    let change = json!({"password": "another-long-pw-2", "current_password": "long-enough-pw-1"});
    let r = api.send("PATCH", &format!("/api/users/{id}"), Some(&carol), Some(change), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_problem(
        &api.send("GET", profiles, Some(&carol), None, &[]).await,
        StatusCode::UNAUTHORIZED,
    );

    let carol = api.login("carol", "another-long-pw-2", "admin/default-idp-1").await;
    let r = api
        .send(
            "PATCH",
            &format!("/api/users/{id}"),
            Some(&carol),
            Some(json!({"disabled": false})),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = api.call("PATCH", &format!("/api/users/{id}"), Some(json!({"disabled": true}))).await;
    assert_eq!(r.body["disabled"], true);
    assert_problem(
        &api.send("GET", profiles, Some(&carol), None, &[]).await,
        StatusCode::UNAUTHORIZED,
    );
    let body = json!({"username": "carol", "password": "another-long-pw-2", "realm": "admin/default-idp-1"});
    assert_problem(
        &api.send("POST", "/api/token", None, Some(body), &[]).await,
        StatusCode::UNAUTHORIZED,
    );

    let r = api
        .call(
            "POST",
            "/api/users",
            Some(json!({"username": "x", "realm": "elsewhere", "password": "short"})),
        )
        .await;
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["realm", "password"]);
    assert_eq!(
        api.call("DELETE", &format!("/api/users/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn admin_profiles_are_shared_by_their_visibility_and_probed_from_provider_orgs() {
    let api = Api::new().await;
    for (user_name, org) in [("alice", "Shop Team"), ("dave", "Other Team")] {
        user(&api, user_name, PROVIDER).await;
        let body = json!({"title": org, "owner": {"username": user_name, "realm": PROVIDER}});
        assert_eq!(api.call("POST", "/api/orgs", Some(body)).await.status, StatusCode::CREATED);
    }
    let profile = json!({"title": "Backend", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                         "visibility": {"type": "custom", "orgs": ["shop-team"]},
                         "truststore": "ca"});
    let pem = support::Pki::new().read("root.pem");
    api.call(
        "POST",
        "/api/orgs/admin/truststores",
        Some(json!({"title": "CA", "truststore": pem})),
    )
    .await;
    assert_eq!(
        api.call("POST", "/api/orgs/admin/tls-client-profiles", Some(profile)).await.status,
        StatusCode::CREATED
    );
    let alice = api.login("alice", "long-enough-pw-1", PROVIDER).await;
    let dave = api.login("dave", "long-enough-pw-1", PROVIDER).await;

    let r = api
        .send("GET", "/api/orgs/shop-team/shared-tls-client-profiles", Some(&alice), None, &[])
        .await;
    assert_eq!(names(&r.body, "reference"), ["admin/backend:1.0.0"]);
    assert_eq!(r.body["results"][0]["has_truststore"], true);
    assert!(
        r.body["results"][0].get("truststore").is_none(),
        "the admin org's store names stay hidden"
    );
    let r = api
        .send("GET", "/api/orgs/other-team/shared-tls-client-profiles", Some(&dave), None, &[])
        .await;
    assert_eq!(r.body["total_results"], 0);
    let r = api
        .send("GET", "/api/orgs/shop-team/shared-tls-client-profiles", Some(&dave), None, &[])
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND);

    let port = std::net::TcpListener::bind("127.0.0.2:0").unwrap().local_addr().unwrap().port();
    let body = json!({"target": format!("127.0.0.2:{port}"), "timeout_ms": 2000});
    let probe = "/api/orgs/shop-team/shared-tls-client-profiles/backend/1.0.0/probe";
    let r = api.send("POST", probe, Some(&alice), Some(body.clone()), &[]).await;
    assert_eq!(r.body["error"]["category"], "connection_refused", "{}", r.body);
    let other = "/api/orgs/other-team/shared-tls-client-profiles/backend/1.0.0/probe";
    assert_problem(
        &api.send("POST", other, Some(&dave), Some(body), &[]).await,
        StatusCode::NOT_FOUND,
    );

    // A deleted org leaves the share, so a new org of its name does not inherit it.
    assert_eq!(
        api.call("DELETE", "/api/orgs/shop-team", None).await.status,
        StatusCode::NO_CONTENT
    );
    let got = api.call("GET", "/api/orgs/admin/tls-client-profiles/backend/1.0.0", None).await;
    assert_eq!(got.body["visibility"], json!({"type": "custom", "orgs": []}));

    let public = json!({"visibility": {"type": "public"}});
    api.call("PATCH", "/api/orgs/admin/tls-client-profiles/backend/1.0.0", Some(public)).await;
    let r = api
        .send("GET", "/api/orgs/other-team/shared-tls-client-profiles", Some(&dave), None, &[])
        .await;
    assert_eq!(r.body["total_results"], 1);
}

#[tokio::test]
async fn no_one_escalates_or_leaves_an_org_without_an_owner() {
    let api = Api::new().await;
    let admin_id = api.with_store(|s| s.user(ADMIN_REALM_, "admin").unwrap().id);
    let r = api
        .call(
            "POST",
            "/api/orgs/admin/members",
            Some(json!({"username": "admin", "roles": ["viewer"]})),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT);
    let r =
        api.call("PATCH", &format!("/api/users/{admin_id}"), Some(json!({"disabled": true}))).await;
    assert_problem(&r, StatusCode::CONFLICT);

    let people = json!({"name": "people", "title": "People", "permissions": ["member:view", "member:manage"]});
    assert_eq!(
        api.call("POST", "/api/orgs/admin/roles", Some(people)).await.status,
        StatusCode::CREATED
    );
    let id = user(&api, "alice", ADMIN_REALM_).await;
    let r = api
        .call(
            "POST",
            "/api/orgs/admin/members",
            Some(json!({"username": "alice", "roles": ["people"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let alice = api.login("alice", "long-enough-pw-1", ADMIN_REALM_).await;
    let grab = json!({"username": "alice", "roles": ["people", "owner"]});
    let r = api.send("POST", "/api/orgs/admin/members", Some(&alice), Some(grab), &[]).await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = api
        .send(
            "PATCH",
            &format!("/api/users/{admin_id}"),
            Some(&alice),
            Some(json!({"disabled": true})),
            &[],
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN);
    let r = api
        .call("POST", "/api/orgs/admin/members", Some(json!({"username": "alice", "roles": []})))
        .await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        api.call("DELETE", &format!("/api/orgs/admin/members/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
}
