-- The execution layer's records: the tool call log and per-tool hourly rollups.

-- Whether a tool's calls keep their arguments and result in the call log.
ALTER TABLE tools ADD COLUMN log_payloads BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per tool call, written in batches off the request path. `arguments` and
-- `result` are sealed with the server key, and present only for tools with
-- `log_payloads`. No foreign keys: a batch must never fail because a tool or project
-- was deleted meanwhile; rows name the tool as it was called.
CREATE TABLE tool_calls (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    tool_id TEXT COLLATE "C" NOT NULL,
    tool_name TEXT COLLATE "C" NOT NULL,
    api_key_id TEXT COLLATE "C" NOT NULL,
    member_id TEXT NULL,
    status TEXT NOT NULL,
    upstream_status INTEGER NULL,
    latency_us BIGINT NOT NULL,
    error TEXT NULL,
    request_id TEXT NULL,
    arguments TEXT NULL,
    result TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX tool_calls_project_idx ON tool_calls (project_id, created_at DESC, id DESC);
CREATE INDEX tool_calls_created_idx ON tool_calls (created_at);

-- Hourly rollups of tool calls per (project, hour, tool, member, key): the analytics'
-- `tool_id` and `member_id` dimensions. `member_id` is '' for calls without a member.
CREATE TABLE tool_usage_hourly (
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    hour TIMESTAMPTZ NOT NULL,
    tool_id TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    api_key_id TEXT COLLATE "C" NOT NULL,
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
    PRIMARY KEY (project_id, hour, tool_id, member_id, api_key_id)
);
