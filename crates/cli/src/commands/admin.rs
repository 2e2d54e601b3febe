//! `tlsdeck admin copy-store`: a whole store from one backend into another.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use tlsdeck_store::Store;

/// Copies everything of the store at `from` into the empty store at `to`.
pub fn copy_store(from: &str, to: &str) -> Result<ExitCode> {
    let source = open(from)
        .with_context(|| format!("cannot open the store to copy from ({})", shown(from)))?;
    let target =
        open(to).with_context(|| format!("cannot open the store to copy to ({})", shown(to)))?;
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

/// A store by URL; a data dir stands for the SQLite file in it.
fn open(location: &str) -> Result<std::sync::Arc<dyn Store>> {
    if location.is_empty() {
        bail!("give a postgres:// URL, a SQLite file or a data dir");
    }
    let path = Path::new(location);
    if path.is_dir() {
        let file = path.join("tlsdeck.db");
        return Ok(tlsdeck_store::open_url(&file.to_string_lossy())?);
    }
    Ok(tlsdeck_store::open_url(location)?)
}

/// A location as it may be printed: a URL without its password.
fn shown(location: &str) -> String {
    match location.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) => {
                let user = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn passwords_in_urls_are_never_shown() {
        assert_eq!(
            shown("postgres://u:secret@127.0.0.1:5432/db"),
            "postgres://u@127.0.0.1:5432/db"
        );
        assert_eq!(shown("postgres://127.0.0.1/db"), "postgres://127.0.0.1/db");
        assert_eq!(shown("./data"), "./data");
    }
}
