-- Each webhook's attempts per hour, added in the same transaction as the attempts, so a
-- webhook's health over the last day reads at most 25 rows however many deliveries it
-- makes. No foreign key: a batch may count an attempt of a webhook deleted meanwhile;
-- rows go with the retention purge (TENGINE_RETENTION_DAYS), like the deliveries.
CREATE TABLE webhook_hourly (
    webhook_id TEXT COLLATE "C" NOT NULL,
    hour TIMESTAMPTZ NOT NULL,
    attempts BIGINT NOT NULL CHECK (attempts >= 0),
    succeeded BIGINT NOT NULL CHECK (succeeded >= 0),
    latency_ms_sum BIGINT NOT NULL CHECK (latency_ms_sum >= 0),
    PRIMARY KEY (webhook_id, hour)
);

CREATE INDEX webhook_hourly_hour_idx ON webhook_hourly (hour);

-- Why and when a webhook was switched off: 'gone' (410), 'failing' (5 days), 'manual'.
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT NULL CHECK (disabled_reason IN ('gone', 'failing', 'manual'));
ALTER TABLE webhooks ADD COLUMN disabled_at TIMESTAMPTZ NULL;
