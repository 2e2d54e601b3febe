//! The rules of the TLS client profile, as the REST API, CLI and console see them.

use serde_json::json;
use tlsdeck_model::lint::{self, Grade};
use tlsdeck_model::{ClientProfile, ProtocolVersion, ValidationErrors, Visibility};

fn profile(v: serde_json::Value) -> ClientProfile {
    ClientProfile::from_json(&v).unwrap_or_else(|e| panic!("{e}"))
}

fn refused(v: serde_json::Value) -> ValidationErrors {
    ClientProfile::from_json(&v).expect_err("input should be refused")
}

fn fields(e: &ValidationErrors) -> Vec<&str> {
    e.fields().iter().map(|f| f.field.as_str()).collect()
}

fn cipher_names(p: &ClientProfile) -> Vec<&str> {
    p.ciphers.iter().map(|c| c.name).collect()
}

#[test]
fn fills_in_defaults() {
    let p = profile(
        json!({"title": "My Profile 1.0", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}),
    );
    assert_eq!(p.name.as_str(), "my-profile-1-0");
    assert_eq!(p.version.as_str(), "1.0.0");
    assert_eq!(p.protocols, [ProtocolVersion::Tls12]);
    assert!(p.server_name_indication);
    assert!(!p.insecure_server_connections);
    assert_eq!(p.visibility, Visibility::Private);
    assert_eq!(p.summary, None);
}

#[test]
fn stores_cipher_names_in_canonical_spelling() {
    let p = profile(json!({
        "title": "t",
        "ciphers": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(
        cipher_names(&p),
        ["ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
    );
}

#[test]
fn quotes_an_unknown_cipher_and_names_every_bad_field() {
    let e = refused(json!({
        "title": "",
        "version": "-1",
        "protocols": ["tls_v1.2", "ssl_v3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA265"],
        "server_name_indication": "yes",
        "colour": "blue",
    }));
    assert_eq!(
        fields(&e),
        ["colour", "title", "version", "protocols[1]", "ciphers[1]", "server_name_indication"]
    );
    assert!(e.to_string().contains("unknown cipher 'ECDHE_RSA_WITH_AES_128_GCM_SHA265'"), "{e}");
}

#[test]
fn adds_every_tls13_suite_when_tls13_is_chosen_without_one() {
    let p = profile(json!({
        "title": "t",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(
        cipher_names(&p),
        [
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_128_CCM_SHA256",
            "TLS_AES_128_CCM_8_SHA256",
            "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]
    );
}

#[test]
fn keeps_the_chosen_tls13_suites_when_there_are_some() {
    let p = profile(json!({
        "title": "t",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256"],
    }));
    assert_eq!(cipher_names(&p), ["TLS_AES_128_GCM_SHA256"]);
}

#[test]
fn drops_tls13_suites_when_tls13_is_not_chosen() {
    let p = profile(json!({
        "title": "t",
        "ciphers": ["TLS_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(cipher_names(&p), ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]);
}

#[test]
fn refuses_a_protocol_left_without_a_usable_cipher() {
    let e = refused(
        json!({"title": "t", "protocols": ["tls_v1.2"], "ciphers": ["TLS_AES_128_GCM_SHA256"]}),
    );
    assert_eq!(e.to_string(), "ciphers: no chosen cipher can be used with tls_v1.2");

    let e = refused(json!({
        "title": "t",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    assert_eq!(
        e.to_string(),
        "ciphers: no chosen cipher can be used with tls_v1.0; \
         ciphers: no chosen cipher can be used with tls_v1.1"
    );
}

#[test]
fn refuses_a_gap_between_protocol_versions() {
    let e = refused(json!({
        "title": "t",
        "protocols": ["tls_v1.0", "tls_v1.3"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA"],
    }));
    assert_eq!(e.fields()[0].field, "protocols");
    assert!(
        e.fields()[0].message.starts_with("tls_v1.0 to tls_v1.3 leaves out tls_v1.1 and tls_v1.2")
    );
}

#[test]
fn asks_for_a_name_when_the_title_makes_none() {
    let e = refused(json!({"title": "!!!", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}));
    assert_eq!(fields(&e), ["name"]);
    assert!(e.to_string().contains("give a name"));
    let p = profile(
        json!({"title": "!!!", "name": "bangs", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}),
    );
    assert_eq!(p.name.as_str(), "bangs");
}

#[test]
fn accepts_an_exported_file_with_read_only_fields() {
    let p = profile(json!({
        "type": "tls_client_profile",
        "api_version": "2.0.0",
        "id": "5b0c7b6a-3f4e-4d8e-9c1a-2f6e0e9b7c11",
        "name": "exported",
        "version": "2.1.0",
        "title": "Exported",
        "summary": null,
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["TLS_AES_256_GCM_SHA384", "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
        "insecure_server_connections": false,
        "server_name_indication": true,
        "keystore_url": null,
        "truststore_url": null,
        "created_at": "2024-03-01T10:00:00.000Z",
        "updated_at": "2024-03-01T10:00:00.000Z",
        "org_url": "https://apic.example/api/orgs/1",
        "url": "https://apic.example/api/orgs/1/tls-client-profiles/2",
    }));
    assert_eq!((p.name.as_str(), p.version.as_str()), ("exported", "2.1.0"));
}

#[test]
fn refuses_a_file_of_another_type() {
    let e = refused(json!({"type": "keystore", "title": "t", "ciphers": ["AES128-SHA"]}));
    assert_eq!(fields(&e), ["type"]);
}

#[test]
fn round_trips_through_its_input_form() {
    let p = profile(json!({
        "title": "Round trip",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256"],
        "truststore_url": "https://x/api/orgs/admin/truststores/ca",
        "visibility": {"type": "custom", "orgs": ["p1", "p2", "p1"]},
    }));
    assert_eq!(p.truststore.as_ref().map(|t| t.key()), Some("ca"));
    assert_eq!(p.visibility, Visibility::Custom { orgs: vec!["p1".into(), "p2".into()] });
    assert_eq!(ClientProfile::from_json(&p.to_input()), Ok(p));
}

#[test]
fn warns_about_weak_choices() {
    let p = profile(json!({
        "title": "legacy",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
        "ciphers": ["RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        "insecure_server_connections": true,
    }));
    let codes: Vec<&str> = lint::warnings(&p).iter().map(|w| w.code).collect();
    assert_eq!(
        codes,
        [
            "insecure_server_connections",
            "legacy_protocol",
            "weak_cipher_3des",
            "static_rsa_key_exchange",
            "cbc_cipher",
        ]
    );
    assert_eq!(lint::grade(&p), Grade::F);
}

#[test]
fn warns_about_suites_no_chosen_protocol_can_use() {
    let p = profile(json!({
        "title": "t",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }));
    let w = lint::warnings(&p);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].code, "unused_cipher");
    assert!(w[0].message.contains("ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
}

#[test]
fn grades_modern_profiles_a() {
    let p = profile(json!({
        "title": "modern",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"],
    }));
    assert!(lint::warnings(&p).is_empty());
    assert_eq!(lint::grade(&p), Grade::A);
}

#[test]
fn refuses_control_characters_in_title_and_summary() {
    let e = refused(json!({
        "title": "Evil \u{1b}[2J\r\nFAKE",
        "summary": "nul\u{0}byte",
        "ciphers": ["AES128-SHA"],
    }));
    assert_eq!(fields(&e), ["title", "summary"]);
    let p = profile(
        json!({"title": "ok", "summary": "two\nlines\tand a tab", "ciphers": ["AES128-SHA"]}),
    );
    assert_eq!(p.summary.as_deref(), Some("two\nlines\tand a tab"));
}

#[test]
fn never_panics_on_odd_json() {
    for v in [
        json!(null),
        json!([]),
        json!("x"),
        json!({"title": 5, "ciphers": {"a": 1}, "protocols": "tls_v1.2"}),
        json!({"title": "t", "ciphers": [null, 1, []], "visibility": "public"}),
        json!({"title": "t".repeat(300), "summary": "s".repeat(2001), "ciphers": ["AES128-SHA"]}),
    ] {
        assert!(ClientProfile::from_json(&v).is_err(), "{v}");
    }
}
