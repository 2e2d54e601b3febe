//! What each role may do. Permissions follow the source product's names.

use serde::Serialize;

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
}

impl Permission {
    /// The permission's name, e.g. `settings:manage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SettingsView => "settings:view",
            Self::SettingsManage => "settings:manage",
            Self::MemberView => "member:view",
            Self::MemberManage => "member:manage",
        }
    }
}

/// The permissions of a built-in role; an unknown role has none.
pub fn of_role(role: &str) -> &'static [Permission] {
    use Permission::*;
    match role {
        "owner" | "administrator" => &[SettingsView, SettingsManage, MemberView, MemberManage],
        "topology-administrator" => &[SettingsView, SettingsManage],
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
