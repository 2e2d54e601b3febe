//! Client profiles of the `admin` org shared with provider orgs by their visibility:
//! listed read-only, and usable in probes as `admin/NAME:VERSION`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};
use tlsdeck_engine::ProbeOptions;
use tlsdeck_model::Visibility;
use tlsdeck_store::{Org, Page, StoredProfile};

use crate::auth::Caller;
use crate::kinds::{ClientKind, ProfileKind};
use crate::permissions::Permission::SettingsView;
use crate::problem::Problem;
use crate::{ADMIN_ORG, AppState, body};

/// The most admin profiles read when looking for shared ones.
const MAX_SHARED: u32 = 1000;

/// True when the admin profile `p` is visible to the org named `org`.
fn visible_to(p: &StoredProfile, org: &str) -> bool {
    match &p.profile.visibility {
        Visibility::Private => false,
        Visibility::Public => true,
        Visibility::Custom { orgs } => orgs.iter().any(|o| o == org),
    }
}

async fn shared_with(state: &AppState, org: &Org) -> Result<Vec<StoredProfile>, Problem> {
    let name = org.name.clone();
    state
        .run(move |s| {
            let admin = s.org(ADMIN_ORG)?;
            let (_, all) =
                s.list_client_profiles(admin.id, None, Page { limit: MAX_SHARED, offset: 0 })?;
            Ok(all.into_iter().filter(|p| visible_to(p, &name)).collect())
        })
        .await
}

fn view(p: &StoredProfile) -> Value {
    let mut v = ClientKind::to_input(&p.profile);
    let obj = v.as_object_mut().expect("a profile's input form is an object");
    // The admin org's stores are not the provider's to see: only that there are some.
    for field in ["keystore", "truststore", "keystore_url", "truststore_url"] {
        obj.remove(field);
    }
    // Which other orgs it is shared with is not this org's business.
    obj.insert("visibility".into(), json!({"type": "shared"}));
    obj.insert("has_keystore".into(), p.keystore.is_some().into());
    obj.insert("has_truststore".into(), p.truststore.is_some().into());
    obj.insert("type".into(), ClientKind::TYPE.into());
    obj.insert("id".into(), p.id.to_string().into());
    obj.insert("org".into(), ADMIN_ORG.into());
    obj.insert(
        "reference".into(),
        format!("{ADMIN_ORG}/{}:{}", p.profile.name, p.profile.version).into(),
    );
    v
}

/// `GET /api/orgs/{org}/shared-tls-client-profiles`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<String>,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let shared = shared_with(&state, &org).await?;
    let results: Vec<Value> = shared.iter().map(view).collect();
    Ok(Json(json!({ "total_results": results.len(), "results": results })))
}

/// `POST /api/orgs/{org}/shared-tls-client-profiles/{name}/{version}/probe`: a probe
/// through an admin profile shared with the org; its key material stays on the server.
pub async fn probe(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, name, version)): Path<(String, String, String)>,
    raw: Bytes,
) -> Result<Json<Value>, Problem> {
    let org = caller.authorize(&state, &org, SettingsView).await?;
    let (target, timeout) = crate::profiles::parse_probe_request(&body::parse::<Value>(&raw)?)?;
    let shared = shared_with(&state, &org).await?;
    let stored = shared
        .into_iter()
        .find(|p| p.profile.name.as_str() == name && p.profile.version.as_str() == version)
        .ok_or_else(|| {
            Problem::not_found(format!("no shared TLS client profile admin/{name}:{version}"))
        })?;
    let (run, admin) = (state.clone(), state.run(|s| s.org(ADMIN_ORG)).await?);
    let report = tokio::task::spawn_blocking(move || {
        crate::apply::probe(&run, &admin, &stored, &target, &ProbeOptions { timeout })
    })
    .await
    .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "the probe failed to run"))?;
    Ok(Json(serde_json::to_value(report).unwrap_or_default()))
}
