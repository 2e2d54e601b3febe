//! The identity every stored resource shares: title, name and summary.

use serde_json::{Map, Value};

use crate::error::ValidationErrors;
use crate::naming::Name;
use crate::profile::{READ_ONLY_FIELDS, parse_name, parse_summary, parse_title};

/// A validated title, name (generated from the title when absent) and summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// Shown to people; 1–255 characters.
    pub title: String,
    /// The identifier used in URLs and commands.
    pub name: Name,
    /// A description; at most 2,000 characters.
    pub summary: Option<String>,
}

/// Reads the labels of a JSON object, recording every bad field in `errs`.
///
/// Fields outside `own`, the labels and the read-only fields of exported files are refused.
pub fn parse_labels(
    obj: &Map<String, Value>,
    own: &[&str],
    errs: &mut ValidationErrors,
) -> Option<Labels> {
    for key in obj.keys().map(String::as_str) {
        let known = ["title", "name", "summary"].contains(&key)
            || own.contains(&key)
            || READ_ONLY_FIELDS.contains(&key);
        if !known {
            errs.push(key, "unknown field");
        }
    }
    let title = parse_title(obj.get("title"), errs);
    let name = parse_name(obj.get("name"), title.as_deref(), errs);
    let summary = parse_summary(obj.get("summary"), errs);
    Some(Labels { title: title?, name: name?, summary })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn generates_the_name_and_refuses_unknown_fields() {
        let mut errs = ValidationErrors::default();
        let v = json!({"title": "Client KS", "keystore": "x", "colour": 1});
        let labels = parse_labels(v.as_object().unwrap(), &["keystore"], &mut errs).unwrap();
        assert_eq!(labels.name.as_str(), "client-ks");
        assert_eq!(errs.to_string(), "colour: unknown field");
    }
}
