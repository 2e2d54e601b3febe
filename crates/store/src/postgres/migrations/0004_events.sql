-- The audit log: who did what to which resource, when, and how it ended. The sequence hands
-- out seq in the order events are written, however many servers write them.
CREATE TABLE events (
    id        TEXT PRIMARY KEY,
    seq       BIGSERIAL NOT NULL,
    org       TEXT,                      -- the org's name; NULL for cloud-wide events such as log-ins
    at        TEXT COLLATE "C" NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    resource  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT
);

CREATE INDEX events_org_at ON events (org, at);
