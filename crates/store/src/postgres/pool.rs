//! A small bounded pool of synchronous connections.
//!
//! At most `max` connections are open; a caller finding none free waits, for
//! [`CHECKOUT_TIMEOUT`] at most. A connection that broke is dropped on its return and a new one
//! is opened on demand.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::postgres::{Client, Config, NoTls};

use super::{close_elsewhere, connect_error};
use crate::{Result, StoreError};

/// How long a caller waits for a free connection before giving up.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct Pool {
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Client>,
    /// Connections open, idle or lent out.
    open: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("url", &self.shown).field("max", &self.max).finish()
    }
}

impl Pool {
    pub(super) fn new(config: Config, shown: String, max: usize) -> Self {
        Self {
            config,
            shown,
            max: max.max(1),
            state: Mutex::new(State { idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
        }
    }

    /// Puts an open connection in the pool, e.g. the one that ran the migrations.
    pub(super) fn add(&self, client: Client) {
        let mut s = self.lock();
        s.open += 1;
        s.idle.push(client);
    }

    /// A connection, idle or new; waits while all `max` are lent out.
    pub(super) fn get(&self) -> Result<Conn<'_>> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut s = self.lock();
        loop {
            while let Some(client) = s.idle.pop() {
                if !client.is_closed() {
                    return Ok(Conn { pool: self, client: Some(client) });
                }
                s.open -= 1;
            }
            if s.open < self.max {
                s.open += 1;
                drop(s);
                return self.open_one();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::message(format!(
                    "no free connection to {} after {}s: all {} are busy",
                    self.shown,
                    CHECKOUT_TIMEOUT.as_secs(),
                    self.max
                )));
            }
            s = self.freed.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn open_one(&self) -> Result<Conn<'_>> {
        match self.config.connect(NoTls) {
            Ok(client) => Ok(Conn { pool: self, client: Some(client) }),
            Err(e) => {
                self.lock().open -= 1;
                self.freed.notify_one();
                Err(connect_error(&self.shown, &e))
            }
        }
    }

    fn put_back(&self, client: Client) {
        let mut s = self.lock();
        if client.is_closed() {
            s.open -= 1;
        } else {
            s.idle.push(client);
        }
        drop(s);
        self.freed.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is two plain fields, consistent between statements: a panic elsewhere
        // cannot leave it half changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        close_elsewhere(std::mem::take(&mut self.lock().idle));
    }
}

/// A connection lent by the pool; it goes back when dropped.
pub(super) struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Client>,
}

impl Deref for Conn<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a lent connection is held until dropped")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a lent connection is held until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.put_back(client);
        }
    }
}
