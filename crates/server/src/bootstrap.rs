//! First start: the `admin` org and its owner.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand::distributions::Alphanumeric;
use tlsdeck_store::{NewUser, Org, Store, StoreError};

use crate::auth::hash_password;

/// The cloud org operators use.
pub const ADMIN_ORG: &str = "admin";
/// The owner created on first start.
pub const ADMIN_USER: &str = "admin";
/// The realm of the admin org's users.
pub const ADMIN_REALM: &str = "admin/default-idp-1";
/// The environment variable that sets the first owner's password.
pub const PASSWORD_ENV: &str = "TLSDECK_ADMIN_PASSWORD";
/// The file in the data dir that holds a generated password.
pub const PASSWORD_FILE: &str = "admin-password";

/// What a first start created.
#[derive(Debug)]
pub struct Bootstrap {
    /// The generated password, when none came from the environment.
    pub generated_password: Option<String>,
    /// Where a generated password was written (mode 0600).
    pub password_file: PathBuf,
}

/// Creates the `admin` org and its owner unless they exist; `None` when nothing was created.
///
/// The owner's password is `password` (from the environment, see [`PASSWORD_ENV`]), or one
/// generated and written with mode 0600 into the data dir.
pub fn bootstrap(
    store: &dyn Store,
    data_dir: &Path,
    password: Option<String>,
) -> anyhow::Result<Option<Bootstrap>> {
    match store.org(ADMIN_ORG) {
        // A first start that stopped between making the org and its owner: finish it.
        Ok(org) if store.members(org.id)?.is_empty() => {
            tracing::warn!("the admin org has no member: making its owner again");
            return make_owner(store, &org, data_dir, password).map(Some);
        }
        Ok(_) => {
            if password.is_some_and(|p| !p.is_empty()) {
                tracing::warn!(
                    "{PASSWORD_ENV} is ignored: it only sets the password on the first start of a \
                     new store"
                );
            }
            return Ok(None);
        }
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    // Several instances may start on one new shared store at once: the one whose org is
    // created makes the owner, the others find the org taken and go on.
    let org = match store.create_org(ADMIN_ORG, "Cloud admin", "admin") {
        Ok(org) => org,
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    make_owner(store, &org, data_dir, password).map(Some)
}

/// Makes the `admin` org's owner with the given or a generated password.
fn make_owner(
    store: &dyn Store,
    org: &Org,
    data_dir: &Path,
    password: Option<String>,
) -> anyhow::Result<Bootstrap> {
    let from_env = password.filter(|p| !p.is_empty());
    let password = from_env.clone().unwrap_or_else(generate_password);
    let password_file = data_dir.join(PASSWORD_FILE);
    let user = match store.create_user(&NewUser {
        username: ADMIN_USER.into(),
        realm: ADMIN_REALM.into(),
        email: None,
        password_hash: hash_password(&password),
    }) {
        Ok(user) => user,
        // Made before a crash, or by another instance a moment ago: it only needs its role.
        Err(StoreError::Conflict(_)) => {
            let user = store.user(ADMIN_REALM, ADMIN_USER)?;
            match store.add_member(org.id, user.id, "owner") {
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            return Ok(Bootstrap { generated_password: None, password_file });
        }
        Err(e) => return Err(e.into()),
    };
    if from_env.is_none() {
        write_private(&password_file, &password)?;
    }
    store.add_member(org.id, user.id, "owner")?;
    tracing::info!(
        org = ADMIN_ORG,
        user = ADMIN_USER,
        realm = ADMIN_REALM,
        "created the admin org and its owner"
    );
    Ok(Bootstrap { generated_password: from_env.is_none().then_some(password), password_file })
}

fn generate_password() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(24).map(char::from).collect()
}

/// Writes a secret to a new file readable by its owner only.
fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut f =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    writeln!(f, "{secret}")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlsdeck_store::SqliteStore;

    #[test]
    fn a_first_start_cut_short_after_the_org_is_finished_on_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::in_memory().unwrap();
        store.create_org(ADMIN_ORG, "Cloud admin", "admin").unwrap();
        let made = bootstrap(&store, dir.path(), Some("a-long-password".into())).unwrap();
        assert!(made.is_some(), "the owner is made");
        let user = store.user(ADMIN_REALM, ADMIN_USER).unwrap();
        let org = store.org(ADMIN_ORG).unwrap();
        assert_eq!(store.roles(org.id, user.id).unwrap(), ["owner"]);
        assert!(bootstrap(&store, dir.path(), None).unwrap().is_none(), "and only once");
    }
}
