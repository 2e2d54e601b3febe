//! The cipher-suite catalogue: every suite a profile may name, with what it is made of.
//!
//! Canonical names follow the source product: TLS 1.3 suites keep the `TLS_` prefix,
//! older suites drop it. Input may also use the IANA or the OpenSSL spelling.

use std::fmt;

use serde::Serialize;

use crate::protocol::ProtocolVersion;

/// How a suite agrees on keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyExchange {
    /// Ephemeral elliptic-curve Diffie-Hellman (forward secret).
    Ecdhe,
    /// Ephemeral finite-field Diffie-Hellman (forward secret).
    Dhe,
    /// Static RSA key transport (no forward secrecy).
    Rsa,
    /// TLS 1.3: negotiated separately from the suite.
    #[serde(rename = "any")]
    Any,
}

/// How the server proves its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Authentication {
    /// An RSA certificate.
    Rsa,
    /// An ECDSA certificate.
    Ecdsa,
    /// A DSA certificate.
    Dss,
    /// TLS 1.3: decided by the signature algorithms, not the suite.
    #[serde(rename = "any")]
    Any,
}

/// How well a suite holds up today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Broken in practice (64-bit block ciphers: Sweet32).
    Insecure,
    /// No forward secrecy.
    Weak,
    /// Forward secret, but CBC with HMAC (mac-then-encrypt).
    Medium,
    /// Forward secret with authenticated encryption.
    Strong,
}

/// One cipher suite of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CipherSuite {
    /// The name profiles store, e.g. `ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub name: &'static str,
    /// The IANA registry name, e.g. `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    pub iana_name: &'static str,
    /// The OpenSSL name, e.g. `ECDHE-RSA-AES128-GCM-SHA256`.
    pub openssl_name: &'static str,
    /// The two-byte code point sent on the wire.
    #[serde(serialize_with = "serialize_code_point")]
    pub code_point: u16,
    /// The protocol versions the suite can be negotiated in.
    pub protocols: &'static [ProtocolVersion],
    /// Key exchange.
    pub key_exchange: KeyExchange,
    /// Server authentication.
    pub authentication: Authentication,
    /// Bulk encryption, e.g. `AES-128-GCM`.
    pub encryption: &'static str,
    /// Message authentication: `AEAD` or the HMAC hash.
    pub mac: &'static str,
    /// How well the suite holds up today.
    pub strength: Strength,
}

fn serialize_code_point<S: serde::Serializer>(cp: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{:02X},0x{:02X}", cp >> 8, cp & 0xff))
}

impl CipherSuite {
    /// True for the TLS 1.3 suites, which OpenSSL configures through a call of their own.
    pub fn is_tls13(&self) -> bool {
        self.protocols == TLS13
    }

    /// True when the suite can be negotiated in `version`.
    pub fn supports(&self, version: ProtocolVersion) -> bool {
        self.protocols.contains(&version)
    }

    /// True for CBC-mode suites.
    pub fn is_cbc(&self) -> bool {
        self.encryption.ends_with("-CBC")
    }

    /// True for triple-DES suites.
    pub fn is_3des(&self) -> bool {
        self.encryption.starts_with("3DES")
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

use Authentication as Au;
use KeyExchange as Kx;
use ProtocolVersion::{Tls10, Tls11, Tls12, Tls13};

const TLS13: &[ProtocolVersion] = &[Tls13];
const TLS12: &[ProtocolVersion] = &[Tls12];
const TLS10_12: &[ProtocolVersion] = &[Tls10, Tls11, Tls12];

macro_rules! suite {
    ($name:literal, $ossl:literal, $cp:literal, $protos:ident, $kx:ident, $au:ident,
     $enc:literal, $mac:literal, $strength:ident) => {
        CipherSuite {
            name: $name,
            iana_name: iana!($name),
            openssl_name: $ossl,
            code_point: $cp,
            protocols: $protos,
            key_exchange: Kx::$kx,
            authentication: Au::$au,
            encryption: $enc,
            mac: $mac,
            strength: Strength::$strength,
        }
    };
}

macro_rules! iana {
    ($name:literal) => {
        if $name.as_bytes()[0] == b'T' { $name } else { concat!("TLS_", $name) }
    };
}

/// The catalogue, in the source product's order, then the TLS 1.2 ChaCha20 suites.
#[rustfmt::skip]
pub static CATALOGUE: &[CipherSuite] = &[
    suite!("TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", 0x1302, TLS13, Any, Any, "AES-256-GCM", "AEAD", Strong),
    suite!("TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", 0x1303, TLS13, Any, Any, "CHACHA20-POLY1305", "AEAD", Strong),
    suite!("TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", 0x1301, TLS13, Any, Any, "AES-128-GCM", "AEAD", Strong),
    suite!("TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256", 0x1304, TLS13, Any, Any, "AES-128-CCM", "AEAD", Strong),
    suite!("TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", 0x1305, TLS13, Any, Any, "AES-128-CCM-8", "AEAD", Strong),
    suite!("ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, TLS12, Ecdhe, Ecdsa, "AES-256-GCM", "AEAD", Strong),
    suite!("ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 0xC030, TLS12, Ecdhe, Rsa, "AES-256-GCM", "AEAD", Strong),
    suite!("ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384", 0xC024, TLS12, Ecdhe, Ecdsa, "AES-256-CBC", "SHA384", Medium),
    suite!("ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384", 0xC028, TLS12, Ecdhe, Rsa, "AES-256-CBC", "SHA384", Medium),
    suite!("ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", 0xC00A, TLS10_12, Ecdhe, Ecdsa, "AES-256-CBC", "SHA1", Medium),
    suite!("ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", 0xC014, TLS10_12, Ecdhe, Rsa, "AES-256-CBC", "SHA1", Medium),
    suite!("DHE_DSS_WITH_AES_256_GCM_SHA384", "DHE-DSS-AES256-GCM-SHA384", 0x00A3, TLS12, Dhe, Dss, "AES-256-GCM", "AEAD", Strong),
    suite!("DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384", 0x009F, TLS12, Dhe, Rsa, "AES-256-GCM", "AEAD", Strong),
    suite!("DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256", 0x006B, TLS12, Dhe, Rsa, "AES-256-CBC", "SHA256", Medium),
    suite!("DHE_DSS_WITH_AES_256_CBC_SHA256", "DHE-DSS-AES256-SHA256", 0x006A, TLS12, Dhe, Dss, "AES-256-CBC", "SHA256", Medium),
    suite!("DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA", 0x0039, TLS10_12, Dhe, Rsa, "AES-256-CBC", "SHA1", Medium),
    suite!("DHE_DSS_WITH_AES_256_CBC_SHA", "DHE-DSS-AES256-SHA", 0x0038, TLS10_12, Dhe, Dss, "AES-256-CBC", "SHA1", Medium),
    suite!("RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", 0x009D, TLS12, Rsa, Rsa, "AES-256-GCM", "AEAD", Weak),
    suite!("RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256", 0x003D, TLS12, Rsa, Rsa, "AES-256-CBC", "SHA256", Weak),
    suite!("RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", 0x0035, TLS10_12, Rsa, Rsa, "AES-256-CBC", "SHA1", Weak),
    suite!("ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, TLS12, Ecdhe, Ecdsa, "AES-128-GCM", "AEAD", Strong),
    suite!("ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, TLS12, Ecdhe, Rsa, "AES-128-GCM", "AEAD", Strong),
    suite!("ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256", 0xC023, TLS12, Ecdhe, Ecdsa, "AES-128-CBC", "SHA256", Medium),
    suite!("ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", 0xC027, TLS12, Ecdhe, Rsa, "AES-128-CBC", "SHA256", Medium),
    suite!("ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", 0xC009, TLS10_12, Ecdhe, Ecdsa, "AES-128-CBC", "SHA1", Medium),
    suite!("ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", 0xC013, TLS10_12, Ecdhe, Rsa, "AES-128-CBC", "SHA1", Medium),
    suite!("DHE_DSS_WITH_AES_128_GCM_SHA256", "DHE-DSS-AES128-GCM-SHA256", 0x00A2, TLS12, Dhe, Dss, "AES-128-GCM", "AEAD", Strong),
    suite!("DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", 0x009E, TLS12, Dhe, Rsa, "AES-128-GCM", "AEAD", Strong),
    suite!("DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256", 0x0067, TLS12, Dhe, Rsa, "AES-128-CBC", "SHA256", Medium),
    suite!("DHE_DSS_WITH_AES_128_CBC_SHA256", "DHE-DSS-AES128-SHA256", 0x0040, TLS12, Dhe, Dss, "AES-128-CBC", "SHA256", Medium),
    suite!("DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA", 0x0033, TLS10_12, Dhe, Rsa, "AES-128-CBC", "SHA1", Medium),
    suite!("DHE_DSS_WITH_AES_128_CBC_SHA", "DHE-DSS-AES128-SHA", 0x0032, TLS10_12, Dhe, Dss, "AES-128-CBC", "SHA1", Medium),
    suite!("RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", 0x009C, TLS12, Rsa, Rsa, "AES-128-GCM", "AEAD", Weak),
    suite!("RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", 0x003C, TLS12, Rsa, Rsa, "AES-128-CBC", "SHA256", Weak),
    suite!("RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", 0x002F, TLS10_12, Rsa, Rsa, "AES-128-CBC", "SHA1", Weak),
    suite!("ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-ECDSA-DES-CBC3-SHA", 0xC008, TLS10_12, Ecdhe, Ecdsa, "3DES-EDE-CBC", "SHA1", Insecure),
    suite!("ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", 0xC012, TLS10_12, Ecdhe, Rsa, "3DES-EDE-CBC", "SHA1", Insecure),
    suite!("DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DHE-RSA-DES-CBC3-SHA", 0x0016, TLS10_12, Dhe, Rsa, "3DES-EDE-CBC", "SHA1", Insecure),
    suite!("DHE_DSS_WITH_3DES_EDE_CBC_SHA", "DHE-DSS-DES-CBC3-SHA", 0x0013, TLS10_12, Dhe, Dss, "3DES-EDE-CBC", "SHA1", Insecure),
    suite!("RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", 0x000A, TLS10_12, Rsa, Rsa, "3DES-EDE-CBC", "SHA1", Insecure),
    suite!("ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, TLS12, Ecdhe, Ecdsa, "CHACHA20-POLY1305", "AEAD", Strong),
    suite!("ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, TLS12, Ecdhe, Rsa, "CHACHA20-POLY1305", "AEAD", Strong),
];

/// Finds a suite by its canonical, IANA or OpenSSL name (exact spelling, any case).
pub fn lookup(name: &str) -> Option<&'static CipherSuite> {
    let name = name.trim();
    CATALOGUE.iter().find(|s| {
        s.name.eq_ignore_ascii_case(name)
            || s.iana_name.eq_ignore_ascii_case(name)
            || s.openssl_name.eq_ignore_ascii_case(name)
    })
}

/// Finds a suite by its two-byte code point.
pub fn by_code_point(code_point: u16) -> Option<&'static CipherSuite> {
    CATALOGUE.iter().find(|s| s.code_point == code_point)
}

/// The TLS 1.3 suites, in catalogue order.
pub fn tls13_suites() -> impl Iterator<Item = &'static CipherSuite> {
    CATALOGUE.iter().filter(|s| s.is_tls13())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_source_products_forty_names_in_order_then_chacha() {
        let listed: Vec<&str> = include_str!("../tests/data/apic-ciphers.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect();
        assert_eq!(listed.len(), 40);
        let names: Vec<&str> = CATALOGUE.iter().map(|s| s.name).collect();
        assert_eq!(&names[..40], &listed[..]);
        assert_eq!(
            &names[40..],
            [
                "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
            ]
        );
    }

    #[test]
    fn names_and_code_points_are_unique() {
        for (i, a) in CATALOGUE.iter().enumerate() {
            for b in &CATALOGUE[i + 1..] {
                assert_ne!(a.code_point, b.code_point, "{a} and {b}");
                assert_ne!(a.openssl_name, b.openssl_name, "{a} and {b}");
            }
        }
    }

    #[test]
    fn finds_a_suite_by_each_spelling() {
        let want = "ECDHE_RSA_WITH_AES_128_GCM_SHA256";
        for spelling in
            [want, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]
        {
            assert_eq!(lookup(spelling).map(|s| s.name), Some(want), "{spelling}");
        }
        assert_eq!(lookup("TLS_AES_128_GCM_SHA256").map(|s| s.code_point), Some(0x1301));
        assert!(lookup("ECDHE_RSA_WITH_AES_128_GCM_SHA265").is_none());
    }

    #[test]
    fn classifies_suites() {
        let s = lookup("RSA_WITH_3DES_EDE_CBC_SHA").unwrap();
        assert!(s.is_3des() && s.is_cbc() && !s.is_tls13());
        assert!(s.supports(ProtocolVersion::Tls10));
        assert_eq!(tls13_suites().count(), 5);
    }
}
