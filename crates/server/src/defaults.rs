//! The defaults a new store starts with, as in the source product: `default-truststore`
//! (the operating system's CA bundle), `default-keystore` (a generated key and self-signed
//! certificate), `tls-client-profile-default:1.0.0` using the default truststore and
//! `tls-server-profile-default:1.0.0` using the default keystore.
//!
//! They are made once per store; deleted later, they stay deleted.

use serde_json::json;
use tlsdeck_model::{ClientProfile, ServerProfile};
use tlsdeck_pki::{self as pki, MasterKey};
use tlsdeck_store::{Labels, NewEntry, NewKeystore, Org, ProfileRefs, Store, StoreError};
use uuid::Uuid;

use crate::keystores::seal_context;

/// The store fact that records that the first defaults were made.
const MADE: &str = "defaults_created";
/// The store fact that records that the default server profile was made.
const SERVER_PROFILE_MADE: &str = "default_server_profile_created";

/// Makes the defaults in the `admin` org unless this store already made them once; a store
/// made before server profiles existed gains the default server profile on its next start.
pub fn ensure_defaults(store: &dyn Store, master_key: &MasterKey) -> anyhow::Result<()> {
    let org = store.org(crate::ADMIN_ORG)?;
    if store.meta(MADE)?.is_none() {
        let truststore = default_truststore(store, &org)?;
        default_keystore(store, &org, master_key)?;
        default_profile(store, &org, truststore)?;
        store.set_meta_once(MADE, &chrono::Utc::now().to_rfc3339())?;
        tracing::info!(org = %org.name, "created the default truststore, keystore and client profile");
    }
    if store.meta(SERVER_PROFILE_MADE)?.is_none() {
        default_server_profile(store, &org)?;
        store.set_meta_once(SERVER_PROFILE_MADE, &chrono::Utc::now().to_rfc3339())?;
        tracing::info!(org = %org.name, "created the default server profile");
    }
    Ok(())
}

/// `tls-server-profile-default:1.0.0`, using the default keystore (an EC key, hence the
/// ECDSA suites), when that keystore still exists.
fn default_server_profile(store: &dyn Store, org: &Org) -> anyhow::Result<()> {
    let keystore = match store.keystore(org.id, "default-keystore") {
        Ok(k) => k,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let profile = ServerProfile::from_json(&json!({
        "title": "Default TLS server profile",
        "name": "tls-server-profile-default",
        "version": "1.0.0",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "keystore": "default-keystore",
        "ciphers": [
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ],
    }))
    .map_err(|e| anyhow::anyhow!("the default server profile is invalid: {e}"))?;
    let refs = ProfileRefs { keystore: Some(keystore.id), truststore: None };
    match store.create_server_profile(org.id, &profile, refs) {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn default_truststore(store: &dyn Store, org: &Org) -> anyhow::Result<Option<Uuid>> {
    let certs = match pki::system_ca_bundle() {
        Ok(certs) => certs,
        Err(e) => {
            tracing::warn!(error = %e, "no default-truststore: the system CA bundle is unreadable");
            return Ok(None);
        }
    };
    let labels = Labels {
        name: "default-truststore".into(),
        title: "Default truststore".into(),
        summary: Some("The operating system's CA certificates".into()),
    };
    let entries: Vec<NewEntry> = certs
        .into_iter()
        .map(|c| NewEntry { fingerprint: c.info.fingerprint_sha256, der: c.der })
        .collect();
    match store.create_truststore(org.id, &labels, &entries) {
        Ok(t) => Ok(Some(t.id)),
        Err(StoreError::Conflict(_)) => Ok(Some(store.truststore(org.id, &labels.name)?.id)),
        Err(e) => Err(e.into()),
    }
}

fn default_keystore(store: &dyn Store, org: &Org, master_key: &MasterKey) -> anyhow::Result<()> {
    let (cert, key) =
        pki::generate_self_signed("tlsdeck-default", &["localhost", "127.0.0.1", "::1"], 3650)?;
    let new = NewKeystore {
        labels: Labels {
            name: "default-keystore".into(),
            title: "Default keystore".into(),
            summary: Some("A generated key with a self-signed certificate".into()),
        },
        chain: vec![cert.der],
        sealed_key: master_key.seal(key.pkcs8_der(), &seal_context(org))?,
    };
    match store.create_keystore(org.id, &new) {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn default_profile(store: &dyn Store, org: &Org, truststore: Option<Uuid>) -> anyhow::Result<()> {
    let profile = ClientProfile::from_json(&json!({
        "title": "Default TLS client profile",
        "name": "tls-client-profile-default",
        "version": "1.0.0",
        "protocols": ["tls_v1.2", "tls_v1.3"],
        "ciphers": [
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ],
    }))
    .map_err(|e| anyhow::anyhow!("the default profile is invalid: {e}"))?;
    let refs = ProfileRefs { keystore: None, truststore };
    match store.create_client_profile(org.id, &profile, refs) {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
