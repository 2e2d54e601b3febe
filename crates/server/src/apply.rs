//! Applying a stored profile: its truststore and keystore turned into what the engine
//! needs, and its compiled context kept per revision.

use tlsdeck_engine::{
    ClientContext, EngineError, Identity, ProbeOptions, ProbeReport, Target, Trust,
};
use tlsdeck_store::{Org, Store, StoreError, StoredProfile};

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

/// The trust anchors a profile verifies with: its truststore, or the system's when none.
pub fn trust(store: &dyn Store, p: &StoredProfile) -> Result<Trust, MaterialError> {
    let Some(link) = &p.truststore else { return Ok(Trust::System) };
    let entries = store.truststore_entries(link.id)?;
    Ok(Trust::Certificates(entries.into_iter().map(|e| e.der).collect()))
}

/// The client certificate a profile presents, with its key unsealed.
pub fn identity(
    state: &AppState,
    org: &Org,
    p: &StoredProfile,
) -> Result<Option<Identity>, MaterialError> {
    let Some(link) = &p.keystore else { return Ok(None) };
    let ks = state.store.keystore(org.id, &link.id.to_string())?;
    let key = state
        .master_key
        .open(&ks.sealed_key, &seal_context(org))
        .map_err(|_| MaterialError::Unseal(ks.labels.name.clone()))?;
    Ok(Some(Identity { chain: ks.chain, key_pkcs8: key.to_vec() }))
}

/// Handshakes with `target` through the profile, building its context only when the
/// profile changed (a change to a store it uses moves the profile's revision too).
pub fn probe(
    state: &AppState,
    org: &Org,
    p: &StoredProfile,
    target: &Target,
    opts: &ProbeOptions,
) -> ProbeReport {
    let insecure = p.profile.insecure_server_connections;
    let built = state.contexts.get_or_build(&p.id.to_string(), &p.revision.to_string(), || {
        let (trust, identity) =
            load(state, org, p).map_err(|e| EngineError::Trust(e.to_string()))?;
        ClientContext::build_with_identity(&p.profile, &trust, identity.as_ref())
    });
    match built {
        Ok(ctx) => ctx.probe(target, opts),
        Err(e) => ProbeReport::not_started(target, insecure, e.to_string()),
    }
}

fn load(
    state: &AppState,
    org: &Org,
    p: &StoredProfile,
) -> Result<(Trust, Option<Identity>), MaterialError> {
    Ok((trust(state.store.as_ref(), p)?, identity(state, org, p)?))
}
