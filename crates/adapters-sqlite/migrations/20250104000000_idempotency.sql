-- Idempotency records: one per (account, SHA-256 of the Idempotency-Key), with the
-- fingerprint of the first request and, once it finished, its response to replay.
-- Timestamps are INTEGER microseconds, like the rest of the schema.

-- `locked_at` is when the running request claimed the key; a claim older than the
-- stale cut with no response belongs to a dead instance and may be taken over.
-- `response_headers` is a JSON array of [name, value] pairs; `response_body` is
-- sealed by the application. No foreign key: this is on the request path. A rowid
-- table, since bodies can outgrow a WITHOUT ROWID row.
CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL,
    key_hash BLOB NOT NULL CHECK (length(key_hash) = 32),
    fingerprint BLOB NOT NULL CHECK (length(fingerprint) = 32),
    created_at INTEGER NOT NULL,
    locked_at INTEGER NOT NULL,
    response_status INTEGER NULL CHECK (response_status BETWEEN 100 AND 999),
    response_headers TEXT NULL CHECK (json_valid(response_headers)),
    response_body BLOB NULL,
    PRIMARY KEY (account_id, key_hash),
    CHECK ((response_status IS NULL) = (response_headers IS NULL)
        AND (response_status IS NULL) = (response_body IS NULL))
) STRICT;

-- Purging records past their lifetime.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
