-- A fan-out's insert checked each new delivery's event and webhook against foreign
-- keys: two lookups per row, each an executor run of its own, about a quarter of
-- PostgreSQL's CPU in creating events with ten webhooks each; a completion checked each
-- new attempt's delivery the same way. Every writer already holds what the keys guarded:
-- the fan-out inserts the event in the same statement and key-share locks the webhooks
-- it read; a single delivery (a redelivery) key-share locks both its event and its
-- webhook; a completion updates (so locks) the delivery whose attempt it records. A row
-- that loses its event or webhook anyway (a manual edit) is failed by the claim as an
-- orphan. The keys' cascades stay, as statement triggers: a deleted webhook takes its
-- deliveries, a deleted delivery its attempts, each by index as the keys' own deletes
-- were (a table without statistics would otherwise be read whole for a few rows).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_fkey;
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_delivery_id_fkey;

CREATE FUNCTION webhooks_delete_deliveries() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    DELETE FROM deliveries WHERE webhook_id = ANY(ARRAY(SELECT id FROM old_rows));
    RETURN NULL;
END $$;

CREATE TRIGGER webhooks_cascade_deliveries AFTER DELETE ON webhooks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_delete_deliveries();

CREATE FUNCTION deliveries_delete_attempts() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    DELETE FROM delivery_attempts WHERE delivery_id = ANY(ARRAY(SELECT id FROM old_rows));
    RETURN NULL;
END $$;

CREATE TRIGGER deliveries_cascade_attempts AFTER DELETE ON deliveries REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION deliveries_delete_attempts();
