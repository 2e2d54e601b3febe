//! The web console, driven as a browser without JavaScript would: cookies, CSRF tokens,
//! forms (URL-encoded and multipart) and the pages they lead to.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use support::{Api, Pki};
use tlsdeck_server::{ADMIN_REALM, AppState, bootstrap, router};
use tlsdeck_store::SqliteStore;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

/// A browser's view of the console: one cookie jar, no script.
struct Browser {
    app: Router,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.text.find(r#"name="csrf" value=""#).expect("the page has a form");
        let rest = &self.text[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The text of the field error shown for the form field `name`.
    fn field_error(&self, name: &str) -> Option<String> {
        let marker = format!(r#"id="f-{name}-error">"#);
        let at = self.text.find(&marker)? + marker.len();
        let rest = &self.text[at..];
        Some(rest[..rest.find("</p>").unwrap()].to_owned())
    }
}

impl Browser {
    fn new(app: Router) -> Self {
        Self { app, cookies: Vec::new() }
    }

    async fn request(&mut self, req: Request<Body>) -> Page {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        for c in headers.get_all(header::SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        Page { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, uri: &str) -> Page {
        let req = Request::get(uri).header(header::COOKIE, self.cookie_header());
        self.request(req.body(Body::empty()).unwrap()).await
    }

    async fn post(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let req = Request::post(uri)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.request(req.body(Body::from(body)).unwrap()).await
    }

    /// A multipart form: `files` are `(field, file name, bytes)`.
    async fn post_files(
        &mut self,
        uri: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "tlsdeck-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::post(uri)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"));
        self.request(req.body(Body::from(body)).unwrap()).await
    }

    /// Logs in through the log-in page; panics unless it leads into the console.
    async fn log_in(&mut self, username: &str, password: &str, realm: &str) -> Page {
        let form = self.get("/login").await;
        let nonce = form.csrf();
        let page = self
            .post(
                "/login",
                &[
                    ("csrf", &nonce),
                    ("realm", realm),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        page
    }

    /// The CSRF token of the session, read from a page's form.
    async fn csrf(&mut self) -> String {
        self.get("/orgs/admin/tls").await.csrf()
    }
}

/// The API harness with the store's defaults, and a browser on the same server.
async fn console() -> (Api, Browser) {
    let api = Api::new().await;
    let key = tlsdeck_pki::MasterKey::from_bytes([7; 32]);
    api.with_store(|s| tlsdeck_server::ensure_defaults(s, &key).unwrap());
    let browser = Browser::new(api.app.clone());
    (api, browser)
}

#[tokio::test]
async fn log_in_sets_a_strict_http_only_session_cookie() {
    let (_api, mut b) = console().await;
    let form = b.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text.contains(r#"<label for="f-realm">Realm</label>"#));
    assert!(form.text.contains(ADMIN_REALM) && form.text.contains("provider/default-idp-2"));

    let page = b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let session = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tlsdeck_session="))
        .expect("a session cookie");
    assert!(session.contains("; HttpOnly"), "{session}");
    assert!(session.contains("; SameSite=Strict"), "{session}");
    assert!(!session.contains("Secure"), "plain http cannot keep a Secure cookie: {session}");

    let home = b.get(page.location()).await;
    assert_eq!(home.location(), "/orgs/admin/tls");
    let tls = b.get("/orgs/admin/tls").await;
    assert_eq!(tls.status, StatusCode::OK);
    for heading in ["TLS Client Profiles", "TLS Server Profiles", "Keystores", "Truststores"] {
        assert!(tls.text.contains(&format!(">{heading}</h2>")), "no table {heading}");
    }
    assert!(tls.text.contains(r#"aria-label="Create TLS client profile""#));
    assert!(tls.text.contains(r#"<nav aria-label="Main">"#));
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_served_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("tlsdeck.db")).unwrap());
    bootstrap(store.as_ref(), dir.path(), Some(PASSWORD.into())).unwrap();
    let key = tlsdeck_pki::MasterKey::from_bytes([7; 32]);
    let app = router(AppState::new(store, key, "https://tlsdeck.test"));
    let mut b = Browser::new(app);
    let page = b.log_in("admin", PASSWORD, ADMIN_REALM).await;
    assert!(page.set_cookies().iter().all(|c| c.ends_with("; Secure")), "{:?}", page.set_cookies());
}

#[tokio::test]
async fn a_wrong_password_or_a_foreign_log_in_form_starts_no_session() {
    let (_api, mut b) = console().await;
    let nonce = b.get("/login").await.csrf();
    let wrong = b
        .post(
            "/login",
            &[("csrf", &nonce), ("realm", ADMIN_REALM), ("username", "admin"), ("password", "no")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text.contains(r#"role="alert""#));
    assert!(wrong.text.contains("Wrong username, password or realm."));
    assert!(!wrong.text.contains(">no<"), "the password is not shown back");
    assert!(wrong.set_cookies().iter().all(|c| !c.starts_with("tlsdeck_session=")));

    // A log-in form posted from another site has no nonce cookie to match.
    let mut stranger = Browser::new(b.app.clone());
    let forged = stranger
        .post(
            "/login",
            &[
                ("csrf", &nonce),
                ("realm", ADMIN_REALM),
                ("username", "admin"),
                ("password", support::PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.set_cookies().iter().all(|c| !c.starts_with("tlsdeck_session=")));
}

#[tokio::test]
async fn pages_need_a_session_and_log_out_ends_its_token() {
    let (api, mut b) = console().await;
    let page = b.get("/orgs/admin/tls").await;
    assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login"));

    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let token = b.cookies.iter().find(|(k, _)| k == "tlsdeck_session").unwrap().1.clone();
    let csrf = b.csrf().await;
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), "/login");
    assert!(b.cookies.iter().all(|(k, _)| k != "tlsdeck_session"));
    let r = api.send("GET", "/api/orgs", Some(&token), None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the token ended with the session");
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_change_nothing() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let fields = [
        ("title", "Forged"),
        ("version", "1.0.0"),
        ("protocols", "tls_v1.2"),
        ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ];
    let missing = b.post("/orgs/admin/tls-client-profiles", &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "00000000000000000000000000000000"));
    let page = b.post("/orgs/admin/tls-client-profiles", &wrong).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let deleted = b.post("/orgs/admin/keystores/default-keystore/delete", &[]).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);

    let list = api.call("GET", "/api/orgs/admin/tls-client-profiles", None).await;
    assert_eq!(list.body["total_results"], 1, "only the default profile");
    let ks = api.call("GET", "/api/orgs/admin/keystores/default-keystore", None).await;
    assert_eq!(ks.status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_profile_from_the_form_follows_the_tls13_rule() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let form = b.get("/orgs/admin/tls-client-profiles/new").await;
    assert!(form.text.contains(r#"value="tls_v1.2" checked"#), "TLS 1.2 is ticked");
    assert!(!form.text.contains(r#"value="tls_v1.3" checked"#));
    assert!(form.text.contains(r#"name="server_name_indication" value="on" checked"#));
    assert!(!form.text.contains(r#"name="insecure_server_connections" value="on" checked"#));
    assert!(form.text.contains("<legend>TLS 1.3 suites</legend>"));
    assert!(form.text.contains(r#"<option value="default-truststore">"#));
    let csrf = form.csrf();

    let created = b
        .post(
            "/orgs/admin/tls-client-profiles",
            &[
                ("csrf", &csrf),
                ("title", "Orders Backend 2"),
                ("version", "1.0.0"),
                ("protocols", "tls_v1.2"),
                ("protocols", "tls_v1.3"),
                ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
                ("server_name_indication", "on"),
                ("truststore", "default-truststore"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    assert_eq!(created.location(), "/orgs/admin/tls-client-profiles/orders-backend-2/1.0.0");

    let detail = b.get(created.location()).await;
    assert_eq!(detail.status, StatusCode::OK);
    let stored =
        api.call("GET", "/api/orgs/admin/tls-client-profiles/orders-backend-2/1.0.0", None).await;
    let ciphers = stored.body["ciphers"].as_array().unwrap();
    assert!(ciphers.len() > 1, "the TLS 1.3 suites were added: {ciphers:?}");
    for c in ciphers {
        let c = c.as_str().unwrap();
        assert!(detail.text.contains(&format!("<li><code>{c}</code>")), "{c} is not shown");
    }
    assert!(detail.text.contains("TLS_AES_128_GCM_SHA256"));
    assert_eq!(stored.body["truststore"], "default-truststore");
    assert!(detail.text.contains("Effective OpenSSL settings"));
    assert!(detail.text.contains("ECDHE-RSA-AES128-GCM-SHA256"), "the OpenSSL cipher list");
    assert!(detail.text.contains("Recent events") && detail.text.contains(">create<"));
}

#[tokio::test]
async fn field_errors_sit_beside_their_fields_and_the_input_is_kept() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let csrf = b.csrf().await;
    let page = b
        .post(
            "/orgs/admin/tls-client-profiles",
            &[
                ("csrf", &csrf),
                ("title", ""),
                ("version", "!!"),
                ("summary", "kept <as typed>"),
                ("protocols", "tls_v1.1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains(r#"role="alert""#));
    assert!(page.field_error("title").is_some_and(|e| e.contains("not blank")), "{}", page.text);
    assert!(page.field_error("version").is_some_and(|e| e.contains("'!!'")));
    assert!(page.field_error("ciphers").is_some());
    assert!(page.text.contains("kept &lt;as typed&gt;</textarea>"), "summary kept, escaped");
    assert!(page.text.contains(r#"value="!!""#), "version kept");
    assert!(page.text.contains(r#"value="tls_v1.1" checked"#), "protocol choice kept");
    assert!(page.text.contains(r#"aria-describedby="f-title-error""#));
    let list = api.call("GET", "/api/orgs/admin/tls-client-profiles", None).await;
    assert_eq!(list.body["total_results"], 1, "only the default profile");
}

#[tokio::test]
async fn presets_fill_the_form_without_script_and_save_nothing() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let csrf = b.csrf().await;
    let page = b
        .post(
            "/orgs/admin/tls-client-profiles",
            &[
                ("csrf", &csrf),
                ("title", "Typed title"),
                ("protocols", "tls_v1.2"),
                ("preset", "modern"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(r#"value="Typed title""#));
    assert!(page.text.contains(r#"value="tls_v1.3" checked"#));
    assert!(!page.text.contains(r#"value="tls_v1.2" checked"#));
    assert!(page.text.contains(r#"value="TLS_AES_256_GCM_SHA384" checked"#));
    assert!(!page.text.contains(r#"value="ECDHE_RSA_WITH_AES_128_GCM_SHA256" checked"#));
    let list = api.call("GET", "/api/orgs/admin/tls-client-profiles", None).await;
    assert_eq!(list.body["total_results"], 1);
}

#[tokio::test]
async fn a_viewer_gets_no_create_button_and_a_forged_write_is_refused() {
    let (api, mut b) = console().await;
    let user = json!({"username": "vera", "realm": ADMIN_REALM, "password": PASSWORD});
    assert_eq!(api.call("POST", "/api/users", Some(user)).await.status, StatusCode::CREATED);
    let member = json!({"username": "vera", "roles": ["viewer"]});
    assert!(api.call("POST", "/api/orgs/admin/members", Some(member)).await.status.is_success());

    b.log_in("vera", PASSWORD, ADMIN_REALM).await;
    let tls = b.get("/orgs/admin/tls").await;
    assert_eq!(tls.status, StatusCode::OK);
    assert!(tls.text.contains("Default TLS client profile"), "a viewer reads");
    assert!(!tls.text.contains(">Create<"), "a viewer has no Create button");
    assert!(!tls.text.contains("/edit\""), "nor edit links");

    // With her own valid CSRF token the write still fails: the API checks the permission.
    let csrf = tls.csrf();
    let page = b
        .post(
            "/orgs/admin/tls-client-profiles",
            &[
                ("csrf", &csrf),
                ("title", "Sneaky"),
                ("version", "1.0.0"),
                ("protocols", "tls_v1.2"),
                ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let gone =
        b.post("/orgs/admin/truststores/default-truststore/delete", &[("csrf", &csrf)]).await;
    assert_eq!(gone.status, StatusCode::FORBIDDEN);
    let list = api.call("GET", "/api/orgs/admin/tls-client-profiles", None).await;
    assert_eq!(list.body["total_results"], 1, "only the default profile");
    let ts = api.call("GET", "/api/orgs/admin/truststores/default-truststore", None).await;
    assert_eq!(ts.status, StatusCode::OK);
}

#[tokio::test]
async fn a_keystore_upload_never_shows_its_key_or_password() {
    let (_api, mut b) = console().await;
    let pki = Pki::new();
    let password = "pkcs8-secret-passphrase";
    let key = pki.encrypted_leaf_key(password);
    let chain = format!("{}{}", pki.read("leaf.pem"), pki.read("int.pem"));
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let csrf = b.csrf().await;

    let wrong = b
        .post_files(
            "/orgs/admin/keystores",
            &[("csrf", &csrf), ("title", "Client KS"), ("password", "not-the-passphrase")],
            &[
                ("keystore", "chain.pem", chain.as_bytes()),
                ("private_key", "key.pem", key.as_bytes()),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.text);
    assert!(wrong.field_error("password").is_some(), "{}", wrong.text);
    assert!(!wrong.text.contains("not-the-passphrase"));
    assert!(!wrong.text.contains("PRIVATE KEY"));

    let created = b
        .post_files(
            "/orgs/admin/keystores",
            &[("csrf", &csrf), ("title", "Client KS"), ("password", password)],
            &[
                ("keystore", "chain.pem", chain.as_bytes()),
                ("private_key", "key.pem", key.as_bytes()),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let detail = b.get(created.location()).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.text.contains("CN=localhost") && detail.text.contains("CN=Test Intermediate"));
    for page in [&created, &detail, &b.get(&format!("{}/edit", created.location())).await] {
        assert!(!page.text.contains(password));
        assert!(!page.text.contains("PRIVATE KEY"));
        assert!(!page.text.contains(key.lines().nth(1).unwrap()), "no line of the key");
    }
}

#[tokio::test]
async fn deleting_a_used_truststore_names_its_users_and_deletes_nothing() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let confirm = b.get("/orgs/admin/truststores/default-truststore/delete").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.text.contains("TLS client profile tls-client-profile-default:1.0.0"));
    assert!(!confirm.text.contains(">Delete</button>"), "no Delete button while used");

    let csrf = confirm.csrf();
    let refused =
        b.post("/orgs/admin/truststores/default-truststore/delete", &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.text.contains("tls-client-profile-default:1.0.0"));

    let profile = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";
    let page = b.get(&format!("{profile}/delete")).await;
    assert!(page.text.contains(">Delete</button>"));
    let done = b.post(&format!("{profile}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let tls = b.get(done.location()).await;
    assert!(
        tls.text.contains(r#"role="status""#)
            && tls.text.contains("tls-client-profile-default:1.0.0")
    );
    let gone = api
        .call("GET", "/api/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0", None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_edit_over_a_newer_change_is_refused_and_keeps_the_form() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let path = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";
    let form = b.get(&format!("{path}/edit")).await;
    let csrf = form.csrf();
    let etag = {
        let at = form.text.find(r#"name="etag" value=""#).unwrap() + r#"name="etag" value=""#.len();
        form.text[at..at + form.text[at..].find('"').unwrap()].replace("&quot;", "\"")
    };
    // Someone else changes the profile meanwhile.
    let patch = json!({"summary": "changed elsewhere"});
    let api_path = "/api/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";
    assert_eq!(api.call("PATCH", api_path, Some(patch)).await.status, StatusCode::OK);

    let page = b
        .post(
            &format!("{path}/edit"),
            &[
                ("csrf", &csrf),
                ("etag", &etag),
                ("title", "Mine"),
                ("version", "1.0.0"),
                ("protocols", "tls_v1.2"),
                ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text.contains("Someone changed this item after you opened the form"));
    assert!(page.text.contains(r#"value="Mine""#));
    let stored = api.call("GET", api_path, None).await;
    assert_eq!(stored.body["summary"], "changed elsewhere");
    assert_eq!(stored.body["title"], "Default TLS client profile");
}

#[tokio::test]
async fn visibility_is_set_from_the_profile_menu() {
    let (api, mut b) = console().await;
    let pat = json!({"username": "pat", "realm": "provider/default-idp-2", "password": PASSWORD});
    assert_eq!(api.call("POST", "/api/users", Some(pat)).await.status, StatusCode::CREATED);
    let owner = json!({"username": "pat", "realm": "provider/default-idp-2"});
    let org = json!({"name": "acme", "title": "Acme", "owner": owner});
    let r = api.call("POST", "/api/orgs", Some(org)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let path = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0/visibility";
    let form = b.get(path).await;
    assert!(form.text.contains(r#"value="acme""#), "provider orgs are offered");
    let etag = {
        let at = form.text.find(r#"name="etag" value=""#).unwrap() + r#"name="etag" value=""#.len();
        form.text[at..at + form.text[at..].find('"').unwrap()].replace("&quot;", "\"")
    };
    let csrf = form.csrf();
    let saved = b
        .post(path, &[("csrf", &csrf), ("etag", &etag), ("type", "custom"), ("orgs", "acme")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let detail = b.get(saved.location()).await;
    assert!(detail.text.contains("custom: acme"));
    assert!(detail.text.contains("provider organisation acme"), "listed under Used by");
    let stored = api
        .call("GET", "/api/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0", None)
        .await;
    assert_eq!(stored.body["visibility"], json!({"type": "custom", "orgs": ["acme"]}));
}

#[tokio::test]
async fn a_server_profile_page_shows_the_certificate_it_presents() {
    let (_api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let page = b.get("/orgs/admin/tls-server-profiles/tls-server-profile-default/1.0.0").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Presented (keystore)"));
    assert!(page.text.contains("CN=tlsdeck-default"), "the default keystore's certificate");
    assert!(page.text.contains("Mutual authentication"));
    assert!(!page.text.contains("Test connection"), "only client profiles connect out");
}

#[tokio::test]
async fn an_admin_manager_lands_in_admin_and_switches_only_among_own_orgs() {
    let (api, mut b) = console().await;
    // "acme" sorts before "admin"; the admin owner manages it but is not its member.
    let pat = json!({"username": "pat", "realm": "provider/default-idp-2", "password": PASSWORD});
    assert_eq!(api.call("POST", "/api/users", Some(pat)).await.status, StatusCode::CREATED);
    let owner = json!({"username": "pat", "realm": "provider/default-idp-2"});
    let org = json!({"name": "acme", "title": "Acme", "owner": owner});
    assert_eq!(api.call("POST", "/api/orgs", Some(org)).await.status, StatusCode::CREATED);

    let page = b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let home = b.get(page.location()).await;
    assert_eq!(home.location(), "/orgs/admin/tls");
    let tls = b.get("/orgs/admin/tls").await;
    assert!(!tls.text.contains(r#"<option value="acme""#), "no switch to an org one is not in");

    let mut pat_browser = Browser::new(api.app.clone());
    let page = pat_browser.log_in("pat", PASSWORD, "provider/default-idp-2").await;
    assert_eq!(pat_browser.get(page.location()).await.location(), "/orgs/acme/tls");
    let acme = pat_browser.get("/orgs/acme/tls").await;
    assert_eq!(acme.status, StatusCode::OK);
    assert!(acme.text.contains("Shared with this organisation"));
    let admin = pat_browser.get("/orgs/admin/tls").await;
    assert_eq!(admin.status, StatusCode::NOT_FOUND, "a provider user cannot open admin");
}

#[tokio::test]
async fn enter_saves_and_an_edit_never_renames_by_itself() {
    let (_api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let form = b.get("/orgs/admin/tls-client-profiles/new").await;
    let first_submit = form.text.find(r#"type="submit""#).unwrap();
    let first_preset = form.text.find(r#"name="preset""#).unwrap();
    let save = form.text[first_submit..].find("Save").unwrap() + first_submit;
    assert!(save < first_preset, "Enter presses Save, not a preset");
    assert!(
        form.text.contains(r#"data-name-from="f-title""#),
        "a new profile's name follows its title"
    );

    let edit = b.get("/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0/edit").await;
    assert!(!edit.text.contains("data-name-from"), "an edit keeps the stored name");
    let ks = b.get("/orgs/admin/keystores/default-keystore/edit").await;
    assert!(!ks.text.contains("data-name-from"));
}

#[tokio::test]
async fn a_summary_typed_on_several_lines_is_saved() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let csrf = b.csrf().await;
    let page = b
        .post(
            "/orgs/admin/tls-client-profiles",
            &[
                ("csrf", &csrf),
                ("title", "Lines"),
                ("version", "1.0.0"),
                ("summary", "first line\r\nsecond line"),
                ("protocols", "tls_v1.2"),
                ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
    let stored = api.call("GET", "/api/orgs/admin/tls-client-profiles/lines/1.0.0", None).await;
    assert_eq!(stored.body["summary"], "first line\nsecond line");
}

#[tokio::test]
async fn forms_are_refused_to_those_who_could_not_save_them() {
    let (api, mut b) = console().await;
    let user = json!({"username": "vera", "realm": ADMIN_REALM, "password": PASSWORD});
    assert_eq!(api.call("POST", "/api/users", Some(user)).await.status, StatusCode::CREATED);
    let member = json!({"username": "vera", "roles": ["viewer"]});
    assert!(api.call("POST", "/api/orgs/admin/members", Some(member)).await.status.is_success());
    b.log_in("vera", PASSWORD, ADMIN_REALM).await;
    let profile = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";
    for path in [
        "/orgs/admin/tls-client-profiles/new".to_owned(),
        "/orgs/admin/keystores/new".to_owned(),
        format!("{profile}/edit"),
        format!("{profile}/delete"),
        format!("{profile}/visibility"),
        "/orgs/admin/truststores/default-truststore/delete".to_owned(),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let elsewhere = b.get("/orgs/nowhere/keystores/new").await;
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert_eq!(b.get(profile).await.status, StatusCode::OK, "a viewer reads");
}

#[tokio::test]
async fn stray_requests_get_pages_and_the_api_keeps_problem_json() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let profile = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";
    let probe = b.get(&format!("{profile}/probe")).await;
    assert_eq!((probe.status, probe.location()), (StatusCode::SEE_OTHER, profile));
    let list = b.get("/orgs/admin/keystores").await;
    assert_eq!(list.location(), "/orgs/admin/tls");
    let missing = b.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("<h1>Not found</h1>"));
    let wrong_method = b.post("/orgs/admin/tls", &[]).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.text.contains("<h1>"), "a page, not an empty body");
    let r = api.call("GET", "/api/no/such/endpoint", None).await;
    support::assert_problem(&r, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unusable_etag_never_overwrites_blindly() {
    let (api, mut b) = console().await;
    b.log_in("admin", support::PASSWORD, ADMIN_REALM).await;
    let csrf = b.csrf().await;
    let path = "/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0/edit";
    let page = b
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("etag", "bogus\nx"),
                ("title", "Overwritten"),
                ("version", "1.0.0"),
                ("protocols", "tls_v1.2"),
                ("ciphers", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let stored = api
        .call("GET", "/api/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0", None)
        .await;
    assert_eq!(stored.body["title"], "Default TLS client profile");
}
