-- The account overview sums an account's rollups over a range (GET /api/v1/analytics).
CREATE INDEX usage_hourly_account_idx ON usage_hourly (account_id, hour);

-- ... and lists its failing webhooks.
CREATE INDEX webhooks_failing_idx ON webhooks (account_id, failing_since) WHERE failing_since IS NOT NULL;
