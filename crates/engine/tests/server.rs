//! A listener accepting through a server context, spoken to by real `openssl s_client` peers
//! on loopback: protocols, suites, client certificates, renegotiation and resumption.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::listener::{Listener, Outcome};
use support::s_client::{Conversation, SClient};
use support::{identity, pem_files, pki, root_truststore, server_profile};
use tempfile::TempDir;
use tlsdeck_engine::{AcceptErrorKind, EngineError, Identity, ServerContext, Trust};
use tlsdeck_model::{ProtocolVersion, ServerProfile};

/// How long a test waits for a client or the listener.
const WAIT: Duration = Duration::from_secs(5);
/// s_client verifies the listener's chain against the test root and stops if it fails.
const VERIFY: [&str; 3] = ["-CAfile", "root.crt", "-verify_return_error"];
/// The client certificate, with the intermediate that leads to the root.
const CLIENT_CERT: [&str; 6] =
    ["-cert", "client.crt", "-key", "client.key", "-cert_chain", "intermediate.crt"];
/// A client certificate from a CA the listener does not trust.
const STRANGER_CERT: [&str; 4] = ["-cert", "stranger.crt", "-key", "stranger.key"];
/// The client certificate's subject, as the engine writes names.
const CLIENT: &str = "CN=tlsdeck client, O=tlsdeck tests";
/// What s_client prints when the server asked for a client certificate.
const ASKED: [&str; 3] =
    ["Acceptable client certificate CA names", "Client Certificate Types", "Requested Signature"];

/// The s_client flag for each version, and the cipher string that lets it use legacy ones.
const CLIENT_VERSIONS: [(ProtocolVersion, &str); 4] = [
    (ProtocolVersion::Tls10, "-tls1"),
    (ProtocolVersion::Tls11, "-tls1_1"),
    (ProtocolVersion::Tls12, "-tls1_2"),
    (ProtocolVersion::Tls13, "-tls1_3"),
];
const ANY_CIPHER: [&str; 2] = ["-cipher", "DEFAULT:@SECLEVEL=0"];

/// The listener's keystore: a server certificate and the intermediate that issued it.
fn keystore() -> Identity {
    let p = pki();
    identity(&[&p.behind_intermediate, &p.intermediate])
}

/// A listener for one profile, the PEM files its clients use, and what it has recorded.
struct Bench {
    listener: Listener,
    dir: TempDir,
}

impl Bench {
    fn new(profile: Value) -> Bench {
        Self::with_context(build(&server_profile(profile)))
    }

    fn with_context(ctx: ServerContext) -> Bench {
        Bench { listener: Listener::start(ctx), dir: pem_files() }
    }

    /// One conversation with s_client (verifying the listener) and how the listener ended it.
    fn talk(&self, args: &[&str]) -> (Conversation, Outcome) {
        let before = self.listener.outcomes().len();
        let all: Vec<&str> = VERIFY.iter().chain(args).copied().collect();
        let conversation = SClient::converse(self.dir.path(), self.listener.port, &all, WAIT);
        let outcomes = self.listener.wait_outcomes(before + 1, WAIT);
        let outcome = outcomes.get(before).cloned().unwrap_or_else(|| {
            panic!("the listener recorded no accept; s_client said {:#?}", conversation.output)
        });
        (conversation, outcome)
    }

    #[track_caller]
    fn accepts(&self, args: &[&str]) -> Accepted {
        let (c, outcome) = self.talk(args);
        assert!(c.succeeded(), "s_client {args:?} failed: {c:#?}\nlistener: {outcome:?}");
        match outcome {
            Outcome::Accepted { protocol, cipher, peer_subject } => {
                Accepted { protocol, cipher, peer_subject, conversation: c }
            }
            Outcome::Refused(e) => panic!("s_client {args:?} talked, yet the listener said {e}"),
        }
    }

    #[track_caller]
    fn refuses(&self, args: &[&str], kind: AcceptErrorKind) -> String {
        let (c, outcome) = self.talk(args);
        assert!(!c.echoed, "s_client {args:?} was answered: {c:#?}");
        assert!(!c.status.is_some_and(|s| s.success()), "s_client {args:?} succeeded: {c:#?}");
        match outcome {
            Outcome::Refused(e) => {
                assert_eq!(e.kind(), kind, "{e}");
                e.reason().to_owned()
            }
            accepted @ Outcome::Accepted { .. } => {
                panic!("s_client {args:?} failed, yet the listener accepted: {accepted:?}")
            }
        }
    }
}

/// What the listener saw of a completed handshake.
#[derive(Debug)]
struct Accepted {
    protocol: Option<ProtocolVersion>,
    cipher: Option<String>,
    peer_subject: Option<String>,
    conversation: Conversation,
}

fn build(p: &ServerProfile) -> ServerContext {
    ServerContext::build(p, &keystore(), &root_truststore())
        .unwrap_or_else(|e| panic!("server context: {e}"))
}

fn tls12(extra: Value) -> Value {
    let mut p = json!({
        "title": "tls 1.2 listener",
        "keystore": "ks",
        "truststore": "ca",
        "protocols": ["tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    });
    merge(&mut p, extra);
    p
}

fn tls13(extra: Value) -> Value {
    let mut p = json!({
        "title": "tls 1.3 listener",
        "keystore": "ks",
        "truststore": "ca",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256"],
    });
    merge(&mut p, extra);
    p
}

fn merge(into: &mut Value, extra: Value) {
    let (Some(into), Value::Object(extra)) = (into.as_object_mut(), extra) else { return };
    into.extend(extra);
}

/// The listener accepts each client version exactly when `protocols` holds it.
fn assert_accepts_only(protocols: &[ProtocolVersion]) {
    let bench = Bench::new(json!({
        "title": "versions",
        "keystore": "ks",
        "protocols": protocols,
        "ciphers": [
            "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_AES_128_GCM_SHA256",
        ],
    }));
    for (version, flag) in CLIENT_VERSIONS {
        let args = [flag, ANY_CIPHER[0], ANY_CIPHER[1]];
        if protocols.contains(&version) {
            let seen = bench.accepts(&args);
            assert_eq!(seen.protocol, Some(version), "{flag}");
        } else {
            // OpenSSL tells a newer client's hello from an older one's only by its wording.
            let reason = bench.refuses(&args, AcceptErrorKind::Handshake);
            assert!(
                reason == "the client offered no protocol version the profile allows"
                    || reason == "tls handshake failed: wrong version number",
                "{flag}: {reason}"
            );
        }
    }
}

#[test]
fn a_tls10_profile_accepts_only_tls10() {
    assert_accepts_only(&[ProtocolVersion::Tls10]);
}

#[test]
fn a_tls11_profile_accepts_only_tls11() {
    assert_accepts_only(&[ProtocolVersion::Tls11]);
}

#[test]
fn a_tls12_profile_accepts_only_tls12() {
    assert_accepts_only(&[ProtocolVersion::Tls12]);
}

#[test]
fn a_tls13_profile_accepts_only_tls13() {
    assert_accepts_only(&[ProtocolVersion::Tls13]);
}

#[test]
fn a_tls12_and_tls13_profile_accepts_both_and_nothing_older() {
    assert_accepts_only(&[ProtocolVersion::Tls12, ProtocolVersion::Tls13]);
}

#[test]
fn a_legacy_profile_accepts_tls10_to_tls12() {
    assert_accepts_only(&[ProtocolVersion::Tls10, ProtocolVersion::Tls11, ProtocolVersion::Tls12]);
}

#[test]
fn a_version_left_out_in_the_middle_is_refused_and_the_others_are_served() {
    // The model refuses gaps; a hand-made profile shows what the listener does anyway.
    let mut p = server_profile(json!({
        "title": "gap", "keystore": "ks",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA"],
    }));
    p.protocols.retain(|v| *v != ProtocolVersion::Tls11);
    let bench = Bench::with_context(build(&p));
    let any = |flag| [flag, ANY_CIPHER[0], ANY_CIPHER[1]];
    assert_eq!(bench.accepts(&any("-tls1")).protocol, Some(ProtocolVersion::Tls10));
    assert_eq!(bench.accepts(&any("-tls1_2")).protocol, Some(ProtocolVersion::Tls12));
    bench.refuses(&any("-tls1_1"), AcceptErrorKind::Handshake);
}

#[test]
fn only_the_profiles_tls12_suites_are_negotiated_in_its_order() {
    let bench = Bench::new(tls12(json!({
        "ciphers": ["ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE_RSA_WITH_AES_128_CBC_SHA256"],
    })));

    let reason = bench.refuses(
        &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
        AcceptErrorKind::Handshake,
    );
    assert_eq!(reason, "the client offered no cipher suite the profile allows");

    let only = bench.accepts(&["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"]);
    assert_eq!(only.cipher.as_deref(), Some("ECDHE_RSA_WITH_AES_128_CBC_SHA256"));

    let client_prefers_cbc = "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-GCM-SHA384";
    let both = bench.accepts(&["-tls1_2", "-cipher", client_prefers_cbc]);
    assert_eq!(both.cipher.as_deref(), Some("ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
    assert!(both.conversation.printed("Cipher is ECDHE-RSA-AES256-GCM-SHA384"));
}

#[test]
fn only_the_profiles_tls13_suites_are_negotiated_in_its_order() {
    let bench = Bench::new(tls13(json!({
        "ciphers": ["TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"],
    })));

    let reason = bench.refuses(
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
        AcceptErrorKind::Handshake,
    );
    assert_eq!(reason, "the client offered no cipher suite the profile allows");

    let only = bench.accepts(&["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"]);
    assert_eq!(only.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));

    let client_prefers_aes = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
    let both = bench.accepts(&["-tls1_3", "-ciphersuites", client_prefers_aes]);
    assert_eq!(both.cipher.as_deref(), Some("TLS_CHACHA20_POLY1305_SHA256"));
}

#[test]
fn a_dhe_suite_is_served() {
    let bench = Bench::new(tls12(json!({"ciphers": ["DHE_RSA_WITH_AES_128_GCM_SHA256"]})));
    let seen = bench.accepts(&["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"]);
    assert_eq!(seen.cipher.as_deref(), Some("DHE_RSA_WITH_AES_128_GCM_SHA256"));
    assert!(seen.conversation.printed("Server Temp Key: DH, 2048 bits"), "{seen:#?}");
}

#[test]
fn require_refuses_a_client_without_a_certificate() {
    for profile in [tls12(json!({})), tls13(json!({}))] {
        let mut profile = profile;
        merge(&mut profile, json!({"mutual_authentication": "require"}));
        let bench = Bench::new(profile);
        let reason = bench.refuses(&[], AcceptErrorKind::ClientCertificate);
        assert_eq!(reason, "client certificate required, but the client sent none");
    }
}

#[test]
fn require_accepts_a_client_certificate_from_the_truststores_ca() {
    for profile in [tls12(json!({})), tls13(json!({}))] {
        let mut profile = profile;
        merge(&mut profile, json!({"mutual_authentication": "require"}));
        let bench = Bench::new(profile);
        let seen = bench.accepts(&CLIENT_CERT);
        assert_eq!(seen.peer_subject.as_deref(), Some(CLIENT));
        assert!(seen.conversation.printed("Acceptable client certificate CA names"));
        assert!(seen.conversation.printed("CN = tlsdeck test root"), "{seen:#?}");
    }
}

#[test]
fn require_refuses_a_client_certificate_from_an_unknown_ca() {
    let bench = Bench::new(tls12(json!({"mutual_authentication": "require"})));
    let reason = bench.refuses(&STRANGER_CERT, AcceptErrorKind::ClientCertificate);
    assert_eq!(
        reason,
        "client certificate rejected: unable to get local issuer certificate at depth 0 \
         (CN=tlsdeck stranger, O=tlsdeck tests)"
    );
}

#[test]
fn request_accepts_a_client_without_a_certificate() {
    for profile in [tls12(json!({})), tls13(json!({}))] {
        let mut profile = profile;
        merge(&mut profile, json!({"mutual_authentication": "request"}));
        let bench = Bench::new(profile);
        let seen = bench.accepts(&[]);
        assert_eq!(seen.peer_subject, None);
        assert!(seen.conversation.printed("Acceptable client certificate CA names"));
    }
}

#[test]
fn request_verifies_a_certificate_that_is_sent() {
    for profile in [tls12(json!({})), tls13(json!({}))] {
        let mut profile = profile;
        merge(&mut profile, json!({"mutual_authentication": "request"}));
        let bench = Bench::new(profile);
        assert_eq!(bench.accepts(&CLIENT_CERT).peer_subject.as_deref(), Some(CLIENT));
        let reason = bench.refuses(&STRANGER_CERT, AcceptErrorKind::ClientCertificate);
        assert!(reason.ends_with("(CN=tlsdeck stranger, O=tlsdeck tests)"), "{reason}");
    }
}

#[test]
fn none_never_asks_for_a_client_certificate() {
    for profile in [tls12(json!({})), tls13(json!({}))] {
        let bench = Bench::new(profile);
        let seen = bench.accepts(&CLIENT_CERT);
        assert_eq!(seen.peer_subject, None, "the certificate was sent unasked");
        for asked in ASKED {
            assert!(!seen.conversation.printed(asked), "{asked}: {seen:#?}");
        }
    }
}

#[test]
fn sessions_with_client_certificates_are_resumed() {
    let bench = Bench::new(tls12(json!({"mutual_authentication": "require"})));
    let args: Vec<&str> = CLIENT_CERT.iter().copied().chain(["-tls1_2", "-reconnect"]).collect();
    let seen = bench.accepts(&args);
    assert!(seen.conversation.printed("Reused, TLSv1.2"), "{seen:#?}");
    assert_eq!(seen.peer_subject.as_deref(), Some(CLIENT));
}

/// Runs a TLS 1.2 conversation in which s_client renegotiates ("R") before its second line;
/// true when the second line was answered.
fn renegotiate(limit_renegotiation: bool) -> (bool, Vec<String>) {
    let bench = Bench::new(tls12(json!({"limit_renegotiation": limit_renegotiation})));
    let args: Vec<&str> = VERIFY.iter().copied().chain(["-tls1_2"]).collect();
    let mut client = SClient::start(bench.dir.path(), bench.listener.port, &args);
    client.send("hello");
    assert!(client.wait_for("echo: hello", WAIT), "no handshake: {:#?}", client.output());

    client.send("R");
    assert!(client.wait_for("RENEGOTIATING", WAIT), "{:#?}", client.output());
    client.send("after");
    let answered = client.wait_for("echo: after", WAIT);
    let (status, output) = client.finish(WAIT);
    assert_eq!(answered, status.is_some_and(|s| s.success()), "{output:#?}");
    (answered, output)
}

#[test]
fn client_initiated_renegotiation_is_refused_when_limited() {
    let (answered, output) = renegotiate(true);
    assert!(!answered, "{output:#?}");
    assert!(output.iter().any(|l| l.contains("no renegotiation")), "{output:#?}");
}

#[test]
fn client_initiated_renegotiation_works_when_not_limited() {
    let (answered, output) = renegotiate(false);
    assert!(answered, "{output:#?}");
}

#[test]
fn a_silent_client_times_out() {
    let ctx = build(&server_profile(tls12(json!({}))));
    let bench = Bench::with_context(ctx.with_handshake_timeout(Duration::from_millis(300)));
    let started = Instant::now();
    let _silent = TcpStream::connect(("127.0.0.1", bench.listener.port)).expect("connect");
    let Outcome::Refused(e) = bench.listener.first_outcome(WAIT) else {
        panic!("a client that sent nothing was accepted");
    };
    assert_eq!(e.kind(), AcceptErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn plain_http_is_named() {
    let bench = Bench::new(tls12(json!({})));
    let mut tcp = TcpStream::connect(("127.0.0.1", bench.listener.port)).expect("connect");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("write");
    let Outcome::Refused(e) = bench.listener.first_outcome(WAIT) else {
        panic!("plain HTTP was accepted");
    };
    assert_eq!(
        (e.kind(), e.reason()),
        (AcceptErrorKind::Handshake, "the client spoke plain HTTP, not TLS")
    );
}

#[test]
fn a_client_that_hangs_up_is_told_apart() {
    let bench = Bench::new(tls12(json!({})));
    drop(TcpStream::connect(("127.0.0.1", bench.listener.port)).expect("connect"));
    let Outcome::Refused(e) = bench.listener.first_outcome(WAIT) else {
        panic!("an empty connection was accepted");
    };
    assert_eq!(e.kind(), AcceptErrorKind::Closed, "{e}");
}

#[test]
fn a_key_that_is_not_the_leafs_is_refused() {
    let p = pki();
    let mut wrong = identity(&[&p.behind_intermediate]);
    wrong.key_pkcs8 = p.localhost.key.private_key_to_pkcs8().expect("pkcs8");
    let err = ServerContext::build(&server_profile(tls12(json!({}))), &wrong, &Trust::System)
        .unwrap_err();
    assert_eq!(
        err,
        EngineError::ServerKeyMismatch { leaf: "CN=behind.localhost, O=tlsdeck tests".into() }
    );
    assert!(err.to_string().starts_with("server certificate: the private key does not match"));
}

#[test]
fn suites_the_key_cannot_serve_are_refused() {
    let profile =
        server_profile(tls12(json!({"ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]})));
    let err = ServerContext::build(&profile, &keystore(), &Trust::System).unwrap_err();
    let EngineError::UnservableSuites(message) = &err else { panic!("{err:?}") };
    assert!(message.contains("tls_v1.2") && message.contains("an RSA key"), "{message}");
}

#[test]
fn an_empty_truststore_is_refused_when_client_certificates_are_asked_for() {
    let profile = server_profile(tls12(json!({"mutual_authentication": "request"})));
    let err =
        ServerContext::build(&profile, &keystore(), &Trust::Certificates(Vec::new())).unwrap_err();
    assert!(matches!(err, EngineError::Trust(_)), "{err}");
    let none = server_profile(tls12(json!({})));
    assert!(ServerContext::build(&none, &keystore(), &Trust::Certificates(Vec::new())).is_ok());
}

#[test]
fn a_profile_without_usable_suites_is_refused() {
    let profile = server_profile(json!({
        "title": "3des", "keystore": "ks", "protocols": ["tls_v1.0"], "ciphers": ["DES-CBC3-SHA"],
    }));
    let err = ServerContext::build(&profile, &keystore(), &Trust::System).unwrap_err();
    assert_eq!(err, EngineError::NoUsableCipher { protocol: ProtocolVersion::Tls10 });
}
