//! The exact OpenSSL settings a client or server profile compiles to, and what a handshake
//! would offer.

use serde::Serialize;
use tlsdeck_model::cipher::KeyExchange;
use tlsdeck_model::{CipherSuite, ClientProfile, ProtocolVersion, ServerProfile, Warning};

use crate::error::EngineError;
use crate::suites::is_available;

const TLS13: ProtocolVersion = ProtocolVersion::Tls13;

/// OpenSSL's security level for profiles without legacy protocols.
pub(crate) const DEFAULT_SECURITY_LEVEL: u32 = 2;
/// The level TLS 1.0 and 1.1 need: OpenSSL 3 refuses their SHA-1 based signatures above it.
pub(crate) const LEGACY_SECURITY_LEVEL: u32 = 0;

/// The OpenSSL settings of a profile, as the engine applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// The TLS 1.2-and-older cipher string; null when no such version is enabled.
    pub cipher_list: Option<String>,
    /// The TLS 1.3 ciphersuites string; null when TLS 1.3 is not enabled.
    pub ciphersuites: Option<String>,
    /// The lowest version, as OpenSSL names it (`TLSv1`, `TLSv1.2`, ...).
    pub min_version: Option<String>,
    /// The highest version, as OpenSSL names it.
    pub max_version: Option<String>,
    /// OpenSSL options set for versions left out between the two, e.g. `NO_TLSv1_1`; for a
    /// server, then its cipher preference and renegotiation options.
    pub options: Vec<String>,
    /// OpenSSL's security level for this profile.
    pub security_level: u32,
    /// The suites a handshake offers, by canonical name, in the order sent; for a server, the
    /// suites it accepts, in the order it prefers them.
    pub offered: Vec<String>,
    /// Suites of the profile that the linked OpenSSL does not support.
    pub unavailable: Vec<String>,
    /// Plain sentences on what the engine adjusted and why.
    pub notes: Vec<String>,
}

/// The settings of `profile`, as [`crate::ClientContext::build`] applies them.
pub fn effective(profile: &ClientProfile) -> Effective {
    Plan::client(profile).effective()
}

/// The settings of `profile`, as [`crate::ServerContext::build`] applies them; `offered` lists
/// the suites the listener accepts, in the order it prefers them.
pub fn server_effective(profile: &ServerProfile) -> Effective {
    let plan = Plan::server(profile);
    let mut e = plan.effective();
    e.options.extend(server_options(profile).iter().map(|o| (*o).to_owned()));
    e.notes.extend(plan.dh_note());
    e
}

/// Engine-level warnings: what the linked OpenSSL cannot do as the profile asks.
pub fn warnings(profile: &ClientProfile) -> Vec<Warning> {
    Plan::client(profile).warnings()
}

/// Engine-level warnings for a server profile: suites the linked OpenSSL cannot serve.
pub fn server_warnings(profile: &ServerProfile) -> Vec<Warning> {
    Plan::server(profile).warnings()
}

/// The OpenSSL options a server context sets beyond the versions, without the `SSL_OP_`
/// prefix.
pub(crate) fn server_options(profile: &ServerProfile) -> [&'static str; 2] {
    let renegotiation =
        if profile.limit_renegotiation { "NO_RENEGOTIATION" } else { "ALLOW_CLIENT_RENEGOTIATION" };
    ["CIPHER_SERVER_PREFERENCE", renegotiation]
}

/// Which end of a connection a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// What the engine does with a profile, before any OpenSSL call.
#[derive(Debug, Clone)]
pub(crate) struct Plan<'a> {
    side: Side,
    /// The chosen suites, in preference order.
    ciphers: &'a [&'static CipherSuite],
    /// The chosen versions, oldest first, without repeats.
    versions: Vec<ProtocolVersion>,
}

impl<'a> Plan<'a> {
    pub(crate) fn client(profile: &'a ClientProfile) -> Self {
        Self::new(Side::Client, &profile.protocols, &profile.ciphers)
    }

    pub(crate) fn server(profile: &'a ServerProfile) -> Self {
        Self::new(Side::Server, &profile.protocols, &profile.ciphers)
    }

    fn new(side: Side, protocols: &[ProtocolVersion], ciphers: &'a [&'static CipherSuite]) -> Self {
        let mut versions = protocols.to_vec();
        versions.sort();
        versions.dedup();
        Self { side, ciphers, versions }
    }

    fn effective(&self) -> Effective {
        let names = |suites: &[&CipherSuite]| suites.iter().map(|s| s.name.to_owned()).collect();
        Effective {
            cipher_list: self.cipher_list(),
            ciphersuites: self.ciphersuites(),
            min_version: self.min().map(|v| openssl_version_name(v).to_owned()),
            max_version: self.max().map(|v| openssl_version_name(v).to_owned()),
            options: self.gaps().iter().map(|v| no_option_name(*v).to_owned()).collect(),
            security_level: self.security_level(),
            offered: names(&self.offered()),
            unavailable: names(&self.unavailable()),
            notes: self.notes(),
        }
    }

    fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        let unavailable = self.unavailable();
        if !unavailable.is_empty() {
            out.push(Warning::new(
                "cipher_unavailable",
                "ciphers",
                format!(
                    "not supported by the linked OpenSSL and left out of the handshake: {}",
                    join(&unavailable)
                ),
            ));
        }
        if let Err(e) = self.check() {
            out.push(Warning::new("no_usable_cipher", "ciphers", e.to_string()));
        }
        if let Some(note) = self.gap_note() {
            out.push(Warning::new("protocol_unreachable", "protocols", note));
        }
        out
    }

    pub(crate) fn min(&self) -> Option<ProtocolVersion> {
        self.versions.first().copied()
    }

    pub(crate) fn max(&self) -> Option<ProtocolVersion> {
        self.versions.last().copied()
    }

    /// Versions between the lowest and the highest that the profile leaves out.
    pub(crate) fn gaps(&self) -> Vec<ProtocolVersion> {
        let (Some(lo), Some(hi)) = (self.min(), self.max()) else {
            return Vec::new();
        };
        ProtocolVersion::ALL
            .into_iter()
            .filter(|v| *v > lo && *v < hi && !self.versions.contains(v))
            .collect()
    }

    /// The versions a handshake can reach. A client offers only the unbroken run from the
    /// lowest one; a server answers each client with the highest chosen version it offers.
    pub(crate) fn reachable(&self) -> Vec<ProtocolVersion> {
        if self.side == Side::Server {
            return self.versions.clone();
        }
        let mut out: Vec<ProtocolVersion> = Vec::new();
        for v in ProtocolVersion::ALL.into_iter().skip_while(|v| Some(*v) != self.min()) {
            if !self.versions.contains(&v) {
                break;
            }
            out.push(v);
        }
        out
    }

    pub(crate) fn security_level(&self) -> u32 {
        if self.versions.iter().any(|v| v.is_legacy()) {
            LEGACY_SECURITY_LEVEL
        } else {
            DEFAULT_SECURITY_LEVEL
        }
    }

    /// The available TLS 1.2-and-older suites some chosen version can use, in profile order.
    pub(crate) fn tls12_suites(&self) -> Vec<&'static CipherSuite> {
        self.ciphers
            .iter()
            .copied()
            .filter(|s| {
                !s.is_tls13()
                    && is_available(s)
                    && self.versions.iter().any(|v| *v != TLS13 && s.supports(*v))
            })
            .collect()
    }

    /// The available TLS 1.3 suites, in profile order, when TLS 1.3 is chosen.
    pub(crate) fn tls13_suites(&self) -> Vec<&'static CipherSuite> {
        if !self.versions.contains(&TLS13) {
            return Vec::new();
        }
        self.ciphers.iter().copied().filter(|s| s.is_tls13() && is_available(s)).collect()
    }

    pub(crate) fn cipher_list(&self) -> Option<String> {
        let any_tls12 = self.versions.iter().any(|v| *v != TLS13);
        any_tls12.then(|| openssl_names(&self.tls12_suites()))
    }

    pub(crate) fn ciphersuites(&self) -> Option<String> {
        let tls13 = self.versions.contains(&TLS13);
        tls13.then(|| openssl_names(&self.tls13_suites()))
    }

    /// The suites in the ClientHello, or those a server accepts: TLS 1.3 ones first, as
    /// OpenSSL sends and prefers them.
    pub(crate) fn offered(&self) -> Vec<&'static CipherSuite> {
        let reachable = self.reachable();
        let usable = |s: &&CipherSuite| reachable.iter().any(|v| s.supports(*v));
        let mut out: Vec<_> = self.tls13_suites().into_iter().filter(usable).collect();
        out.extend(self.tls12_suites().into_iter().filter(usable));
        out
    }

    pub(crate) fn unavailable(&self) -> Vec<&'static CipherSuite> {
        self.ciphers.iter().copied().filter(|s| !is_available(s)).collect()
    }

    /// Every chosen version has a suite the linked OpenSSL can negotiate.
    pub(crate) fn check(&self) -> Result<(), EngineError> {
        if self.versions.is_empty() {
            return Err(EngineError::NoProtocol);
        }
        let usable: Vec<_> = self.tls13_suites().into_iter().chain(self.tls12_suites()).collect();
        match self.versions.iter().find(|v| !usable.iter().any(|s| s.supports(**v))) {
            Some(protocol) => Err(EngineError::NoUsableCipher { protocol: *protocol }),
            None => Ok(()),
        }
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let legacy: Vec<&str> =
            self.versions.iter().filter(|v| v.is_legacy()).map(|v| v.as_str()).collect();
        if !legacy.is_empty() {
            notes.push(format!(
                "security level lowered from {DEFAULT_SECURITY_LEVEL} to \
                 {LEGACY_SECURITY_LEVEL} for this profile because {} {} enabled (OpenSSL \
                 refuses the SHA-1 signatures of TLS 1.0 and 1.1 above level 0)",
                legacy.join(" and "),
                if legacy.len() > 1 { "are" } else { "is" }
            ));
        }
        notes.extend(self.gap_note());
        let unavailable = self.unavailable();
        if !unavailable.is_empty() {
            notes.push(format!(
                "left out because the linked OpenSSL does not support them: {}",
                join(&unavailable)
            ));
        }
        notes.extend(self.unoffered_note());
        notes.extend(self.check().err().map(|e| format!("the profile cannot be applied: {e}")));
        notes
    }

    /// True when a suite the handshake can use has an ephemeral Diffie-Hellman key exchange.
    pub(crate) fn uses_dhe(&self) -> bool {
        self.offered().iter().any(|s| s.key_exchange == KeyExchange::Dhe)
    }

    /// What a server uses for its DHE suites, when it has any.
    fn dh_note(&self) -> Option<String> {
        self.uses_dhe().then(|| {
            "the DHE suites use the ffdhe2048 group of RFC 7919 (OpenSSL has no default group \
             for them)"
                .to_owned()
        })
    }

    /// What a gap in the versions really does to a client's handshake.
    fn gap_note(&self) -> Option<String> {
        let gaps = self.gaps();
        if gaps.is_empty() || self.side == Side::Server {
            return None;
        }
        let reachable = self.reachable();
        let lost: Vec<&str> =
            self.versions.iter().filter(|v| !reachable.contains(v)).map(|v| v.as_str()).collect();
        Some(format!(
            "OpenSSL offers one unbroken range of versions: with {} left out, the handshake offers \
             only {} and never {}",
            versions_text(&gaps),
            versions_text(&reachable),
            lost.join(" or ")
        ))
    }

    /// Available suites that no version the handshake offers can use.
    fn unoffered_note(&self) -> Option<String> {
        let offered = self.offered();
        let never: Vec<_> = self
            .tls13_suites()
            .into_iter()
            .chain(self.tls12_suites())
            .filter(|s| !offered.contains(s))
            .collect();
        (!never.is_empty()).then(|| {
            format!(
                "never offered, because no version the handshake offers can use them: {}",
                join(&never)
            )
        })
    }
}

/// OpenSSL's name of a version, as `MinProtocol` spells it.
pub(crate) fn openssl_version_name(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::Tls10 => "TLSv1",
        ProtocolVersion::Tls11 => "TLSv1.1",
        ProtocolVersion::Tls12 => "TLSv1.2",
        ProtocolVersion::Tls13 => "TLSv1.3",
    }
}

/// OpenSSL's option that disables a version, without the `SSL_OP_` prefix.
pub(crate) fn no_option_name(v: ProtocolVersion) -> &'static str {
    match v {
        ProtocolVersion::Tls10 => "NO_TLSv1",
        ProtocolVersion::Tls11 => "NO_TLSv1_1",
        ProtocolVersion::Tls12 => "NO_TLSv1_2",
        ProtocolVersion::Tls13 => "NO_TLSv1_3",
    }
}

fn openssl_names(suites: &[&CipherSuite]) -> String {
    suites.iter().map(|s| s.openssl_name).collect::<Vec<_>>().join(":")
}

fn join(suites: &[&CipherSuite]) -> String {
    suites.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn versions_text(versions: &[ProtocolVersion]) -> String {
    versions.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(v: serde_json::Value) -> ClientProfile {
        ClientProfile::from_json(&v).unwrap()
    }

    #[test]
    fn compiles_a_tls12_profile_exactly() {
        let p = profile(json!({
            "title": "t",
            "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES256-GCM-SHA384"],
        }));
        let e = effective(&p);
        assert_eq!(
            e.cipher_list.as_deref(),
            Some("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
        );
        assert_eq!(e.ciphersuites, None);
        assert_eq!(
            (e.min_version.as_deref(), e.max_version.as_deref()),
            (Some("TLSv1.2"), Some("TLSv1.2"))
        );
        assert!(e.options.is_empty());
        assert_eq!(e.security_level, 2);
        assert_eq!(
            e.offered,
            ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
        );
        assert!(e.unavailable.is_empty() && e.notes.is_empty(), "{e:?}");
        assert!(warnings(&p).is_empty());
    }

    #[test]
    fn a_gap_sets_the_no_option_lowers_the_level_and_says_what_is_offered() {
        // The model refuses gaps; a hand-made profile shows what the engine does anyway.
        let mut p = profile(json!({
            "title": "t",
            "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
            "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_CBC_SHA"],
        }));
        p.protocols.retain(|v| *v != ProtocolVersion::Tls11);
        let e = effective(&p);
        assert_eq!(e.options, ["NO_TLSv1_1"]);
        assert_eq!(e.security_level, 0);
        assert_eq!(
            (e.min_version.as_deref(), e.max_version.as_deref()),
            (Some("TLSv1"), Some("TLSv1.2"))
        );
        assert_eq!(
            e.cipher_list.as_deref(),
            Some("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA")
        );
        assert_eq!(e.offered, ["ECDHE_RSA_WITH_AES_128_CBC_SHA"]);
        assert_eq!(
            e.notes,
            [
                "security level lowered from 2 to 0 for this profile because tls_v1.0 is enabled \
                 (OpenSSL refuses the SHA-1 signatures of TLS 1.0 and 1.1 above level 0)",
                "OpenSSL offers one unbroken range of versions: with tls_v1.1 left out, the \
                 handshake offers only tls_v1.0 and never tls_v1.2",
                "never offered, because no version the handshake offers can use them: \
                 ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            ]
        );
        let codes: Vec<_> = warnings(&p).iter().map(|w| w.code).collect();
        assert_eq!(codes, ["protocol_unreachable"]);
    }

    #[test]
    fn tls13_rule_gives_both_strings_and_offers_tls13_first() {
        let p = profile(json!({
            "title": "t",
            "protocols": ["tls_v1.2", "tls_v1.3"],
            "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        }));
        let e = effective(&p);
        assert_eq!(
            e.ciphersuites.as_deref(),
            Some(
                "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:\
                 TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256"
            )
        );
        assert_eq!(e.cipher_list.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!(e.offered.len(), 6);
        assert_eq!(e.offered[0], "TLS_AES_256_GCM_SHA384");
        assert_eq!(e.offered[5], "ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(e.max_version.as_deref(), Some("TLSv1.3"));
    }

    #[test]
    fn a_tls13_only_profile_has_no_cipher_list() {
        let p = profile(json!({
            "title": "t",
            "protocols": ["tls_v1.3"],
            "ciphers": ["TLS_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
        }));
        let e = effective(&p);
        assert_eq!(e.cipher_list, None);
        assert_eq!(e.ciphersuites.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(e.offered, ["TLS_AES_128_GCM_SHA256"]);
    }

    #[test]
    fn reports_3des_as_unavailable_and_warns() {
        let p = profile(json!({
            "title": "t",
            "ciphers": ["RSA_WITH_3DES_EDE_CBC_SHA", "RSA_WITH_AES_128_CBC_SHA"],
        }));
        let e = effective(&p);
        assert_eq!(e.unavailable, ["RSA_WITH_3DES_EDE_CBC_SHA"]);
        assert_eq!(e.cipher_list.as_deref(), Some("AES128-SHA"));
        assert_eq!(e.offered, ["RSA_WITH_AES_128_CBC_SHA"]);
        let w = warnings(&p);
        assert_eq!(w[0].code, "cipher_unavailable");
        assert!(w[0].message.contains("RSA_WITH_3DES_EDE_CBC_SHA"));
    }

    #[test]
    fn a_protocol_left_with_only_unavailable_suites_cannot_be_applied() {
        let p = profile(json!({
            "title": "t",
            "protocols": ["tls_v1.0"],
            "ciphers": ["DES-CBC3-SHA"],
        }));
        let plan = Plan::client(&p);
        assert_eq!(
            plan.check(),
            Err(EngineError::NoUsableCipher { protocol: ProtocolVersion::Tls10 })
        );
        assert_eq!(effective(&p).cipher_list.as_deref(), Some(""));
        let codes: Vec<_> = warnings(&p).iter().map(|w| w.code).collect();
        assert_eq!(codes, ["cipher_unavailable", "no_usable_cipher"]);
        assert!(
            effective(&p)
                .notes
                .iter()
                .any(|n| n.contains("cannot be applied") && n.contains("tls_v1.0"))
        );
    }

    #[test]
    fn options_cover_every_left_out_version_between_the_ends() {
        let mut p = profile(json!({
            "title": "t",
            "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2", "tls_v1.3"],
            "ciphers": ["ECDHE_RSA_WITH_AES_128_CBC_SHA"],
        }));
        p.protocols = vec![ProtocolVersion::Tls10, ProtocolVersion::Tls13];
        let e = effective(&p);
        assert_eq!(e.options, ["NO_TLSv1_1", "NO_TLSv1_2"]);
        assert_eq!(Plan::client(&p).reachable(), [ProtocolVersion::Tls10]);
    }

    fn server(v: serde_json::Value) -> ServerProfile {
        ServerProfile::from_json(&v).unwrap()
    }

    #[test]
    fn a_server_prefers_its_own_order_and_limits_renegotiation_by_default() {
        let p = server(json!({
            "title": "t", "keystore": "ks", "protocols": ["tls_v1.2", "tls_v1.3"],
            "ciphers": ["ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"],
        }));
        let e = server_effective(&p);
        assert_eq!(e.options, ["CIPHER_SERVER_PREFERENCE", "NO_RENEGOTIATION"]);
        assert_eq!(e.cipher_list.as_deref(), Some("ECDHE-RSA-AES256-GCM-SHA384"));
        assert_eq!(e.ciphersuites.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(e.offered, ["TLS_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_256_GCM_SHA384"]);
        assert_eq!(e.security_level, 2);
        assert!(e.notes.is_empty(), "{e:?}");
        assert!(server_warnings(&p).is_empty());
    }

    #[test]
    fn a_server_that_allows_renegotiation_says_so_and_names_its_dhe_group() {
        let p = server(json!({
            "title": "t", "keystore": "ks", "limit_renegotiation": false,
            "ciphers": ["DHE_RSA_WITH_AES_128_GCM_SHA256"],
        }));
        let e = server_effective(&p);
        assert_eq!(e.options, ["CIPHER_SERVER_PREFERENCE", "ALLOW_CLIENT_RENEGOTIATION"]);
        assert_eq!(e.notes.len(), 1, "{e:?}");
        assert!(e.notes[0].contains("ffdhe2048"), "{e:?}");
    }

    #[test]
    fn a_server_answers_every_chosen_version_even_across_a_gap() {
        // The model refuses gaps; a hand-made profile shows what the engine does anyway.
        let mut p = server(json!({
            "title": "t", "keystore": "ks",
            "protocols": ["tls_v1.0", "tls_v1.1", "tls_v1.2"],
            "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_CBC_SHA"],
        }));
        p.protocols.retain(|v| *v != ProtocolVersion::Tls11);
        let e = server_effective(&p);
        assert_eq!(e.options, ["NO_TLSv1_1", "CIPHER_SERVER_PREFERENCE", "NO_RENEGOTIATION"]);
        assert_eq!(
            e.offered,
            ["ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE_RSA_WITH_AES_128_CBC_SHA"]
        );
        assert_eq!(e.security_level, 0);
        assert!(server_warnings(&p).is_empty());
    }

    #[test]
    fn a_server_warns_like_a_client_about_suites_openssl_lacks() {
        let p = server(json!({
            "title": "t", "keystore": "ks", "protocols": ["tls_v1.0"], "ciphers": ["DES-CBC3-SHA"],
        }));
        let codes: Vec<_> = server_warnings(&p).iter().map(|w| w.code).collect();
        assert_eq!(codes, ["cipher_unavailable", "no_usable_cipher"]);
        assert_eq!(server_effective(&p).unavailable, ["RSA_WITH_3DES_EDE_CBC_SHA"]);
    }

    #[test]
    fn survives_a_hand_built_profile_without_protocols() {
        let mut p = profile(json!({"title": "t", "ciphers": ["AES128-SHA"]}));
        p.protocols.clear();
        let e = effective(&p);
        assert_eq!((e.min_version, e.max_version, e.cipher_list), (None, None, None));
        assert_eq!(Plan::client(&p).check(), Err(EngineError::NoProtocol));
    }
}
