//! Plain-data views of X.509 certificates for reports and messages.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};

use crate::report::PeerCertificate;

/// The report entry for one certificate.
pub(crate) fn describe(cert: &X509Ref) -> PeerCertificate {
    PeerCertificate {
        subject: name_text(cert.subject_name()),
        issuer: name_text(cert.issuer_name()),
        not_before: utc(cert.not_before()),
        not_after: utc(cert.not_after()),
    }
}

/// A distinguished name as `CN=..., O=...`, most specific part first.
pub(crate) fn name_text(name: &X509NameRef) -> String {
    let parts: Vec<String> = name
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().map(printable).unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect();
    parts.into_iter().rev().collect::<Vec<_>>().join(", ")
}

/// The names a certificate is for: its DNS and IP subject alternative names, or else its CN.
pub(crate) fn presented_names(cert: &X509Ref) -> Vec<String> {
    let mut names = Vec::new();
    for san in cert.subject_alt_names().iter().flatten() {
        if let Some(dns) = san.dnsname() {
            names.push(printable(dns.to_owned()));
        } else if let Some(ip) = san.ipaddress().and_then(ip_from_bytes) {
            names.push(ip.to_string());
        }
    }
    if names.is_empty() {
        let cn = cert.subject_name().entries_by_nid(Nid::COMMONNAME);
        names.extend(cn.filter_map(|e| e.data().to_string().ok()).map(printable));
    }
    names
}

/// An ASN.1 time as a UTC timestamp, when OpenSSL can compare it.
pub(crate) fn utc(t: &Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(t).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}

/// Text from a certificate, with control characters escaped so it cannot forge log lines.
fn printable(s: String) -> String {
    if s.chars().any(char::is_control) { s.escape_debug().to_string() } else { s }
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(IpAddr::from),
        _ => None,
    }
}
