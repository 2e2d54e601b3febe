//! Reading profile files (YAML or JSON) and `NAME:VERSION` arguments.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::UsageError;

/// The largest profile file read.
const MAX_FILE: u64 = 1 << 20;

/// Reads a YAML or JSON file as a JSON value.
pub fn read_file(path: &Path) -> Result<Value> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > MAX_FILE {
        bail!("{} is larger than {} bytes", path.display(), MAX_FILE);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    let text = text.trim_start_matches('\u{feff}');
    let value = serde_yaml::from_str::<Value>(text)
        .with_context(|| format!("{} is neither valid YAML nor JSON", path.display()))?;
    if !value.is_object() {
        bail!("{} holds no fields: expected a mapping of REST field names", path.display());
    }
    Ok(value)
}

/// Splits `NAME:VERSION`.
pub fn name_version(arg: &str) -> Result<(String, String), UsageError> {
    match arg.split_once(':') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() && !v.contains(':') => {
            Ok((n.to_owned(), v.to_owned()))
        }
        _ => Err(UsageError(format!("'{arg}' is not NAME:VERSION (for example my-profile:1.0.0)"))),
    }
}

/// A path segment with reserved characters escaped.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_name_and_version() {
        assert_eq!(name_version("a:1.0.0").unwrap(), ("a".into(), "1.0.0".into()));
        for bad in ["a", ":1", "a:", "a:1:2"] {
            assert!(name_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escapes_path_segments() {
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("1.0.0+x"), "1.0.0+x");
    }
}
