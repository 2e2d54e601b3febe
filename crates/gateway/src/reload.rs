//! Following the store's change feed on a thread of its own: after any change, every route's
//! client profile and the listener's server profile are read again, and those whose material
//! revision moved get a freshly built context (and, for routes, a fresh connection pool).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::listener::ServerSlot;
use crate::material::Material;
use crate::routes::{Link, Refreshed};

/// How long one wait for a change lasts; also how soon a stop is noticed.
const WAIT: Duration = Duration::from_millis(500);
/// The most changes read at once.
const BATCH: u32 = 1000;

/// What the feed thread reloads.
#[derive(Debug)]
pub struct Reloader {
    /// The store and contexts.
    pub material: Arc<Material>,
    /// The routes' links.
    pub links: Vec<Arc<Link>>,
    /// The listener's server profile, when it serves TLS.
    pub listener: Option<Arc<ServerSlot>>,
}

impl Reloader {
    /// Reads every profile again and rebuilds what moved; false when the store could not be
    /// read for some, which keep their binding until the next try.
    pub fn refresh(&self) -> bool {
        let mut complete = true;
        let mut changed = 0;
        for link in &self.links {
            match link.refresh(&self.material) {
                Refreshed::Rebound => changed += 1,
                Refreshed::Unchanged => {}
                Refreshed::Retry => complete = false,
            }
        }
        if let Some(slot) = &self.listener {
            slot.refresh(&self.material);
        }
        debug!(changed, complete, "profiles checked after a store change");
        complete
    }

    /// Follows the feed until `stop` turns true (noticed within [`WAIT`] or one store call).
    pub fn follow(self, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
        let mut seen = self.material.store().last_change().unwrap_or_else(|e| {
            warn!(error = %e, "the change feed cannot be read yet");
            0
        });
        std::thread::Builder::new().name("gateway-feed".into()).spawn(move || {
            let (mut failing, mut retry) = (false, false);
            while !stop.load(Ordering::Acquire) {
                let store = self.material.store();
                match store.wait_for_change(WAIT).and_then(|()| store.changes_since(seen, BATCH)) {
                    Ok(changes) => {
                        if failing {
                            info!("the change feed is readable again");
                            failing = false;
                        }
                        if let Some(last) = changes.last() {
                            seen = last.seq;
                            retry = true;
                        }
                        if retry {
                            retry = !self.refresh();
                        }
                    }
                    Err(e) => {
                        if !failing {
                            warn!(error = %e, "the change feed cannot be read; retrying");
                            failing = true;
                        }
                        std::thread::sleep(WAIT);
                    }
                }
            }
        })
    }
}
