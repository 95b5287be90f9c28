-- Webhook endpoints, one delivery per event and webhook, and every delivery attempt.
-- Timestamps are INTEGER microseconds, like the rest of the schema.

-- `events` holds wire names, comma-separated, or "*" for every type. The secrets are
-- kept in clear: they sign every delivery.
CREATE TABLE webhooks (
    id TEXT NOT NULL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    project_id TEXT NOT NULL REFERENCES projects (id),
    url TEXT NOT NULL,
    description TEXT NULL,
    events TEXT NOT NULL,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    secret TEXT NOT NULL,
    previous_secret TEXT NULL,
    previous_secret_expires_at INTEGER NULL,
    failing_since INTEGER NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
) STRICT;

CREATE INDEX webhooks_project_idx ON webhooks (project_id, created_at DESC, id DESC);

-- The fan-out reads every webhook of the event's account.
CREATE INDEX webhooks_account_idx ON webhooks (account_id);

-- A pending delivery always has a due time; `claimed_by` and `lease_until` mark the
-- worker sending it and when its claim lapses.
CREATE TABLE deliveries (
    id TEXT NOT NULL PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events (id),
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count INTEGER NOT NULL CHECK (attempt_count >= 0),
    next_attempt_at INTEGER NULL,
    claimed_by TEXT NULL,
    lease_until INTEGER NULL,
    created_at INTEGER NOT NULL,
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
) STRICT;

-- The claim query: pending deliveries by due time. Finished ones drop out of it.
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, created_at DESC, id DESC);

-- Releasing a worker's claims on shutdown.
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n INTEGER NOT NULL CHECK (n >= 1),
    attempted_at INTEGER NOT NULL,
    status_code INTEGER NULL,
    latency_ms INTEGER NOT NULL CHECK (latency_ms >= 0),
    error TEXT NULL,
    response_excerpt TEXT NULL,
    PRIMARY KEY (delivery_id, n)
) STRICT, WITHOUT ROWID;
