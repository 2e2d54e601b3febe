-- The audit log: who did what to which resource, when, and how it ended.
CREATE TABLE events (
    id        TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL,
    org       TEXT,              -- the org's name; NULL for cloud-wide events such as log-ins
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    resource  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT
);

CREATE INDEX events_org_at ON events (org, at);
