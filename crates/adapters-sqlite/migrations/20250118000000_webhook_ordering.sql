-- Ordered delivery, opt-in per webhook: with 'per_project' a delivery is claimed only
-- when no earlier delivery of the same webhook is still pending. The partial index keeps
-- that check (and the next due time's) to the webhook's pending deliveries, however long
-- its history.
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none' CHECK (ordering IN ('none', 'per_project'));
CREATE INDEX deliveries_pending_webhook_idx ON deliveries (webhook_id, created_at, id) WHERE status = 'pending';
