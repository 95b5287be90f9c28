-- Sessions: the console's sign-in sessions, projects' portal sessions and MCP member
-- sessions (`member` is the member's id, email and roles as JSON text).
-- Secrets are kept only as SHA-256 digests: `token_digest` (the bearer token, set when a
-- portal's one-time code is exchanged) and `code_digest` (cleared by that exchange).
-- `sections` is comma-separated, `allowed_origins` newline-separated, `theme` JSON text.
CREATE TABLE sessions (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('console', 'portal', 'member')),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    project_id TEXT NULL REFERENCES projects (id),
    permissions INTEGER NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    sections TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    theme TEXT NULL,
    member TEXT NULL,
    token_digest BLOB NULL UNIQUE,
    code_digest BLOB NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NULL
) STRICT;

CREATE INDEX sessions_project_idx ON sessions (project_id, kind, created_at DESC, id DESC);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- The public keys a project's backend signs member assertions with. `public_key` is the
-- PEM text or the JWK's JSON, as given (`format` says which).
CREATE TABLE signing_keys (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    kid TEXT NOT NULL,
    alg TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('pem', 'jwk')),
    public_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (project_id, kid)
) STRICT;

CREATE INDEX signing_keys_project_idx ON signing_keys (project_id, created_at DESC, id DESC);

-- Member assertion ids seen, until their assertion expires: a jti is accepted once.
CREATE TABLE assertion_jtis (
    project_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, jti)
) STRICT;

CREATE INDEX assertion_jtis_expires_idx ON assertion_jtis (expires_at);
