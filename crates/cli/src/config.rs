//! Saved log-ins: one token per server, in a file only its owner can read.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The log-in saved for one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    /// The bearer token.
    pub token: String,
    /// Who logged in.
    pub username: String,
    /// In which realm.
    pub realm: String,
    /// The CA certificates (PEM) that verify an `https://` server, when not the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

/// Everything saved.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    /// The server used when a command names none.
    pub current: Option<String>,
    /// Log-ins by server URL.
    pub servers: BTreeMap<String, Credential>,
}

/// The folder of saved log-ins: `TLSDECK_CONFIG_DIR`, or `tlsdeck` in the user's config dir.
pub fn dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("TLSDECK_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    dirs::config_dir().map(|d| d.join("tlsdeck")).context("no config dir: set TLSDECK_CONFIG_DIR")
}

fn file() -> Result<PathBuf> {
    Ok(dir()?.join("credentials.json"))
}

/// Reads the saved log-ins (none when nothing was saved yet).
pub fn load() -> Result<Saved> {
    let path = file()?;
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid credentials file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Saved::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the saved log-ins with mode 0600 in a folder with mode 0700.
pub fn save(saved: &Saved) -> Result<()> {
    let dir = dir()?;
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    let path = file()?;
    let tmp = path.with_extension("json.tmp");
    let mut f =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(saved)?)?;
    f.sync_all()?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
}

/// The server URL and log-in a command should use.
pub fn resolve(server: Option<&str>) -> Result<(String, Credential)> {
    let saved = load()?;
    let url = match server {
        Some(s) => normalize(s),
        None => saved.current.clone().ok_or_else(|| {
            anyhow::anyhow!("not logged in: run tlsdeck login --server URL ... first")
        })?,
    };
    let cred = saved.servers.get(&url).cloned().ok_or_else(|| {
        anyhow::anyhow!("not logged in to {url}: run tlsdeck login --server {url} ... first")
    })?;
    Ok((url, cred))
}

/// A server URL without a trailing slash.
pub fn normalize(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}
