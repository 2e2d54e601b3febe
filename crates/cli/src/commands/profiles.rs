//! `tls-client-profiles:*`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::args::{Common, Format};
use crate::client::Client;
use crate::input::{self, segment};
use crate::{config, output};

/// The most pages `list-all` reads (of 1,000 profiles each).
const MAX_PAGES: u64 = 1000;

pub(super) fn client(common: &Common) -> Result<Client> {
    let (url, cred) = config::resolve(common.server.as_deref())?;
    Client::new(&url, Some(cred.token), Duration::from_secs(60), cred.ca_pem.as_deref())
}

/// Which kind of profile a command works on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `tls-client-profiles`.
    Client,
    /// `tls-server-profiles`.
    Server,
}

impl Kind {
    fn collection(self) -> &'static str {
        match self {
            Self::Client => "tls-client-profiles",
            Self::Server => "tls-server-profiles",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Client => "TLS client profiles",
            Self::Server => "TLS server profiles",
        }
    }
}

fn collection(kind: Kind, common: &Common) -> String {
    format!("/api/orgs/{}/{}", segment(&common.org), kind.collection())
}

fn item(kind: Kind, common: &Common, arg: &str) -> Result<String> {
    let (name, version) = input::name_version(arg)?;
    Ok(format!("{}/{}/{}", collection(kind, common), segment(&name), segment(&version)))
}

fn show(value: &Value, common: &Common, default: Format) -> Result<ExitCode> {
    let text = output::render(value, common.format.unwrap_or(default), output::profile_table)?;
    output::write(&common.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Creates a profile from a file.
pub fn create(kind: Kind, file: &Path, common: &Common) -> Result<ExitCode> {
    let body = input::read_file(file)?;
    let answer = client(common)?.post(&collection(kind, common), &body)?;
    show(&answer.body, common, Format::Yaml)
}

/// Shows one profile.
pub fn get(kind: Kind, profile: &str, common: &Common) -> Result<ExitCode> {
    let path = item(kind, common, profile)?;
    let answer = client(common)?.get(&path)?;
    show(&answer.body, common, Format::Yaml)
}

/// Lists the versions of one name.
pub fn list_versions(kind: Kind, name: &str, common: &Common) -> Result<ExitCode> {
    let path = format!("{}/{}", collection(kind, common), segment(name));
    let answer = client(common)?.get(&path)?;
    show(&answer.body, common, Format::Table)
}

/// Lists every profile of the org, page by page.
pub fn list_all(kind: Kind, common: &Common) -> Result<ExitCode> {
    let client = client(common)?;
    let mut results = Vec::new();
    let mut total = 0;
    for page in 0..MAX_PAGES {
        let path = format!("{}?limit=1000&offset={}", collection(kind, common), page * 1000);
        let answer = client.get(&path)?;
        total = answer.body.get("total_results").and_then(Value::as_u64).unwrap_or(0);
        let items =
            answer.body.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
        let empty = items.is_empty();
        results.extend(items);
        if empty || results.len() as u64 >= total {
            break;
        }
    }
    show(&json!({ "total_results": total, "results": results }), common, Format::Table)
}

/// Changes a profile with the fields of a file.
pub fn update(kind: Kind, profile: &str, file: &Path, common: &Common) -> Result<ExitCode> {
    let path = item(kind, common, profile)?;
    let body = input::read_file(file)?;
    let answer = client(common)?.patch(&path, &body)?;
    show(&answer.body, common, Format::Yaml)
}

/// Deletes one profile.
pub fn delete(kind: Kind, profile: &str, common: &Common) -> Result<ExitCode> {
    let path = item(kind, common, profile)?;
    client(common)?.delete(&path)?;
    output::write(&common.output, &format!("deleted {profile}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes every profile of the org.
pub fn clear(kind: Kind, confirm: &str, common: &Common) -> Result<ExitCode> {
    if confirm != common.org {
        let msg = format!("--confirm must repeat the org's name ({}) to clear it", common.org);
        return Err(crate::UsageError(msg).into());
    }
    let path = format!("{}?confirm={}", collection(kind, common), segment(confirm));
    let answer = client(common)?.delete(&path)?;
    let n = answer.body.get("deleted").and_then(Value::as_u64).unwrap_or(0);
    output::write(
        &common.output,
        &format!("deleted {n} {} in org {}\n", kind.label(), common.org),
    )?;
    Ok(ExitCode::SUCCESS)
}
