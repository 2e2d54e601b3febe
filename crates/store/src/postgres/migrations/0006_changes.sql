-- The change feed: one row for each profile, keystore or truststore created, updated or
-- deleted, written in the same transaction as the change (which also sends
-- NOTIFY tlsdeck_changes), so other servers can follow it.
CREATE TABLE changes (
    seq     BIGSERIAL PRIMARY KEY,
    kind    TEXT NOT NULL,   -- tls_client_profile, tls_server_profile, keystore or truststore
    id      TEXT NOT NULL,
    org_id  TEXT NOT NULL,
    at      TEXT NOT NULL
);
