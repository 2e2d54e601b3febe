//! The records the store hands out.

use chrono::{DateTime, Utc};
use tlsdeck_model::ClientProfile;
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

/// A client profile as stored, with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
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
    /// The validated profile.
    pub profile: ClientProfile,
}

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
