//! `events:list`: the audit log.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::profiles::client;
use crate::args::{EventsList, Format};
use crate::input::segment;
use crate::output::{self, cell, columns};

/// Lists the org's events, newest first.
pub fn list(args: &EventsList) -> Result<ExitCode> {
    let mut path = format!("/api/orgs/{}/events?limit={}", segment(&args.common.org), args.limit);
    for (name, value) in
        [("resource", &args.resource), ("since", &args.since), ("until", &args.until)]
    {
        if let Some(v) = value {
            path.push_str(&format!("&{name}={}", segment(v)));
        }
    }
    let answer = client(&args.common)?.get(&path)?;
    let format = args.common.format.unwrap_or(Format::Table);
    output::write(&args.common.output, &output::render(&answer.body, format, table)?)?;
    Ok(ExitCode::SUCCESS)
}

fn table(v: &Value) -> String {
    let items = v.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            ["at", "actor", "action", "resource", "outcome"].iter().map(|f| cell(e, f)).collect()
        })
        .collect();
    columns(&["AT", "ACTOR", "ACTION", "RESOURCE", "OUTCOME"], &rows)
}
