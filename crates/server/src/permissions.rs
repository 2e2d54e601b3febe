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
}

impl Permission {
    /// The permission's name, e.g. `settings:manage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SettingsView => "settings:view",
            Self::SettingsManage => "settings:manage",
            Self::MemberView => "member:view",
        }
    }
}

/// The permissions of a built-in role; an unknown role has none.
pub fn of_role(role: &str) -> &'static [Permission] {
    use Permission::*;
    match role {
        "owner" | "administrator" => &[SettingsView, SettingsManage, MemberView],
        "topology-administrator" => &[SettingsView, SettingsManage],
        "member" | "viewer" | "developer" => &[SettingsView],
        _ => &[],
    }
}

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
