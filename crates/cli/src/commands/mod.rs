//! What each command does.

mod probe;
mod profiles;
mod session;
mod stores;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command};
use stores::Kind::{Keystores, Truststores};

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { listen, data_dir } => serve(listen, data_dir),
        Command::Login { server, username, password, realm } => {
            session::login(&server, &username, &password, &realm)
        }
        Command::Logout { server } => session::logout(server.as_deref()),
        Command::Probe(args) => probe::run(&args),
        Command::Create { file, common } => profiles::create(&file, &common),
        Command::Get { profile, common } => profiles::get(&profile, &common),
        Command::List { name: Some(name), common } => profiles::list_versions(&name, &common),
        Command::List { name: None, common } | Command::ListAll { common } => {
            profiles::list_all(&common)
        }
        Command::Update { profile, file, common } => profiles::update(&profile, &file, &common),
        Command::Delete { profile, common } => profiles::delete(&profile, &common),
        Command::Clear { confirm, common } => profiles::clear(&confirm, &common),
        Command::KeystoresCreate(a) => stores::create(Keystores, &a),
        Command::KeystoresGet(a) => stores::get(Keystores, &a),
        Command::KeystoresList(a) => stores::list(Keystores, &a.common),
        Command::KeystoresUpdate(a) => stores::update(Keystores, &a),
        Command::KeystoresDelete(a) => stores::delete(Keystores, &a),
        Command::KeystoresClear(a) => stores::clear(Keystores, &a),
        Command::TruststoresCreate(a) => stores::create(Truststores, &a),
        Command::TruststoresGet(a) => stores::get(Truststores, &a),
        Command::TruststoresList(a) => stores::list(Truststores, &a.common),
        Command::TruststoresUpdate(a) => stores::update(Truststores, &a),
        Command::TruststoresDelete(a) => stores::delete(Truststores, &a),
        Command::TruststoresClear(a) => stores::clear(Truststores, &a),
        Command::EntriesList(a) => stores::list_entries(&a),
        Command::EntriesGet(a) => stores::get_entry(&a),
        Command::EntriesCreate(a) => stores::create_entries(&a),
        Command::EntriesDelete(a) => stores::delete_entry(&a),
    }
}

fn serve(listen: std::net::SocketAddr, data_dir: std::path::PathBuf) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(tlsdeck_server::serve(tlsdeck_server::ServerConfig { listen, data_dir }))?;
    Ok(ExitCode::SUCCESS)
}
