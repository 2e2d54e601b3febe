//! Profiles and key material read straight from the store: a route's client profile (its own
//! org's, or an `admin` one shared with it) and the listener's server profile, compiled into
//! engine contexts with their truststores and unsealed keystores.
//!
//! Store calls block: they run before the runtime starts and on the change-feed thread,
//! never on a request.

use std::path::Path;
use std::sync::Arc;

use tlsdeck_engine::{
    ClientContext, ContextCache, EngineError, Identity, KeyUnsealer, ServerContext, Trust,
};
use tlsdeck_model::Visibility;
use tlsdeck_store::{Org, SqliteStore, Store, StoreError, StoreLink, StoredProfile};
use uuid::Uuid;

use crate::config::{ADMIN_ORG, ProfileName, ProfileRef, StoreLocation};

/// The SQLite file in a data dir.
const DB_FILE: &str = "tlsdeck.db";

/// Why profiles or key material could not be used; the text never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MaterialError {
    message: String,
    /// The store failed rather than answered: worth trying again.
    transient: bool,
}

impl MaterialError {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), transient: false }
    }

    fn store(what: &str, e: &StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(format!("{what} is not in the store")),
            other => Self {
                message: format!("{what} cannot be read from the store: {other}"),
                transient: true,
            },
        }
    }

    /// True when the store failed rather than answered, so trying again may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl From<EngineError> for MaterialError {
    fn from(e: EngineError) -> Self {
        Self::new(e.to_string())
    }
}

/// A route's client profile, found in the store: followed by id, so a rename or a new
/// revision is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileHandle {
    /// The org that owns the profile (`admin` for shared ones); its keystores seal with it.
    pub owner: Org,
    /// The profile's id.
    pub id: Uuid,
    /// True for an `admin` profile used by a route of another org.
    pub shared: bool,
    /// The org the route acts for: a shared profile must stay visible to it.
    pub user_org: String,
    /// How the route names it, for logs and messages.
    pub label: String,
}

/// The store, the master key and the compiled client contexts.
#[derive(Debug)]
pub struct Material {
    store: Arc<dyn Store>,
    unsealer: Result<KeyUnsealer, EngineError>,
    contexts: ContextCache,
}

impl Material {
    /// Opens the store at `location` and finds the master key (which is needed only once a
    /// keystore is used).
    pub fn open(location: &StoreLocation) -> Result<Self, MaterialError> {
        let (store, dir): (Arc<dyn Store>, Option<&Path>) = match location {
            StoreLocation::Url(url) => {
                let store = tlsdeck_store::open_url(url)
                    .map_err(|e| MaterialError::new(format!("cannot open the store: {e}")))?;
                (store, None)
            }
            StoreLocation::DataDir(dir) => {
                let db = dir.join(DB_FILE);
                if !db.is_file() {
                    return Err(MaterialError::new(format!(
                        "{} holds no {DB_FILE} (start `tlsdeck serve --data-dir {}` once first)",
                        dir.display(),
                        dir.display()
                    )));
                }
                let store = SqliteStore::open(&db).map_err(|e| {
                    MaterialError::new(format!("cannot open the store {}: {e}", db.display()))
                })?;
                (Arc::new(store), Some(dir.as_path()))
            }
        };
        Ok(Self::new(store, KeyUnsealer::from_env_or_existing_file(dir)))
    }

    /// Material from an open store and master key.
    pub fn new(store: Arc<dyn Store>, unsealer: Result<KeyUnsealer, EngineError>) -> Self {
        Self { store, unsealer, contexts: ContextCache::new() }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Finds the client profile `r` names for a route acting for `org`.
    pub fn resolve(&self, r: &ProfileRef, org: &str) -> Result<ProfileHandle, MaterialError> {
        let owner_name = if r.shared { ADMIN_ORG } else { org };
        let owner = self.org(owner_name)?;
        if owner_name != org {
            self.org(org)?;
        }
        let p = &r.profile;
        let stored = self.store.client_profile(owner.id, &p.name, &p.version).map_err(|e| {
            MaterialError::store(&format!("the TLS client profile {p} of org {owner_name}"), &e)
        })?;
        let handle = ProfileHandle {
            shared: owner_name != org,
            owner,
            id: stored.id,
            user_org: org.into(),
            label: r.to_string(),
        };
        check_visible(&handle, &stored)?;
        Ok(handle)
    }

    /// The profile's material revision now, and its context compiled at that revision (the
    /// cached one while the revision stays).
    pub fn client_context(
        &self,
        h: &ProfileHandle,
    ) -> Result<(String, Arc<ClientContext>), MaterialError> {
        let stored = self.store.client_profile_by_id(h.owner.id, h.id).map_err(|e| {
            MaterialError::store(&format!("the TLS client profile {}", h.label), &e)
        })?;
        check_visible(h, &stored)?;
        let revision = stored.material_revision();
        let mut failure = None;
        let built = self.contexts.get_or_build(&h.id.to_string(), &revision, || {
            let (trust, identity) = self.load(&h.owner, &stored).map_err(|e| {
                failure = Some(e.clone());
                EngineError::Identity(e.message.clone())
            })?;
            ClientContext::build_with_identity(&stored.profile, &trust, identity.as_ref())
        });
        match (built, failure) {
            (Ok(ctx), _) => Ok((revision, ctx)),
            (Err(_), Some(material)) => Err(material),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// The `admin` org's server profile `name` at its current material revision, compiled.
    pub fn server_context(
        &self,
        name: &ProfileName,
    ) -> Result<(String, ServerContext), MaterialError> {
        let admin = self.org(ADMIN_ORG)?;
        let stored =
            self.store.server_profile(admin.id, &name.name, &name.version).map_err(|e| {
                MaterialError::store(
                    &format!("the TLS server profile {name} of org {ADMIN_ORG}"),
                    &e,
                )
            })?;
        let identity = self.identity(&admin, stored.keystore.as_ref())?.ok_or_else(|| {
            MaterialError::new(format!("the TLS server profile {name} has no keystore"))
        })?;
        let trust = self.trust(stored.truststore.as_ref())?;
        let ctx = ServerContext::build(&stored.profile, &identity, &trust)?;
        Ok((stored.material_revision(), ctx))
    }

    /// The material revision of the `admin` server profile `name`.
    pub fn server_revision(&self, name: &ProfileName) -> Result<String, MaterialError> {
        let admin = self.org(ADMIN_ORG)?;
        let stored =
            self.store.server_profile(admin.id, &name.name, &name.version).map_err(|e| {
                MaterialError::store(
                    &format!("the TLS server profile {name} of org {ADMIN_ORG}"),
                    &e,
                )
            })?;
        Ok(stored.material_revision())
    }

    fn load(
        &self,
        owner: &Org,
        p: &StoredProfile,
    ) -> Result<(Trust, Option<Identity>), MaterialError> {
        Ok((self.trust(p.truststore.as_ref())?, self.identity(owner, p.keystore.as_ref())?))
    }

    fn trust(&self, link: Option<&StoreLink>) -> Result<Trust, MaterialError> {
        let Some(link) = link else { return Ok(Trust::System) };
        let entries = self
            .store
            .truststore_entries(link.id)
            .map_err(|e| MaterialError::store(&format!("the truststore {}", link.name), &e))?;
        Ok(Trust::Certificates(entries.into_iter().map(|e| e.der).collect()))
    }

    fn identity(
        &self,
        org: &Org,
        link: Option<&StoreLink>,
    ) -> Result<Option<Identity>, MaterialError> {
        let Some(link) = link else { return Ok(None) };
        let ks = self
            .store
            .keystore(org.id, &link.id.to_string())
            .map_err(|e| MaterialError::store(&format!("the keystore {}", link.name), &e))?;
        let unsealer = self.unsealer.as_ref().map_err(|e| {
            MaterialError::new(format!("the keystore {} cannot be opened: {e}", link.name))
        })?;
        let identity = unsealer
            .identity(ks.chain, &ks.sealed_key, &seal_context(org.id))
            .map_err(|e| MaterialError::new(format!("the keystore {}: {e}", link.name)))?;
        Ok(Some(identity))
    }

    fn org(&self, name: &str) -> Result<Org, MaterialError> {
        self.store.org(name).map_err(|e| MaterialError::store(&format!("the org {name}"), &e))
    }
}

/// The associated data a keystore's private key is sealed with, as the server seals it.
pub fn seal_context(org: Uuid) -> Vec<u8> {
    tlsdeck_engine::keystore_seal_context(org)
}

/// Refuses an `admin` profile that is not (or no longer) shared with the org the route acts
/// for.
fn check_visible(h: &ProfileHandle, stored: &StoredProfile) -> Result<(), MaterialError> {
    let visible = match &stored.profile.visibility {
        _ if !h.shared => true,
        Visibility::Private => false,
        Visibility::Public => true,
        Visibility::Custom { orgs } => orgs.contains(&h.user_org),
    };
    if visible {
        return Ok(());
    }
    Err(MaterialError::new(format!(
        "the TLS client profile {} is not shared with org {} (see its visibility)",
        h.label, h.user_org
    )))
}
