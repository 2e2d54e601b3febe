//! Printing results as YAML, JSON or a table, to standard output or a file.

use std::io::Write;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::args::Format;

/// Writes `text` to the `--output` target (`-` is standard output).
pub fn write(output: &str, text: &str) -> Result<()> {
    if output == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        return out.flush().context("writing standard output");
    }
    std::fs::write(output, text).with_context(|| format!("writing {output}"))
}

/// Renders a value as YAML or JSON; `table` uses `table` to render it.
pub fn render(
    value: &Value,
    format: Format,
    table: impl FnOnce(&Value) -> String,
) -> Result<String> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(value)?),
        Format::Yaml => serde_yaml::to_string(value)?,
        Format::Table => table(value),
    })
}

/// Columns of `rows`, each column as wide as its widest cell.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// The text of a JSON field for a table cell, with control characters shown escaped so
/// stored text cannot move the cursor or forge rows.
pub fn cell(v: &Value, field: &str) -> String {
    let raw = raw_cell(v, field);
    if raw.chars().any(char::is_control) {
        raw.chars().flat_map(char::escape_default).collect()
    } else {
        raw
    }
}

fn raw_cell(v: &Value, field: &str) -> String {
    match v.get(field) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

/// Profiles as rows: name, version, title, protocols, cipher count, warnings.
pub fn profile_table(v: &Value) -> String {
    let items: Vec<&Value> = match v.get("results").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![v],
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            let count =
                |f: &str| p.get(f).and_then(Value::as_array).map_or(0, Vec::len).to_string();
            vec![
                cell(p, "name"),
                cell(p, "version"),
                cell(p, "title"),
                cell(p, "protocols"),
                count("ciphers"),
                count("warnings"),
            ]
        })
        .collect();
    columns(&["NAME", "VERSION", "TITLE", "PROTOCOLS", "CIPHERS", "WARNINGS"], &rows)
}

/// A probe report for people: one line per fact, the peer chain, then the error.
pub fn probe_table(r: &Value) -> String {
    let mut rows: Vec<Vec<String>> =
        ["ok", "target", "address", "protocol", "cipher", "sni", "verified", "handshake_ms"]
            .iter()
            .map(|f| vec![(*f).to_owned(), cell(r, f)])
            .collect();
    if let Some(e) = r.get("verify_error").filter(|e| !e.is_null()) {
        rows.push(vec!["verify_error".into(), e.as_str().unwrap_or_default().to_owned()]);
    }
    let chain = r.get("peer_certificates").and_then(Value::as_array).into_iter().flatten();
    for (depth, c) in chain.enumerate() {
        let line = format!(
            "{} (issuer {}, expires {})",
            cell(c, "subject"),
            cell(c, "issuer"),
            cell(c, "not_after")
        );
        rows.push(vec![format!("certificate[{depth}]"), line]);
    }
    if let Some(e) = r.get("error").filter(|e| !e.is_null()) {
        rows.push(vec!["error".into(), format!("{}: {}", cell(e, "category"), cell(e, "message"))]);
    }
    columns(&["FIELD", "VALUE"], &rows)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn escapes_control_characters_in_cells() {
        let v = json!({"title": "a\u{1b}[2J\r\nFAKE"});
        assert_eq!(cell(&v, "title"), "a\\u{1b}[2J\\r\\nFAKE");
        assert_eq!(cell(&v, "missing"), "-");
    }
}
