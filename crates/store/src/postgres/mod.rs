//! The shared backend: a PostgreSQL server that several tlsdeck processes use at once.
//!
//! It speaks through the synchronous `postgres` client without TLS, so the server should be
//! on the same host or a trusted network. Each client runs a small async runtime of its own:
//! call the store from plain threads (e.g. `spawn_blocking`), never on an async runtime's
//! threads. Opening and dropping the store are safe anywhere.
//!
//! Values are kept exactly as SQLite keeps them (ids and times as RFC 3339 TEXT); see
//! `migrations/0001_init.sql` for the type mapping. Every write is one transaction; a row
//! that an expected revision guards is locked (`FOR UPDATE`) before its revision is checked,
//! so of two concurrent writers exactly one wins and the other sees [`StoreError::Stale`].

mod changes;
mod dump;
mod events;
mod listen;
pub(crate) mod migrate;
mod pool;
mod profiles;
mod stores;
mod users;

use std::str::FromStr;
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::FromSql;
use ::postgres::{Client, Config, Row};
use chrono::{DateTime, Utc};
use tlsdeck_model::{ClientProfile, ServerProfile};
use uuid::Uuid;

use crate::{
    Change, CustomRole, Dump, Event, EventFilter, Labels, NewEntry, NewKeystore, NewUser, Org,
    Page, ProfileRefs, Result, Store, StoreError, StoredEntry, StoredKeystore, StoredProfile,
    StoredServerProfile, StoredTruststore, User, UserChange,
};

/// How many connections a store opens at most, besides the one it listens on.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;

/// How often a write that PostgreSQL aborted for a deadlock or serialization failure is tried.
const ATTEMPTS: u32 = 3;

/// How long opening a connection may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: pool::Pool,
    listener: listen::Listener,
    /// The URL without its password.
    shown: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("url", &self.shown).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and applies pending migrations.
    pub fn open(url: &str) -> Result<Self> {
        Self::connect(url, DEFAULT_MAX_CONNECTIONS)
    }

    /// Like [`PostgresStore::open`], with at most `max_connections` pooled connections.
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let shown = redact(url);
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::message(format!("invalid PostgreSQL URL {shown}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("tlsdeck");
        }
        warn_if_remote(&config, &shown);
        // The client blocks on a runtime of its own, which must not start on an async
        // runtime's thread: connect from a thread of our own, wherever we are called from.
        std::thread::scope(|s| {
            s.spawn(|| Self::start(config, shown.clone(), max_connections))
                .join()
                .unwrap_or_else(|_| Err(StoreError::message("opening the store panicked")))
        })
    }

    fn start(config: Config, shown: String, max: usize) -> Result<Self> {
        let mut client =
            config.connect(::postgres::NoTls).map_err(|e| connect_error(&shown, &e))?;
        migrate::apply(&mut client)?;
        let listener = listen::Listener::start(config.clone(), shown.clone())?;
        let pool = pool::Pool::new(config, shown.clone(), max);
        pool.add(client);
        tracing::info!(url = %shown, "opened the PostgreSQL store");
        Ok(Self { pool, listener, shown })
    }

    /// Runs `op` on a pooled connection, again when PostgreSQL aborted it for a deadlock or a
    /// serialization failure (the aborted transaction left nothing behind).
    fn run<T>(&self, mut op: impl FnMut(&mut Client) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let mut attempt = 1;
        loop {
            match op(&mut conn) {
                Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                    tracing::debug!(attempt, error = %e, "retrying an aborted transaction");
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }
}

/// Logs that a connection without TLS leaves this host.
fn warn_if_remote(config: &Config, shown: &str) {
    use ::postgres::config::Host;
    let remote = config.get_hosts().iter().any(|h| match h {
        Host::Tcp(name) => !matches!(name.as_str(), "localhost" | "127.0.0.1" | "::1"),
        Host::Unix(_) => false,
    });
    if remote {
        tracing::warn!(url = %shown, "the PostgreSQL connection is not encrypted");
    }
}

/// The URL with any password replaced by `***`, fit for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_keywords(url);
    };
    // The user info ends at the last '@' (a password may hold '/', '?' or even '@'
    // unencoded), so everything before it but the user name is hidden.
    let (authority_and_tail, user) = match rest.rsplit_once('@') {
        Some((user_info, after)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            let hidden = if user_info.contains(':') { ":***" } else { "" };
            (after, format!("{user}{hidden}@"))
        }
        None => (rest, String::new()),
    };
    let tail = match authority_and_tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => authority_and_tail.to_owned(),
    };
    format!("{scheme}://{user}{tail}")
}

/// A `key=value` connection string with its password hidden.
fn redact_keywords(text: &str) -> String {
    text.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn backend(e: ::postgres::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn connect_error(shown: &str, e: &::postgres::Error) -> StoreError {
    StoreError::message(format!("cannot connect to {shown}: {e}"))
}

/// Classifies a failed write: integrity violations (unique, foreign key) become conflicts.
fn write_error(e: ::postgres::Error, what: &str) -> StoreError {
    match e.code() {
        Some(code) if code.code().starts_with("23") => StoreError::Conflict(what.to_owned()),
        _ => backend(e),
    }
}

/// True for the failures PostgreSQL asks to retry.
fn is_transient(e: &StoreError) -> bool {
    let StoreError::Backend(source) = e else { return false };
    let code = source.downcast_ref::<::postgres::Error>().and_then(::postgres::Error::code);
    matches!(code, Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
        || *c == SqlState::T_R_SERIALIZATION_FAILURE)
}

/// Drops connections on a thread of our own: closing one blocks on its runtime, which must
/// not happen on an async runtime's thread.
fn close_elsewhere(clients: Vec<Client>) {
    if clients.is_empty() {
        return;
    }
    let closing = std::thread::spawn(move || drop(clients));
    if closing.join().is_err() {
        tracing::warn!("closing PostgreSQL connections panicked");
    }
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(backend)
}

fn parse_id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt { id: s.to_owned(), reason: e.to_string() })
}

fn id_at(row: &Row, i: usize) -> Result<Uuid> {
    parse_id(get(row, i)?)
}

fn time_at(row: &Row, i: usize) -> Result<DateTime<Utc>> {
    let s: &str = get(row, i)?;
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt { id: s.to_owned(), reason: e.to_string() })
}

fn found<T>(r: Option<T>) -> Result<T> {
    r.ok_or(StoreError::NotFound)
}

fn offset(page: Page) -> i64 {
    i64::try_from(page.offset).unwrap_or(i64::MAX)
}

impl Store for PostgresStore {
    fn create_org(&self, name: &str, title: &str, org_type: &str) -> Result<Org> {
        self.run(|c| users::create_org(c, name, title, org_type))
    }

    fn org(&self, name: &str) -> Result<Org> {
        self.run(|c| users::org(c, name))
    }

    fn list_orgs(&self) -> Result<Vec<Org>> {
        self.run(users::list_orgs)
    }

    fn create_user(&self, user: &NewUser) -> Result<User> {
        self.run(|c| users::create_user(c, user))
    }

    fn user(&self, realm: &str, username: &str) -> Result<User> {
        self.run(|c| users::user(c, realm, username))
    }

    fn add_member(&self, org_id: Uuid, user_id: Uuid, role: &str) -> Result<()> {
        self.run(|c| users::add_member(c, org_id, user_id, role))
    }

    fn roles(&self, org_id: Uuid, user_id: Uuid) -> Result<Vec<String>> {
        self.run(|c| users::roles(c, org_id, user_id))
    }

    fn delete_org(&self, org_id: Uuid) -> Result<()> {
        self.run(|c| users::delete_org(c, org_id))
    }

    fn list_users(&self) -> Result<Vec<User>> {
        self.run(users::list_users)
    }

    fn user_by_id(&self, id: Uuid) -> Result<User> {
        self.run(|c| users::user_by_id(c, id))
    }

    fn update_user(&self, id: Uuid, change: &UserChange) -> Result<User> {
        self.run(|c| users::update_user(c, id, change))
    }

    fn delete_user(&self, id: Uuid) -> Result<()> {
        self.run(|c| users::delete_user(c, id))
    }

    fn members(&self, org_id: Uuid) -> Result<Vec<(User, Vec<String>)>> {
        self.run(|c| users::members(c, org_id))
    }

    fn custom_roles(&self, org_id: Uuid) -> Result<Vec<CustomRole>> {
        self.run(|c| users::custom_roles(c, org_id))
    }

    fn create_custom_role(&self, org_id: Uuid, role: &CustomRole) -> Result<()> {
        self.run(|c| users::create_custom_role(c, org_id, role))
    }

    fn delete_custom_role(&self, org_id: Uuid, name: &str) -> Result<()> {
        self.run(|c| users::delete_custom_role(c, org_id, name))
    }

    fn set_roles(&self, org_id: Uuid, user_id: Uuid, roles: &[String]) -> Result<()> {
        self.run(|c| users::set_roles(c, org_id, user_id, roles))
    }

    fn insert_token(&self, hash: &str, user_id: Uuid, expires_at: DateTime<Utc>) -> Result<()> {
        self.run(|c| users::insert_token(c, hash, user_id, expires_at))
    }

    fn token_user(&self, hash: &str, now: DateTime<Utc>) -> Result<User> {
        self.run(|c| users::token_user(c, hash, now))
    }

    fn delete_token(&self, hash: &str) -> Result<bool> {
        self.run(|c| users::delete_token(c, hash))
    }

    fn list_client_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredProfile>)> {
        self.run(|c| profiles::list(c, org_id, name, page))
    }

    fn client_profile(&self, org_id: Uuid, name: &str, version: &str) -> Result<StoredProfile> {
        self.run(|c| profiles::by_name(c, org_id, name, version))
    }

    fn client_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredProfile> {
        self.run(|c| profiles::by_id(c, org_id, id))
    }

    fn create_client_profile(
        &self,
        org_id: Uuid,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile> {
        self.run(|c| profiles::create(c, org_id, p, refs))
    }

    fn update_client_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<StoredProfile> {
        self.run(|c| profiles::update(c, org_id, id, expected, p, refs))
    }

    fn delete_client_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        self.run(|c| profiles::delete::<ClientProfile>(c, org_id, id, expected))
    }

    fn clear_client_profiles(&self, org_id: Uuid) -> Result<u64> {
        self.run(|c| profiles::clear::<ClientProfile>(c, org_id))
    }

    fn list_server_profiles(
        &self,
        org_id: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<StoredServerProfile>)> {
        self.run(|c| profiles::list(c, org_id, name, page))
    }

    fn server_profile(
        &self,
        org_id: Uuid,
        name: &str,
        version: &str,
    ) -> Result<StoredServerProfile> {
        self.run(|c| profiles::by_name(c, org_id, name, version))
    }

    fn server_profile_by_id(&self, org_id: Uuid, id: Uuid) -> Result<StoredServerProfile> {
        self.run(|c| profiles::by_id(c, org_id, id))
    }

    fn create_server_profile(
        &self,
        org_id: Uuid,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile> {
        self.run(|c| profiles::create(c, org_id, p, refs))
    }

    fn update_server_profile(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<StoredServerProfile> {
        self.run(|c| profiles::update(c, org_id, id, expected, p, refs))
    }

    fn delete_server_profile(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        self.run(|c| profiles::delete::<ServerProfile>(c, org_id, id, expected))
    }

    fn clear_server_profiles(&self, org_id: Uuid) -> Result<u64> {
        self.run(|c| profiles::clear::<ServerProfile>(c, org_id))
    }

    fn list_keystores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredKeystore>)> {
        self.run(|c| stores::list_keystores(c, org_id, page))
    }

    fn keystore(&self, org_id: Uuid, key: &str) -> Result<StoredKeystore> {
        self.run(|c| stores::keystore(c, org_id, key))
    }

    fn create_keystore(&self, org_id: Uuid, ks: &NewKeystore) -> Result<StoredKeystore> {
        self.run(|c| stores::create_keystore(c, org_id, ks))
    }

    fn update_keystore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        ks: &NewKeystore,
    ) -> Result<StoredKeystore> {
        self.run(|c| stores::update_keystore(c, org_id, id, expected, ks))
    }

    fn delete_keystore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        self.run(|c| stores::delete(c, stores::Kind::Keystore, org_id, id, expected))
    }

    fn clear_keystores(&self, org_id: Uuid) -> Result<u64> {
        self.run(|c| stores::clear(c, stores::Kind::Keystore, org_id))
    }

    fn list_truststores(&self, org_id: Uuid, page: Page) -> Result<(u64, Vec<StoredTruststore>)> {
        self.run(|c| stores::list_truststores(c, org_id, page))
    }

    fn truststore(&self, org_id: Uuid, key: &str) -> Result<StoredTruststore> {
        self.run(|c| stores::truststore(c, org_id, key))
    }

    fn create_truststore(
        &self,
        org_id: Uuid,
        labels: &Labels,
        entries: &[NewEntry],
    ) -> Result<StoredTruststore> {
        self.run(|c| stores::create_truststore(c, org_id, labels, entries))
    }

    fn update_truststore(
        &self,
        org_id: Uuid,
        id: Uuid,
        expected: Option<i64>,
        labels: &Labels,
        entries: Option<&[NewEntry]>,
    ) -> Result<StoredTruststore> {
        self.run(|c| stores::update_truststore(c, org_id, id, expected, labels, entries))
    }

    fn delete_truststore(&self, org_id: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        self.run(|c| stores::delete(c, stores::Kind::Truststore, org_id, id, expected))
    }

    fn clear_truststores(&self, org_id: Uuid) -> Result<u64> {
        self.run(|c| stores::clear(c, stores::Kind::Truststore, org_id))
    }

    fn truststore_entries(&self, truststore_id: Uuid) -> Result<Vec<StoredEntry>> {
        self.run(|c| stores::truststore_entries(c, truststore_id))
    }

    fn add_truststore_entries(
        &self,
        truststore_id: Uuid,
        entries: &[NewEntry],
    ) -> Result<Vec<StoredEntry>> {
        self.run(|c| stores::add_truststore_entries(c, truststore_id, entries))
    }

    fn delete_truststore_entry(&self, truststore_id: Uuid, entry_id: Uuid) -> Result<()> {
        self.run(|c| stores::delete_truststore_entry(c, truststore_id, entry_id))
    }

    fn record_event(&self, event: &Event) -> Result<()> {
        self.run(|c| events::record(c, event))
    }

    fn list_events(
        &self,
        org: &str,
        filter: &EventFilter,
        page: Page,
    ) -> Result<(u64, Vec<Event>)> {
        self.run(|c| events::list(c, org, filter, page))
    }

    fn set_meta_once(&self, key: &str, value: &str) -> Result<bool> {
        self.run(|c| stores::set_meta_once(c, key, value))
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.run(|c| stores::meta(c, key))
    }

    fn last_change(&self) -> Result<i64> {
        self.run(changes::last)
    }

    fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        self.run(|c| changes::since(c, seq, limit))
    }

    fn wait_for_change(&self, timeout: Duration) -> Result<()> {
        self.listener.wait(timeout)
    }

    fn export(&self) -> Result<Dump> {
        self.run(dump::export)
    }

    fn import(&self, d: &Dump) -> Result<()> {
        self.run(|c| dump::import(c, d))
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_the_password_of_a_url() {
        assert_eq!(
            redact("postgres://tls:s3cret@db:5432/tlsdeck?sslmode=disable"),
            "postgres://tls:***@db:5432/tlsdeck?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://tls@db/x?password=s3cret&application_name=a"),
            "postgresql://tls@db/x?password=***&application_name=a"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5/p"),
            "postgres://postgres@127.0.0.1:5/p"
        );
        for leaky in [
            "postgres://u:Pa/ss-Secret-77@127.0.0.1:5/db",
            "postgres://u:Wrong@PassXYZ-Secret-77@127.0.0.1/db",
            "postgres://u:a?b-Secret-77@h/db",
            "postgres://u@h/db?password=Secret-77&x=1",
            "host=h user=u password=Secret-77 dbname=d",
        ] {
            let shown = redact(leaky);
            assert!(!shown.contains("Secret-77"), "{shown}");
        }
        assert_eq!(redact("postgres://u:p@ss@h"), "postgres://u:***@h");
    }
}
