-- The execution layer's records: the tool call log and per-tool hourly rollups.
-- Timestamps are INTEGER microseconds, like the rest of the schema.

-- Whether a tool's calls keep their arguments and result in the call log.
ALTER TABLE tools ADD COLUMN log_payloads INTEGER NOT NULL DEFAULT 0 CHECK (log_payloads IN (0, 1));

-- One row per tool call, written in batches off the request path. `arguments` and
-- `result` are sealed with the server key, and present only for tools with
-- `log_payloads`. No foreign keys: a batch must never fail because a tool or project
-- was deleted meanwhile; rows name the tool as it was called.
CREATE TABLE tool_calls (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    tool_id TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    member_id TEXT NULL,
    status TEXT NOT NULL,
    upstream_status INTEGER NULL,
    latency_us INTEGER NOT NULL,
    error TEXT NULL,
    request_id TEXT NULL,
    arguments TEXT NULL,
    result TEXT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tool_calls_project_idx ON tool_calls (project_id, created_at DESC, id DESC);
CREATE INDEX tool_calls_created_idx ON tool_calls (created_at);

-- Hourly rollups of tool calls per (project, hour, tool, member, key): the analytics'
-- `tool_id` and `member_id` dimensions. `member_id` is '' for calls without a member.
CREATE TABLE tool_usage_hourly (
    project_id TEXT NOT NULL REFERENCES projects (id),
    hour INTEGER NOT NULL,
    tool_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
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
    PRIMARY KEY (project_id, hour, tool_id, member_id, api_key_id)
) STRICT, WITHOUT ROWID;
