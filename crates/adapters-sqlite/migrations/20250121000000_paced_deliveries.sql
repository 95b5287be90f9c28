-- Deliveries of a throttled, ordered or switched-off webhook ("paced") wait on more than
-- their due time: a budget, an earlier delivery, or the webhook. The common claim walked
-- them in due order and skipped them one by one, on every wake-up, so its cost grew with
-- such a webhook's backlog. Now they are kept out of its index: a throttled webhook's are
-- claimed through the webhook, at most its budget's worth, an ordered one's head as
-- before, a switched-off one's not at all.
-- `webhooks.paced` is the domain's `Webhook::paced`, written with the webhook; a change
-- of it (a PATCH, or the worker switching it off) moves the webhook's pending deliveries
-- to match in the same transaction (one writer: no fan-out can come between), so a
-- delivery's flag is always its webhook's and the common claim need not read the
-- webhook.
ALTER TABLE webhooks ADD COLUMN paced INTEGER NOT NULL DEFAULT 0 CHECK (paced IN (0, 1));
ALTER TABLE deliveries ADD COLUMN paced INTEGER NOT NULL DEFAULT 0 CHECK (paced IN (0, 1));
UPDATE webhooks SET paced = 1 WHERE rate_limit IS NOT NULL OR ordering = 'per_project' OR NOT active;
UPDATE deliveries SET paced = 1 WHERE status = 'pending' AND webhook_id IN (SELECT id FROM webhooks WHERE paced = 1);
CREATE INDEX deliveries_due_unpaced_idx ON deliveries (next_attempt_at, id) WHERE status = 'pending' AND paced = 0;
CREATE INDEX deliveries_due_paced_idx ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending' AND paced = 1;
DROP INDEX deliveries_due_order_idx;
CREATE INDEX webhooks_throttled_idx ON webhooks (id) WHERE rate_limit IS NOT NULL AND ordering = 'none' AND active;
