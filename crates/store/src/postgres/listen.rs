//! Waiting for `NOTIFY tlsdeck_changes` on a connection kept for that alone.
//!
//! One waiter at a time reads the connection; others wait on a condition variable and return
//! when it saw a notification (or try themselves when it gave up). Notifications that arrive
//! between two waits stay buffered on the connection, so a single follower loses none.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::{Client, Config, Error, NoTls};

use super::{backend, close_elsewhere, connect_error};
use crate::Result;

/// The channel every change is announced on.
pub(super) const CHANNEL: &str = "tlsdeck_changes";

/// At most this many buffered notifications are skipped in one go.
const DRAIN_LIMIT: usize = 10_000;

pub(super) struct Listener {
    config: Config,
    shown: String,
    state: Mutex<State>,
    woke: Condvar,
}

struct State {
    /// The listening connection; `None` until (re)connected, or while a waiter reads it.
    client: Option<Client>,
    /// A waiter is reading the connection.
    busy: bool,
    /// Grows by one each time a waiter saw a notification.
    generation: u64,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("url", &self.shown).finish_non_exhaustive()
    }
}

impl Listener {
    /// Connects and starts listening, so changes committed from now on are seen.
    pub(super) fn start(config: Config, shown: String) -> Result<Self> {
        let client = listen(&config, &shown)?;
        let state = State { client: Some(client), busy: false, generation: 0 };
        Ok(Self { config, shown, state: Mutex::new(state), woke: Condvar::new() })
    }

    /// Returns after a notification, or when `timeout` has passed.
    pub(super) fn wait(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        let seen = s.generation;
        loop {
            if s.generation != seen {
                return Ok(());
            }
            if !s.busy {
                s.busy = true;
                let client = s.client.take();
                drop(s);
                let (client, outcome) = self.read(client, deadline);
                let mut s = self.lock();
                s.busy = false;
                s.client = client;
                if matches!(outcome, Ok(true)) {
                    s.generation += 1;
                }
                drop(s);
                self.woke.notify_all();
                return outcome.map(|_| ());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            s = self.woke.wait_timeout(s, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Reads the connection until a notification or the deadline; true when one came.
    ///
    /// A lost connection is opened again, and that counts as a notification: changes may
    /// have been committed while nobody listened.
    fn read(&self, client: Option<Client>, deadline: Instant) -> (Option<Client>, Result<bool>) {
        let mut client = match client {
            Some(c) if !c.is_closed() => c,
            _ => {
                return match listen(&self.config, &self.shown) {
                    Ok(c) => (Some(c), Ok(true)),
                    Err(e) => (None, Err(e)),
                };
            }
        };
        let outcome = next_notification(&mut client, deadline).map_err(backend);
        let client = if client.is_closed() {
            close_elsewhere(vec![client]);
            None
        } else {
            Some(client)
        };
        (client, outcome)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        close_elsewhere(self.lock().client.take().into_iter().collect());
    }
}

/// Waits for a notification until the deadline, then skips any others already buffered.
fn next_notification(client: &mut Client, deadline: Instant) -> std::result::Result<bool, Error> {
    let buffered = client.notifications().iter().next()?;
    let first = match buffered {
        Some(n) => Some(n),
        None => {
            let left = deadline.saturating_duration_since(Instant::now());
            client.notifications().timeout_iter(left).next()?
        }
    };
    if first.is_none() {
        return Ok(false);
    }
    let mut notes = client.notifications();
    let mut rest = notes.iter();
    for _ in 0..DRAIN_LIMIT {
        if !matches!(rest.next(), Ok(Some(_))) {
            break;
        }
    }
    Ok(true)
}

fn listen(config: &Config, shown: &str) -> Result<Client> {
    let mut client = config.connect(NoTls).map_err(|e| connect_error(shown, &e))?;
    client.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(backend)?;
    Ok(client)
}
