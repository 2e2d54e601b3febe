//! The embedded backend: one SQLite file, opened in WAL mode behind a mutex.

mod changes;
mod dump;
mod events;
pub(crate) mod migrate;
mod profiles;
mod stores;
mod users;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

use crate::encoding::{now, ts};
use crate::{
    Change, CustomRole, Dump, Event, EventFilter, Labels, NewEntry, NewKeystore, NewUser, Org,
    Page, ProfileRefs, Result, Store, StoreError, StoredEntry, StoredKeystore, StoredProfile,
    StoredServerProfile, StoredTruststore, User, UserChange,
};

/// How long [`Store::wait_for_change`] sleeps at most: SQLite cannot tell other processes'
/// commits, so followers poll.
const CHANGE_POLL: Duration = Duration::from_millis(200);

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(backend)?;
        // It holds password and token hashes: readable by its owner only. SQLite gives its
        // -wal and -shm files the same mode.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Self::prepare(conn)
    }

    /// A private in-memory database, for tests.
    pub fn in_memory() -> Result<Self> {
        Self::prepare(Connection::open_in_memory().map_err(backend)?)
    }

    fn prepare(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(backend)?;
        migrate::apply(&mut conn)?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction behind
        // (rusqlite rolls back on drop), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Classifies a failed write: uniqueness violations become conflicts.
fn write_error(e: rusqlite::Error, what: &str) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(what.to_owned()),
        _ => backend(e),
    }
}

fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn parse_id(s: &str) -> rusqlite::Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn found<T>(r: rusqlite::Result<Option<T>>) -> Result<T> {
    r.map_err(backend)?.ok_or(StoreError::NotFound)
}

fn org_row(r: &Row<'_>) -> rusqlite::Result<Org> {
    Ok(Org {
        id: parse_id(&r.get::<_, String>(0)?)?,
        name: r.get(1)?,
        title: r.get(2)?,
        org_type: r.get(3)?,
        created_at: parse_ts(&r.get::<_, String>(4)?)?,
    })
}

pub(super) fn user_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: parse_id(&r.get::<_, String>(0)?)?,
        username: r.get(1)?,
        realm: r.get(2)?,
        email: r.get(3)?,
        password_hash: r.get(4)?,
        disabled: r.get(5)?,
    })
}

pub(super) const USER_COLUMNS: &str = "id, username, realm, email, password_hash, disabled";
impl Store for SqliteStore {
    fn create_org(&self, name: &str, title: &str, org_type: &str) -> Result<Org> {
        let org = Org {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            title: title.to_owned(),
            org_type: org_type.to_owned(),
            created_at: now(),
        };
        self.conn()
            .execute(
                "INSERT INTO orgs (id, name, title, org_type, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![org.id.to_string(), name, title, org_type, ts(org.created_at)],
            )
            .map_err(|e| write_error(e, &format!("an org named {name} already exists")))?;
        Ok(org)
    }

    fn org(&self, name: &str) -> Result<Org> {
        found(
            self.conn()
                .query_row(
                    "SELECT id, name, title, org_type, created_at FROM orgs WHERE name = ?1",
                    [name],
                    org_row,
                )
                .optional(),
        )
    }

    fn list_orgs(&self) -> Result<Vec<Org>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT id, name, title, org_type, created_at FROM orgs ORDER BY name")
            .map_err(backend)?;
        let rows = stmt.query_map([], org_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)
    }

    fn create_user(&self, u: &NewUser) -> Result<User> {
        let id = Uuid::new_v4();
        self.conn()
            .execute(
                "INSERT INTO users (id, username, realm, email, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id.to_string(), u.username, u.realm, u.email, u.password_hash, ts(now())],
            )
            .map_err(|e| {
                write_error(e, &format!("user {} already exists in {}", u.username, u.realm))
            })?;
        self.user(&u.realm, &u.username)
    }

    fn user(&self, realm: &str, username: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE realm = ?1 AND username = ?2");
        found(self.conn().query_row(&sql, [realm, username], user_row).optional())
    }

    fn add_member(&self, org_id: Uuid, user_id: Uuid, role: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO memberships (org_id, user_id, role) VALUES (?1, ?2, ?3)",
                params![org_id.to_string(), user_id.to_string(), role],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn delete_org(&self, org_id: Uuid) -> Result<()> {
        users::delete_org(&mut self.conn(), org_id)
    }

    fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY realm, username");
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt.query_map([], user_row).map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)
    }

    fn user_by_id(&self, id: Uuid) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        found(self.conn().query_row(&sql, [id.to_string()], user_row).optional())
    }

    fn update_user(&self, id: Uuid, change: &UserChange) -> Result<User> {
        users::update(&mut self.conn(), id, change)?;
        self.user_by_id(id)
    }

    fn delete_user(&self, id: Uuid) -> Result<()> {
        let n = self
            .conn()
            .execute("DELETE FROM users WHERE id = ?1", [id.to_string()])
            .map_err(backend)?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    fn members(&self, org_id: Uuid) -> Result<Vec<(User, Vec<String>)>> {
        users::members(&self.conn(), org_id)
    }

    fn custom_roles(&self, org_id: Uuid) -> Result<Vec<CustomRole>> {
        users::custom_roles(&self.conn(), org_id)
    }

    fn create_custom_role(&self, org_id: Uuid, role: &CustomRole) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO custom_roles (org_id, name, title, permissions) VALUES (?1, ?2, ?3, ?4)",
                params![org_id.to_string(), role.name, role.title, role.permissions.join(",")],
            )
            .map_err(|e| write_error(e, &format!("a role named {} already exists", role.name)))?;
        Ok(())
    }

    fn delete_custom_role(&self, org_id: Uuid, name: &str) -> Result<()> {
        users::delete_custom_role(&mut self.conn(), org_id, name)
    }

    fn set_roles(&self, org_id: Uuid, user_id: Uuid, roles: &[String]) -> Result<()> {
        users::set_roles(&mut self.conn(), org_id, user_id, roles)
    }

    fn roles(&self, org_id: Uuid, user_id: Uuid) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2 ORDER BY role",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([org_id.to_string(), user_id.to_string()], |r| r.get(0))
            .map_err(backend)?;
        rows.collect::<rusqlite::Result<_>>().map_err(backend)
    }

    fn insert_token(&self, hash: &str, user_id: Uuid, expires_at: DateTime<Utc>) -> Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM tokens WHERE expires_at <= ?1", [now().timestamp()])
            .map_err(backend)?;
        conn.execute(
            "INSERT INTO tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
            params![hash, user_id.to_string(), expires_at.timestamp()],
        )
        .map_err(|e| write_error(e, "token already exists"))?;
        Ok(())
    }

    fn token_user(&self, hash: &str, now: DateTime<Utc>) -> Result<User> {
        let sql = format!(
            "SELECT {} FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND u.disabled = 0",
            USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
        );
        found(self.conn().query_row(&sql, params![hash, now.timestamp()], user_row).optional())
    }

    fn delete_token(&self, hash: &str) -> Result<bool> {
        let n = self
            .conn()
            .execute("DELETE FROM tokens WHERE token_hash = ?1", [hash])
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn list_client_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredProfile>)> {
        profiles::list(&self.conn(), org_id, name, page)
    }

    fn client_profile(&self, org_id: Uuid, name: &str, version: &str) -> Result<StoredProfile> {
        profiles::by_name(&self.conn(), org_id, name, version)
    }

    fn client_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredProfile> {
        profiles::by_id(&self.conn(), org_id, id)
    }

    fn create_client_profile(
        &self,
        org_id: Uuid,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile> {
        profiles::create(&mut self.conn(), org_id, p, refs)
    }

    fn update_client_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile> {
        profiles::update(&mut self.conn(), org_id, id, expected, p, refs)
    }

    fn delete_client_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        profiles::delete::<ClientProfile>(&mut self.conn(), org_id, id, expected)
    }

    fn clear_client_profiles(&self, org_id: Uuid) -> Result<u64> {
        profiles::clear::<ClientProfile>(&mut self.conn(), org_id)
    }

    fn list_server_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredServerProfile>)> {
        profiles::list(&self.conn(), org_id, name, page)
    }

    fn server_profile(
        &self,
        org_id: Uuid,
        name: &str,
        version: &str,
    ) -> Result<StoredServerProfile> {
        profiles::by_name(&self.conn(), org_id, name, version)
    }

    fn server_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredServerProfile> {
        profiles::by_id(&self.conn(), org_id, id)
    }

    fn create_server_profile(
        &self,
        org_id: Uuid,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile> {
        profiles::create(&mut self.conn(), org_id, p, refs)
    }

    fn update_server_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile> {
        profiles::update(&mut self.conn(), org_id, id, expected, p, refs)
    }

    fn delete_server_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        profiles::delete::<ServerProfile>(&mut self.conn(), org_id, id, expected)
    }

    fn clear_server_profiles(&self, org_id: Uuid) -> Result<u64> {
        profiles::clear::<ServerProfile>(&mut self.conn(), org_id)
    }

    fn list_keystores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredKeystore>)> {
        stores::list_keystores(&self.conn(), org_id, page)
    }

    fn keystore(&self, org_id: Uuid, key: &str) -> Result<StoredKeystore> {
        stores::keystore(&self.conn(), org_id, key)
    }

    fn create_keystore(&self, org_id: Uuid, ks: &NewKeystore) -> Result<StoredKeystore> {
        stores::create_keystore(&mut self.conn(), org_id, ks)
    }

    fn update_keystore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        ks: &NewKeystore,
    ) -> Result<StoredKeystore> {
        stores::update_keystore(&mut self.conn(), org_id, id, expected, ks)
    }

    fn delete_keystore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        stores::delete_keystore(&mut self.conn(), org_id, id, expected)
    }

    fn clear_keystores(&self, org_id: Uuid) -> Result<u64> {
        stores::clear_keystores(&mut self.conn(), org_id)
    }

    fn list_truststores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredTruststore>)> {
        stores::list_truststores(&self.conn(), org_id, page)
    }

    fn truststore(&self, org_id: Uuid, key: &str) -> Result<StoredTruststore> {
        stores::truststore(&self.conn(), org_id, key)
    }

    fn create_truststore(
        &self,
        org_id: Uuid,
        labels: &Labels,
        entries: &[NewEntry],
    ) -> Result<StoredTruststore> {
        stores::create_truststore(&mut self.conn(), org_id, labels, entries)
    }

    fn update_truststore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        labels: &Labels,
        entries: Option<&[NewEntry]>,
    ) -> Result<StoredTruststore> {
        stores::update_truststore(&mut self.conn(), org_id, id, expected, labels, entries)
    }

    fn delete_truststore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        stores::delete_truststore(&mut self.conn(), org_id, id, expected)
    }

    fn clear_truststores(&self, org_id: Uuid) -> Result<u64> {
        stores::clear_truststores(&mut self.conn(), org_id)
    }

    fn truststore_entries(&self, truststore_id: Uuid) -> Result<Vec<StoredEntry>> {
        stores::truststore_entries(&self.conn(), truststore_id)
    }

    fn add_truststore_entries(
        &self,
        truststore_id: Uuid,
        entries: &[NewEntry],
    ) -> Result<Vec<StoredEntry>> {
        stores::add_truststore_entries(&mut self.conn(), truststore_id, entries)
    }

    fn delete_truststore_entry(&self, truststore_id: Uuid, entry_id: Uuid) -> Result<()> {
        stores::delete_truststore_entry(&mut self.conn(), truststore_id, entry_id)
    }

    fn record_event(&self, event: &Event) -> Result<()> {
        events::record(&self.conn(), event)
    }

    fn list_events(
        &self,
        org: &str,
        filter: &EventFilter,
        page: Page,
    ) -> Result<(u64, Vec<Event>)> {
        events::list(&self.conn(), org, filter, page)
    }

    fn set_meta_once(&self, key: &str, value: &str) -> Result<bool> {
        stores::set_meta_once(&self.conn(), key, value)
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn()
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(backend)
    }

    fn last_change(&self) -> Result<i64> {
        changes::last(&self.conn())
    }

    fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        changes::since(&self.conn(), seq, limit)
    }

    fn wait_for_change(&self, timeout: Duration) -> Result<()> {
        std::thread::sleep(timeout.min(CHANGE_POLL));
        Ok(())
    }

    fn export(&self) -> Result<Dump> {
        dump::export(&mut self.conn())
    }

    fn import(&self, d: &Dump) -> Result<()> {
        dump::import(&mut self.conn(), d)
    }
}
