//! What each role may do. Permissions follow the source product's names.

use serde::Serialize;
use tlsdeck_store::CustomRole;

/// A permission a role carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Permission {
    /// Read TLS profiles, keystores and truststores.
    SettingsView,
    /// Create, change and delete them.
    SettingsManage,
    /// See the org's members and its audit log.
    MemberView,
    /// Add, change and remove members (in `admin`: also orgs and users).
    MemberManage,
    /// See gateways and their routes.
    TopologyView,
    /// Change gateways and their routes.
    TopologyManage,
}

impl Permission {
    /// The permission's name, e.g. `settings:manage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SettingsView => "settings:view",
            Self::SettingsManage => "settings:manage",
            Self::MemberView => "member:view",
            Self::MemberManage => "member:manage",
            Self::TopologyView => "topology:view",
            Self::TopologyManage => "topology:manage",
        }
    }

    /// Every permission, in the order of the source product's list.
    pub const ALL: [Permission; 6] = [
        Self::SettingsView,
        Self::SettingsManage,
        Self::TopologyView,
        Self::TopologyManage,
        Self::MemberView,
        Self::MemberManage,
    ];

    /// The permission of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The permissions of a built-in role; an unknown role has none.
pub fn of_role(role: &str) -> &'static [Permission] {
    use Permission::*;
    match role {
        "owner" | "administrator" => &Permission::ALL,
        "topology-administrator" => &[SettingsView, SettingsManage, TopologyView, TopologyManage],
        "member" | "viewer" | "developer" => &[SettingsView],
        _ => &[],
    }
}

/// The built-in roles of an org of this type (`admin` or `provider`).
pub fn built_in_roles(org_type: &str) -> &'static [&'static str] {
    match org_type {
        "admin" => &["owner", "administrator", "topology-administrator", "member", "viewer"],
        _ => &["owner", "administrator", "developer", "viewer"],
    }
}

/// The realm whose users may join an org of this type.
pub fn realm_of(org_type: &str) -> &'static str {
    match org_type {
        "admin" => crate::ADMIN_REALM,
        _ => PROVIDER_REALM,
    }
}

/// The realm of provider orgs' users.
pub const PROVIDER_REALM: &str = "provider/default-idp-2";

/// True when any of `roles` carries `permission`.
pub fn allows(roles: &[String], permission: Permission) -> bool {
    roles.iter().any(|r| of_role(r).contains(&permission))
}

/// The permissions of a role, built-in or one of the org's `custom` roles.
pub fn of_any_role(role: &str, custom: &[CustomRole]) -> Vec<Permission> {
    let mut out: Vec<Permission> = of_role(role).to_vec();
    if let Some(c) = custom.iter().find(|c| c.name == role) {
        out.extend(c.permissions.iter().filter_map(|p| Permission::from_name(p)));
    }
    out
}

/// True when any of `roles`, built-in or one of the org's `custom` roles, carries
/// `permission`.
pub fn allows_with(roles: &[String], custom: &[CustomRole], permission: Permission) -> bool {
    allows(roles, permission)
        || custom
            .iter()
            .filter(|c| roles.contains(&c.name))
            .any(|c| c.permissions.iter().any(|p| p == permission.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managing_roles_may_change_settings() {
        let roles = |r: &str| vec![r.to_owned()];
        assert!(allows(&roles("owner"), Permission::SettingsManage));
        assert!(allows(&roles("topology-administrator"), Permission::SettingsManage));
        assert!(!allows(&roles("viewer"), Permission::SettingsManage));
        assert!(allows(&roles("viewer"), Permission::SettingsView));
        assert!(!allows(&[], Permission::SettingsView));
    }
}
