//! The two kinds of TLS profile the API serves alike: what differs between client and
//! server profiles, behind one trait, so every handler is written once.

use serde_json::Value;
use tlsdeck_model::{
    ClientProfile, MutualAuthentication, ServerKey, ServerProfile, StoreRef, ValidationErrors,
    Visibility, Warning, lint,
};
use tlsdeck_store::{Org, Page, ProfileRefs, Result, Store, Stored};
use uuid::Uuid;

/// A kind of TLS profile and how the API and the store handle it.
pub trait ProfileKind: Send + Sync + 'static {
    /// The validated profile.
    type Profile: Clone + Send + Sync + 'static;
    /// The collection in URLs, e.g. `tls-client-profiles`.
    const COLLECTION: &'static str;
    /// The `type` of items, e.g. `tls_client_profile`.
    const TYPE: &'static str;
    /// What people call it, e.g. `TLS client profile`.
    const LABEL: &'static str;

    /// Validates input.
    fn parse(v: &Value) -> std::result::Result<Self::Profile, ValidationErrors>;
    /// The profile as input, for merge patches.
    fn to_input(p: &Self::Profile) -> Value;
    /// `NAME:VERSION`.
    fn key(p: &Self::Profile) -> String;
    /// The keystore and truststore it names.
    fn refs(p: &Self::Profile) -> (Option<&StoreRef>, Option<&StoreRef>);
    /// Who besides the owner may use it (client profiles of the `admin` org only).
    fn visibility(p: &Self::Profile) -> Option<&Visibility>;
    /// Warnings shown with the profile.
    fn warnings(p: &Self::Profile) -> Vec<Warning>;
    /// Its grade, `A` best.
    fn grade(p: &Self::Profile) -> lint::Grade;
    /// The OpenSSL settings it compiles to.
    fn effective(p: &Self::Profile) -> Value;
    /// Rules beyond the profile's own, given its org and its keystore's leaf key type.
    fn check(p: &Self::Profile, org: &Org, key_type: Option<&str>, errs: &mut ValidationErrors);

    /// A page of the org's profiles, optionally of one name.
    fn list(
        s: &dyn Store,
        org: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<Stored<Self::Profile>>)>;
    /// One profile by name and version.
    fn by_name(
        s: &dyn Store,
        org: Uuid,
        name: &str,
        version: &str,
    ) -> Result<Stored<Self::Profile>>;
    /// One profile by id.
    fn by_id(s: &dyn Store, org: Uuid, id: Uuid) -> Result<Stored<Self::Profile>>;
    /// Stores a new profile.
    fn create(
        s: &dyn Store,
        org: Uuid,
        p: &Self::Profile,
        refs: ProfileRefs,
    ) -> Result<Stored<Self::Profile>>;
    /// Replaces a profile at an expected revision.
    fn update(
        s: &dyn Store,
        org: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &Self::Profile,
        refs: ProfileRefs,
    ) -> Result<Stored<Self::Profile>>;
    /// Deletes a profile at an expected revision.
    fn delete(s: &dyn Store, org: Uuid, id: Uuid, expected: Option<i64>) -> Result<()>;
    /// Deletes every profile of the org.
    fn clear(s: &dyn Store, org: Uuid) -> Result<u64>;
}

/// Refuses a profile with a protocol that the linked OpenSSL cannot serve with any suite.
fn unusable(warnings: Vec<Warning>, errs: &mut ValidationErrors) {
    for w in warnings.into_iter().filter(|w| w.code == "no_usable_cipher") {
        errs.push(w.field, w.message);
    }
}

/// TLS client profiles: how tlsdeck connects out.
#[derive(Debug)]
pub struct ClientKind;

impl ProfileKind for ClientKind {
    type Profile = ClientProfile;
    const COLLECTION: &'static str = "tls-client-profiles";
    const TYPE: &'static str = "tls_client_profile";
    const LABEL: &'static str = "TLS client profile";

    fn parse(v: &Value) -> std::result::Result<ClientProfile, ValidationErrors> {
        ClientProfile::from_json(v)
    }

    fn to_input(p: &ClientProfile) -> Value {
        p.to_input()
    }

    fn key(p: &ClientProfile) -> String {
        format!("{}:{}", p.name, p.version)
    }

    fn refs(p: &ClientProfile) -> (Option<&StoreRef>, Option<&StoreRef>) {
        (p.keystore.as_ref(), p.truststore.as_ref())
    }

    fn visibility(p: &ClientProfile) -> Option<&Visibility> {
        Some(&p.visibility)
    }

    fn warnings(p: &ClientProfile) -> Vec<Warning> {
        let mut all = lint::warnings(p);
        all.extend(tlsdeck_engine::warnings(p));
        all
    }

    fn grade(p: &ClientProfile) -> lint::Grade {
        lint::grade(p)
    }

    fn effective(p: &ClientProfile) -> Value {
        serde_json::to_value(tlsdeck_engine::effective(p)).unwrap_or_default()
    }

    fn check(p: &ClientProfile, org: &Org, _key_type: Option<&str>, errs: &mut ValidationErrors) {
        unusable(tlsdeck_engine::warnings(p), errs);
        if org.org_type != "admin" && p.visibility != Visibility::Private {
            errs.push("visibility", "only profiles of the admin org can be shared with other orgs");
        }
    }

    fn list(
        s: &dyn Store,
        org: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<Stored<ClientProfile>>)> {
        s.list_client_profiles(org, name, page)
    }

    fn by_name(
        s: &dyn Store,
        org: Uuid,
        name: &str,
        version: &str,
    ) -> Result<Stored<ClientProfile>> {
        s.client_profile(org, name, version)
    }

    fn by_id(s: &dyn Store, org: Uuid, id: Uuid) -> Result<Stored<ClientProfile>> {
        s.client_profile_by_id(org, id)
    }

    fn create(
        s: &dyn Store,
        org: Uuid,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<Stored<ClientProfile>> {
        s.create_client_profile(org, p, refs)
    }

    fn update(
        s: &dyn Store,
        org: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ClientProfile,
        refs: ProfileRefs,
    ) -> Result<Stored<ClientProfile>> {
        s.update_client_profile(org, id, expected, p, refs)
    }

    fn delete(s: &dyn Store, org: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        s.delete_client_profile(org, id, expected)
    }

    fn clear(s: &dyn Store, org: Uuid) -> Result<u64> {
        s.clear_client_profiles(org)
    }
}

/// TLS server profiles: how a listener accepts connections.
#[derive(Debug)]
pub struct ServerKind;

impl ProfileKind for ServerKind {
    type Profile = ServerProfile;
    const COLLECTION: &'static str = "tls-server-profiles";
    const TYPE: &'static str = "tls_server_profile";
    const LABEL: &'static str = "TLS server profile";

    fn parse(v: &Value) -> std::result::Result<ServerProfile, ValidationErrors> {
        ServerProfile::from_json(v)
    }

    fn to_input(p: &ServerProfile) -> Value {
        p.to_input()
    }

    fn key(p: &ServerProfile) -> String {
        format!("{}:{}", p.name, p.version)
    }

    fn refs(p: &ServerProfile) -> (Option<&StoreRef>, Option<&StoreRef>) {
        (Some(&p.keystore), p.truststore.as_ref())
    }

    fn visibility(_: &ServerProfile) -> Option<&Visibility> {
        None
    }

    fn warnings(p: &ServerProfile) -> Vec<Warning> {
        let mut all = tlsdeck_engine::server_warnings(p);
        if p.mutual_authentication != MutualAuthentication::None && p.truststore.is_none() {
            all.push(Warning::new(
                "client_certificates_system_trust",
                "truststore",
                "client certificates are checked against the system's CAs and no CA names are \
                 sent: set a truststore with the CAs that issue your clients' certificates",
            ));
        }
        all
    }

    fn grade(p: &ServerProfile) -> lint::Grade {
        lint::grade_of(&p.ciphers, &p.protocols, false)
    }

    fn effective(p: &ServerProfile) -> Value {
        serde_json::to_value(tlsdeck_engine::server_effective(p)).unwrap_or_default()
    }

    fn check(p: &ServerProfile, _org: &Org, key_type: Option<&str>, errs: &mut ValidationErrors) {
        unusable(tlsdeck_engine::server_warnings(p), errs);
        if let Some(key_type) = key_type
            && let Err(e) = p.check_key(ServerKey::from_key_type(key_type))
        {
            for f in e.fields() {
                errs.push(f.field.clone(), f.message.clone());
            }
        }
    }

    fn list(
        s: &dyn Store,
        org: Uuid,
        name: Option<&str>,
        page: Page,
    ) -> Result<(u64, Vec<Stored<ServerProfile>>)> {
        s.list_server_profiles(org, name, page)
    }

    fn by_name(
        s: &dyn Store,
        org: Uuid,
        name: &str,
        version: &str,
    ) -> Result<Stored<ServerProfile>> {
        s.server_profile(org, name, version)
    }

    fn by_id(s: &dyn Store, org: Uuid, id: Uuid) -> Result<Stored<ServerProfile>> {
        s.server_profile_by_id(org, id)
    }

    fn create(
        s: &dyn Store,
        org: Uuid,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<Stored<ServerProfile>> {
        s.create_server_profile(org, p, refs)
    }

    fn update(
        s: &dyn Store,
        org: Uuid,
        id: Uuid,
        expected: Option<i64>,
        p: &ServerProfile,
        refs: ProfileRefs,
    ) -> Result<Stored<ServerProfile>> {
        s.update_server_profile(org, id, expected, p, refs)
    }

    fn delete(s: &dyn Store, org: Uuid, id: Uuid, expected: Option<i64>) -> Result<()> {
        s.delete_server_profile(org, id, expected)
    }

    fn clear(s: &dyn Store, org: Uuid) -> Result<u64> {
        s.clear_server_profiles(org)
    }
}
