//! `tlsdeck admin copy-store`: a whole store from one backend into another.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use tlsdeck_store::Store;

/// Copies everything of the store at `from` into the empty store at `to`.
pub fn copy_store(from: &str, to: &str) -> Result<ExitCode> {
    let source = open(from, false)
        .with_context(|| format!("cannot open the store to copy from ({})", shown(from)))?;
    let target = open(to, true)
        .with_context(|| format!("cannot open the store to copy to ({})", shown(to)))?;
    let dump = source.export().context("cannot read the store to copy from")?;
    let rows: usize = dump.tables.iter().map(|t| t.rows.len()).sum();
    target.import(&dump).with_context(|| format!("cannot fill {}", shown(to)))?;
    println!(
        "copied {rows} rows in {} tables from {} to {}",
        dump.tables.len(),
        shown(from),
        shown(to)
    );
    Ok(ExitCode::SUCCESS)
}

/// A store by URL; a data dir stands for the SQLite file in it. A path must name an
/// existing data dir or SQLite file, or (for the target) a new `.db` file in an existing
/// folder, so that a typo never copies from or into an empty store made on the spot.
fn open(location: &str, target: bool) -> Result<std::sync::Arc<dyn Store>> {
    if location.is_empty() {
        bail!("give a postgres:// URL, a SQLite file or a data dir");
    }
    if location.contains("://") || location.starts_with("sqlite:") {
        return Ok(tlsdeck_store::open_url(location)?);
    }
    let path = Path::new(location);
    let file = if path.is_dir() {
        path.join("tlsdeck.db")
    } else if path.is_file() || (target && path.extension().is_some_and(|e| e == "db")) {
        path.to_owned()
    } else if target {
        bail!("{location} is neither a data dir nor a .db file: create the data dir first");
    } else {
        bail!("there is no store at {location}");
    };
    if !target && !file.is_file() {
        bail!("there is no store at {}", file.display());
    }
    Ok(tlsdeck_store::open_url(&file.to_string_lossy())?)
}

/// A location as it may be printed: without a password.
fn shown(location: &str) -> String {
    tlsdeck_store::redact(location)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn passwords_in_urls_are_never_shown() {
        assert_eq!(
            shown("postgres://u:secret@127.0.0.1:5432/db"),
            "postgres://u:***@127.0.0.1:5432/db"
        );
        assert!(!shown("postgres://u@h/db?password=secret").contains("secret"));
        assert!(!shown("postgres://u:a/secret@h/db").contains("secret"));
        assert_eq!(shown("./data"), "./data");
    }
}
