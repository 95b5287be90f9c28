-- Webhook endpoints, one delivery per event and webhook, and every delivery attempt.

-- `events` holds wire names, comma-separated, or "*" for every type. The secrets are
-- kept in clear: they sign every delivery.
CREATE TABLE webhooks (
    id TEXT COLLATE "C" PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    project_id TEXT COLLATE "C" NOT NULL REFERENCES projects (id),
    url TEXT NOT NULL,
    description TEXT NULL,
    events TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT NULL,
    previous_secret_expires_at TIMESTAMPTZ NULL,
    failing_since TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL))
);

CREATE INDEX webhooks_project_idx ON webhooks (project_id, created_at DESC, id DESC);

-- The fan-out reads every webhook of the event's account.
CREATE INDEX webhooks_account_idx ON webhooks (account_id);

-- A pending delivery always has a due time; `claimed_by` and `lease_until` mark the
-- worker sending it and when its claim lapses.
CREATE TABLE deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL REFERENCES events (id),
    webhook_id TEXT COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count INTEGER NOT NULL CHECK (attempt_count >= 0),
    next_attempt_at TIMESTAMPTZ NULL,
    claimed_by TEXT NULL,
    lease_until TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL)
);

-- The claim query: pending deliveries by due time. Finished ones drop out of it.
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, created_at DESC, id DESC);

-- Releasing a worker's claims on shutdown.
CREATE INDEX deliveries_claimed_idx ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE delivery_attempts (
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n INTEGER NOT NULL CHECK (n >= 1),
    attempted_at TIMESTAMPTZ NOT NULL,
    status_code INTEGER NULL,
    latency_ms BIGINT NOT NULL CHECK (latency_ms >= 0),
    error TEXT NULL,
    response_excerpt TEXT NULL,
    PRIMARY KEY (delivery_id, n)
);
