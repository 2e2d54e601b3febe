//! The asynchronous client connection the gateway uses, against real `openssl s_server -www`
//! peers on loopback: the same settings and diagnosis as the probe, plus session resumption.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{SServer, client_identity, free_port, pem_files, pki, profile, root_trust};
use tlsdeck_engine::{
    ClientContext, ClientStream, ConnectError, ConnectOptions, FailureCategory, Target, Trust,
    connect_tcp,
};
use tlsdeck_model::{ClientProfile, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCALHOST: [&str; 4] = ["-cert", "localhost.crt", "-key", "localhost.key"];
const TIMEOUT: Duration = Duration::from_secs(5);

fn tls12() -> ClientProfile {
    profile(json!({
        "title": "tls 1.2",
        "protocols": ["tls_v1.2"],
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
}

fn tls13() -> ClientProfile {
    profile(json!({
        "title": "tls 1.3",
        "protocols": ["tls_v1.3"],
        "ciphers": ["TLS_AES_128_GCM_SHA256"],
    }))
}

fn server(args: &[&str]) -> (SServer, tempfile::TempDir) {
    let dir = pem_files();
    let all: Vec<&str> = LOCALHOST.iter().chain(["-www"].iter()).chain(args).copied().collect();
    (SServer::start(dir.path(), &all), dir)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

async fn connect(
    ctx: &ClientContext,
    target: &Target,
    resume: bool,
) -> Result<ClientStream, ConnectError> {
    let tcp = connect_tcp(target, TIMEOUT).await?;
    ctx.connect(tcp, target, &ConnectOptions { timeout: TIMEOUT, resume }).await
}

/// Asks s_server's status page over `stream` and returns it (its first line says `New` or
/// `Reused`); reading it also takes in the TLS 1.3 tickets the server sent.
async fn status_page(mut stream: ClientStream) -> std::io::Result<String> {
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
    let mut page = String::new();
    let mut chunk = [0u8; 4096];
    for _ in 0..256 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        page.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    Ok(page)
}

fn category_of(r: Result<ClientStream, ConnectError>) -> FailureCategory {
    r.expect_err("the connection should fail").category()
}

#[test]
fn connects_with_the_profiles_version_and_resumes_the_next_time() {
    for (p, flag, version) in
        [(tls12(), "-tls1_2", ProtocolVersion::Tls12), (tls13(), "-tls1_3", ProtocolVersion::Tls13)]
    {
        let (s, _dir) = server(&[flag]);
        let ctx = ClientContext::build(&p, &root_trust()).unwrap();
        runtime().block_on(async {
            let first = connect(&ctx, &s.localhost(), true).await.unwrap();
            assert_eq!(first.protocol(), Some(version));
            assert!(!first.resumed());
            assert!(status_page(first).await.unwrap().contains("\nNew, "));

            let again = connect(&ctx, &s.localhost(), true).await.unwrap();
            assert!(again.resumed(), "{version}: the second connection did a full handshake");
            assert!(status_page(again).await.unwrap().contains("\nReused, "));
        });
    }
}

#[test]
fn a_connection_dropped_without_a_shutdown_leaves_its_session_resumable() {
    let (s, _dir) = server(&["-tls1_2"]);
    let ctx = ClientContext::build(&tls12(), &root_trust()).unwrap();
    runtime().block_on(async {
        drop(connect(&ctx, &s.localhost(), true).await.unwrap());
        let again = connect(&ctx, &s.localhost(), true).await.unwrap();
        assert!(again.resumed(), "dropping the first connection spoilt its session");
    });
}

#[test]
fn without_resumption_and_across_contexts_every_handshake_is_full() {
    let (s, _dir) = server(&["-tls1_3"]);
    let ctx = ClientContext::build(&tls13(), &root_trust()).unwrap();
    let next_revision = ClientContext::build(&tls13(), &root_trust()).unwrap();
    runtime().block_on(async {
        let first = connect(&ctx, &s.localhost(), true).await.unwrap();
        status_page(first).await.unwrap();
        let plain = connect(&ctx, &s.localhost(), false).await.unwrap();
        assert!(!plain.resumed());
        status_page(plain).await.unwrap();
        let other = connect(&next_revision, &s.localhost(), true).await.unwrap();
        assert!(!other.resumed(), "a session crossed from one context to another");
        status_page(other).await.unwrap();
        let by_ip = connect(&ctx, &s.ip(), true).await.unwrap();
        assert!(!by_ip.resumed(), "a session crossed from one server name to another");
    });
}

#[test]
fn failures_have_the_probes_categories() {
    let (tls13_only, _d1) = server(&["-tls1_3"]);
    let (self_signed, _d2) = {
        let dir = pem_files();
        let args = ["-www", "-cert", "self_signed.crt", "-key", "self_signed.key"];
        (SServer::start(dir.path(), &args), dir)
    };
    let ctx12 = ClientContext::build(&tls12(), &root_trust()).unwrap();
    let ctx13 = ClientContext::build(&tls13(), &root_trust()).unwrap();
    let refused: Target = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    runtime().block_on(async {
        let r = connect(&ctx12, &tls13_only.localhost(), true).await;
        assert_eq!(category_of(r), FailureCategory::ProtocolMismatch);
        let r = connect(&ctx13, &self_signed.localhost(), true).await;
        assert_eq!(category_of(r), FailureCategory::UntrustedCertificate);
        let r = connect(&ctx13, &refused, true).await;
        assert_eq!(category_of(r), FailureCategory::ConnectionRefused);
    });
}

#[test]
fn a_tls13_server_that_requires_a_client_certificate_is_explained_at_the_first_read() {
    let (s, _dir) = server(&["-tls1_3", "-Verify", "1", "-CAfile", "root.crt"]);
    let without = ClientContext::build(&tls13(), &root_trust()).unwrap();
    let p = pki();
    let id = client_identity(&[&p.client, &p.intermediate]);
    let with = ClientContext::build_with_identity(&tls13(), &root_trust(), Some(&id)).unwrap();
    runtime().block_on(async {
        // The client's handshake completes before the server looks at the certificate.
        let stream = connect(&without, &s.localhost(), true).await.unwrap();
        let err = status_page(stream).await.unwrap_err();
        let found = ConnectError::find(&err).unwrap_or_else(|| panic!("not diagnosed: {err}"));
        assert_eq!(found.category(), FailureCategory::ClientCertificateRequired, "{found}");

        let stream = connect(&with, &s.localhost(), true).await.unwrap();
        assert!(status_page(stream).await.unwrap().contains("New, TLSv1.3"));
    });
}

#[test]
fn a_tls12_server_that_requires_a_client_certificate_fails_the_handshake() {
    let (s, _dir) = server(&["-tls1_2", "-Verify", "1", "-CAfile", "root.crt"]);
    let ctx = ClientContext::build(&tls12(), &root_trust()).unwrap();
    let r = runtime().block_on(connect(&ctx, &s.localhost(), true));
    assert_eq!(category_of(r), FailureCategory::ClientCertificateRequired);
}

#[test]
fn a_silent_server_times_out_with_the_probes_category() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target: Target =
        format!("localhost:{}", silent.local_addr().unwrap().port()).parse().unwrap();
    let ctx = ClientContext::build(&tls13(), &Trust::System).unwrap();
    let r = runtime().block_on(async {
        let tcp = connect_tcp(&target, TIMEOUT).await?;
        let opts = ConnectOptions { timeout: Duration::from_millis(300), resume: true };
        ctx.connect(tcp, &target, &opts).await
    });
    let err = r.unwrap_err();
    assert_eq!(err.category(), FailureCategory::Timeout);
    assert!(err.message().contains("during the TLS handshake"), "{err}");
}
