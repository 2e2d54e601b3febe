//! Persistence for tlsdeck: one interface, one folder per backend, versioned migrations.
//!
//! The store classifies its failures once ([`StoreError`]) so callers never read SQL errors.
//! [`open_url`] picks the backend from a URL: SQLite in one file, or a PostgreSQL server.

mod dump;
mod encoding;
pub mod postgres;

pub use postgres::redact;
mod records;
pub mod sqlite;

pub use dump::{Cell, Dump, TableDump};
pub use postgres::PostgresStore;
pub use records::{
    Change, ChangeKind, CustomRole, Event, EventFilter, Labels, NewEntry, NewKeystore, NewUser,
    Org, Page, ProfileRefs, StoreLink, Stored, StoredEntry, StoredKeystore, StoredProfile,
    StoredServerProfile, StoredTruststore, User, UserChange,
};
pub use sqlite::SqliteStore;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The item does not exist.
    #[error("not found")]
    NotFound,
    /// The write would break a uniqueness rule; the text says which.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller's revision is not the stored one; nothing was written.
    #[error("stale revision: the stored revision is {current}")]
    Stale {
        /// The revision now stored.
        current: i64,
    },
    /// The item is still used; `users` names what uses it (e.g. `tls-client-profile name:1.0.0`).
    #[error("in use by {}", users.join(", "))]
    InUse {
        /// What uses the item.
        users: Vec<String>,
    },
    /// Stored data no longer passes the model's rules.
    #[error("corrupt record {id}: {reason}")]
    Corrupt {
        /// The record's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database itself failed (I/O, locking, migration).
    #[error("database failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A failure described in words alone, e.g. a store URL that names no backend.
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl StoreError {
    /// A backend failure described in words.
    pub(crate) fn message(text: impl Into<String>) -> Self {
        Self::Backend(Box::new(Message(text.into())))
    }
}

/// Opens the store a URL names and applies pending migrations.
///
/// `postgres://` and `postgresql://` URLs open a [`PostgresStore`]; `sqlite:PATH`,
/// `sqlite://PATH` or a plain path open a [`SqliteStore`] (`sqlite::memory:` a private
/// in-memory one). An error names the problem and shows the URL without its password.
pub fn open_url(url: &str) -> Result<Arc<dyn Store>> {
    let sqlite_path = match url.split_once("://") {
        Some(("postgres" | "postgresql", _)) => return Ok(Arc::new(PostgresStore::open(url)?)),
        Some(("sqlite", path)) => path,
        Some((scheme, _)) => {
            return Err(StoreError::message(format!(
                "unsupported store URL scheme {scheme}: expected postgres://, postgresql:// \
                 or sqlite:PATH"
            )));
        }
        None if url.contains('=') && url.contains(char::is_whitespace) => {
            return Err(StoreError::message(
                "a key=value connection string is not a store location: give a postgres:// URL",
            ));
        }
        None => url.strip_prefix("sqlite:").unwrap_or(url),
    };
    match sqlite_path {
        "" => Err(StoreError::message("the store URL names no SQLite file")),
        ":memory:" => Ok(Arc::new(SqliteStore::in_memory()?)),
        path => Ok(Arc::new(SqliteStore::open(Path::new(path))?)),
    }
}

/// Why the last certificate of a truststore cannot be deleted (a [`StoreError::Conflict`]).
pub const LAST_ENTRY: &str = "this is the truststore's last certificate: a truststore holds at \
                              least one, so add another first or delete the truststore";

/// Everything the server keeps, behind one interface that every backend implements.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates an org; a taken name is a conflict.
    fn create_org(&self, name: &str, title: &str, org_type: &str) -> Result<Org>;
    /// The org of that name.
    fn org(&self, name: &str) -> Result<Org>;
    /// Every org, by name.
    fn list_orgs(&self) -> Result<Vec<Org>>;

    /// Creates a user; a taken username in the realm is a conflict.
    fn create_user(&self, user: &NewUser) -> Result<User>;
    /// The user of that name in that realm.
    fn user(&self, realm: &str, username: &str) -> Result<User>;
    /// Gives a user a role in an org (idempotent).
    fn add_member(&self, org_id: Uuid, user_id: Uuid, role: &str) -> Result<()>;
    /// The user's roles in the org; empty when not a member.
    fn roles(&self, org_id: Uuid, user_id: Uuid) -> Result<Vec<String>>;
    /// Deletes an org with everything in it.
    fn delete_org(&self, org_id: Uuid) -> Result<()>;
    /// Every user, by realm and name.
    fn list_users(&self) -> Result<Vec<User>>;
    /// One user by id.
    fn user_by_id(&self, id: Uuid) -> Result<User>;
    /// Changes a user; disabling one or changing the password ends their tokens.
    fn update_user(&self, id: Uuid, change: &UserChange) -> Result<User>;
    /// Deletes a user, their memberships and tokens.
    fn delete_user(&self, id: Uuid) -> Result<()>;
    /// The org's members with their roles, by realm and name.
    fn members(&self, org_id: Uuid) -> Result<Vec<(User, Vec<String>)>>;
    /// The org's custom roles, by name.
    fn custom_roles(&self, org_id: Uuid) -> Result<Vec<CustomRole>>;
    /// Defines a custom role; a taken name is a conflict.
    fn create_custom_role(&self, org_id: Uuid, role: &CustomRole) -> Result<()>;
    /// Removes a custom role and every membership in it.
    fn delete_custom_role(&self, org_id: Uuid, name: &str) -> Result<()>;
    /// Replaces a user's roles in an org; no roles ends the membership.
    fn set_roles(&self, org_id: Uuid, user_id: Uuid, roles: &[String]) -> Result<()>;

    /// Records an API token by the hash of its secret.
    fn insert_token(
        &self,
        token_hash: &str,
        user_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// The user a token hash belongs to, if the token exists and has not expired at `now`.
    fn token_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<User>;
    /// Ends a token; true when one was removed.
    fn delete_token(&self, token_hash: &str) -> Result<bool>;

    /// A page of an org's client profiles, optionally of one name, ordered by name and version.
    fn list_client_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredProfile>)>;
    /// One client profile by name and version.
    fn client_profile(&self, org_id: Uuid, name: &str, version: &str) -> Result<StoredProfile>;
    /// One client profile by id.
    fn client_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredProfile>;
    /// Stores a new profile at revision 1; a taken name and version is a conflict.
    fn create_client_profile(
        &self,
        org_id: Uuid,
        profile: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile>;
    /// Replaces a profile when its revision is still `expected` (or unconditionally with None).
    fn update_client_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        profile: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile>;
    /// Deletes a profile when its revision is still `expected` (or unconditionally with None).
    fn delete_client_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()>;
    /// Deletes every client profile of the org; returns how many.
    fn clear_client_profiles(&self, org_id: Uuid) -> Result<u64>;

    /// A page of an org's server profiles, optionally of one name.
    fn list_server_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredServerProfile>)>;
    /// One server profile by name and version.
    fn server_profile(
        &self,
        org_id: Uuid,
        name: &str,
        version: &str,
    ) -> Result<StoredServerProfile>;
    /// One server profile by id.
    fn server_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredServerProfile>;
    /// Stores a new server profile at revision 1; a taken name and version is a conflict.
    fn create_server_profile(
        &self,
        org_id: Uuid,
        profile: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile>;
    /// Replaces a server profile when its revision is still `expected`.
    fn update_server_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        profile: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile>;
    /// Deletes a server profile when its revision is still `expected`.
    fn delete_server_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()>;
    /// Deletes every server profile of the org; returns how many.
    fn clear_server_profiles(&self, org_id: Uuid) -> Result<u64>;

    /// A page of an org's keystores, ordered by name.
    fn list_keystores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredKeystore>)>;
    /// One keystore by name, or by id when `key` is the id of one.
    fn keystore(&self, org_id: Uuid, key: &str) -> Result<StoredKeystore>;
    /// Stores a new keystore at revision 1; a taken name is a conflict.
    fn create_keystore(&self, org_id: Uuid, ks: &NewKeystore) -> Result<StoredKeystore>;
    /// Replaces a keystore when its revision is still `expected` (or unconditionally).
    fn update_keystore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        ks: &NewKeystore,
    ) -> Result<StoredKeystore>;
    /// Deletes a keystore; refused with [`StoreError::InUse`] while a profile uses it.
    fn delete_keystore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()>;
    /// Deletes every unused keystore of the org; refused whole when any is in use.
    fn clear_keystores(&self, org_id: Uuid) -> Result<u64>;

    /// A page of an org's truststores, ordered by name.
    fn list_truststores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredTruststore>)>;
    /// One truststore by name, or by id when `key` is the id of one.
    fn truststore(&self, org_id: Uuid, key: &str) -> Result<StoredTruststore>;
    /// Stores a new truststore with its entries; a taken name is a conflict.
    fn create_truststore(
        &self,
        org_id: Uuid,
        labels: &Labels,
        entries: &[NewEntry],
    ) -> Result<StoredTruststore>;
    /// Changes labels and, when `entries` is given, replaces every entry.
    fn update_truststore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        labels: &Labels,
        entries: Option<&[NewEntry]>,
    ) -> Result<StoredTruststore>;
    /// Deletes a truststore and its entries; refused with [`StoreError::InUse`] while used.
    fn delete_truststore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()>;
    /// Deletes every unused truststore of the org; refused whole when any is in use.
    fn clear_truststores(&self, org_id: Uuid) -> Result<u64>;
    /// The certificates of a truststore, in the order added.
    fn truststore_entries(&self, truststore_id: Uuid) -> Result<Vec<StoredEntry>>;
    /// Adds certificates not held yet; returns the added entries.
    fn add_truststore_entries(
        &self,
        truststore_id: Uuid,
        entries: &[NewEntry],
    ) -> Result<Vec<StoredEntry>>;
    /// Removes one certificate.
    fn delete_truststore_entry(&self, truststore_id: Uuid, entry_id: Uuid) -> Result<()>;

    /// Appends an event to the audit log (its id and time are set by the store).
    fn record_event(&self, event: &Event) -> Result<()>;
    /// A page of an org's events, newest first; `admin` also sees cloud-wide ones.
    fn list_events(&self, org: &str, filter: &EventFilter, page: Page)
    -> Result<(u64, Vec<Event>)>;

    /// Records a one-off fact (e.g. that defaults were created); false when already set.
    fn set_meta_once(&self, key: &str, value: &str) -> Result<bool>;
    /// A fact recorded with [`Store::set_meta_once`].
    fn meta(&self, key: &str) -> Result<Option<String>>;

    /// The sequence number of the newest change to a profile, keystore or truststore; 0 when
    /// there is none.
    fn last_change(&self) -> Result<i64>;
    /// Up to `limit` changes after `seq`, oldest first.
    ///
    /// Every write that creates, updates or deletes a profile, keystore or truststore (its
    /// entries included) records one change per item in the same transaction; clearing a
    /// collection or deleting an org records one per item deleted. Sequence numbers grow but
    /// may skip values. Only the newest 10,000 changes are kept: a reader further behind
    /// should reload everything.
    fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>>;
    /// Returns when a change may have happened, or after `timeout` at the latest.
    ///
    /// PostgreSQL waits for `NOTIFY tlsdeck_changes` on a connection of its own, so it returns
    /// promptly after another process commits; SQLite sleeps a short poll interval. Returns may
    /// be spurious: read [`Store::changes_since`] to know what changed.
    fn wait_for_change(&self, timeout: Duration) -> Result<()>;

    /// Every table but the schema migrations and API tokens, parents first, from one
    /// consistent snapshot.
    fn export(&self) -> Result<Dump>;
    /// Loads a dump into this store in one transaction, keeping ids, revisions, times and
    /// sequence numbers.
    ///
    /// Refused with [`StoreError::Conflict`] when the store already holds an org or the dump
    /// is of another schema version.
    fn import(&self, dump: &Dump) -> Result<()>;
}
