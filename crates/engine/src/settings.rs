//! The OpenSSL settings that client and server contexts share: exactly the profile's versions
//! and suites, at the profile's security level.

use openssl::ssl::{SslCipherRef, SslContextBuilder, SslOptions, SslVersion};
use tlsdeck_model::{ProtocolVersion, cipher};

use crate::effective::Plan;
use crate::error::EngineError;

/// Checks `plan` and applies its versions, suites and security level to `b`.
pub(crate) fn apply(b: &mut SslContextBuilder, plan: &Plan<'_>) -> Result<(), EngineError> {
    plan.check()?;
    set_versions(b, plan)?;
    set_suites(b, plan)?;
    b.set_security_level(plan.security_level());
    Ok(())
}

/// Sets exactly the chosen versions: the ends, and the "no" options for gaps between them.
fn set_versions(b: &mut SslContextBuilder, plan: &Plan<'_>) -> Result<(), EngineError> {
    let (Some(min), Some(max)) = (plan.min(), plan.max()) else {
        return Err(EngineError::NoProtocol);
    };
    b.set_min_proto_version(Some(ssl_version(min)))
        .map_err(|e| EngineError::refused("minimum protocol version", &e))?;
    b.set_max_proto_version(Some(ssl_version(max)))
        .map_err(|e| EngineError::refused("maximum protocol version", &e))?;
    let all = ProtocolVersion::ALL.into_iter().fold(SslOptions::empty(), |o, v| o | no_option(v));
    b.clear_options(all);
    for gap in plan.gaps() {
        b.set_options(no_option(gap));
    }
    Ok(())
}

/// Sets exactly the profile's suites: older ones as the cipher list, TLS 1.3 ones apart.
fn set_suites(b: &mut SslContextBuilder, plan: &Plan<'_>) -> Result<(), EngineError> {
    if let Some(list) = plan.cipher_list() {
        b.set_cipher_list(&list).map_err(|e| EngineError::refused("cipher list", &e))?;
    }
    let suites = plan.ciphersuites().unwrap_or_default();
    b.set_ciphersuites(&suites).map_err(|e| EngineError::refused("TLS 1.3 ciphersuites", &e))
}

/// The catalogue name of a negotiated suite, or OpenSSL's name for one outside the catalogue.
pub(crate) fn canonical_name(c: &SslCipherRef) -> String {
    let code_point = u16::from_be_bytes(c.protocol_id());
    match cipher::by_code_point(code_point) {
        Some(suite) => suite.name.to_owned(),
        None => c.standard_name().unwrap_or(c.name()).to_owned(),
    }
}

/// The model's name of a negotiated version.
pub(crate) fn protocol(v: SslVersion) -> Option<ProtocolVersion> {
    ProtocolVersion::ALL.into_iter().find(|p| ssl_version(*p) == v)
}

fn ssl_version(v: ProtocolVersion) -> SslVersion {
    match v {
        ProtocolVersion::Tls10 => SslVersion::TLS1,
        ProtocolVersion::Tls11 => SslVersion::TLS1_1,
        ProtocolVersion::Tls12 => SslVersion::TLS1_2,
        ProtocolVersion::Tls13 => SslVersion::TLS1_3,
    }
}

fn no_option(v: ProtocolVersion) -> SslOptions {
    match v {
        ProtocolVersion::Tls10 => SslOptions::NO_TLSV1,
        ProtocolVersion::Tls11 => SslOptions::NO_TLSV1_1,
        ProtocolVersion::Tls12 => SslOptions::NO_TLSV1_2,
        ProtocolVersion::Tls13 => SslOptions::NO_TLSV1_3,
    }
}
