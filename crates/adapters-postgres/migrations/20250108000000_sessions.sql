-- Sessions: the console's sign-in sessions, projects' portal sessions and MCP member
-- sessions (`member` is the member's id, email and roles as JSON text).
-- Secrets are kept only as SHA-256 digests: `token_digest` (the bearer token, set when a
-- portal's one-time code is exchanged) and `code_digest` (cleared by that exchange).
-- `sections` is comma-separated, `allowed_origins` newline-separated, `theme` JSON text.
CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('console', 'portal', 'member')),
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    api_key_id TEXT COLLATE "C" NOT NULL REFERENCES api_keys (id),
    project_id TEXT COLLATE "C" NULL REFERENCES projects (id),
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    sections TEXT NOT NULL,
    allowed_origins TEXT NOT NULL,
    theme TEXT NULL,
    member TEXT NULL,
    token_digest BYTEA NULL UNIQUE,
    code_digest BYTEA NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NULL
);

CREATE INDEX sessions_project_idx ON sessions (project_id, kind, created_at DESC, id DESC);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- The public keys a project's backend signs member assertions with. `public_key` is the
-- PEM text or the JWK's JSON, as given (`format` says which).
CREATE TABLE signing_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    kid TEXT COLLATE "C" NOT NULL,
    alg TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('pem', 'jwk')),
    public_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (project_id, kid)
);

CREATE INDEX signing_keys_project_idx ON signing_keys (project_id, created_at DESC, id DESC);

-- Member assertion ids seen, until their assertion expires: a jti is accepted once.
CREATE TABLE assertion_jtis (
    project_id TEXT COLLATE "C" NOT NULL,
    jti TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, jti)
);

CREATE INDEX assertion_jtis_expires_idx ON assertion_jtis (expires_at);
