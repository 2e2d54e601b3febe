//! A few reads of DER structure that OpenSSL's Rust API does not offer.
//!
//! Only definite lengths are read; anything unexpected answers `None`.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const OID: u8 = 0x06;
/// `[3] EXPLICIT`, the extensions of a TBSCertificate.
const EXTENSIONS: u8 = 0xa3;
/// The DER encoding of OID 2.5.29.19, basicConstraints.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// More extensions than any real certificate carries.
const MAX_EXTENSIONS: usize = 256;

/// One tag-length-value element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The contents of an element with `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// A non-negative INTEGER's value, when it fits in 64 bits.
fn small_integer(contents: &[u8]) -> Option<u64> {
    let trimmed = match contents {
        [0, rest @ ..] => rest,
        [first, ..] if first & 0x80 != 0 => return None,
        other => other,
    };
    if trimmed.len() > 8 {
        return None;
    }
    Some(trimmed.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Whether DER input is an `EncryptedPrivateKeyInfo` rather than a plain key.
///
/// An encrypted PKCS#8 key opens with an algorithm SEQUENCE; PKCS#8, PKCS#1 and SEC1 keys
/// open with a version INTEGER.
pub(crate) fn is_encrypted_pkcs8(input: &[u8]) -> bool {
    let Some((contents, _)) = expect(input, SEQUENCE) else { return false };
    let Some((_, rest)) = expect(contents, SEQUENCE) else { return false };
    expect(rest, OCTET_STRING).is_some()
}

/// Whether a certificate's basicConstraints extension says it is a CA.
pub(crate) fn is_ca(certificate: &[u8]) -> bool {
    basic_constraints_ca(certificate).unwrap_or(false)
}

fn basic_constraints_ca(certificate: &[u8]) -> Option<bool> {
    let (cert, _) = expect(certificate, SEQUENCE)?;
    let (mut tbs, _) = expect(cert, SEQUENCE)?;
    // The TBSCertificate holds at most ten fields; the extensions come last.
    for _ in 0..10 {
        let (tag, contents, rest) = element(tbs)?;
        if tag == EXTENSIONS {
            return ca_flag_in(contents);
        }
        tbs = rest;
    }
    None
}

/// The cA flag in an `[3]` extensions field; `false` when basicConstraints is absent.
fn ca_flag_in(explicit: &[u8]) -> Option<bool> {
    let (mut extensions, _) = expect(explicit, SEQUENCE)?;
    for _ in 0..MAX_EXTENSIONS {
        if extensions.is_empty() {
            return Some(false);
        }
        let (extension, rest) = expect(extensions, SEQUENCE)?;
        let (oid, mut fields) = expect(extension, OID)?;
        if oid == BASIC_CONSTRAINTS {
            if let Some((_, after_critical)) = expect(fields, BOOLEAN) {
                fields = after_critical;
            }
            let (value, _) = expect(fields, OCTET_STRING)?;
            let (constraints, _) = expect(value, SEQUENCE)?;
            return Some(matches!(expect(constraints, BOOLEAN), Some(([b], _)) if *b != 0));
        }
        extensions = rest;
    }
    None
}

/// The MAC key-derivation rounds of a PKCS#12 file, when it carries a MAC.
pub(crate) fn pkcs12_mac_iterations(input: &[u8]) -> Option<u64> {
    let (pfx, _) = expect(input, SEQUENCE)?;
    let (_, rest) = expect(pfx, INTEGER)?;
    let (_, rest) = expect(rest, SEQUENCE)?;
    let (mac_data, _) = expect(rest, SEQUENCE)?;
    let (_, rest) = expect(mac_data, SEQUENCE)?;
    let (_, rest) = expect(rest, OCTET_STRING)?;
    match expect(rest, INTEGER) {
        Some((rounds, _)) => small_integer(rounds).or(Some(u64::MAX)),
        None => Some(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        assert_eq!(element(&[0x04, 0x01, 0xaa, 0xbb]), Some((0x04, &[0xaa][..], &[0xbb][..])));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert_eq!(element(&long).map(|(_, c, _)| c.len()), Some(0x80));
    }

    #[test]
    fn refuses_truncated_and_indefinite_lengths() {
        assert_eq!(element(&[0x04, 0x05, 0xaa]), None);
        assert_eq!(element(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(element(&[0x30]), None);
    }

    #[test]
    fn reads_pkcs12_mac_iterations() {
        let mac = [0x30, 0x0a, 0x30, 0x00, 0x04, 0x01, 0xaa, 0x02, 0x03, 0x0f, 0x42, 0x41];
        let mut pfx = vec![0x30, 0x05 + mac.len() as u8, 0x02, 0x01, 0x03, 0x30, 0x00];
        pfx.extend(mac);
        assert_eq!(pkcs12_mac_iterations(&pfx), Some(1_000_001));
        assert_eq!(pkcs12_mac_iterations(&[0x30, 0x00]), None);
    }

    #[test]
    fn reads_small_integers() {
        assert_eq!(small_integer(&[0x00, 0x80]), Some(128));
        assert_eq!(small_integer(&[0x80]), None);
        assert_eq!(small_integer(&[0x08, 0x00]), Some(2048));
    }
}
