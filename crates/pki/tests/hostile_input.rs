//! Parsers never panic: random bytes and mutations of real inputs are refused or read, calmly.

mod common;

use std::sync::OnceLock;

use common::{openssl, pki, write};
use proptest::prelude::*;
use tlsdeck_pki::{parse_certificate, parse_keystore, parse_keystore_parts, parse_truststore};

/// Valid inputs to mutate: a PEM keystore, a DER certificate, a PKCS#12 file, a PEM bundle.
fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let pki = pki();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "leaf.pem", pki.leaf.cert_pem());
        write(dir.path(), "key.pem", pki.leaf.key_pkcs8_pem());
        openssl(
            dir.path(),
            &[
                "pkcs12", "-export", "-in", "leaf.pem", "-inkey", "key.pem", "-passout", "pass:p",
                "-out", "k.p12",
            ],
        );
        let keystore =
            pki.leaf.cert_pem() + &pki.intermediate.cert_pem() + &pki.leaf.key_pkcs8_pem();
        let encrypted = pki
            .leaf
            .key
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"p")
            .unwrap();
        vec![
            keystore.into_bytes(),
            pki.leaf.cert.to_der().unwrap(),
            std::fs::read(dir.path().join("k.p12")).unwrap(),
            (pki.root.cert_pem() + &pki.intermediate.cert_pem()).into_bytes(),
            [pki.leaf.cert.to_pem().unwrap(), encrypted].concat(),
        ]
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn mutate(mut input: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = input.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if let Some(byte) = input.get_mut(i % len) {
                    *byte ^= b;
                }
            }
            Mutation::Truncate(i) => input.truncate(i % len),
            Mutation::Insert(i, v) => {
                let at = i % (input.len() + 1);
                input.splice(at..at, v.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let at = i % len;
                let end = (at + n).min(input.len());
                input.drain(at.min(end)..end);
            }
        }
    }
    input
}

fn feed(input: &[u8]) {
    for password in [None, Some("p")] {
        let _ = parse_keystore(input, password);
        let _ = parse_truststore(input, password);
    }
    let _ = parse_keystore_parts(input, input, Some("p"));
    let _ = parse_certificate(input);
}

const LABELS: [&str; 6] = [
    "CERTIFICATE",
    "X509 CERTIFICATE",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
];

/// 256 cases each, and no regression files written into the source tree.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        feed(&input);
    }

    #[test]
    fn mutated_real_inputs_never_panic(
        seed in 0..5usize,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let input = mutate(seeds()[seed].clone(), &mutations);
        feed(&input);
    }

    #[test]
    fn random_pem_like_text_never_panics(
        label in prop::sample::select(LABELS.to_vec()),
        headers in prop::collection::vec("[A-Za-z-]{1,12}: [ -~]{0,40}", 0..3),
        body in "[A-Za-z0-9+/=\r\n -]{0,400}",
        end in any::<bool>(),
    ) {
        let mut text = format!("-----BEGIN {label}-----\n{}\n\n{body}\n", headers.join("\n"));
        if end {
            text.push_str(&format!("-----END {label}-----\n"));
        }
        feed(text.as_bytes());
    }
}
