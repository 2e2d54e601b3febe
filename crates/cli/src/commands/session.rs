//! `login` and `logout`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::client::Client;
use crate::config::{self, Credential};

/// Exchanges a password for a token and saves it for the server.
pub fn login(
    server: &str,
    username: &str,
    password: &str,
    realm: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let url = config::normalize(server);
    if !url.starts_with("http://") && !url.starts_with("https://") {
        let msg = format!("--server '{url}' needs a scheme, e.g. https://127.0.0.1:7070");
        return Err(crate::UsageError(msg).into());
    }
    let ca_pem = match ca_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let client = Client::new(&url, None, Duration::from_secs(30), ca_pem.as_deref())?;
    let body = json!({
        "username": username,
        "password": password,
        "realm": realm,
        "grant_type": "password",
    });
    let answer = client.post("/api/token", &body).context("log-in failed")?;
    let token = answer
        .body
        .get("access_token")
        .and_then(Value::as_str)
        .context("the server answered without an access_token")?;

    let mut saved = config::load()?;
    let cred = Credential {
        token: token.to_owned(),
        username: username.into(),
        realm: realm.into(),
        ca_pem,
    };
    saved.servers.insert(url.clone(), cred);
    saved.current = Some(url.clone());
    config::save(&saved)?;
    println!("logged in to {url} as {username}");
    Ok(ExitCode::SUCCESS)
}

/// Ends the token on the server (when reachable) and forgets it.
pub fn logout(server: Option<&str>) -> Result<ExitCode> {
    let (url, cred) = config::resolve(server)?;
    let client =
        Client::new(&url, Some(cred.token), Duration::from_secs(30), cred.ca_pem.as_deref())?;
    if let Err(e) = client.delete("/api/token") {
        eprintln!("warning: the server did not end the token: {e}");
    }
    let mut saved = config::load()?;
    saved.servers.remove(&url);
    if saved.current.as_deref() == Some(url.as_str()) {
        saved.current = None;
    }
    config::save(&saved)?;
    println!("logged out of {url}");
    Ok(ExitCode::SUCCESS)
}
