//! What each command does.

mod access;
mod admin;
mod events;
mod probe;
mod profiles;
mod session;
mod stores;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::{AdminCommand, Cli, Command, ListArgs, ProfileList};
use profiles::Kind::{Client, Server};
use stores::Kind::{Keystores, Truststores};

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { listen, data_dir, tls_server_profile, database } => {
            serve(tlsdeck_server::ServerConfig { listen, data_dir, tls_server_profile, database })
        }
        Command::Gateway { config } => Ok(tlsdeck_gateway::run(&config)?),
        Command::Admin(AdminCommand::CopyStore { from, to }) => admin::copy_store(&from, &to),
        Command::Login { server, username, password, realm, ca_file } => {
            session::login(&server, &username, &password, &realm, ca_file.as_deref())
        }
        Command::Logout { server } => session::logout(server.as_deref()),
        Command::Probe(args) => probe::run(&args),
        Command::Create { file, common } => profiles::create(Client, &file, &common),
        Command::Get { profile, common } => profiles::get(Client, &profile, &common),
        Command::List { name: Some(name), common } => {
            profiles::list_versions(Client, &name, &common)
        }
        Command::List { name: None, common } | Command::ListAll { common } => {
            profiles::list_all(Client, &common)
        }
        Command::Update { profile, file, common } => {
            profiles::update(Client, &profile, &file, &common)
        }
        Command::Delete { profile, common } => profiles::delete(Client, &profile, &common),
        Command::Clear { confirm, common } => profiles::clear(Client, &confirm, &common),
        Command::ServerCreate(a) => profiles::create(Server, &a.file, &a.common),
        Command::ServerGet(a) => profiles::get(Server, &a.profile, &a.common),
        Command::ServerList(ProfileList { name: Some(name), common }) => {
            profiles::list_versions(Server, &name, &common)
        }
        Command::ServerList(ProfileList { name: None, common })
        | Command::ServerListAll(ListArgs { common }) => profiles::list_all(Server, &common),
        Command::ServerUpdate(a) => profiles::update(Server, &a.profile, &a.file, &a.common),
        Command::ServerDelete(a) => profiles::delete(Server, &a.profile, &a.common),
        Command::ServerClear(a) => profiles::clear(Server, &a.confirm, &a.common),
        Command::EventsList(a) => events::list(&a),
        Command::OrgsList(a) => access::get(&a.common, "/api/orgs", &["name", "title", "org_type"]),
        Command::OrgsGet(a) => access::show(&a.common, &format!("/api/orgs/{}", a.name)),
        Command::OrgsCreate(a) => access::create_org(&a),
        Command::OrgsDelete(a) => access::delete(&a.common, &format!("/api/orgs/{}", a.name)),
        Command::UsersList(a) => {
            access::get(&a.common, "/api/users", &["id", "username", "realm", "disabled"])
        }
        Command::UsersCreate(a) => access::create_user(&a),
        Command::UsersUpdate(a) => access::update_user(&a),
        Command::UsersDelete(a) => access::delete(&a.common, &format!("/api/users/{}", a.name)),
        Command::RolesList(a) => {
            let path = format!("/api/orgs/{}/roles", a.common.org);
            access::get(&a.common, &path, &["name", "built_in", "permissions"])
        }
        Command::RolesCreate(a) => access::create_role(&a),
        Command::RolesDelete(a) => {
            access::delete(&a.common, &format!("/api/orgs/{}/roles/{}", a.common.org, a.name))
        }
        Command::MembersList(a) => {
            let path = format!("/api/orgs/{}/members", a.common.org);
            access::get(&a.common, &path, &["id", "username", "realm", "roles"])
        }
        Command::MembersSet(a) => access::set_member(&a),
        Command::MembersDelete(a) => {
            access::delete(&a.common, &format!("/api/orgs/{}/members/{}", a.common.org, a.name))
        }
        Command::SetVisibility(a) => access::set_visibility(&a),
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

fn serve(config: tlsdeck_server::ServerConfig) -> Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(tlsdeck_server::serve(config))?;
    Ok(ExitCode::SUCCESS)
}
