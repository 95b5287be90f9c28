-- Accounts, projects and API keys. Ids use the "C" collation so that they sort
-- byte-wise, exactly like their base62 text (and like SQLite's BINARY collation).

CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
    rate_limit_per_hour BIGINT NULL CHECK (rate_limit_per_hour > 0),
    created_at TIMESTAMPTZ NOT NULL
);

-- At most one row: its presence means the first-start bootstrap has been done.
CREATE TABLE bootstrap_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    description TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ NULL
);

CREATE INDEX projects_account_live_idx
    ON projects (account_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    permissions SMALLINT NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    prefix TEXT NOT NULL,
    digest BYTEA NOT NULL CONSTRAINT api_keys_digest_key UNIQUE,
    previous_digest BYTEA NULL,
    previous_expires_at TIMESTAMPTZ NULL,
    expires_at TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL,
    CHECK ((previous_digest IS NULL) = (previous_expires_at IS NULL))
);

CREATE UNIQUE INDEX api_keys_previous_digest_key
    ON api_keys (previous_digest)
    WHERE previous_digest IS NOT NULL;

CREATE INDEX api_keys_project_idx
    ON api_keys (project_id, created_at DESC, id DESC);
