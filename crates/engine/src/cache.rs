//! Client contexts compiled once per revision and shared until the revision changes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tracing::debug;

use crate::context::ClientContext;
use crate::error::EngineError;

/// Compiled client contexts, one per caller-given key (e.g. a profile id), each kept for one
/// revision.
///
/// The revision is a fingerprint the caller builds from everything the context is compiled
/// from: the profile's revision and the revisions of the stores it uses. A request with
/// another revision compiles a new context and replaces the old one.
#[derive(Default)]
pub struct ContextCache {
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    revision: String,
    context: Arc<ClientContext>,
}

impl fmt::Debug for ContextCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextCache").field("contexts", &self.len()).finish()
    }
}

impl ContextCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context for `key` at `revision`: the cached one when the revision matches, else
    /// the one `build` makes, which replaces any other revision of `key`.
    ///
    /// `build` runs without the lock, so a slow build holds up no other key. Two callers
    /// asking for the same new revision at once may both build; both get the context that
    /// was cached first. A failed build also drops the stale context of `key`.
    pub fn get_or_build<F>(
        &self,
        key: &str,
        revision: &str,
        build: F,
    ) -> Result<Arc<ClientContext>, EngineError>
    where
        F: FnOnce() -> Result<ClientContext, EngineError>,
    {
        if let Some(cached) = self.cached(key, revision) {
            return Ok(cached);
        }

        let started = Instant::now();
        let built = build();
        let mut entries = self.lock();
        let built = match built {
            Ok(ctx) => Arc::new(ctx),
            Err(e) => {
                entries.remove(key);
                return Err(e);
            }
        };
        debug!(
            key,
            revision,
            build_ms = started.elapsed().as_secs_f64() * 1000.0,
            "client context compiled"
        );

        if let Some(raced) = entries.get(key).filter(|c| c.revision == revision) {
            return Ok(Arc::clone(&raced.context));
        }
        let cached = Cached { revision: revision.to_owned(), context: Arc::clone(&built) };
        entries.insert(key.to_owned(), cached);
        Ok(built)
    }

    /// Forgets the context of `key`, e.g. when its profile is deleted; true if there was one.
    pub fn remove(&self, key: &str) -> bool {
        self.lock().remove(key).is_some()
    }

    /// Forgets every context, e.g. when a keystore or truststore that some may use changed.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many contexts are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no context is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn cached(&self, key: &str, revision: &str) -> Option<Arc<ClientContext>> {
        let entries = self.lock();
        let cached = entries.get(key).filter(|c| c.revision == revision)?;
        Some(Arc::clone(&cached.context))
    }

    /// The entries; a panic elsewhere never leaves them half-updated, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Cached>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::Trust;
    use serde_json::json;
    use std::cell::Cell;
    use tlsdeck_model::ClientProfile;

    fn build() -> Result<ClientContext, EngineError> {
        let p = ClientProfile::from_json(&json!({"title": "t", "ciphers": ["AES128-SHA"]}))
            .expect("profile");
        ClientContext::build(&p, &Trust::System)
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn the_cache_can_be_shared_between_threads() {
        assert_send_sync::<ContextCache>();
    }

    #[test]
    fn the_same_revision_returns_the_same_context_without_building() {
        let cache = ContextCache::new();
        let builds = Cell::new(0);
        let counted = || {
            builds.set(builds.get() + 1);
            build()
        };
        let cold = cache.get_or_build("p1", "r1", counted).unwrap();
        let warm = cache.get_or_build("p1", "r1", counted).unwrap();
        assert!(Arc::ptr_eq(&cold, &warm));
        assert_eq!(builds.get(), 1);
    }

    #[test]
    fn a_new_revision_builds_anew_and_replaces_the_old() {
        let cache = ContextCache::new();
        let r1 = cache.get_or_build("p1", "r1", build).unwrap();
        let r2 = cache.get_or_build("p1", "r2", build).unwrap();
        assert!(!Arc::ptr_eq(&r1, &r2));
        assert_eq!(cache.len(), 1);
        assert!(Arc::ptr_eq(&r2, &cache.get_or_build("p1", "r2", build).unwrap()));
    }

    #[test]
    fn keys_are_cached_apart() {
        let cache = ContextCache::new();
        let a = cache.get_or_build("a", "r", build).unwrap();
        let b = cache.get_or_build("b", "r", build).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 2);
        assert!(cache.remove("a") && !cache.remove("a"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_failed_build_is_returned_and_drops_the_stale_context() {
        let cache = ContextCache::new();
        cache.get_or_build("p1", "r1", build).unwrap();
        let err = cache.get_or_build("p1", "r2", || Err(EngineError::NoProtocol)).unwrap_err();
        assert_eq!(err, EngineError::NoProtocol);
        assert!(cache.is_empty());
    }
}
