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
    },
    /// Log in to a server and save the token for later commands.
    Login {
        /// The server's URL, e.g. http://127.0.0.1:7070.
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

/// `tlsdeck probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// A profile file, used locally without a server.
    #[arg(long, conflicts_with = "profile", required_unless_present = "profile")]
    pub profile_file: Option<PathBuf>,
    /// A stored profile (NAME:VERSION); the server runs the probe.
    #[arg(long)]
    pub profile: Option<String>,
    /// host:port or an https:// URL.
    pub target: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    #[command(flatten)]
    pub common: Common,
}
