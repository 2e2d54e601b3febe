//! Runs each store test against SQLite and against PostgreSQL, each on a fresh database.
//!
//! PostgreSQL tests use the server `TLSDECK_TEST_DATABASE_URL` names (`scripts/pg start`
//! prints one) and create a database per test, dropped at its end. Without the variable
//! they are skipped with a note, unless `TLSDECK_REQUIRE_POSTGRES=1` makes that a failure.

#![allow(dead_code)] // Each test binary uses its own part of this.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Once};

use postgres::{Client, NoTls};
use tlsdeck_store::Store;

/// Instantiates each listed test, a `fn(&TestDb)`, once per backend: `NAME::sqlite` and
/// `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use $crate::common::{Backend, TestDb};

            #[test]
            fn sqlite() {
                let db = TestDb::new(Backend::Sqlite).expect("SQLite is always there");
                super::$name(&db);
            }

            #[test]
            fn postgres() {
                if let Some(db) = TestDb::new(Backend::Postgres) {
                    super::$name(&db);
                }
            }
        }
    )+};
}

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database (not migrated until a store opens it).
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    /// What [`tlsdeck_store::open_url`] opens.
    pub url: String,
    sqlite: Option<(tempfile::TempDir, PathBuf)>,
    /// The server's URL and this database's name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is not configured (and not required).
    pub fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let path = dir.path().join("tlsdeck.db");
                let url = format!("sqlite:{}", path.display());
                Some(Self { backend, url, sqlite: Some((dir, path)), postgres: None })
            }
            Backend::Postgres => {
                let server = postgres_server()?;
                let name = format!("tlsdeck_test_{}", uuid::Uuid::new_v4().simple());
                create_database(&server, &name);
                let url = with_database(&server, &name);
                Some(Self { backend, url, sqlite: None, postgres: Some((server, name)) })
            }
        }
    }

    /// Opens (and on first use migrates) a store on this database.
    pub fn open(&self) -> Arc<dyn Store> {
        tlsdeck_store::open_url(&self.url).expect("the test store opens")
    }

    /// The SQLite file, on SQLite.
    pub fn sqlite_path(&self) -> Option<&PathBuf> {
        self.sqlite.as_ref().map(|(_, p)| p)
    }

    /// Runs a one-column query straight on the database, past the store; each row's value as
    /// text.
    pub fn raw(&self, sql: &str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(self.sqlite_path().unwrap()).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let rows = stmt
                    .query_map([], |r| {
                        let v: rusqlite::types::Value = r.get(0)?;
                        Ok(match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        })
                    })
                    .unwrap();
                rows.collect::<Result<_, _>>().unwrap()
            }
            Backend::Postgres => {
                let mut client = Client::connect(&self.url, NoTls).unwrap();
                let text = format!("SELECT c::text FROM ({sql}) AS q (c)");
                let rows = client.query(&text, &[]).unwrap();
                rows.iter().map(|r| r.get::<_, String>(0)).collect()
            }
        }
    }

    /// Runs statements straight on the database, past the store.
    pub fn execute(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => rusqlite::Connection::open(self.sqlite_path().unwrap())
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
            Backend::Postgres => {
                Client::connect(&self.url, NoTls).unwrap().batch_execute(sql).unwrap()
            }
        }
    }

    /// Every table with its columns in the schema's order, tables by name; SQLite's own
    /// tables left out.
    pub fn schema(&self) -> Vec<(String, Vec<String>)> {
        let tables = match self.backend {
            Backend::Sqlite => self.raw(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 ORDER BY name",
            ),
            Backend::Postgres => self.raw(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() ORDER BY 1",
            ),
        };
        tables
            .into_iter()
            .map(|t| {
                let columns = match self.backend {
                    Backend::Sqlite => {
                        self.raw(&format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"))
                    }
                    Backend::Postgres => self.raw(&format!(
                        "SELECT column_name::text FROM information_schema.columns
                         WHERE table_schema = current_schema() AND table_name = '{t}'
                         ORDER BY ordinal_position"
                    )),
                };
                (t, columns)
            })
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.postgres
            && let Ok(mut admin) = Client::connect(server, NoTls)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The server URL, or `None` (after a note) when the tests should skip PostgreSQL.
fn postgres_server() -> Option<String> {
    match std::env::var("TLSDECK_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("TLSDECK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("TLSDECK_REQUIRE_POSTGRES=1 but TLSDECK_TEST_DATABASE_URL is not set");
            }
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                // Straight to stderr: the test harness captures eprintln!.
                let _ = writeln!(
                    std::io::stderr(),
                    "note: PostgreSQL store tests skipped: TLSDECK_TEST_DATABASE_URL is not set \
                     (scripts/pg start DIR prints one)"
                );
            });
            None
        }
    }
}

/// Creates a database whose default collation sorts unlike bytes (ICU's en-US), so a query
/// that forgot the "C" collation orders differently from SQLite and fails its test. Falls
/// back to the server's default where ICU is missing.
fn create_database(server: &str, name: &str) {
    let mut admin = Client::connect(server, NoTls).expect("the test PostgreSQL server answers");
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu \
         ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    );
    if admin.batch_execute(&icu).is_err() {
        admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("a test database");
    }
}

/// The server URL with another database name.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}
