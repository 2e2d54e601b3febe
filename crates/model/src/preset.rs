//! Ready starting points for a new profile: which protocols and suites to pick.
//!
//! A preset only fills in a form; the profile's own rules still apply when it is saved.

use crate::cipher::{CATALOGUE, CipherSuite, KeyExchange, Strength};
use crate::protocol::ProtocolVersion;

/// A named choice of protocols and suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// TLS 1.3 only, with its AEAD suites.
    Modern,
    /// TLS 1.2 and 1.3 with forward-secret AEAD suites: what most servers speak today.
    Intermediate,
    /// TLS 1.0 to 1.3 and every suite the linked OpenSSL can still use, for old peers.
    Legacy,
}

impl Preset {
    /// Every preset, from the strictest.
    pub const ALL: [Preset; 3] = [Self::Modern, Self::Intermediate, Self::Legacy];

    /// The lower-case name used in forms, e.g. `intermediate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Modern => "modern",
            Self::Intermediate => "intermediate",
            Self::Legacy => "legacy",
        }
    }

    /// The preset of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The protocols the preset enables.
    pub fn protocols(self) -> &'static [ProtocolVersion] {
        use ProtocolVersion::{Tls10, Tls11, Tls12, Tls13};
        match self {
            Self::Modern => &[Tls13],
            Self::Intermediate => &[Tls12, Tls13],
            Self::Legacy => &[Tls10, Tls11, Tls12, Tls13],
        }
    }

    /// The suites the preset picks, in catalogue order.
    pub fn ciphers(self) -> impl Iterator<Item = &'static CipherSuite> {
        CATALOGUE.iter().filter(move |s| self.picks(s))
    }

    fn picks(self, s: &CipherSuite) -> bool {
        // The two CCM suites are rarely enabled by servers and CCM_8 has a short tag.
        let common_tls13 = s.is_tls13() && !s.encryption.starts_with("AES-128-CCM");
        match self {
            Self::Modern => common_tls13,
            Self::Intermediate => {
                common_tls13
                    || (s.strength == Strength::Strong && s.key_exchange == KeyExchange::Ecdhe)
            }
            // 3DES is left out: OpenSSL 3 builds usually lack it, and it is broken anyway.
            Self::Legacy => common_tls13 || (!s.is_tls13() && s.strength > Strength::Insecure),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_can_speak_each_of_its_protocols() {
        for preset in Preset::ALL {
            for &version in preset.protocols() {
                assert!(
                    preset.ciphers().any(|s| s.supports(version)),
                    "{} has no suite for {}",
                    preset.as_str(),
                    version.as_str()
                );
            }
        }
    }

    #[test]
    fn presets_grow_from_modern_to_legacy() {
        let count = |p: Preset| p.ciphers().count();
        assert_eq!(count(Preset::Modern), 3);
        assert!(count(Preset::Modern) < count(Preset::Intermediate));
        assert!(count(Preset::Intermediate) < count(Preset::Legacy));
        assert!(Preset::Intermediate.ciphers().all(|s| s.strength == Strength::Strong));
        assert!(Preset::Legacy.ciphers().all(|s| !s.is_3des()));
    }

    #[test]
    fn names_round_trip() {
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.as_str()), Some(preset));
        }
        assert_eq!(Preset::parse("Modern"), None);
    }
}
