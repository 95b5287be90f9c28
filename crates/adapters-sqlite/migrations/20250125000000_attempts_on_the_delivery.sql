-- A delivery's attempts move onto its own row, as the JSON array a page of deliveries
-- returns: `[[attempted_at in µs since the epoch, status_code, latency_ms, error,
-- response_excerpt], ...]`, oldest first, NULL before the first attempt. A page read
-- each row's attempts by a correlated aggregate over `delivery_attempts`, and a
-- completion updated the delivery and inserted its attempt; now a page reads one table
-- and a completion writes one row (as in PostgreSQL's migration of the same name).
ALTER TABLE deliveries ADD COLUMN attempts TEXT NULL;

UPDATE deliveries SET attempts = (
    SELECT json_group_array(json_array(a.attempted_at, a.status_code, a.latency_ms, a.error, a.response_excerpt)
        ORDER BY a.n)
    FROM delivery_attempts a WHERE a.delivery_id = deliveries.id
)
WHERE EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = deliveries.id);

DROP TABLE delivery_attempts;
