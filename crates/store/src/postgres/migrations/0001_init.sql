-- The PostgreSQL twin of SQLite's migration of the same number: same tables, same columns in
-- the same order. Ids and times stay TEXT in the same RFC 3339 form, so both backends hold
-- identical values; INTEGER becomes BIGINT, BLOB becomes BYTEA, a 0/1 flag becomes BOOLEAN.
-- Text that lists are ordered by or that is compared as a range uses the "C" collation, so
-- it sorts byte by byte as SQLite's does, whatever the database's locale.
CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    org_type    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT COLLATE "C" NOT NULL,
    realm          TEXT COLLATE "C" NOT NULL,
    email          TEXT,
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TEXT NOT NULL,
    UNIQUE (realm, username)
);

CREATE TABLE memberships (
    org_id   TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, user_id, role)
);

CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE tls_client_profiles (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    version     TEXT COLLATE "C" NOT NULL,
    revision    BIGINT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, name, version)
);
