//! The tlsdeck management server: REST API, authentication and first-start set-up.

mod apply;
mod audit;
mod auth;
mod body;
mod bootstrap;
mod common;
mod console;
mod defaults;
mod feed;
mod keystores;
mod kinds;
mod metrics;
mod orgs;
mod permissions;
mod problem;
mod profiles;
mod shared;
mod throttle;
mod tls;
mod truststores;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use tlsdeck_engine::ContextCache;

use crate::kinds::{ClientKind, ProfileKind, ServerKind};
use tlsdeck_pki::MasterKey;
use tlsdeck_store::{SqliteStore, Store, StoreError};

pub use auth::{hash_password, verify_password};
pub use bootstrap::{ADMIN_ORG, ADMIN_REALM, ADMIN_USER, Bootstrap, PASSWORD_ENV, bootstrap};
pub use defaults::ensure_defaults;
pub use problem::Problem;

/// The largest request body: room for a 4 MiB upload in base64 inside JSON.
const MAX_BODY: usize = 8 << 20;

/// What `tlsdeck serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the SQLite file and first-start files live.
    pub data_dir: PathBuf,
    /// Serve over TLS through this `admin` org server profile (`NAME:VERSION`).
    pub tls_server_profile: Option<String>,
    /// A `postgres://` URL of a store shared by several instances; `None` keeps the
    /// SQLite file in the data dir.
    pub database: Option<String>,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Arc<dyn Store>,
    /// Seals and opens private keys at rest.
    master_key: Arc<MasterKey>,
    /// Compiled client contexts, one per profile revision.
    contexts: Arc<ContextCache>,
    /// Failed log-ins, to slow down guessing.
    throttle: Arc<throttle::Throttle>,
    /// The server profile this server's own TLS listener serves through, if any.
    listener_profile: Arc<std::sync::OnceLock<uuid::Uuid>>,
    /// The base of the URLs put into responses, e.g. `http://127.0.0.1:7070`.
    public_url: String,
    /// How far the store's change feed has been followed.
    feed: Arc<feed::Feed>,
}

impl AppState {
    /// State over a store whose keys `master_key` seals, with URLs based at `public_url`.
    pub fn new(
        store: Arc<dyn Store>,
        master_key: MasterKey,
        public_url: impl Into<String>,
    ) -> Self {
        Self {
            store,
            master_key: Arc::new(master_key),
            contexts: Arc::new(ContextCache::new()),
            listener_profile: Arc::new(std::sync::OnceLock::new()),
            throttle: Arc::new(throttle::Throttle::default()),
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            feed: Arc::new(feed::Feed::default()),
        }
    }

    /// Runs a store call off the async threads and turns its failure into a problem.
    async fn run<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(result) => result.map_err(Problem::from),
            Err(e) => {
                tracing::error!(error = %e, "store call panicked");
                Err(Problem::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "the store failed; see the server log",
                ))
            }
        }
    }
}

/// The routes every kind of profile has.
fn profile_routes<K: ProfileKind>(router: Router<AppState>) -> Router<AppState> {
    let collection = format!("/api/orgs/{{org}}/{}", K::COLLECTION);
    router
        .route(
            &collection,
            get(profiles::list::<K>).post(profiles::create::<K>).delete(profiles::clear::<K>),
        )
        .route(
            &format!("{collection}/{{name}}"),
            get(profiles::get_name_or_id::<K>)
                .patch(profiles::patch_by_id::<K>)
                .delete(profiles::delete_by_id::<K>),
        )
        .route(
            &format!("{collection}/{{name}}/{{version}}"),
            get(profiles::get::<K>).patch(profiles::patch::<K>).delete(profiles::delete::<K>),
        )
        .route(
            &format!("{collection}/{{name}}/{{version}}/effective"),
            get(profiles::effective::<K>),
        )
        .route(&format!("{collection}/{{name}}/{{version}}/lint"), get(profiles::lint::<K>))
}

/// Every route of the server: the API under `/api` and the web console beside it.
pub fn router(state: AppState) -> Router {
    let api = api_router(state.clone());
    console::routes(state, api.clone()).merge(api)
}

/// Every route of the API.
fn api_router(state: AppState) -> Router {
    let item = "/api/orgs/{org}/tls-client-profiles/{name}/{version}";
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/token", post(auth::issue_token).delete(auth::revoke_token))
        .route("/api/orgs/{org}/events", get(audit::list))
        .route("/api/orgs/{org}/shared-tls-client-profiles", get(shared::list))
        .route(
            "/api/orgs/{org}/shared-tls-client-profiles/{name}/{version}/probe",
            post(shared::probe),
        )
        .route("/api/orgs", get(orgs::list).post(orgs::create))
        .route("/api/orgs/{org}", get(orgs::get).delete(orgs::delete))
        .route("/api/orgs/{org}/members", get(orgs::members).post(orgs::set_member))
        .route("/api/orgs/{org}/members/{user}", axum::routing::delete(orgs::remove_member))
        .route("/api/orgs/{org}/roles", get(orgs::roles).post(orgs::create_role))
        .route("/api/orgs/{org}/roles/{name}", axum::routing::delete(orgs::delete_role))
        .route("/api/users", get(orgs::list_users).post(orgs::create_user))
        .route("/api/users/{id}", axum::routing::patch(orgs::update_user).delete(orgs::delete_user))
        .route(&format!("{item}/probe"), post(profiles::probe));
    let router = profile_routes::<ClientKind>(router);
    profile_routes::<ServerKind>(router)
        .route(
            "/api/orgs/{org}/keystores",
            get(keystores::list).post(keystores::create).delete(keystores::clear),
        )
        .route(
            "/api/orgs/{org}/keystores/{name}",
            get(keystores::get).patch(keystores::patch).delete(keystores::delete),
        )
        .route(
            "/api/orgs/{org}/truststores",
            get(truststores::list).post(truststores::create).delete(truststores::clear),
        )
        .route(
            "/api/orgs/{org}/truststores/{name}",
            get(truststores::get).patch(truststores::patch).delete(truststores::delete),
        )
        .route(
            "/api/orgs/{org}/truststores/{name}/entries",
            get(truststores::list_entries).post(truststores::add_entries),
        )
        .route(
            "/api/orgs/{org}/truststores/{name}/entries/{entry}",
            get(truststores::get_entry).delete(truststores::delete_entry),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(refuse_nul_in_url))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(problem_for_bare_errors))
        .with_state(state)
}

/// Refuses a URL that holds an encoded NUL: no name, version or filter has one, and no
/// store would look it up the same way (PostgreSQL text cannot hold it).
async fn refuse_nul_in_url(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri = req.uri();
    let has_nul = |s: &str| s.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"));
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return Problem::bad_request("the URL holds a NUL character").into_response();
    }
    next.run(req).await
}

/// Turns error answers made outside the handlers (405, 413, ...) into problem+json too.
async fn problem_for_bare_errors(resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;

    let status = resp.status();
    // Problems pass as they are, and so do the console's pages for unknown paths.
    let is_problem = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"text/html")
    });
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this path",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than 8 MiB",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "the request body has an unsupported media type",
        _ => "the request could not be served",
    };
    let mut problem = Problem::new(status, detail).into_response();
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// An unknown path: problem+json under `/api`, a console page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        Problem::not_found("no such endpoint").into_response()
    } else {
        console::not_found()
    }
}

/// Opens the store in the data dir, runs first-start set-up, and serves until stopped.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls_server_profile.is_some() { "https" } else { "http" };
    // Store calls block (PostgreSQL's client runs a runtime of its own): set up off the
    // async threads.
    let setup = config.clone();
    let state = tokio::task::spawn_blocking(move || prepare(&setup, &format!("{scheme}://{addr}")))
        .await
        .context("the start-up failed")??;
    let app = router(state.clone()).into_make_service_with_connect_info::<throttle::ClientAddr>();
    let dir = config.data_dir.display();

    match &config.tls_server_profile {
        None => {
            tracing::info!(%addr, data_dir = %dir, "listening");
            println!("tlsdeck listening on {scheme}://{addr}");
            axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        }
        Some(profile) => {
            let (run, profile) = (state.clone(), profile.clone());
            let tls = tokio::task::spawn_blocking(move || {
                let org = run.store.org(ADMIN_ORG)?;
                tls::TlsListener::start(listener, run, org, &profile)
                    .with_context(|| format!("cannot serve through TLS server profile {profile}"))
            })
            .await
            .context("the start-up failed")??;
            let _ = state.listener_profile.set(tls.serving());
            tracing::info!(%addr, data_dir = %dir, "listening over TLS");
            println!("tlsdeck listening on {scheme}://{addr}");
            axum::serve(tls, app).with_graceful_shutdown(shutdown_signal()).await?;
        }
    }
    Ok(())
}

/// Opens the store, runs first-start set-up and starts following the change feed.
fn prepare(config: &ServerConfig, public_url: &str) -> anyhow::Result<AppState> {
    let dir = &config.data_dir;
    create_private_dir(dir)
        .with_context(|| format!("cannot use {} as the data dir", dir.display()))?;
    // The master key first: a bad one must stop the start before anything is written.
    let master_key = MasterKey::from_env_or_file(dir)?;
    let store: Arc<dyn Store> = match &config.database {
        Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
            anyhow::bail!(
                "--database takes a postgres:// URL; the SQLite store lives in the data dir"
            )
        }
        Some(url) => tlsdeck_store::open_url(url).context("cannot open the store")?,
        None => Arc::new(
            SqliteStore::open(&dir.join("tlsdeck.db"))
                .with_context(|| format!("cannot open the store in {}", dir.display()))?,
        ),
    };
    let password = std::env::var(bootstrap::PASSWORD_ENV).ok();
    let created = bootstrap(store.as_ref(), dir, password)?;
    if let Some(Bootstrap { generated_password: Some(pw), password_file }) = created {
        println!("created user {ADMIN_USER} in realm {ADMIN_REALM} with password: {pw}");
        println!("(also written to {}; it is not shown again)", password_file.display());
    }
    // Load OpenSSL's legacy provider once, up front, so that every part of the process sees
    // the same algorithms whether or not an old PKCS#12 file was read yet.
    tlsdeck_pki::ensure_legacy_provider();
    // Before anything is sealed: a key that is not the store's must seal nothing.
    apply::check_master_key(store.as_ref(), &master_key)?;
    ensure_defaults(store.as_ref(), &master_key)?;
    let state = AppState::new(store, master_key, public_url);
    feed::follow(state.clone()).context("cannot follow the store's change feed")?;
    Ok(state)
}

/// Creates the data dir readable by its owner only; an existing dir is used as it is.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
