//! Warnings and a grade for a valid profile: weak choices and partial gaps.

use serde::Serialize;

use crate::cipher::{KeyExchange, Strength};
use crate::profile::ClientProfile;

/// Something about a valid profile that deserves a second look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable identifier, e.g. `legacy_protocol`.
    pub code: &'static str,
    /// The field the warning is about.
    pub field: &'static str,
    /// What is weak or missing, in plain words.
    pub message: String,
}

impl Warning {
    /// A warning about `field`.
    pub fn new(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self { code, field, message: message.into() }
    }
}

/// A letter grade: `A` is best, `F` means the profile does not protect the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Grade {
    /// Modern protocols and forward-secret AEAD suites only.
    A,
    /// Some CBC suites.
    B,
    /// Legacy protocols or suites without forward secrecy.
    C,
    /// Broken suites, or server certificates not verified.
    F,
}

/// The warnings for a profile, weakest choices first.
pub fn warnings(p: &ClientProfile) -> Vec<Warning> {
    let mut out = Vec::new();
    if p.insecure_server_connections {
        out.push(Warning::new(
            "insecure_server_connections",
            "insecure_server_connections",
            "server certificates are not verified: anyone on the path can pose as the server",
        ));
    }
    legacy_protocols(p, &mut out);
    weak_suites(p, &mut out);
    unused_suites(p, &mut out);
    out
}

/// The grade of a profile.
pub fn grade(p: &ClientProfile) -> Grade {
    grade_of(&p.ciphers, &p.protocols, p.insecure_server_connections)
}

/// The grade of a choice of suites and versions; `unverified` when the peer's certificate
/// is not checked.
pub fn grade_of(
    ciphers: &[&crate::CipherSuite],
    protocols: &[crate::ProtocolVersion],
    unverified: bool,
) -> Grade {
    let weakest = ciphers.iter().map(|c| c.strength).min().unwrap_or(Strength::Strong);
    let legacy = protocols.iter().any(|v| v.is_legacy());
    match weakest {
        _ if unverified => Grade::F,
        Strength::Insecure => Grade::F,
        Strength::Weak => Grade::C,
        _ if legacy => Grade::C,
        Strength::Medium => Grade::B,
        Strength::Strong => Grade::A,
    }
}

fn legacy_protocols(p: &ClientProfile, out: &mut Vec<Warning>) {
    let legacy: Vec<_> = p.protocols.iter().filter(|v| v.is_legacy()).map(|v| v.as_str()).collect();
    if !legacy.is_empty() {
        out.push(Warning::new(
            "legacy_protocol",
            "protocols",
            format!(
                "{} {} deprecated (RFC 8996); OpenSSL's security level is lowered to 0 for this profile",
                legacy.join(" and "),
                if legacy.len() > 1 { "are" } else { "is" }
            ),
        ));
    }
}

fn weak_suites(p: &ClientProfile, out: &mut Vec<Warning>) {
    let names = |f: &dyn Fn(&&&crate::CipherSuite) -> bool| -> Vec<&str> {
        p.ciphers.iter().filter(f).map(|c| c.name).collect()
    };
    let triple_des = names(&|c| c.is_3des());
    if !triple_des.is_empty() {
        out.push(Warning::new(
            "weak_cipher_3des",
            "ciphers",
            format!("3DES has a 64-bit block and is open to Sweet32: {}", triple_des.join(", ")),
        ));
    }
    let static_rsa = names(&|c| c.key_exchange == KeyExchange::Rsa);
    if !static_rsa.is_empty() {
        out.push(Warning::new(
            "static_rsa_key_exchange",
            "ciphers",
            format!("static RSA key exchange has no forward secrecy: {}", static_rsa.join(", ")),
        ));
    }
    let cbc = names(&|c| c.is_cbc() && !c.is_3des());
    if !cbc.is_empty() {
        out.push(Warning::new(
            "cbc_cipher",
            "ciphers",
            format!(
                "CBC suites are prone to padding-oracle attacks; prefer GCM or ChaCha20: {}",
                cbc.join(", ")
            ),
        ));
    }
}

fn unused_suites(p: &ClientProfile, out: &mut Vec<Warning>) {
    let unused: Vec<&str> = p
        .ciphers
        .iter()
        .filter(|c| !c.protocols.iter().any(|v| p.allows(*v)))
        .map(|c| c.name)
        .collect();
    if !unused.is_empty() {
        out.push(Warning::new(
            "unused_cipher",
            "ciphers",
            format!("no chosen protocol can use {}", unused.join(", ")),
        ));
    }
}
