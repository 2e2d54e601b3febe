//! Which catalogue suites the linked OpenSSL can negotiate, asked once per process.

use std::sync::OnceLock;

use openssl::ssl::{Ssl, SslContext, SslMethod};
use tlsdeck_model::CipherSuite;
use tlsdeck_model::cipher::CATALOGUE;

/// True when the linked OpenSSL knows the suite and can put it in a handshake.
pub(crate) fn is_available(suite: &CipherSuite) -> bool {
    static AVAILABLE: OnceLock<Vec<u16>> = OnceLock::new();
    AVAILABLE
        .get_or_init(|| CATALOGUE.iter().filter(|s| ask_openssl(s)).map(|s| s.code_point).collect())
        .contains(&suite.code_point)
}

/// The suite's code point is known, and (for TLS 1.2 and older) its name enables it.
fn ask_openssl(suite: &CipherSuite) -> bool {
    let known = knows_code_point(suite.code_point).unwrap_or(false);
    known && (suite.is_tls13() || enables_by_name(suite.openssl_name))
}

/// OpenSSL decodes the code point to a suite it implements.
fn knows_code_point(code_point: u16) -> Result<bool, openssl::error::ErrorStack> {
    let ctx = SslContext::builder(SslMethod::tls_client())?.build();
    let ssl = Ssl::new(&ctx)?;
    let lists = ssl.bytes_to_cipher_list(&code_point.to_be_bytes(), false)?;
    Ok(lists.suites.iter().any(|c| u16::from_be_bytes(c.protocol_id()) == code_point))
}

/// A cipher list of just this name, at security level 0, is accepted.
fn enables_by_name(openssl_name: &str) -> bool {
    SslContext::builder(SslMethod::tls_client())
        .and_then(|mut b| b.set_cipher_list(&format!("{openssl_name}:@SECLEVEL=0")))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlsdeck_model::cipher::lookup;

    #[test]
    fn modern_suites_are_available_and_3des_is_not() {
        for name in [
            "TLS_AES_128_GCM_SHA256",
            "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "RSA_WITH_AES_128_CBC_SHA",
        ] {
            assert!(is_available(lookup(name).unwrap()), "{name}");
        }
        assert!(!is_available(lookup("RSA_WITH_3DES_EDE_CBC_SHA").unwrap()));
    }
}
