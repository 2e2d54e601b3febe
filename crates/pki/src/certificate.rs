//! Certificates as DER bytes with plain metadata, and the warnings their metadata earns.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKeyRef, Public};
use openssl::x509::{X509, X509NameRef, X509Ref};
use serde::{Deserialize, Serialize};
use tlsdeck_model::Warning;

use crate::der;
use crate::error::PkiError;

/// Certificates expiring within this many days are warned about.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// RSA, RSA-PSS and DSA keys below this many bits are weak.
pub const MIN_RSA_BITS: u32 = 2048;

/// What a certificate says about itself, in plain values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// The subject as `CN=..., O=...`, most specific part first.
    pub subject: String,
    /// The issuer, written like the subject.
    pub issuer: String,
    /// The serial number in upper-case hex.
    pub serial: String,
    /// Subject alternative names: `DNS:...`, `IP:...`, `email:...`, `URI:...`.
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The public key's type: `RSA`, `RSA-PSS`, `EC`, `Ed25519`, `Ed448`, `DSA` or `unknown`.
    pub key_type: String,
    /// The public key's size in bits (0 when unknown).
    pub key_bits: u32,
    /// The named curve of an EC key, e.g. `P-256`.
    pub curve: Option<String>,
    /// The signature algorithm, e.g. `sha256WithRSAEncryption`.
    pub signature_algorithm: String,
    /// The SHA-256 fingerprint of the DER encoding, upper-case hex pairs joined by colons.
    pub fingerprint_sha256: String,
    /// Whether basic constraints mark it as a certificate authority.
    pub is_ca: bool,
}

/// One X.509 certificate: its DER encoding and its metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The DER encoding.
    pub der: Vec<u8>,
    /// The metadata read from it.
    pub info: CertInfo,
}

impl Certificate {
    /// The certificate as PEM text.
    pub fn pem(&self) -> String {
        let block = crate::pem::Block {
            label: "CERTIFICATE".to_owned(),
            headers: Vec::new(),
            der: zeroize::Zeroizing::new(self.der.clone()),
        };
        block.to_pem().to_string()
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.info.subject)
            .field("fingerprint_sha256", &self.info.fingerprint_sha256)
            .finish_non_exhaustive()
    }
}

/// Reads one DER-encoded certificate.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate, PkiError> {
    if der.len() > crate::MAX_INPUT_BYTES {
        return Err(PkiError::TooLarge { size: der.len(), limit: crate::MAX_INPUT_BYTES });
    }
    let x509 = X509::from_der(der).map_err(|_| PkiError::CertificateUnreadable { index: 1 })?;
    describe(&x509, 1)
}

/// The certificate and metadata for a parsed X.509 value, the `index`-th of its input.
pub(crate) fn describe(x509: &X509Ref, index: usize) -> Result<Certificate, PkiError> {
    let unreadable = || PkiError::CertificateUnreadable { index };
    let der = x509.to_der().map_err(|_| unreadable())?;
    let fingerprint = x509.digest(MessageDigest::sha256()).map_err(|_| unreadable())?;
    let key = x509.public_key().ok();
    let (key_type, curve) = key.as_deref().map_or(("unknown".to_owned(), None), key_kind);
    let info = CertInfo {
        subject: name_text(x509.subject_name()),
        issuer: name_text(x509.issuer_name()),
        serial: serial_hex(x509),
        sans: sans(x509),
        not_before: utc(x509.not_before()).ok_or_else(unreadable)?,
        not_after: utc(x509.not_after()).ok_or_else(unreadable)?,
        key_type,
        key_bits: key.as_ref().map_or(0, |k| k.bits()),
        curve,
        signature_algorithm: x509.signature_algorithm().object().to_string(),
        fingerprint_sha256: colon_hex(&fingerprint),
        is_ca: der::is_ca(&der),
    };
    Ok(Certificate { der, info })
}

/// The warnings a certificate earns at `now`: expiry, a weak key, a SHA-1 signature.
///
/// A self-signed CA's own signature is not checked by verifiers, so it is not warned about.
pub fn certificate_warnings(info: &CertInfo, now: DateTime<Utc>) -> Vec<Warning> {
    let mut warnings = Vec::new();
    let who = &info.subject;
    let until = info.not_after.format("%Y-%m-%d %H:%M UTC");
    let left = info.not_after - now;
    if left < TimeDelta::zero() {
        let msg = format!("certificate {who} expired on {until}");
        warnings.push(Warning::new("expired", "certificates", msg));
    } else if left <= TimeDelta::days(EXPIRY_WARNING_DAYS) {
        let days = (left.num_seconds() + 86_399) / 86_400;
        let msg = format!("certificate {who} expires in {days} days, on {until}");
        warnings.push(Warning::new("expiring_soon", "certificates", msg));
    }
    if is_weak(info) {
        let msg = format!(
            "certificate {who} has a {}-bit {} key (use at least {MIN_RSA_BITS} bits)",
            info.key_bits, info.key_type
        );
        warnings.push(Warning::new("weak_key", "certificates", msg));
    }
    if is_sha1(&info.signature_algorithm) && !(info.is_ca && info.subject == info.issuer) {
        let msg = format!("certificate {who} is signed with SHA-1 ({})", info.signature_algorithm);
        warnings.push(Warning::new("sha1_signature", "certificates", msg));
    }
    warnings
}

fn is_weak(info: &CertInfo) -> bool {
    matches!(info.key_type.as_str(), "RSA" | "RSA-PSS" | "DSA") && info.key_bits < MIN_RSA_BITS
}

fn is_sha1(algorithm: &str) -> bool {
    let lower = algorithm.to_ascii_lowercase();
    lower.contains("sha1") || lower == "sha-1"
}

/// A distinguished name as `CN=..., O=...`, most specific part first.
pub(crate) fn name_text(name: &X509NameRef) -> String {
    let parts: Vec<String> = name
        .entries()
        .map(|e| {
            let key = match e.object().nid().short_name() {
                Ok(short) => short.to_owned(),
                Err(_) => e.object().to_string(),
            };
            let value = e.data().to_string().map(|v| printable(&v)).unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join(", ")
}

/// The key's type name and, for EC keys, its curve.
fn key_kind(key: &PKeyRef<Public>) -> (String, Option<String>) {
    let id = key.id();
    let name = match id {
        Id::RSA => "RSA",
        Id::RSA_PSS => "RSA-PSS",
        Id::EC => "EC",
        Id::ED25519 => "Ed25519",
        Id::ED448 => "Ed448",
        Id::DSA => "DSA",
        _ => "unknown",
    };
    let curve = if id == Id::EC { key.ec_key().ok().and_then(|k| curve_name(&k)) } else { None };
    (name.to_owned(), curve)
}

fn curve_name(key: &openssl::ec::EcKeyRef<Public>) -> Option<String> {
    let nid = key.group().curve_name()?;
    let name = match nid {
        Nid::X9_62_PRIME256V1 => "P-256",
        Nid::SECP384R1 => "P-384",
        Nid::SECP521R1 => "P-521",
        other => other.short_name().ok()?,
    };
    Some(name.to_owned())
}

fn serial_hex(x509: &X509Ref) -> String {
    let hex = x509.serial_number().to_bn().and_then(|bn| bn.to_hex_str().map(|s| s.to_string()));
    hex.unwrap_or_else(|_| "?".to_owned())
}

fn sans(x509: &X509Ref) -> Vec<String> {
    let mut out = Vec::new();
    for name in x509.subject_alt_names().iter().flatten() {
        if let Some(dns) = name.dnsname() {
            out.push(format!("DNS:{}", printable(dns)));
        } else if let Some(ip) = name.ipaddress().and_then(ip_from_bytes) {
            out.push(format!("IP:{ip}"));
        } else if let Some(email) = name.email() {
            out.push(format!("email:{}", printable(email)));
        } else if let Some(uri) = name.uri() {
            out.push(format!("URI:{}", printable(uri)));
        }
    }
    out
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}

/// An ASN.1 time as a UTC timestamp, when OpenSSL can compare it.
fn utc(t: &Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}

/// Upper-case hex pairs joined by colons, e.g. `AB:01:FF`.
pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

/// Text from a certificate, with control characters escaped so it cannot forge log lines.
fn printable(s: &str) -> String {
    if s.chars().any(char::is_control) { s.escape_debug().to_string() } else { s.to_owned() }
}
