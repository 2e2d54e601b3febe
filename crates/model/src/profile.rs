//! The TLS client profile: how tlsdeck connects out to a backend.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cipher::{self, CipherSuite};
use crate::error::ValidationErrors;
use crate::naming::{Name, Version};
use crate::protocol::ProtocolVersion;

/// The longest title allowed, in characters.
pub const MAX_TITLE_LEN: usize = 255;
/// The longest summary allowed, in characters.
pub const MAX_SUMMARY_LEN: usize = 2000;

/// Fields an exported profile may carry that tlsdeck sets itself; accepted and ignored.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "type",
    "api_version",
    "id",
    "url",
    "org_url",
    "created_at",
    "updated_at",
    "warnings",
    "revision",
    "metadata",
];

/// A validated TLS client profile. A value of this type obeys every rule of the profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientProfile {
    /// Shown to people.
    pub title: String,
    /// The identifier used in URLs and commands.
    pub name: Name,
    /// Distinguishes profiles that share a name.
    pub version: Version,
    /// A description.
    pub summary: Option<String>,
    /// The protocol versions the profile may negotiate, oldest first, without repeats.
    pub protocols: Vec<ProtocolVersion>,
    /// The suites offered, in preference order, TLS 1.3 rule applied.
    #[serde(serialize_with = "serialize_suites")]
    pub ciphers: Vec<&'static CipherSuite>,
    /// Accept a server certificate that fails verification.
    pub insecure_server_connections: bool,
    /// Send the target host name (SNI) in the handshake.
    pub server_name_indication: bool,
    /// The keystore presenting our client certificate, as the input named it.
    pub keystore: Option<StoreRef>,
    /// The truststore verifying the server, as the input named it.
    pub truststore: Option<StoreRef>,
    /// Which orgs besides the owner may use the profile.
    pub visibility: Visibility,
}

pub(crate) fn serialize_suites<S: serde::Serializer>(
    suites: &[&'static CipherSuite],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(suites.iter().map(|c| c.name))
}

/// A reference to a keystore or truststore, by name or by URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum StoreRef {
    /// The store's name in the profile's org.
    Name(String),
    /// The store's URL (its last path segment is its name or id).
    Url(String),
}

impl StoreRef {
    /// The name or id the reference points at.
    pub fn key(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Url(u) => u.trim_end_matches('/').rsplit('/').next().unwrap_or(u),
        }
    }
}

/// Who besides the owning org may use a profile (`admin` org only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Visibility {
    /// Only the owning org.
    #[default]
    Private,
    /// Every provider org.
    Public,
    /// The listed provider orgs.
    Custom {
        /// Names of the orgs that may use the profile.
        orgs: Vec<String>,
    },
}

impl ClientProfile {
    /// Validates a JSON object as a client profile, naming every bad field at once.
    ///
    /// Read-only fields of exported files are ignored; unknown fields are refused.
    pub fn from_json(input: &Value) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let Some(obj) = input.as_object() else {
            errs.push("body", "must be a JSON object");
            return Err(errs);
        };
        check_known_fields(obj, &mut errs);

        let title = parse_title(obj.get("title"), &mut errs);
        let name = parse_name(obj.get("name"), title.as_deref(), &mut errs);
        let version = parse_version(obj.get("version"), &mut errs);
        let summary = parse_summary(obj.get("summary"), &mut errs);
        let protocols = parse_protocols(obj.get("protocols"), &mut errs);
        let ciphers = parse_ciphers(obj.get("ciphers"), &mut errs);
        let insecure = parse_bool(obj, "insecure_server_connections", false, &mut errs);
        let sni = parse_bool(obj, "server_name_indication", true, &mut errs);
        let keystore = parse_store_ref(obj, "keystore", &mut errs);
        let truststore = parse_store_ref(obj, "truststore", &mut errs);
        let visibility = parse_visibility(obj.get("visibility"), &mut errs);

        let (Some(title), Some(name), Some(version), Some(protocols), Some(ciphers)) =
            (title, name, version, protocols, ciphers)
        else {
            return Err(errs);
        };
        check_no_gaps(&protocols, &mut errs);
        let ciphers = apply_tls13_rule(&protocols, ciphers);
        check_every_protocol_has_a_cipher(&protocols, &ciphers, &mut errs);

        errs.into_result(Self {
            title,
            name,
            version,
            summary,
            protocols,
            ciphers,
            insecure_server_connections: insecure,
            server_name_indication: sni,
            keystore,
            truststore,
            visibility,
        })
    }

    /// The profile as JSON input, so that a merge patch can be applied and re-validated.
    pub fn to_input(&self) -> Value {
        let mut v = serde_json::to_value(self).expect("a profile always serialises");
        let obj = v.as_object_mut().expect("a profile serialises to an object");
        for (field, r) in [("keystore", &self.keystore), ("truststore", &self.truststore)] {
            obj.remove(field);
            match r {
                Some(StoreRef::Name(n)) => obj.insert(field.into(), n.clone().into()),
                Some(StoreRef::Url(u)) => obj.insert(format!("{field}_url"), u.clone().into()),
                None => None,
            };
        }
        v
    }

    /// The TLS 1.2-and-older suites, in preference order.
    pub fn tls12_suites(&self) -> impl Iterator<Item = &'static CipherSuite> + '_ {
        self.ciphers.iter().copied().filter(|c| !c.is_tls13())
    }

    /// The TLS 1.3 suites, in preference order.
    pub fn tls13_suites(&self) -> impl Iterator<Item = &'static CipherSuite> + '_ {
        self.ciphers.iter().copied().filter(|c| c.is_tls13())
    }

    /// True when the profile may negotiate `version`.
    pub fn allows(&self, version: ProtocolVersion) -> bool {
        self.protocols.contains(&version)
    }
}

/// The TLS 1.3 rule: with `tls_v1.3` chosen and no TLS 1.3 suite, every TLS 1.3 suite is
/// added in front; without `tls_v1.3`, chosen TLS 1.3 suites are dropped.
pub fn apply_tls13_rule(
    protocols: &[ProtocolVersion],
    mut ciphers: Vec<&'static CipherSuite>,
) -> Vec<&'static CipherSuite> {
    if !protocols.contains(&ProtocolVersion::Tls13) {
        ciphers.retain(|c| !c.is_tls13());
    } else if !ciphers.iter().any(|c| c.is_tls13()) {
        ciphers.splice(0..0, cipher::tls13_suites());
    }
    ciphers
}

/// Refuses versions with a hole between them: OpenSSL only negotiates an unbroken range, so
/// `[tls_v1.0, tls_v1.2]` would offer TLS 1.0 alone.
pub(crate) fn check_no_gaps(protocols: &[ProtocolVersion], errs: &mut ValidationErrors) {
    let (Some(lo), Some(hi)) = (protocols.first(), protocols.last()) else {
        return;
    };
    let missing: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .filter(|v| *v > lo && *v < hi && !protocols.contains(v))
        .map(|v| v.as_str())
        .collect();
    if !missing.is_empty() {
        errs.push(
            "protocols",
            format!(
                "{lo} to {hi} leaves out {}: a TLS client negotiates only an unbroken range of \
                 versions, so add the missing ones or narrow the range",
                missing.join(" and ")
            ),
        );
    }
}

pub(crate) fn check_every_protocol_has_a_cipher(
    protocols: &[ProtocolVersion],
    ciphers: &[&CipherSuite],
    errs: &mut ValidationErrors,
) {
    for &p in protocols {
        if !ciphers.iter().any(|c| c.supports(p)) {
            errs.push("ciphers", format!("no chosen cipher can be used with {p}"));
        }
    }
}

fn check_known_fields(obj: &Map<String, Value>, errs: &mut ValidationErrors) {
    const OWN: &[&str] = &["insecure_server_connections", "server_name_indication", "visibility"];
    check_fields(obj, OWN, "tls_client_profile", errs);
}

/// Refuses fields that are neither common profile fields, nor `own`, nor read-only ones, and
/// a `type` other than `kind`.
pub(crate) fn check_fields(
    obj: &Map<String, Value>,
    own: &[&str],
    kind: &str,
    errs: &mut ValidationErrors,
) {
    const COMMON: &[&str] = &[
        "title",
        "name",
        "version",
        "summary",
        "protocols",
        "ciphers",
        "keystore",
        "keystore_url",
        "truststore",
        "truststore_url",
    ];
    for key in obj.keys().map(String::as_str) {
        if !COMMON.contains(&key) && !own.contains(&key) && !READ_ONLY_FIELDS.contains(&key) {
            errs.push(key, "unknown field");
        }
    }
    if let Some(t) = obj.get("type").and_then(Value::as_str)
        && t != kind
    {
        errs.push("type", format!("'{t}' is not a {kind}"));
    }
}

pub(crate) fn parse_title(v: Option<&Value>, errs: &mut ValidationErrors) -> Option<String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        errs.push("title", "required");
        return None;
    };
    let Some(s) = v.as_str() else {
        errs.push("title", "must be a string");
        return None;
    };
    let len = s.chars().count();
    if s.trim().is_empty() || len > MAX_TITLE_LEN {
        errs.push("title", format!("must be 1 to {MAX_TITLE_LEN} characters, not blank"));
        return None;
    }
    if s.chars().any(char::is_control) {
        errs.push("title", "must not hold control characters (line breaks, tabs, escapes)");
        return None;
    }
    Some(s.to_owned())
}

pub(crate) fn parse_name(
    v: Option<&Value>,
    title: Option<&str>,
    errs: &mut ValidationErrors,
) -> Option<Name> {
    match v.filter(|v| !v.is_null()) {
        Some(Value::String(s)) => Name::parse(s).map_err(|m| errs.push("name", m)).ok(),
        Some(_) => {
            errs.push("name", "must be a string");
            None
        }
        None => {
            let name = Name::from_title(title?);
            if name.is_none() {
                errs.push(
                    "name",
                    "the title holds no ASCII letter or digit to make a name from: give a name",
                );
            }
            name
        }
    }
}

pub(crate) fn parse_version(v: Option<&Value>, errs: &mut ValidationErrors) -> Option<Version> {
    match v.filter(|v| !v.is_null()) {
        None => Some(Version::default()),
        Some(Value::String(s)) => Version::parse(s).map_err(|m| errs.push("version", m)).ok(),
        Some(_) => {
            errs.push("version", "must be a string");
            None
        }
    }
}

pub(crate) fn parse_summary(v: Option<&Value>, errs: &mut ValidationErrors) -> Option<String> {
    match v.filter(|v| !v.is_null()) {
        None => None,
        Some(Value::String(s)) if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            errs.push(
                "summary",
                "must not hold control characters other than line breaks and tabs",
            );
            None
        }
        Some(Value::String(s)) if s.chars().count() <= MAX_SUMMARY_LEN => {
            (!s.is_empty()).then(|| s.clone())
        }
        Some(Value::String(_)) => {
            errs.push("summary", format!("must be at most {MAX_SUMMARY_LEN} characters"));
            None
        }
        Some(_) => {
            errs.push("summary", "must be a string");
            None
        }
    }
}

pub(crate) fn parse_protocols(
    v: Option<&Value>,
    errs: &mut ValidationErrors,
) -> Option<Vec<ProtocolVersion>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Some(vec![ProtocolVersion::Tls12]);
    };
    let Some(items) = v.as_array() else {
        errs.push("protocols", "must be a list of protocol names");
        return None;
    };
    if items.is_empty() {
        errs.push("protocols", "must name at least one protocol");
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(str::parse::<ProtocolVersion>) {
            Some(Ok(p)) => out.push(p),
            Some(Err(e)) => {
                errs.push(format!("protocols[{i}]"), e.to_string());
                ok = false;
            }
            None => {
                errs.push(format!("protocols[{i}]"), "must be a string");
                ok = false;
            }
        }
    }
    out.sort();
    out.dedup();
    ok.then_some(out)
}

pub(crate) fn parse_ciphers(
    v: Option<&Value>,
    errs: &mut ValidationErrors,
) -> Option<Vec<&'static CipherSuite>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        errs.push("ciphers", "required");
        return None;
    };
    let Some(items) = v.as_array() else {
        errs.push("ciphers", "must be a list of cipher names");
        return None;
    };
    if items.is_empty() {
        errs.push("ciphers", "must name at least one cipher");
        return None;
    }
    let mut out: Vec<&'static CipherSuite> = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let found = item.as_str().map(|s| (s, cipher::lookup(s)));
        match found {
            Some((_, Some(c))) if !out.contains(&c) => out.push(c),
            Some((_, Some(_))) => {}
            Some((s, None)) => {
                errs.push(format!("ciphers[{i}]"), format!("unknown cipher '{s}'"));
                ok = false;
            }
            None => {
                errs.push(format!("ciphers[{i}]"), "must be a string");
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

pub(crate) fn parse_bool(
    obj: &Map<String, Value>,
    field: &str,
    default: bool,
    errs: &mut ValidationErrors,
) -> bool {
    match obj.get(field) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(field, "must be true or false");
            default
        }
    }
}

pub(crate) fn parse_store_ref(
    obj: &Map<String, Value>,
    field: &str,
    errs: &mut ValidationErrors,
) -> Option<StoreRef> {
    let url_field = format!("{field}_url");
    let as_text = |f: &str, errs: &mut ValidationErrors| match obj.get(f) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => {
            errs.push(f, "must be a string");
            None
        }
    };
    let by_name = as_text(field, errs).map(StoreRef::Name);
    let by_url = as_text(&url_field, errs).map(StoreRef::Url);
    match (by_name, by_url) {
        (Some(n), Some(u)) if n.key() != u.key() => {
            errs.push(
                field,
                format!("names '{}' but {url_field} points at '{}'", n.key(), u.key()),
            );
            None
        }
        (n, u) => n.or(u),
    }
}

fn parse_visibility(v: Option<&Value>, errs: &mut ValidationErrors) -> Visibility {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Visibility::Private;
    };
    let kind = v.get("type").and_then(Value::as_str);
    let orgs = v.get("orgs").and_then(Value::as_array);
    match (kind, orgs) {
        (Some("private"), _) => Visibility::Private,
        (Some("public"), _) => Visibility::Public,
        (Some("custom"), Some(orgs)) => parse_visibility_orgs(orgs, errs),
        (Some("custom"), None) => {
            errs.push("visibility.orgs", "a custom visibility lists the orgs");
            Visibility::Private
        }
        _ => {
            errs.push("visibility.type", "must be one of private, public, custom");
            Visibility::Private
        }
    }
}

fn parse_visibility_orgs(orgs: &[Value], errs: &mut ValidationErrors) -> Visibility {
    let mut names = Vec::new();
    for (i, o) in orgs.iter().enumerate() {
        match o.as_str().map(Name::parse) {
            Some(Ok(n)) if !names.contains(&n.to_string()) => names.push(n.to_string()),
            Some(Ok(_)) => {}
            Some(Err(m)) => errs.push(format!("visibility.orgs[{i}]"), m),
            None => errs.push(format!("visibility.orgs[{i}]"), "must be an org name"),
        }
    }
    Visibility::Custom { orgs: names }
}
