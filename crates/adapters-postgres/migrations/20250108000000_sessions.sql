-- Browser sessions: the console's sign-in sessions and projects' portal sessions.
-- Secrets are kept only as SHA-256 digests: `token_digest` (the bearer token, set when a
-- portal's one-time code is exchanged) and `code_digest` (cleared by that exchange).
-- `sections` is comma-separated, `allowed_origins` newline-separated, `theme` JSON text.
CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('console', 'portal')),
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    api_key_id TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id),
    project_id TEXT COLLATE "C" NULL REFERENCES projects (id),
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    sections TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    theme TEXT NULL,
    token_digest BYTEA NULL UNIQUE,
    code_digest BYTEA NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NULL
);

CREATE INDEX sessions_project_idx ON sessions (project_id, kind, created_at DESC, id DESC);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
