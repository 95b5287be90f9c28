-- Hourly usage rollups, shared rate-limit counters, usage-alert claims and the event
-- outbox. Timestamps are INTEGER microseconds, like the rest of the schema.

-- One row per (project, hour, key). The primary key leads with the project and the
-- hour, so a project's range query is an index range scan whatever the table size.
-- h0..h15 are the latency histogram's buckets (tengine_domain::usage::HISTOGRAM_LEN).
-- No foreign key on the key: a batch must never fail because of one odd key id.
CREATE TABLE usage_hourly (
    project_id TEXT NOT NULL REFERENCES projects (id),
    api_key_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    rate_limited INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    h0 INTEGER NOT NULL,
    h1 INTEGER NOT NULL,
    h2 INTEGER NOT NULL,
    h3 INTEGER NOT NULL,
    h4 INTEGER NOT NULL,
    h5 INTEGER NOT NULL,
    h6 INTEGER NOT NULL,
    h7 INTEGER NOT NULL,
    h8 INTEGER NOT NULL,
    h9 INTEGER NOT NULL,
    h10 INTEGER NOT NULL,
    h11 INTEGER NOT NULL,
    h12 INTEGER NOT NULL,
    h13 INTEGER NOT NULL,
    h14 INTEGER NOT NULL,
    h15 INTEGER NOT NULL,
    PRIMARY KEY (project_id, hour, api_key_id)
) STRICT, WITHOUT ROWID;

-- Requests admitted per account and fixed hour window. No foreign key: this is on the
-- request path. `last_admitted` is the decision of the latest admit_one on the row
-- (read back through RETURNING, which only sees the new row); nothing else reads it.
CREATE TABLE rate_counters (
    account_id TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    last_admitted INTEGER NOT NULL DEFAULT 0 CHECK (last_admitted IN (0, 1)),
    PRIMARY KEY (account_id, window_start)
) STRICT, WITHOUT ROWID;

-- A usage alert (event type) already sent for an account's window.
CREATE TABLE usage_alerts (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, window_start)
) STRICT, WITHOUT ROWID;

-- The outbox and event log; `data` is JSON text.
CREATE TABLE events (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NULL REFERENCES projects (id),
    type TEXT NOT NULL,
    data TEXT NOT NULL CHECK (json_valid(data)),
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX events_project_idx ON events (project_id, created_at DESC, id DESC);

CREATE INDEX events_account_idx ON events (account_id, created_at DESC);
