//! What each command does.

mod probe;
mod profiles;
mod session;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{Cli, Command};

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
    }
}

fn serve(listen: std::net::SocketAddr, data_dir: std::path::PathBuf) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(tlsdeck_server::serve(tlsdeck_server::ServerConfig { listen, data_dir }))?;
    Ok(ExitCode::SUCCESS)
}
