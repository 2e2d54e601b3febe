-- The order a truststore's entries were added in, kept in a column of its own so that every
-- backend lists them alike and a copied store keeps it.
ALTER TABLE truststore_entries ADD COLUMN seq BIGSERIAL NOT NULL;
CREATE INDEX truststore_entries_order ON truststore_entries (truststore_id, seq);
