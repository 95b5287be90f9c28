-- A webhook's throttle: at most `rate_limit` deliveries per second. `throttle_window` is
-- the second the budget was last taken in and `throttle_used` how much of it was taken;
-- a claim skips a webhook whose current second is used up, so its deliveries wait.
ALTER TABLE webhooks ADD COLUMN rate_limit BIGINT NULL CHECK (rate_limit BETWEEN 1 AND 10000);
ALTER TABLE webhooks ADD COLUMN throttle_window TIMESTAMPTZ NULL;
ALTER TABLE webhooks ADD COLUMN throttle_used BIGINT NOT NULL DEFAULT 0;
