-- Deliveries of a throttled, ordered or switched-off webhook ("paced") wait on more than
-- their due time: a budget, an earlier delivery, or the webhook. The common claim walked
-- them in due order and skipped them one by one, on every wake-up, so its cost grew with
-- such a webhook's backlog. Now they are kept out of its index: a throttled webhook's are
-- claimed through the webhook, at most its budget's worth, an ordered one's head as
-- before, a switched-off one's not at all.
-- `webhooks.paced` is the domain's `Webhook::paced`, written with the webhook; a change
-- of it (a PATCH, or the worker switching it off) moves the webhook's pending deliveries
-- to match under the webhook's row lock (FOR UPDATE), which the key share locks of a
-- fan-out or a redelivery wait for, so a delivery's flag is always its webhook's and the
-- common claim need not read the webhook.
ALTER TABLE webhooks ADD COLUMN paced BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE deliveries ADD COLUMN paced BOOLEAN NOT NULL DEFAULT false;
UPDATE webhooks SET paced = true WHERE rate_limit IS NOT NULL OR ordering = 'per_project' OR NOT active;
UPDATE deliveries d SET paced = true FROM webhooks w WHERE w.id = d.webhook_id AND w.paced AND d.status = 'pending';
CREATE INDEX deliveries_due_unpaced_idx ON deliveries (next_attempt_at, id) WHERE status = 'pending' AND NOT paced;
CREATE INDEX deliveries_due_paced_idx ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending' AND paced;
DROP INDEX deliveries_due_order_idx;
CREATE INDEX webhooks_throttled_idx ON webhooks (id) WHERE rate_limit IS NOT NULL AND ordering = 'none' AND active;
