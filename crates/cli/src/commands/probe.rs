//! `probe`: a handshake through a profile, locally from a file or on the server.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tlsdeck_engine::{ProbeOptions, Target, Trust};
use tlsdeck_model::ClientProfile;

use crate::args::{Format, ProbeArgs};
use crate::client::Client;
use crate::input::{self, segment};
use crate::{UsageError, config, output};

/// Runs the probe and prints the report; exit 0 when the handshake completed.
pub fn run(args: &ProbeArgs) -> Result<ExitCode> {
    if !(args.timeout > 0.0 && args.timeout <= 300.0) {
        return Err(
            UsageError("--timeout must be more than 0 and at most 300 seconds".into()).into()
        );
    }
    let timeout = Duration::from_secs_f64(args.timeout).max(Duration::from_millis(1));
    let report = match (&args.profile_file, &args.profile) {
        (Some(file), _) => local(file, args.ca_file.as_deref(), &args.target, timeout)?,
        (None, Some(profile)) => remote(profile, args, timeout)?,
        (None, None) => {
            return Err(
                UsageError("give --profile-file FILE or --profile NAME:VERSION".into()).into()
            );
        }
    };
    let format = args.common.format.unwrap_or(Format::Table);
    output::write(&args.common.output, &output::render(&report, format, output::probe_table)?)?;
    let ok = report.get("ok").and_then(Value::as_bool).unwrap_or(false);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn local(
    file: &std::path::Path,
    ca_file: Option<&std::path::Path>,
    target: &str,
    timeout: Duration,
) -> Result<Value> {
    let input = input::read_file(file)?;
    let profile = ClientProfile::from_json(&input)
        .map_err(|e| anyhow::anyhow!("{} is not a valid profile: {e}", file.display()))?;
    if profile.keystore.is_some() || profile.truststore.is_some() {
        let msg = "the profile names a keystore or truststore, which live on the server: probe \
                   it with --profile NAME:VERSION, or drop them and give --ca-file";
        return Err(UsageError(msg.into()).into());
    }
    let trust = match ca_file {
        Some(path) => Trust::Pem(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => Trust::System,
    };
    let target: Target = target.parse().map_err(|e| UsageError(format!("TARGET: {e}")))?;
    let opts = ProbeOptions { timeout };
    let report = tlsdeck_engine::probe(&profile, &trust, &target, &opts);
    Ok(serde_json::to_value(report)?)
}

fn remote(profile: &str, args: &ProbeArgs, timeout: Duration) -> Result<Value> {
    // `admin/NAME:VERSION` names an admin profile shared with the org.
    let (collection, profile) = match profile.strip_prefix("admin/") {
        Some(p) if args.common.org != "admin" => ("shared-tls-client-profiles", p),
        Some(p) => ("tls-client-profiles", p),
        None => ("tls-client-profiles", profile),
    };
    let (name, version) = input::name_version(profile)?;
    let (url, cred) = config::resolve(args.common.server.as_deref())?;
    let client = Client::new(
        &url,
        Some(cred.token),
        timeout + Duration::from_secs(30),
        cred.ca_pem.as_deref(),
    )?;
    let path = format!(
        "/api/orgs/{}/{collection}/{}/{}/probe",
        segment(&args.common.org),
        segment(&name),
        segment(&version)
    );
    let body = json!({ "target": args.target, "timeout_ms": timeout.as_millis() as u64 });
    Ok(client.post(&path, &body).context("the server could not run the probe")?.body)
}
