-- Custom tools: a project's own HTTP endpoints, described for models.

-- The JSON fields (`input_schema` and the templates) are stored as text, as written;
-- `inject_member_identity` as comma-separated names. `auth_secret` is sealed with the
-- server key. A deleted tool (or a tool of a deleted project) keeps its row with
-- `deleted_at` set, so its name is free again but call records can still name it.
CREATE TABLE tools (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    name TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    input_schema TEXT NOT NULL,
    base_url TEXT NOT NULL,
    http_method TEXT NOT NULL,
    endpoint_path TEXT NOT NULL,
    headers_template TEXT NOT NULL,
    query_template TEXT NOT NULL,
    body_template TEXT NULL,
    enabled BOOLEAN NOT NULL,
    require_member BOOLEAN NOT NULL,
    inject_member_identity TEXT NOT NULL,
    auth_strategy TEXT NOT NULL,
    auth_secret TEXT NULL,
    timeout_ms BIGINT NOT NULL CHECK (timeout_ms > 0),
    max_response_bytes BIGINT NOT NULL CHECK (max_response_bytes > 0),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ NULL
);

-- A name is unique among a project's live tools.
CREATE UNIQUE INDEX tools_project_name_key ON tools (project_id, name) WHERE deleted_at IS NULL;

CREATE INDEX tools_project_idx ON tools (project_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
