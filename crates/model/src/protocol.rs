//! TLS protocol versions as profiles name them (`tls_v1.2`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A TLS protocol version a profile may negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// TLS 1.0 (RFC 2246); legacy.
    #[serde(rename = "tls_v1.0")]
    Tls10,
    /// TLS 1.1 (RFC 4346); legacy.
    #[serde(rename = "tls_v1.1")]
    Tls11,
    /// TLS 1.2 (RFC 5246).
    #[serde(rename = "tls_v1.2")]
    Tls12,
    /// TLS 1.3 (RFC 8446).
    #[serde(rename = "tls_v1.3")]
    Tls13,
}

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [ProtocolVersion; 4] = [Self::Tls10, Self::Tls11, Self::Tls12, Self::Tls13];

    /// The name used in profiles, e.g. `tls_v1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls10 => "tls_v1.0",
            Self::Tls11 => "tls_v1.1",
            Self::Tls12 => "tls_v1.2",
            Self::Tls13 => "tls_v1.3",
        }
    }

    /// True for TLS 1.0 and 1.1, which modern deployments should not use.
    pub fn is_legacy(self) -> bool {
        self < Self::Tls12
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a protocol name outside the four known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol '{0}' (expected one of tls_v1.0, tls_v1.1, tls_v1.2, tls_v1.3)")]
pub struct UnknownProtocol(pub String);

impl FromStr for ProtocolVersion {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_version() {
        for v in ProtocolVersion::ALL {
            assert_eq!(v.as_str().parse::<ProtocolVersion>(), Ok(v));
        }
    }

    #[test]
    fn refuses_other_spellings() {
        let err = "TLSv1.2".parse::<ProtocolVersion>().unwrap_err();
        assert!(err.to_string().contains("'TLSv1.2'"));
    }
}
