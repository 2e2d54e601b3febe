//! The records the store hands out.

use chrono::{DateTime, Utc};
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Stable id.
    pub id: Uuid,
    /// Unique name, used in URLs.
    pub name: String,
    /// Shown to people.
    pub title: String,
    /// `admin` for the cloud org, `provider` for the others.
    pub org_type: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A user account in a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: Uuid,
    /// Login name, unique in its realm.
    pub username: String,
    /// The realm, e.g. `admin/default-idp-1`.
    pub realm: String,
    /// Contact address.
    pub email: Option<String>,
    /// The PHC string of the password hash; never the password.
    pub password_hash: String,
    /// A disabled user cannot log in or use tokens.
    pub disabled: bool,
}

/// A change to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// A new contact address (`Some(None)` removes it).
    pub email: Option<Option<String>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// A new password hash (PHC string).
    pub password_hash: Option<String>,
}

/// What creating a user needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// The realm.
    pub realm: String,
    /// Contact address.
    pub email: Option<String>,
    /// The PHC string of the password hash.
    pub password_hash: String,
}

/// A profile as stored, with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<P> {
    /// Stable id.
    pub id: Uuid,
    /// The owning org's id.
    pub org_id: Uuid,
    /// Starts at 1 and grows by one with every update; the ETag is made from it.
    pub revision: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The validated profile; its keystore and truststore name the linked stores.
    pub profile: P,
    /// The keystore it uses.
    pub keystore: Option<StoreLink>,
    /// The truststore it uses.
    pub truststore: Option<StoreLink>,
}

impl<P> Stored<P> {
    /// The revision of everything the profile compiles from: itself and the stores it uses.
    /// A compiled context is valid while this stays the same.
    pub fn material_revision(&self) -> String {
        let rev = |l: &Option<StoreLink>| l.as_ref().map_or(0, |l| l.revision);
        format!("{}.{}.{}", self.revision, rev(&self.keystore), rev(&self.truststore))
    }
}

/// A client profile as stored.
pub type StoredProfile = Stored<ClientProfile>;

/// A server profile as stored.
pub type StoredServerProfile = Stored<ServerProfile>;

/// A window onto a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many items.
    pub limit: u32,
    /// Skip this many first.
    pub offset: u64,
}

impl Default for Page {
    fn default() -> Self {
        Self { limit: 100, offset: 0 }
    }
}

/// A keystore or truststore a profile points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLink {
    /// The store's id.
    pub id: Uuid,
    /// The store's current name.
    pub name: String,
    /// The store's current revision.
    pub revision: i64,
}

/// The stores a profile uses, by id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfileRefs {
    /// The keystore presenting the client certificate.
    pub keystore: Option<Uuid>,
    /// The truststore verifying the server.
    pub truststore: Option<Uuid>,
}

/// Name, title and summary of a keystore or truststore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Unique in the org, used in URLs.
    pub name: String,
    /// Shown to people.
    pub title: String,
    /// A description.
    pub summary: Option<String>,
}

/// A keystore as stored: the chain in the clear, the private key sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKeystore {
    /// Stable id.
    pub id: Uuid,
    /// The owning org's id.
    pub org_id: Uuid,
    /// Name, title and summary.
    pub labels: Labels,
    /// Grows by one with every change.
    pub revision: i64,
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The PKCS#8 private key, sealed with the master key; never the key itself.
    pub sealed_key: Vec<u8>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKeystore")
            .field("id", &self.id)
            .field("name", &self.labels.name)
            .field("revision", &self.revision)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// What creating or replacing a keystore stores.
#[derive(Clone)]
pub struct NewKeystore {
    /// Name, title and summary.
    pub labels: Labels,
    /// DER certificates, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The sealed PKCS#8 private key.
    pub sealed_key: Vec<u8>,
}

impl std::fmt::Debug for NewKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKeystore").field("name", &self.labels.name).finish_non_exhaustive()
    }
}

/// A truststore as stored, without its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTruststore {
    /// Stable id.
    pub id: Uuid,
    /// The owning org's id.
    pub org_id: Uuid,
    /// Name, title and summary.
    pub labels: Labels,
    /// Grows by one with every change, entries included.
    pub revision: i64,
    /// How many certificates it holds.
    pub entry_count: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One certificate of a truststore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// Stable id.
    pub id: Uuid,
    /// The truststore's id.
    pub truststore_id: Uuid,
    /// SHA-256 fingerprint, as the pki crate prints it.
    pub fingerprint: String,
    /// The certificate.
    pub der: Vec<u8>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A certificate to add to a truststore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// SHA-256 fingerprint; an entry already held is skipped.
    pub fingerprint: String,
    /// The certificate.
    pub der: Vec<u8>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stable id.
    pub id: Uuid,
    /// The org's name, or `None` for cloud-wide events (log-ins).
    pub org: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who: `username (realm)`, or what was claimed for a failed log-in.
    pub actor: String,
    /// What: `create`, `update`, `delete`, `clear`, `login`, `request`, ...
    pub action: String,
    /// On what, e.g. `tls-client-profile backend:1.0.0`.
    pub resource: String,
    /// How it ended: `success`, `failure` or `denied`.
    pub outcome: String,
    /// More words, never a secret.
    pub detail: Option<String>,
}

/// Which events a listing wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events whose resource contains this text.
    pub resource: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
}

/// A role an org defined from the permission list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRole {
    /// Unique in the org, used in memberships.
    pub name: String,
    /// Shown to people.
    pub title: String,
    /// Permission names, e.g. `settings:manage`.
    pub permissions: Vec<String>,
}

/// What kind of item a [`Change`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// A TLS client profile.
    ClientProfile,
    /// A TLS server profile.
    ServerProfile,
    /// A keystore.
    Keystore,
    /// A truststore, its entries included.
    Truststore,
}

impl ChangeKind {
    /// The name the store keeps: `tls_client_profile`, `tls_server_profile`, `keystore` or
    /// `truststore`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientProfile => "tls_client_profile",
            Self::ServerProfile => "tls_server_profile",
            Self::Keystore => "keystore",
            Self::Truststore => "truststore",
        }
    }

    /// The kind of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::ClientProfile, Self::ServerProfile, Self::Keystore, Self::Truststore]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// One change to a profile, keystore or truststore: it was created, updated or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Its place in the change feed; later changes have larger numbers.
    pub seq: i64,
    /// What kind of item changed.
    pub kind: ChangeKind,
    /// The item's id.
    pub id: Uuid,
    /// The owning org's id.
    pub org_id: Uuid,
}
