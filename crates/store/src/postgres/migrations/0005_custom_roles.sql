-- Roles an org defines from the permission list, beside the built-in ones.
CREATE TABLE custom_roles (
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    title        TEXT NOT NULL,
    permissions  TEXT NOT NULL,   -- comma-separated, e.g. settings:view,settings:manage
    PRIMARY KEY (org_id, name)
);
