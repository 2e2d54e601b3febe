CREATE TABLE keystores (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT,
    revision    BIGINT NOT NULL,
    chain       TEXT NOT NULL,    -- JSON list of hex DER certificates, leaf first
    sealed_key  BYTEA NOT NULL,   -- PKCS#8 DER sealed with the master key
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE truststores (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT COLLATE "C" NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT,
    revision    BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE truststore_entries (
    id             TEXT PRIMARY KEY,
    truststore_id  TEXT NOT NULL REFERENCES truststores (id) ON DELETE CASCADE,
    fingerprint    TEXT NOT NULL,
    der            BYTEA NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (truststore_id, fingerprint)
);

ALTER TABLE tls_client_profiles ADD COLUMN keystore_id TEXT REFERENCES keystores (id);
ALTER TABLE tls_client_profiles ADD COLUMN truststore_id TEXT REFERENCES truststores (id);

CREATE INDEX tls_client_profiles_keystore ON tls_client_profiles (keystore_id);
CREATE INDEX tls_client_profiles_truststore ON tls_client_profiles (truststore_id);

-- One-off facts about the store, e.g. that the defaults were created once.
CREATE TABLE store_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
