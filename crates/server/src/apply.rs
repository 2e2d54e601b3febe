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

/// Fails when the master key does not open the org's sealed keys: a different
/// `TLSDECK_MASTER_KEY` than the one they were sealed with would otherwise surface only at
/// the first handshake.
pub fn check_master_key(state: &AppState) -> anyhow::Result<()> {
    for org in state.store.list_orgs()? {
        let (_, keystores) = state.store.list_keystores(org.id, tlsdeck_store::Page::default())?;
        if let Some(ks) = keystores.first()
            && state.master_key.open(&ks.sealed_key, &seal_context(&org)).is_err()
        {
            anyhow::bail!(
                "the master key does not open the private key of keystore {} in org {}: start \
                 with the master key the store was sealed with (TLSDECK_MASTER_KEY or master.key)",
                ks.labels.name,
                org.name
            );
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
