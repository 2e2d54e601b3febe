//! Applying a stored profile: its truststore and keystore turned into what the engine
//! needs, and its compiled context kept per revision.

use tlsdeck_engine::{
    ClientContext, EngineError, Identity, ProbeOptions, ProbeReport, Target, Trust,
};
use tlsdeck_store::{Org, Store, StoreError, StoreLink, StoredProfile};

use crate::AppState;
use crate::keystores::seal_context;

/// Why a profile's material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sealed key did not open (another master key, or damaged data).
    #[error("the private key of keystore {0} could not be unsealed with this server's master key")]
    Unseal(String),
}

/// The trust anchors of a truststore, or the system's when none is linked.
pub fn trust(store: &dyn Store, truststore: Option<&StoreLink>) -> Result<Trust, MaterialError> {
    let Some(link) = truststore else { return Ok(Trust::System) };
    let entries = store.truststore_entries(link.id)?;
    Ok(Trust::Certificates(entries.into_iter().map(|e| e.der).collect()))
}

/// The chain and unsealed key of a keystore, when one is linked.
pub fn identity(
    state: &AppState,
    org: &Org,
    keystore: Option<&StoreLink>,
) -> Result<Option<Identity>, MaterialError> {
    let Some(link) = keystore else { return Ok(None) };
    let ks = state.store.keystore(org.id, &link.id.to_string())?;
    let key = state
        .master_key
        .open(&ks.sealed_key, &seal_context(org))
        .map_err(|_| MaterialError::Unseal(ks.labels.name.clone()))?;
    Ok(Some(Identity { chain: ks.chain, key_pkcs8: key.to_vec() }))
}

/// Handshakes with `target` through the profile, building its context only when the
/// profile or a store it uses changed.
pub fn probe(
    state: &AppState,
    org: &Org,
    p: &StoredProfile,
    target: &Target,
    opts: &ProbeOptions,
) -> ProbeReport {
    let insecure = p.profile.insecure_server_connections;
    let mut material_error = None;
    let built = state.contexts.get_or_build(&p.id.to_string(), &p.material_revision(), || {
        let (trust, identity) = load(state, org, p).map_err(|e| {
            let message = e.to_string();
            material_error = Some(message.clone());
            EngineError::Identity(message)
        })?;
        ClientContext::build_with_identity(&p.profile, &trust, identity.as_ref())
    });
    match (built, material_error) {
        (Ok(ctx), _) => ctx.probe(target, opts),
        (Err(_), Some(message)) => ProbeReport::not_started(target, insecure, message),
        (Err(e), None) => ProbeReport::not_started(target, insecure, e.to_string()),
    }
}

/// The store fact holding a value sealed with the store's master key.
const MASTER_KEY_CHECK: &str = "master_key_check";
/// What that value is, and the context it is sealed in.
const CHECK_TEXT: &[u8] = b"tlsdeck master key check";

/// Fails when `key` is not the store's master key: the first instance of a store seals a
/// check value with its key, and every later start (on any instance of a shared store) must
/// open it. Stores from before the check also try each org's first sealed key. A different
/// `TLSDECK_MASTER_KEY` would otherwise surface only at the first handshake, or seal new
/// keys that the other instances cannot open.
pub fn check_master_key(store: &dyn Store, key: &tlsdeck_pki::MasterKey) -> anyhow::Result<()> {
    let wrong = || {
        anyhow::anyhow!(
            "the master key does not open this store's sealed keys: start with the master key \
             the store was sealed with (TLSDECK_MASTER_KEY, or master.key in the data dir); \
             every instance of a shared store needs the same one"
        )
    };
    let check = match store.meta(MASTER_KEY_CHECK)? {
        Some(check) => check,
        None => {
            let sealed = hex::encode(key.seal(CHECK_TEXT, CHECK_TEXT)?);
            if store.set_meta_once(MASTER_KEY_CHECK, &sealed)? {
                sealed
            } else {
                // Another instance sealed its check first: this key must open that one.
                store.meta(MASTER_KEY_CHECK)?.unwrap_or_default()
            }
        }
    };
    let opens =
        hex::decode(&check).ok().is_some_and(|sealed| key.open(&sealed, CHECK_TEXT).is_ok());
    if !opens {
        return Err(wrong());
    }
    for org in store.list_orgs()? {
        let (_, keystores) = store.list_keystores(org.id, tlsdeck_store::Page::default())?;
        if let Some(ks) = keystores.first()
            && key.open(&ks.sealed_key, &seal_context(&org)).is_err()
        {
            tracing::error!(keystore = %ks.labels.name, org = %org.name, "a sealed key does not open");
            return Err(wrong());
        }
    }
    Ok(())
}

fn load(
    state: &AppState,
    org: &Org,
    p: &StoredProfile,
) -> Result<(Trust, Option<Identity>), MaterialError> {
    let trust = trust(state.store.as_ref(), p.truststore.as_ref())?;
    Ok((trust, identity(state, org, p.keystore.as_ref())?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlsdeck_pki::MasterKey;
    use tlsdeck_store::SqliteStore;

    #[test]
    fn a_second_master_key_is_refused_even_before_any_keystore_exists() {
        let store = SqliteStore::in_memory().unwrap();
        let (first, second) = (MasterKey::from_bytes([1; 32]), MasterKey::from_bytes([2; 32]));
        check_master_key(&store, &first).unwrap();
        let err = check_master_key(&store, &second).unwrap_err();
        assert!(err.to_string().contains("master key does not open"), "{err}");
        check_master_key(&store, &first).unwrap();
    }
}
