-- The claim takes due deliveries in (next_attempt_at, id) order. The index on the due
-- time alone left the id to a sort of every delivery sharing a due time: an event's
-- fan-out to N webhooks shares one, so with a backlog each claim sorted groups of N or
-- more rows. This index gives the claim its order directly, so it reads only the rows
-- it takes (plus any leased ones ahead of them).
CREATE INDEX deliveries_due_order_idx ON deliveries (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX deliveries_due_idx;
