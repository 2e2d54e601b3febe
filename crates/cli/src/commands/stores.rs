//! `keystores:*`, `truststores:*` and `entries:*`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::profiles::client;
use crate::args::{
    ClearArgs, Common, EntryCreate, EntryItem, EntryList, Format, StoreCreate, StoreItem,
    StoreUpdate, Upload,
};
use crate::input::{self, segment};
use crate::output::{self, cell, columns};

/// The largest material file read.
const MAX_MATERIAL: u64 = 4 << 20;

/// Which collection a command works on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `keystores`: a key and its chain.
    Keystores,
    /// `truststores`: CA certificates.
    Truststores,
}

impl Kind {
    fn collection(self) -> &'static str {
        match self {
            Self::Keystores => "keystores",
            Self::Truststores => "truststores",
        }
    }

    /// The REST field that carries the material.
    fn field(self) -> &'static str {
        match self {
            Self::Keystores => "keystore",
            Self::Truststores => "truststore",
        }
    }
}

fn path(kind: Kind, common: &Common) -> String {
    format!("/api/orgs/{}/{}", segment(&common.org), kind.collection())
}

fn item(kind: Kind, common: &Common, name: &str) -> String {
    format!("{}/{}", path(kind, common), segment(name))
}

fn entries(common: &Common, truststore: &str) -> String {
    format!("{}/entries", item(Kind::Truststores, common, truststore))
}

fn show(value: &Value, common: &Common, default: Format) -> Result<ExitCode> {
    let text = output::render(value, common.format.unwrap_or(default), store_table)?;
    output::write(&common.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Creates a keystore or truststore from a REST file or from `--file` material.
pub fn create(kind: Kind, args: &StoreCreate) -> Result<ExitCode> {
    let body = match &args.file {
        Some(file) => input::read_file(file)?,
        None => upload_body(kind, &args.upload, true)?,
    };
    let answer = client(&args.common)?.post(&path(kind, &args.common), &body)?;
    show(&answer.body, &args.common, Format::Yaml)
}

/// Shows one keystore or truststore.
pub fn get(kind: Kind, args: &StoreItem) -> Result<ExitCode> {
    let answer = client(&args.common)?.get(&item(kind, &args.common, &args.store))?;
    show(&answer.body, &args.common, Format::Yaml)
}

/// Lists the org's keystores or truststores.
pub fn list(kind: Kind, common: &Common) -> Result<ExitCode> {
    let answer = client(common)?.get(&format!("{}?limit=1000", path(kind, common)))?;
    show(&answer.body, common, Format::Table)
}

/// Changes labels or replaces the material.
pub fn update(kind: Kind, args: &StoreUpdate) -> Result<ExitCode> {
    let body = match &args.file {
        Some(file) => input::read_file(file)?,
        None => upload_body(kind, &args.upload, false)?,
    };
    let answer = client(&args.common)?.patch(&item(kind, &args.common, &args.store), &body)?;
    show(&answer.body, &args.common, Format::Yaml)
}

/// Deletes one keystore or truststore.
pub fn delete(kind: Kind, args: &StoreItem) -> Result<ExitCode> {
    client(&args.common)?.delete(&item(kind, &args.common, &args.store))?;
    output::write(&args.common.output, &format!("deleted {}\n", args.store))?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes every keystore or truststore of the org.
pub fn clear(kind: Kind, args: &ClearArgs) -> Result<ExitCode> {
    if args.confirm != args.common.org {
        let msg = format!("--confirm must repeat the org's name ({}) to clear it", args.common.org);
        return Err(crate::UsageError(msg).into());
    }
    let url = format!("{}?confirm={}", path(kind, &args.common), segment(&args.confirm));
    let answer = client(&args.common)?.delete(&url)?;
    let n = answer.body.get("deleted").and_then(Value::as_u64).unwrap_or(0);
    let text = format!("deleted {n} {} in org {}\n", kind.collection(), args.common.org);
    output::write(&args.common.output, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the certificates of a truststore.
pub fn list_entries(args: &EntryList) -> Result<ExitCode> {
    let answer = client(&args.common)?.get(&entries(&args.common, &args.truststore))?;
    show(&answer.body, &args.common, Format::Table)
}

/// Shows one certificate of a truststore.
pub fn get_entry(args: &EntryItem) -> Result<ExitCode> {
    let url = format!("{}/{}", entries(&args.common, &args.truststore), segment(&args.id));
    let answer = client(&args.common)?.get(&url)?;
    show(&answer.body, &args.common, Format::Yaml)
}

/// Adds the certificates of a file to a truststore.
pub fn create_entries(args: &EntryCreate) -> Result<ExitCode> {
    let mut body = Map::new();
    put_material(&mut body, "certificate", &read_material(&args.file)?);
    if let Some(p) = &args.password {
        body.insert("password".into(), p.clone().into());
    }
    let url = entries(&args.common, &args.truststore);
    let answer = client(&args.common)?.post(&url, &Value::Object(body))?;
    let added = answer.body.get("total_results").and_then(Value::as_u64).unwrap_or(0);
    let held = answer.body.get("already_held").and_then(Value::as_u64).unwrap_or(0);
    if added == 0 && args.common.format.is_none() {
        let text = format!("no certificate added: {held} already held by {}\n", args.truststore);
        output::write(&args.common.output, &text)?;
        return Ok(ExitCode::SUCCESS);
    }
    show(&answer.body, &args.common, Format::Table)
}

/// Removes one certificate from a truststore.
pub fn delete_entry(args: &EntryItem) -> Result<ExitCode> {
    let url = format!("{}/{}", entries(&args.common, &args.truststore), segment(&args.id));
    client(&args.common)?.delete(&url)?;
    output::write(&args.common.output, &format!("deleted entry {}\n", args.id))?;
    Ok(ExitCode::SUCCESS)
}

/// The REST body of an upload given as flags.
fn upload_body(kind: Kind, u: &Upload, creating: bool) -> Result<Value> {
    let mut body = Map::new();
    if let Some(file) = &u.material {
        put_material(&mut body, kind.field(), &read_material(file)?);
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        if creating && u.title.is_none() {
            body.insert("title".into(), stem.unwrap_or_default().into());
        }
    }
    if let Some(key) = &u.key {
        let text = std::fs::read_to_string(key)
            .with_context(|| format!("cannot read {}", key.display()))?;
        body.insert("private_key".into(), text.into());
    }
    for (field, value) in
        [("password", &u.password), ("title", &u.title), ("name", &u.name), ("summary", &u.summary)]
    {
        if let Some(v) = value {
            body.insert(field.into(), v.clone().into());
        }
    }
    if body.is_empty() {
        bail!("nothing to change: give a FILE, or --file, --title, --name or --summary");
    }
    Ok(Value::Object(body))
}

fn read_material(file: &Path) -> Result<Vec<u8>> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    if meta.len() > MAX_MATERIAL {
        bail!("{} is larger than {MAX_MATERIAL} bytes", file.display());
    }
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}

/// PEM text goes as text; anything else (PKCS#12, DER) as base64.
fn put_material(body: &mut Map<String, Value>, field: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            body.insert(field.into(), text.into());
        }
        _ => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
            body.insert(format!("{field}_base64"), b64.into());
        }
    }
}

/// Keystores, truststores and entries as rows.
fn store_table(v: &Value) -> String {
    let items: Vec<&Value> = match v.get("results").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![v],
    };
    let is_entry = items.first().is_some_and(|i| i.get("fingerprint_sha256").is_some());
    if is_entry {
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|e| vec![cell(e, "id"), cell(e, "subject"), cell(e, "not_after")])
            .collect();
        return columns(&["ID", "SUBJECT", "EXPIRES"], &rows);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            let count = s
                .get("certificates")
                .and_then(Value::as_array)
                .map(|c| c.len().to_string())
                .unwrap_or_else(|| cell(s, "entry_count"));
            let warnings = s.get("warnings").and_then(Value::as_array).map_or(0, Vec::len);
            vec![cell(s, "name"), cell(s, "title"), count, warnings.to_string()]
        })
        .collect();
    columns(&["NAME", "TITLE", "CERTIFICATES", "WARNINGS"], &rows)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sends_pem_as_text_and_binary_as_base64() {
        let mut body = Map::new();
        put_material(&mut body, "keystore", b"junk\n-----BEGIN CERTIFICATE-----\n");
        put_material(&mut body, "truststore", &[0x30, 0x82, 0xff, 0x00]);
        assert!(body["keystore"].is_string());
        assert_eq!(body["truststore_base64"], json!("MIL/AA=="));
    }
}
