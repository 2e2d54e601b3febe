//! How records become column values, the same in every backend, so that both hold identical
//! values: RFC 3339 times, profile bodies as JSON, keystore chains as JSON lists of hex.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

use crate::{ChangeKind, Result, StoreError, StoreLink, Stored};

/// The current time, as stores record it.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A time as stored: RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`.
/// Stored times compare as text in time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A kind of profile and the table it lives in.
pub(crate) trait ProfileTable: Sized {
    /// The table.
    const TABLE: &'static str;
    /// What its changes are recorded as.
    const KIND: ChangeKind;

    /// Validates a stored body, with its store names put back in.
    fn from_body(body: &Value) -> std::result::Result<Self, String>;
    /// The body to store, without its store references (they live in columns, by id).
    fn body(&self) -> Value;
    /// `NAME:VERSION`.
    fn key(&self) -> String;
    /// The name and version columns.
    fn name_version(&self) -> (&str, &str);
}

impl ProfileTable for ClientProfile {
    const TABLE: &'static str = "tls_client_profiles";
    const KIND: ChangeKind = ChangeKind::ClientProfile;

    fn from_body(body: &Value) -> std::result::Result<Self, String> {
        Self::from_json(body).map_err(|e| e.to_string())
    }

    fn body(&self) -> Value {
        without_refs(self.to_input())
    }

    fn key(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    fn name_version(&self) -> (&str, &str) {
        (self.name.as_str(), self.version.as_str())
    }
}

impl ProfileTable for ServerProfile {
    const TABLE: &'static str = "tls_server_profiles";
    const KIND: ChangeKind = ChangeKind::ServerProfile;

    fn from_body(body: &Value) -> std::result::Result<Self, String> {
        Self::from_json(body).map_err(|e| e.to_string())
    }

    fn body(&self) -> Value {
        without_refs(self.to_input())
    }

    fn key(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }

    fn name_version(&self) -> (&str, &str) {
        (self.name.as_str(), self.version.as_str())
    }
}

fn without_refs(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        for field in ["keystore", "keystore_url", "truststore", "truststore_url"] {
            obj.remove(field);
        }
    }
    v
}

/// The conflict of a taken profile name and version.
pub(crate) fn duplicate<P: ProfileTable>(p: &P) -> String {
    format!("a profile named {} already exists", p.key())
}

/// A profile row before its body is checked against the model.
#[derive(Debug)]
pub(crate) struct ProfileRow {
    pub(crate) id: Uuid,
    pub(crate) org_id: Uuid,
    pub(crate) revision: i64,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) body: String,
    pub(crate) keystore: Option<StoreLink>,
    pub(crate) truststore: Option<StoreLink>,
}

impl ProfileRow {
    /// The stored profile, its body validated with the linked stores' names put back in.
    pub(crate) fn into_stored<P: ProfileTable>(self) -> Result<Stored<P>> {
        let corrupt = |reason: String| StoreError::Corrupt { id: self.id.to_string(), reason };
        let mut json: Value =
            serde_json::from_str(&self.body).map_err(|e| corrupt(e.to_string()))?;
        if let Some(obj) = json.as_object_mut() {
            for (field, l) in [("keystore", &self.keystore), ("truststore", &self.truststore)] {
                if let Some(l) = l {
                    obj.insert(field.into(), l.name.clone().into());
                }
            }
        }
        let profile = P::from_body(&json).map_err(corrupt)?;
        Ok(Stored {
            id: self.id,
            org_id: self.org_id,
            revision: self.revision,
            created_at: self.created_at,
            updated_at: self.updated_at,
            profile,
            keystore: self.keystore,
            truststore: self.truststore,
        })
    }
}

/// A keystore's chain as stored: a JSON list of hex DER certificates, leaf first.
pub(crate) fn chain_text(chain: &[Vec<u8>]) -> String {
    serde_json::to_string(&chain.iter().map(hex::encode).collect::<Vec<_>>())
        .expect("a list of strings serialises")
}

/// The chain [`chain_text`] stored.
pub(crate) fn parse_chain(text: &str) -> std::result::Result<Vec<Vec<u8>>, String> {
    let hex: Vec<String> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    hex.iter().map(hex::decode).collect::<std::result::Result<_, _>>().map_err(|e| e.to_string())
}

/// Which kind of store a profile column points at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoreKind {
    Keystore,
    Truststore,
}

impl StoreKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Self::Keystore => "keystores",
            Self::Truststore => "truststores",
        }
    }

    /// The profile column that points at this kind of store.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Self::Keystore => "keystore_id",
            Self::Truststore => "truststore_id",
        }
    }

    pub(crate) fn change(self) -> ChangeKind {
        match self {
            Self::Keystore => ChangeKind::Keystore,
            Self::Truststore => ChangeKind::Truststore,
        }
    }

    /// The conflict of a taken store name.
    pub(crate) fn taken(self, name: &str) -> String {
        let table = self.table();
        format!("a {} named {name} already exists", &table[..table.len() - 1])
    }
}

/// The profile tables that can point at a store, with how their rows are named to people.
pub(crate) const PROFILE_TABLES: [(&str, &str); 2] =
    [("tls_client_profiles", "tls-client-profile"), ("tls_server_profiles", "tls-server-profile")];

/// The tables whose rows the change feed reports, with the kind it reports them as.
pub(crate) const CHANGE_TABLES: [(&str, ChangeKind); 4] = [
    ("tls_client_profiles", ChangeKind::ClientProfile),
    ("tls_server_profiles", ChangeKind::ServerProfile),
    ("keystores", ChangeKind::Keystore),
    ("truststores", ChangeKind::Truststore),
];

/// How many changes the feed keeps; older ones are pruned as new ones are written.
pub(crate) const CHANGES_KEPT: i64 = 10_000;
