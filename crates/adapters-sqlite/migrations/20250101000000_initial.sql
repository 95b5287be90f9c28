-- Accounts, projects and API keys. Timestamps are INTEGER microseconds since the Unix
-- epoch (UTC), so they sort; ids are their prefixed text form; digests are BLOBs.

CREATE TABLE accounts (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL CHECK (plan IN ('free', 'pro', 'enterprise')),
    rate_limit_per_hour INTEGER NULL CHECK (rate_limit_per_hour > 0),
    created_at INTEGER NOT NULL
) STRICT;

-- At most one row: its presence means the first-start bootstrap has been done.
CREATE TABLE bootstrap_state (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    claimed_at INTEGER NOT NULL
) STRICT;

CREATE TABLE projects (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    description TEXT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER NULL
) STRICT;

CREATE INDEX projects_account_live_idx
    ON projects (account_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

CREATE TABLE api_keys (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    permissions INTEGER NOT NULL CHECK (permissions BETWEEN 1 AND 15),
    prefix TEXT NOT NULL,
    digest BLOB NOT NULL UNIQUE,
    previous_digest BLOB NULL,
    previous_expires_at INTEGER NULL,
    expires_at INTEGER NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_used_at INTEGER NULL,
    revoked_at INTEGER NULL,
    CHECK ((previous_digest IS NULL) = (previous_expires_at IS NULL))
) STRICT;

CREATE UNIQUE INDEX api_keys_previous_digest_key
    ON api_keys (previous_digest)
    WHERE previous_digest IS NOT NULL;

CREATE INDEX api_keys_project_idx
    ON api_keys (project_id, created_at DESC, id DESC);
