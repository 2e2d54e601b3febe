//! PEM text as real files hold it: any line ends, a byte-order mark, junk around the blocks.

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use zeroize::Zeroizing;

use crate::error::PkiError;

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";
const BOM: &[u8] = b"\xef\xbb\xbf";
/// More blocks than a 4 MiB input can hold.
const MAX_BLOCKS: usize = 200_000;
const MAX_LABEL: usize = 64;

/// Base64 that accepts bodies with or without their final `=` padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `-----BEGIN label-----` ... `-----END label-----` block, decoded.
pub(crate) struct Block {
    /// The label, e.g. `CERTIFICATE` or `RSA PRIVATE KEY`.
    pub(crate) label: String,
    /// RFC 1421 headers such as `Proc-Type` and `DEK-Info`, as written.
    pub(crate) headers: Vec<(String, String)>,
    /// The decoded body.
    pub(crate) der: Zeroizing<Vec<u8>>,
}

impl Block {
    /// Whether the headers mark a traditionally encrypted key (`Proc-Type: 4,ENCRYPTED`).
    pub(crate) fn is_encrypted(&self) -> bool {
        self.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("Proc-Type")
                && value.to_ascii_uppercase().contains("ENCRYPTED")
        })
    }

    /// The block as canonical PEM text, for OpenSSL's PEM readers.
    pub(crate) fn to_pem(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(format!("-----BEGIN {}-----\n", self.label));
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\n"));
        }
        if !self.headers.is_empty() {
            out.push('\n');
        }
        let body = Zeroizing::new(general_purpose::STANDARD.encode(&*self.der));
        for line in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&format!("-----END {}-----\n", self.label));
        out
    }
}

/// Whether the input holds at least the start of a PEM block.
pub(crate) fn looks_like_pem(input: &[u8]) -> bool {
    find(input, BEGIN, 0).is_some()
}

/// Every PEM block in the input, in order; text outside the blocks is ignored.
///
/// A certificate or key block without an END line, or whose body is not base64, is an error;
/// other unfinished blocks are skipped.
pub(crate) fn blocks(input: &[u8]) -> Result<Vec<Block>, PkiError> {
    let text = normalise(input);
    let mut found = Vec::new();
    let mut pos = 0;
    for _ in 0..MAX_BLOCKS {
        let Some(start) = find(&text, BEGIN, pos) else { break };
        let after_begin = start + BEGIN.len();
        let Some(label) = label_at(&text[after_begin..]) else {
            pos = after_begin;
            continue;
        };
        let body_start = after_begin + label.len() + DASHES.len();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = find(&text, end_marker.as_bytes(), body_start) else {
            if is_wanted(&label) {
                return Err(PkiError::MalformedPem { label, reason: "has no END line" });
            }
            pos = body_start;
            continue;
        };
        found.push(decode_body(label, &text[body_start..end])?);
        pos = end + end_marker.len();
    }
    Ok(found)
}

/// Whether a label names something this crate reads: a certificate or a private key.
pub(crate) fn is_wanted(label: &str) -> bool {
    is_certificate(label) || label.ends_with("PRIVATE KEY")
}

/// Whether a label names a certificate, including the old and the OpenSSL-trusted forms.
pub(crate) fn is_certificate(label: &str) -> bool {
    matches!(label, "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE")
}

/// The input without a leading byte-order mark, with CRLF and bare CR turned into LF.
fn normalise(input: &[u8]) -> Zeroizing<Vec<u8>> {
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let mut out = Zeroizing::new(Vec::with_capacity(input.len()));
    let mut bytes = input.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\r' {
            bytes.next_if_eq(&&b'\n');
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

/// The label that follows `-----BEGIN `, when it is plain and closed by dashes on its line.
fn label_at(text: &[u8]) -> Option<String> {
    let len = text.iter().take(MAX_LABEL + 1).position(|&b| b == b'-')?;
    let label = &text[..len];
    let plain = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ';
    if len == 0 || !label.iter().all(plain) || !text[len..].starts_with(DASHES) {
        return None;
    }
    String::from_utf8(label.to_vec()).ok()
}

/// The headers and decoded body between a block's BEGIN and END lines.
fn decode_body(label: String, body: &[u8]) -> Result<Block, PkiError> {
    let mut headers = Vec::new();
    let mut encoded = Zeroizing::new(Vec::with_capacity(body.len()));
    for line in body.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        match header(line) {
            Some(pair) if encoded.is_empty() => headers.push(pair),
            _ => encoded.extend(line.iter().filter(|b| !b.is_ascii_whitespace())),
        }
    }
    match LENIENT.decode(&*encoded) {
        Ok(der) => Ok(Block { label, headers, der: Zeroizing::new(der) }),
        Err(_) => Err(PkiError::MalformedPem { label, reason: "is not valid base64" }),
    }
}

/// A `Name: value` header line; base64 never holds a colon.
fn header(line: &[u8]) -> Option<(String, String)> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = std::str::from_utf8(&line[..colon]).ok()?.trim();
    let value = std::str::from_utf8(&line[colon + 1..]).ok()?.trim();
    Some((name.to_owned(), value.to_owned()))
}

/// The first position at or after `from` where `needle` occurs.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let tail = haystack.get(from..)?;
    tail.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_crlf_and_bare_cr_into_lf_and_drops_the_bom() {
        assert_eq!(&*normalise(b"\xef\xbb\xbfa\r\nb\rc\n"), b"a\nb\nc\n");
    }

    #[test]
    fn finds_blocks_among_binary_junk() {
        let input =
            b"\x00\xff junk -----BEGIN CERTIFICATE-----\r\nAAEC\r\n-----END CERTIFICATE-----\xfe";
        let found = blocks(input).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(&*found[0].der, &[0, 1, 2]);
    }

    #[test]
    fn reads_traditional_encryption_headers() {
        let input = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
            DEK-Info: AES-128-CBC,00\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let found = blocks(input).unwrap();
        assert!(found[0].is_encrypted());
        assert!(found[0].to_pem().contains("DEK-Info: AES-128-CBC,00\n\nAAEC\n"));
    }

    #[test]
    fn refuses_a_certificate_without_end_line() {
        let err = blocks(b"-----BEGIN CERTIFICATE-----\nAAEC\n").err();
        assert!(matches!(err, Some(PkiError::MalformedPem { .. })));
    }

    #[test]
    fn skips_unknown_and_odd_labels() {
        assert!(blocks(b"-----BEGIN x y-----\n-----BEGIN FOO-----\nAA").unwrap().is_empty());
    }
}
