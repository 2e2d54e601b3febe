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
/// A connection idle longer than this is checked before it is lent: the server may have
/// restarted or closed it meanwhile, and the client only notices when it next speaks.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);
/// How long that check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) struct Pool {
    config: Config,
    /// The URL without its password, for messages.
    shown: String,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    /// Idle connections and since when they are idle.
    idle: Vec<(Client, Instant)>,
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
        s.idle.push((client, Instant::now()));
    }

    /// A connection, idle or new; waits while all `max` are lent out.
    pub(super) fn get(&self) -> Result<Conn<'_>> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        // Each pass lends one idle connection, or opens or waits; bounded by the deadline
        // and by the connections a pass may drop.
        loop {
            match self.next_idle(deadline)? {
                Some((mut client, since)) => {
                    let usable = !client.is_closed()
                        && (since.elapsed() < CHECK_AFTER_IDLE
                            || client.is_valid(CHECK_TIMEOUT).is_ok());
                    if usable {
                        return Ok(Conn { pool: self, client: Some(client) });
                    }
                    self.lock().open -= 1;
                    close_elsewhere(vec![client]);
                }
                None => return self.open_one(),
            }
        }
    }

    /// An idle connection, or `None` once a new one may be opened (and is counted).
    fn next_idle(&self, deadline: Instant) -> Result<Option<(Client, Instant)>> {
        let mut s = self.lock();
        loop {
            if let Some(idle) = s.idle.pop() {
                return Ok(Some(idle));
            }
            if s.open < self.max {
                s.open += 1;
                return Ok(None);
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
            s.idle.push((client, Instant::now()));
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
        let idle = std::mem::take(&mut self.lock().idle);
        close_elsewhere(idle.into_iter().map(|(client, _)| client).collect());
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
