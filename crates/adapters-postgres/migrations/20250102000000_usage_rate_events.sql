-- Hourly usage rollups, shared rate-limit counters, usage-alert claims and the event
-- outbox.

-- One row per (project, hour, key). The primary key leads with the project and the
-- hour, so a project's range query is an index range scan whatever the table size.
-- h0..h15 are the latency histogram's buckets (tengine_domain::usage::HISTOGRAM_LEN).
-- No foreign key on the key: a batch must never fail because of one odd key id.
CREATE TABLE usage_hourly (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    api_key_id TEXT COLLATE "C" NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    rate_limited BIGINT NOT NULL,
    latency_sum_us BIGINT NOT NULL,
    h0 BIGINT NOT NULL,
    h1 BIGINT NOT NULL,
    h2 BIGINT NOT NULL,
    h3 BIGINT NOT NULL,
    h4 BIGINT NOT NULL,
    h5 BIGINT NOT NULL,
    h6 BIGINT NOT NULL,
    h7 BIGINT NOT NULL,
    h8 BIGINT NOT NULL,
    h9 BIGINT NOT NULL,
    h10 BIGINT NOT NULL,
    h11 BIGINT NOT NULL,
    h12 BIGINT NOT NULL,
    h13 BIGINT NOT NULL,
    h14 BIGINT NOT NULL,
    h15 BIGINT NOT NULL,
    PRIMARY KEY (project_id, hour, api_key_id)
);

-- Requests admitted per account and fixed hour window, across instances. No foreign
-- key: this is on the request path. `last_admitted` is the decision of the latest
-- admit_one on the row (read back through RETURNING, since PostgreSQL 15 cannot
-- return the old count); nothing else reads it.
CREATE TABLE rate_counters (
    account_id TEXT COLLATE "C" NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    count BIGINT NOT NULL CHECK (count >= 0),
    last_admitted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (account_id, window_start)
);

-- A usage alert (event type) already sent for an account's window.
CREATE TABLE usage_alerts (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, kind, window_start)
);

-- The outbox and event log.
CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NULL REFERENCES projects (id),
    type TEXT NOT NULL,
    data JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX events_project_idx ON events (project_id, created_at DESC, id DESC);

CREATE INDEX events_account_idx ON events (account_id, created_at DESC);
