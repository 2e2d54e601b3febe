-- The order a truststore's entries were added in, kept in a column of its own (it was the
-- rowid) so that every backend lists them alike and a copied store keeps it.
ALTER TABLE truststore_entries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE truststore_entries SET seq = rowid;
CREATE INDEX truststore_entries_order ON truststore_entries (truststore_id, seq);
