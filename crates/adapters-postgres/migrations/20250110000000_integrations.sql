-- Integrations (OAuth 2.1 clients of a project), their connections (grants), and the
-- authorization codes and tokens issued from them. Secrets are kept only as SHA-256
-- digests. `redirect_uris` is newline-separated; `permissions` are permission bits.
CREATE TABLE integrations (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    client_type TEXT NOT NULL CHECK (client_type IN ('public', 'confidential')),
    dynamic BOOLEAN NOT NULL,
    secret_digest BYTEA NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX integrations_project_idx ON integrations (project_id, created_at DESC, id DESC);

CREATE TABLE oauth_connections (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    integration_id TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    approved_by TEXT NOT NULL,
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    resource TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL
);

CREATE INDEX oauth_connections_integration_idx ON oauth_connections (integration_id, created_at DESC, id DESC);

-- An approved authorization request: exchangeable once, for 60 seconds.
-- `connection_id` is the connection its first exchange made.
CREATE TABLE oauth_codes (
    digest BYTEA PRIMARY KEY,
    integration_id TEXT COLLATE "C" NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL,
    project_id TEXT COLLATE "C" NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    resource TEXT NULL,
    approved_by TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL,
    connection_id TEXT COLLATE "C" NULL
);

CREATE INDEX oauth_codes_expires_idx ON oauth_codes (expires_at);

-- Access and refresh tokens. A refresh token is `spent` by its one use.
CREATE TABLE oauth_tokens (
    digest BYTEA PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    connection_id TEXT COLLATE "C" NOT NULL REFERENCES oauth_connections (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL,
    spent_at TIMESTAMPTZ NULL
);

CREATE INDEX oauth_tokens_connection_idx ON oauth_tokens (connection_id);
CREATE INDEX oauth_tokens_expires_idx ON oauth_tokens (expires_at);

-- Whether clients may register themselves with a project (RFC 7591), and the most
-- they may ask for.
CREATE TABLE oauth_registration (
    project_id TEXT COLLATE "C" PRIMARY KEY REFERENCES projects (id),
    enabled BOOLEAN NOT NULL,
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15)
);
