CREATE TABLE tls_server_profiles (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name           TEXT COLLATE "C" NOT NULL,
    version        TEXT COLLATE "C" NOT NULL,
    revision       BIGINT NOT NULL,
    body           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    keystore_id    TEXT NOT NULL REFERENCES keystores (id),
    truststore_id  TEXT REFERENCES truststores (id),
    UNIQUE (org_id, name, version)
);

CREATE INDEX tls_server_profiles_keystore ON tls_server_profiles (keystore_id);
CREATE INDEX tls_server_profiles_truststore ON tls_server_profiles (truststore_id);
