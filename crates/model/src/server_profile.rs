//! The TLS server profile: how a listener accepts connections.

use serde::Serialize;
use serde_json::{Value, json};

use crate::cipher::{Authentication, CipherSuite};
use crate::error::ValidationErrors;
use crate::naming::{Name, Version};
use crate::profile::{
    StoreRef, apply_tls13_rule, check_every_protocol_has_a_cipher, check_fields, check_no_gaps,
    parse_bool, parse_ciphers, parse_name, parse_protocols, parse_store_ref, parse_summary,
    parse_title, parse_version, serialize_suites,
};
use crate::protocol::ProtocolVersion;

/// Whether and how a listener asks for client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MutualAuthentication {
    /// No client certificate is asked for.
    #[default]
    None,
    /// One is asked for, and verified if sent.
    Request,
    /// The handshake fails without a valid one.
    Require,
}

impl MutualAuthentication {
    /// The name used in profiles.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Request => "request",
            Self::Require => "require",
        }
    }
}

/// The kind of key a server certificate carries, as far as suite choice is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKey {
    /// An RSA key: serves `*_RSA_*` suites.
    Rsa,
    /// An EC key: serves `*_ECDSA_*` suites.
    Ec,
    /// A DSA key: serves `DHE_DSS_*` suites.
    Dsa,
    /// Another kind (e.g. Ed25519): serves TLS 1.3 only.
    Other,
}

impl ServerKey {
    /// The kind of a key type as the pki crate names it (`RSA`, `EC`, `DSA`, ...).
    pub fn from_key_type(key_type: &str) -> Self {
        match key_type {
            "RSA" | "RSA-PSS" => Self::Rsa,
            "EC" => Self::Ec,
            "DSA" => Self::Dsa,
            _ => Self::Other,
        }
    }

    fn serves(self, suite: &CipherSuite) -> bool {
        match suite.authentication {
            Authentication::Any => true,
            Authentication::Rsa => self == Self::Rsa,
            Authentication::Ecdsa => self == Self::Ec,
            Authentication::Dss => self == Self::Dsa,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Rsa => "an RSA key",
            Self::Ec => "an EC key",
            Self::Dsa => "a DSA key",
            Self::Other => "this kind of key",
        }
    }
}

/// A validated TLS server profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerProfile {
    /// Shown to people.
    pub title: String,
    /// The identifier used in URLs and commands.
    pub name: Name,
    /// Distinguishes profiles that share a name.
    pub version: Version,
    /// A description.
    pub summary: Option<String>,
    /// The protocol versions the listener accepts, oldest first.
    pub protocols: Vec<ProtocolVersion>,
    /// The suites the listener accepts, in its preference order, TLS 1.3 rule applied.
    #[serde(serialize_with = "serialize_suites")]
    pub ciphers: Vec<&'static CipherSuite>,
    /// Whether client certificates are asked for.
    pub mutual_authentication: MutualAuthentication,
    /// Refuse client-initiated renegotiation.
    pub limit_renegotiation: bool,
    /// The keystore with the listener's certificate and key; required.
    pub keystore: StoreRef,
    /// The truststore verifying client certificates.
    pub truststore: Option<StoreRef>,
}

impl ServerProfile {
    /// Validates a JSON object as a server profile, naming every bad field at once.
    pub fn from_json(input: &Value) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let Some(obj) = input.as_object() else {
            errs.push("body", "must be a JSON object");
            return Err(errs);
        };
        check_fields(
            obj,
            &["mutual_authentication", "limit_renegotiation"],
            "tls_server_profile",
            &mut errs,
        );

        let title = parse_title(obj.get("title"), &mut errs);
        let name = parse_name(obj.get("name"), title.as_deref(), &mut errs);
        let version = parse_version(obj.get("version"), &mut errs);
        let summary = parse_summary(obj.get("summary"), &mut errs);
        let protocols = parse_protocols(obj.get("protocols"), &mut errs);
        let ciphers = parse_ciphers(obj.get("ciphers"), &mut errs);
        let mutual = parse_mutual(obj.get("mutual_authentication"), &mut errs);
        let limit = parse_bool(obj, "limit_renegotiation", true, &mut errs);
        let keystore = parse_store_ref(obj, "keystore", &mut errs);
        let truststore = parse_store_ref(obj, "truststore", &mut errs);
        if keystore.is_none() && !errs.fields().iter().any(|e| e.field.starts_with("keystore")) {
            errs.push("keystore", "required: a server profile presents a keystore's certificate");
        }

        let (
            Some(title),
            Some(name),
            Some(version),
            Some(protocols),
            Some(ciphers),
            Some(keystore),
        ) = (title, name, version, protocols, ciphers, keystore)
        else {
            return Err(errs);
        };
        check_no_gaps(&protocols, &mut errs);
        let ciphers = apply_tls13_rule(&protocols, ciphers);
        check_every_protocol_has_a_cipher(&protocols, &ciphers, &mut errs);
        if mutual == MutualAuthentication::Require && truststore.is_none() {
            errs.push(
                "truststore",
                "required when mutual_authentication is require: it verifies client certificates",
            );
        }

        errs.into_result(Self {
            title,
            name,
            version,
            summary,
            protocols,
            ciphers,
            mutual_authentication: mutual,
            limit_renegotiation: limit,
            keystore,
            truststore,
        })
    }

    /// The profile as JSON input, so that a merge patch can be applied and re-validated.
    pub fn to_input(&self) -> Value {
        let mut v = json!({
            "title": self.title,
            "name": self.name,
            "version": self.version,
            "protocols": self.protocols,
            "ciphers": self.ciphers.iter().map(|c| c.name).collect::<Vec<_>>(),
            "mutual_authentication": self.mutual_authentication,
            "limit_renegotiation": self.limit_renegotiation,
        });
        let obj = v.as_object_mut().expect("built as an object");
        if let Some(s) = &self.summary {
            obj.insert("summary".into(), s.clone().into());
        }
        for (field, r) in
            [("keystore", Some(&self.keystore)), ("truststore", self.truststore.as_ref())]
        {
            match r {
                Some(StoreRef::Name(n)) => obj.insert(field.into(), n.clone().into()),
                Some(StoreRef::Url(u)) => obj.insert(format!("{field}_url"), u.clone().into()),
                None => None,
            };
        }
        v
    }

    /// Refuses a profile whose TLS 1.2-and-older suites cannot be served with `key`.
    pub fn check_key(&self, key: ServerKey) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        for &p in self.protocols.iter().filter(|p| **p != ProtocolVersion::Tls13) {
            let servable = self.ciphers.iter().any(|c| c.supports(p) && key.serves(c));
            if !servable {
                errs.push(
                    "ciphers",
                    format!(
                        "no chosen cipher for {p} can be served with the keystore's certificate, \
                         which has {}: choose suites for that key or another keystore",
                        key.describe()
                    ),
                );
            }
        }
        errs.into_result(())
    }

    /// The TLS 1.2-and-older suites, in preference order.
    pub fn tls12_suites(&self) -> impl Iterator<Item = &'static CipherSuite> + '_ {
        self.ciphers.iter().copied().filter(|c| !c.is_tls13())
    }

    /// The TLS 1.3 suites, in preference order.
    pub fn tls13_suites(&self) -> impl Iterator<Item = &'static CipherSuite> + '_ {
        self.ciphers.iter().copied().filter(|c| c.is_tls13())
    }
}

fn parse_mutual(v: Option<&Value>, errs: &mut ValidationErrors) -> MutualAuthentication {
    match v.filter(|v| !v.is_null()).map(|v| v.as_str()) {
        None => MutualAuthentication::None,
        Some(Some("none")) => MutualAuthentication::None,
        Some(Some("request")) => MutualAuthentication::Request,
        Some(Some("require")) => MutualAuthentication::Require,
        Some(_) => {
            errs.push("mutual_authentication", "must be one of none, request, require");
            MutualAuthentication::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(v: Value) -> ServerProfile {
        ServerProfile::from_json(&v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn fills_in_defaults_and_needs_a_keystore() {
        let p = profile(
            json!({"title": "Listener", "keystore": "ks", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}),
        );
        assert_eq!(
            (p.mutual_authentication, p.limit_renegotiation),
            (MutualAuthentication::None, true)
        );
        assert_eq!(p.name.as_str(), "listener");
        let e = ServerProfile::from_json(
            &json!({"title": "x", "ciphers": ["AES128-SHA"], "insecure_server_connections": true}),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["insecure_server_connections", "keystore"]);
    }

    #[test]
    fn require_needs_a_truststore() {
        let e = ServerProfile::from_json(&json!({
            "title": "x", "keystore": "ks", "ciphers": ["AES128-SHA"], "mutual_authentication": "require",
        }))
        .unwrap_err();
        assert_eq!(e.fields()[0].field, "truststore");
        assert!(ServerProfile::from_json(&json!({"title": "x", "keystore": "ks", "ciphers": ["AES128-SHA"], "mutual_authentication": "sometimes"})).is_err());
    }

    #[test]
    fn refuses_suites_the_key_cannot_serve() {
        let p = profile(json!({
            "title": "x", "keystore": "ks", "protocols": ["tls_v1.2", "tls_v1.3"],
            "ciphers": ["ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
        }));
        let e = p.check_key(ServerKey::Rsa).unwrap_err();
        assert!(e.to_string().contains("tls_v1.2") && e.to_string().contains("an RSA key"), "{e}");
        assert!(p.check_key(ServerKey::Ec).is_ok());
        let only13 = profile(
            json!({"title": "x", "keystore": "ks", "protocols": ["tls_v1.3"], "ciphers": ["TLS_AES_128_GCM_SHA256"]}),
        );
        assert!(only13.check_key(ServerKey::Other).is_ok());
    }

    #[test]
    fn round_trips_through_its_input_form() {
        let p = profile(json!({
            "title": "x", "keystore_url": "https://h/api/orgs/admin/keystores/ks", "truststore": "ca",
            "protocols": ["tls_v1.3"], "ciphers": ["TLS_AES_128_GCM_SHA256"], "mutual_authentication": "request",
            "limit_renegotiation": false, "summary": "s",
        }));
        assert_eq!(ServerProfile::from_json(&p.to_input()), Ok(p));
    }
}
