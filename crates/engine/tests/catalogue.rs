//! Every catalogue entry, checked against the linked OpenSSL by its code point.

mod support;

use openssl::ssl::{Ssl, SslCipherRef, SslContext, SslMethod};
use serde_json::json;
use support::profile;
use tlsdeck_model::cipher::CATALOGUE;
use tlsdeck_model::{CipherSuite, ProtocolVersion};

fn check_entry(c: &SslCipherRef, entry: &CipherSuite) {
    assert_eq!(c.name(), entry.openssl_name, "{entry}: OpenSSL name");
    assert_eq!(c.standard_name(), Some(entry.iana_name), "{entry}: IANA name");
    assert_eq!(u16::from_be_bytes(c.protocol_id()), entry.code_point, "{entry}: code point");
    let oldest = match c.version() {
        "SSLv3" | "TLSv1.0" => ProtocolVersion::Tls10,
        "TLSv1.2" => ProtocolVersion::Tls12,
        "TLSv1.3" => ProtocolVersion::Tls13,
        other => panic!("{entry}: unexpected version {other}"),
    };
    assert_eq!(entry.protocols.first(), Some(&oldest), "{entry}: oldest protocol");
}

#[test]
fn every_catalogue_entry_matches_openssl_and_only_3des_is_missing() {
    let ctx = SslContext::builder(SslMethod::tls_client()).expect("context").build();
    let ssl = Ssl::new(&ctx).expect("ssl");
    let mut unknown = Vec::new();
    for entry in CATALOGUE {
        let lists =
            ssl.bytes_to_cipher_list(&entry.code_point.to_be_bytes(), false).expect("decode");
        let found: Vec<&SslCipherRef> = lists.suites.iter().collect();
        match found.as_slice() {
            [] => unknown.push(entry.name),
            [c] => check_entry(c, entry),
            more => panic!("{entry}: one code point decoded to {} suites", more.len()),
        }
    }
    let triple_des: Vec<&str> = CATALOGUE.iter().filter(|s| s.is_3des()).map(|s| s.name).collect();
    assert_eq!(triple_des.len(), 5);
    assert_eq!(unknown, triple_des, "only the 3DES suites may be unknown to the linked OpenSSL");
}

#[test]
fn the_missing_suites_show_up_as_unavailable() {
    let everything: Vec<&str> = CATALOGUE.iter().map(|s| s.name).collect();
    let p = profile(json!({
        "title": "everything",
        "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2", "tls_v1.3"],
        "ciphers": everything,
    }));
    let e = tlsdeck_engine::effective(&p);
    let triple_des: Vec<&str> = CATALOGUE.iter().filter(|s| s.is_3des()).map(|s| s.name).collect();
    assert_eq!(e.unavailable, triple_des);

    let mut expected: Vec<&str> =
        CATALOGUE.iter().filter(|s| s.is_tls13()).map(|s| s.name).collect();
    expected.extend(CATALOGUE.iter().filter(|s| !s.is_tls13() && !s.is_3des()).map(|s| s.name));
    assert_eq!(e.offered, expected);

    let codes: Vec<&str> = tlsdeck_engine::warnings(&p).iter().map(|w| w.code).collect();
    assert_eq!(codes, ["cipher_unavailable"]);
}
