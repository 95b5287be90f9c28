-- The retention purge deletes an event once no delivery refers to it: the check, and the
-- foreign key's own check on delete, read deliveries by event.
CREATE INDEX deliveries_event_idx ON deliveries (event_id);
