-- Custom tools: a project's own HTTP endpoints, described for models.
-- Timestamps are INTEGER microseconds, like the rest of the schema.

-- The JSON fields (`input_schema` and the templates) are stored as text, as written;
-- `inject_member_identity` as comma-separated names. `auth_secret` is sealed with the
-- server key. A deleted tool (or a tool of a deleted project) keeps its row with
-- `deleted_at` set, so its name is free again but call records can still name it.
CREATE TABLE tools (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    input_schema TEXT NOT NULL,
    base_url TEXT NOT NULL,
    http_method TEXT NOT NULL,
    endpoint_path TEXT NOT NULL,
    headers_template TEXT NOT NULL,
    query_template TEXT NOT NULL,
    body_template TEXT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    require_member INTEGER NOT NULL CHECK (require_member IN (0, 1)),
    inject_member_identity TEXT NOT NULL,
    auth_strategy TEXT NOT NULL,
    auth_secret TEXT NULL,
    timeout_ms INTEGER NOT NULL CHECK (timeout_ms > 0),
    max_response_bytes INTEGER NOT NULL CHECK (max_response_bytes > 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER NULL
) STRICT;

-- A name is unique among a project's live tools.
CREATE UNIQUE INDEX tools_project_name_key ON tools (project_id, name) WHERE deleted_at IS NULL;

CREATE INDEX tools_project_idx ON tools (project_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
