//! The command line, in the source toolkit's forms (`tls-client-profiles:create FILE`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Manage TLS profiles and apply them.
#[derive(Debug, Parser)]
#[command(name = "tlsdeck", version, about)]
pub struct Cli {
    /// Log more (or set TLSDECK_LOG, e.g. TLSDECK_LOG=debug).
    #[arg(long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the management server (REST API) on its store.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Folder of the SQLite store and first-start files.
        #[arg(long, default_value = "./tlsdeck-data")]
        data_dir: PathBuf,
        /// Serve over TLS through this server profile of the admin org (NAME:VERSION).
        #[arg(long)]
        tls_server_profile: Option<String>,
        /// The store: a postgres:// URL shared by several instances (default: SQLite in
        /// the data dir). Instances on one store need the same TLSDECK_MASTER_KEY.
        #[arg(long, env = "TLSDECK_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
    },
    /// Run the gateway (the data plane): forward HTTP requests by route to upstreams, each
    /// TLS connection made through the route's client profile.
    Gateway {
        /// The gateway's YAML file: listen, store, routes.
        #[arg(long)]
        config: PathBuf,
    },
    /// Administration of a whole store.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Log in to a server and save the token for later commands.
    Login {
        /// The server's URL, e.g. http://127.0.0.1:7070 or https://localhost:7443.
        #[arg(short = 's', long)]
        server: String,
        /// Your username.
        #[arg(short = 'u', long)]
        username: String,
        /// Your password.
        #[arg(short = 'p', long, env = "TLSDECK_PASSWORD", hide_env_values = true)]
        password: String,
        /// The realm, e.g. admin/default-idp-1.
        #[arg(short = 'r', long)]
        realm: String,
        /// PEM CA certificates that verify an https:// server (default: the system's).
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// End the saved token and forget it.
    Logout {
        /// The server to log out of (default: the last one logged in to).
        #[arg(short = 's', long)]
        server: Option<String>,
    },
    /// Handshake with a target through a profile and explain the outcome.
    Probe(ProbeArgs),
    /// Create a TLS client profile from a YAML or JSON file.
    #[command(name = "tls-client-profiles:create")]
    Create {
        /// The profile file (YAML or JSON, REST field names).
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Show one TLS client profile.
    #[command(name = "tls-client-profiles:get")]
    Get {
        /// NAME:VERSION
        profile: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the versions of one profile name, or every profile without NAME.
    #[command(name = "tls-client-profiles:list")]
    List {
        /// A profile name.
        name: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List every TLS client profile of the org.
    #[command(name = "tls-client-profiles:list-all")]
    ListAll {
        #[command(flatten)]
        common: Common,
    },
    /// Change a TLS client profile with the fields of a file (merge).
    #[command(name = "tls-client-profiles:update")]
    Update {
        /// NAME:VERSION
        profile: String,
        /// The file of fields to change (YAML or JSON).
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Delete one TLS client profile.
    #[command(name = "tls-client-profiles:delete")]
    Delete {
        /// NAME:VERSION
        profile: String,
        #[command(flatten)]
        common: Common,
    },
    /// Delete every TLS client profile of the org.
    #[command(name = "tls-client-profiles:clear")]
    Clear {
        /// The org's name again, to confirm.
        #[arg(long)]
        confirm: String,
        #[command(flatten)]
        common: Common,
    },
    /// Create a TLS server profile from a YAML or JSON file.
    #[command(name = "tls-server-profiles:create")]
    ServerCreate(ProfileFile),
    /// Show one TLS server profile.
    #[command(name = "tls-server-profiles:get")]
    ServerGet(ProfileItem),
    /// List the versions of one server profile name, or every one without NAME.
    #[command(name = "tls-server-profiles:list")]
    ServerList(ProfileList),
    /// List every TLS server profile of the org.
    #[command(name = "tls-server-profiles:list-all")]
    ServerListAll(ListArgs),
    /// Change a TLS server profile with the fields of a file (merge).
    #[command(name = "tls-server-profiles:update")]
    ServerUpdate(ProfileUpdate),
    /// Delete one TLS server profile.
    #[command(name = "tls-server-profiles:delete")]
    ServerDelete(ProfileItem),
    /// Delete every TLS server profile of the org.
    #[command(name = "tls-server-profiles:clear")]
    ServerClear(ClearArgs),
    /// List the orgs you belong to (every org for admin managers).
    #[command(name = "orgs:list")]
    OrgsList(ListArgs),
    /// Show one org.
    #[command(name = "orgs:get")]
    OrgsGet(NameArg),
    /// Create a provider org owned by a user of realm provider/default-idp-2.
    #[command(name = "orgs:create")]
    OrgsCreate(OrgCreate),
    /// Delete a provider org with everything in it.
    #[command(name = "orgs:delete")]
    OrgsDelete(NameArg),
    /// List every user.
    #[command(name = "users:list")]
    UsersList(ListArgs),
    /// Create a user.
    #[command(name = "users:create")]
    UsersCreate(UserCreate),
    /// Disable or enable a user, or change their password or email.
    #[command(name = "users:update")]
    UsersUpdate(UserUpdate),
    /// Delete a user.
    #[command(name = "users:delete")]
    UsersDelete(NameArg),
    /// List the org's roles, built-in and custom, with their permissions.
    #[command(name = "roles:list")]
    RolesList(ListArgs),
    /// Define a custom role from the permission list.
    #[command(name = "roles:create")]
    RolesCreate(RoleCreate),
    /// Delete a custom role.
    #[command(name = "roles:delete")]
    RolesDelete(NameArg),
    /// List the org's members with their roles.
    #[command(name = "members:list")]
    MembersList(ListArgs),
    /// Give a user roles in the org (replacing their roles there).
    #[command(name = "members:set")]
    MembersSet(MemberSet),
    /// Remove a member (by user id).
    #[command(name = "members:delete")]
    MembersDelete(NameArg),
    /// Set who besides the admin org may use a client profile.
    #[command(name = "tls-client-profiles:set-visibility")]
    SetVisibility(VisibilityArgs),
    /// List the org's audit events, newest first.
    #[command(name = "events:list")]
    EventsList(EventsList),
    /// Create a keystore: a private key and its certificate chain.
    #[command(name = "keystores:create")]
    KeystoresCreate(StoreCreate),
    /// Show one keystore (never its key).
    #[command(name = "keystores:get")]
    KeystoresGet(StoreItem),
    /// List the keystores of the org.
    #[command(name = "keystores:list", alias = "keystores:list-all")]
    KeystoresList(ListArgs),
    /// Change a keystore's labels or replace its key and chain.
    #[command(name = "keystores:update")]
    KeystoresUpdate(StoreUpdate),
    /// Delete a keystore no profile uses.
    #[command(name = "keystores:delete")]
    KeystoresDelete(StoreItem),
    /// Delete every keystore of the org.
    #[command(name = "keystores:clear")]
    KeystoresClear(ClearArgs),
    /// Create a truststore from a bundle of CA certificates.
    #[command(name = "truststores:create")]
    TruststoresCreate(StoreCreate),
    /// Show one truststore with its entries.
    #[command(name = "truststores:get")]
    TruststoresGet(StoreItem),
    /// List the truststores of the org.
    #[command(name = "truststores:list", alias = "truststores:list-all")]
    TruststoresList(ListArgs),
    /// Change a truststore's labels or replace all its certificates.
    #[command(name = "truststores:update")]
    TruststoresUpdate(StoreUpdate),
    /// Delete a truststore no profile uses.
    #[command(name = "truststores:delete")]
    TruststoresDelete(StoreItem),
    /// Delete every truststore of the org.
    #[command(name = "truststores:clear")]
    TruststoresClear(ClearArgs),
    /// List the certificates of a truststore.
    #[command(name = "entries:list")]
    EntriesList(EntryList),
    /// Show one certificate of a truststore.
    #[command(name = "entries:get")]
    EntriesGet(EntryItem),
    /// Add certificates to a truststore.
    #[command(name = "entries:create")]
    EntriesCreate(EntryCreate),
    /// Remove one certificate from a truststore.
    #[command(name = "entries:delete")]
    EntriesDelete(EntryItem),
}

/// One item by name or id.
#[derive(Debug, Args)]
pub struct NameArg {
    /// The name (or, for users and members, the id).
    pub name: String,
    #[command(flatten)]
    pub common: Common,
}

/// A new provider org.
#[derive(Debug, Args)]
pub struct OrgCreate {
    /// Shown to people.
    #[arg(long)]
    pub title: String,
    /// The name (default: made from the title).
    #[arg(long)]
    pub name: Option<String>,
    /// The owner's username in realm provider/default-idp-2.
    #[arg(long)]
    pub owner: String,
    #[command(flatten)]
    pub common: Common,
}

/// A new user.
#[derive(Debug, Args)]
pub struct UserCreate {
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// admin/default-idp-1 or provider/default-idp-2.
    #[arg(long)]
    pub realm: String,
    /// At least 12 characters.
    #[arg(long, env = "TLSDECK_NEW_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Contact address.
    #[arg(long)]
    pub email: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A change to a user.
#[derive(Debug, Args)]
pub struct UserUpdate {
    /// The user's id.
    pub id: String,
    /// Disable the user (ends their tokens).
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Enable the user again.
    #[arg(long)]
    pub enable: bool,
    /// A new password (ends their tokens).
    #[arg(long, env = "TLSDECK_NEW_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// A new contact address.
    #[arg(long)]
    pub email: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A new custom role.
#[derive(Debug, Args)]
pub struct RoleCreate {
    /// Shown to people.
    #[arg(long)]
    pub title: String,
    /// The name (default: made from the title).
    #[arg(long)]
    pub name: Option<String>,
    /// Comma-separated: settings:view, settings:manage, topology:view, topology:manage,
    /// member:view, member:manage.
    #[arg(long, value_delimiter = ',')]
    pub permissions: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A member's roles.
#[derive(Debug, Args)]
pub struct MemberSet {
    /// The user's login name (in the org's realm).
    #[arg(long)]
    pub username: String,
    /// Comma-separated role names.
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A client profile's visibility.
#[derive(Debug, Args)]
pub struct VisibilityArgs {
    /// NAME:VERSION
    pub profile: String,
    /// private, public or custom.
    #[arg(long = "type", value_parser = ["private", "public", "custom"])]
    pub kind: String,
    /// With custom: the provider orgs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub orgs: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Which audit events to list.
#[derive(Debug, Args)]
pub struct EventsList {
    /// Only events whose resource contains this text.
    #[arg(long)]
    pub resource: Option<String>,
    /// Only events at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[command(flatten)]
    pub common: Common,
}

/// A profile file.
#[derive(Debug, Args)]
pub struct ProfileFile {
    /// The profile file (YAML or JSON, REST field names).
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// One profile.
#[derive(Debug, Args)]
pub struct ProfileItem {
    /// NAME:VERSION
    pub profile: String,
    #[command(flatten)]
    pub common: Common,
}

/// The versions of one name, or every profile.
#[derive(Debug, Args)]
pub struct ProfileList {
    /// A profile name.
    pub name: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// A change to one profile.
#[derive(Debug, Args)]
pub struct ProfileUpdate {
    /// NAME:VERSION
    pub profile: String,
    /// The file of fields to change (YAML or JSON).
    pub file: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// Creating a keystore or truststore: a YAML/JSON FILE with the REST fields, or `--file`
/// with the material itself (PEM, PKCS#12 or DER) and the labels as flags.
#[derive(Debug, Args)]
pub struct StoreCreate {
    /// A YAML or JSON file with the REST field names.
    #[arg(required_unless_present = "material", conflicts_with = "material")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub upload: Upload,
    #[command(flatten)]
    pub common: Common,
}

/// Material and labels given as flags.
#[derive(Debug, Args)]
pub struct Upload {
    /// The material: PEM text, PKCS#12 or DER.
    #[arg(long = "file", id = "material")]
    pub material: Option<PathBuf>,
    /// A separate PEM file of the private key (keystores).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The password of an encrypted key or PKCS#12 file.
    #[arg(long, env = "TLSDECK_MATERIAL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// The title (default: the file's name).
    #[arg(long)]
    pub title: Option<String>,
    /// The name (default: made from the title).
    #[arg(long)]
    pub name: Option<String>,
    /// A description.
    #[arg(long)]
    pub summary: Option<String>,
}

/// Changing a keystore or truststore.
#[derive(Debug, Args)]
pub struct StoreUpdate {
    /// The keystore or truststore's name.
    pub store: String,
    /// A YAML or JSON file of the fields to change.
    #[arg(conflicts_with = "material")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub upload: Upload,
    #[command(flatten)]
    pub common: Common,
}

/// One keystore or truststore by name.
#[derive(Debug, Args)]
pub struct StoreItem {
    /// The name.
    pub store: String,
    #[command(flatten)]
    pub common: Common,
}

/// A whole collection.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: Common,
}

/// Clearing a collection.
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// The org's name again, to confirm.
    #[arg(long)]
    pub confirm: String,
    #[command(flatten)]
    pub common: Common,
}

/// The entries of one truststore.
#[derive(Debug, Args)]
pub struct EntryList {
    /// The truststore.
    #[arg(long)]
    pub truststore: String,
    #[command(flatten)]
    pub common: Common,
}

/// One entry of a truststore.
#[derive(Debug, Args)]
pub struct EntryItem {
    /// The entry's id.
    pub id: String,
    /// The truststore.
    #[arg(long)]
    pub truststore: String,
    #[command(flatten)]
    pub common: Common,
}

/// Adding certificates to a truststore.
#[derive(Debug, Args)]
pub struct EntryCreate {
    /// The certificates: PEM, DER or certificate-only PKCS#12.
    pub file: PathBuf,
    /// The truststore.
    #[arg(long)]
    pub truststore: String,
    /// The password of a PKCS#12 file.
    #[arg(long, env = "TLSDECK_MATERIAL_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Flags every resource command takes.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// The server (default: the last one logged in to).
    #[arg(short = 's', long)]
    pub server: Option<String>,
    /// The org.
    #[arg(short = 'o', long, default_value = "admin")]
    pub org: String,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the output to this file (`-` for standard output).
    #[arg(long, default_value = "-")]
    pub output: String,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YAML, with the REST field names.
    Yaml,
    /// JSON, with the REST field names.
    Json,
    /// Columns for people.
    Table,
}

/// `tlsdeck admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Copy every org, user, profile, store and audit event of one store into another,
    /// empty one, keeping ids, revisions and sealed keys (sessions are not copied).
    CopyStore {
        /// The store to read: a postgres:// URL, a SQLite file, or a data dir.
        #[arg(long)]
        from: String,
        /// The empty store to fill: a postgres:// URL, a SQLite file, or a data dir.
        #[arg(long)]
        to: String,
    },
}

/// `tlsdeck probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// A profile file, used locally without a server.
    #[arg(long, conflicts_with = "profile", required_unless_present = "profile")]
    pub profile_file: Option<PathBuf>,
    /// A stored profile (NAME:VERSION); the server runs the probe.
    #[arg(long)]
    pub profile: Option<String>,
    /// With --profile-file: a PEM bundle of CAs to verify the server with, instead of the
    /// system's.
    #[arg(long, requires = "profile_file")]
    pub ca_file: Option<PathBuf>,
    /// host:port or an https:// URL.
    pub target: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    #[command(flatten)]
    pub common: Common,
}
