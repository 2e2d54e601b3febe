//! Following the store's change feed, so that every instance on a shared store drops the
//! compiled contexts a change on another instance made stale.
//!
//! Contexts are cached by material revision, so a stale one is never used for a profile
//! read afresh; the feed frees them at once and tells long-lived users (the gateway) to
//! look again, within a second of the change on any instance.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tlsdeck_store::{Change, ChangeKind};

use crate::AppState;

/// How long one wait for a change lasts before the feed is read anyway.
const WAIT: Duration = Duration::from_secs(1);
/// The most changes read at once.
const BATCH: u32 = 1000;

/// What the feed has seen so far.
#[derive(Debug, Default)]
pub struct Feed {
    /// The sequence number of the last change handled.
    seen: AtomicI64,
}

impl Feed {
    /// The sequence number of the last change handled (0 before the first).
    pub fn seen(&self) -> i64 {
        self.seen.load(Ordering::Acquire)
    }
}

/// Starts following the feed on a thread of its own, for as long as the process runs.
pub fn follow(state: AppState) -> std::io::Result<()> {
    let start = state.store.last_change().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the change feed cannot be read yet");
        0
    });
    state.feed.seen.store(start, Ordering::Release);
    std::thread::Builder::new().name("change-feed".into()).spawn(move || {
        let mut failing = false;
        loop {
            let read = state
                .store
                .wait_for_change(WAIT)
                .and_then(|()| state.store.changes_since(state.feed.seen(), BATCH));
            match read {
                Ok(changes) => {
                    if failing {
                        tracing::info!("the change feed is readable again");
                        failing = false;
                    }
                    for change in &changes {
                        apply(&state, change);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "the change feed cannot be read; retrying");
                        failing = true;
                    }
                    std::thread::sleep(WAIT);
                }
            }
        }
    })?;
    Ok(())
}

fn apply(state: &AppState, change: &Change) {
    match change.kind {
        ChangeKind::ClientProfile => {
            state.contexts.remove(&change.id.to_string());
        }
        // Which profiles use a store is the store's to know; contexts are cheap to rebuild.
        ChangeKind::Keystore | ChangeKind::Truststore => state.contexts.clear(),
        // The listener compares revisions on every connection.
        ChangeKind::ServerProfile => {}
    }
    tracing::debug!(seq = change.seq, kind = ?change.kind, id = %change.id, "store changed");
    state.feed.seen.store(change.seq, Ordering::Release);
}

/// The feed of a state, for `/metrics`.
pub fn seen(state: &AppState) -> i64 {
    state.feed.seen()
}
