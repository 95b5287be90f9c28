-- A delivery's attempts move onto its own row, as the JSON array a page of deliveries
-- returns: `[[attempted_at in µs since the epoch, status_code, latency_ms, error,
-- response_excerpt], ...]`, oldest first, NULL before the first attempt. A page read
-- each row's attempts by a correlated aggregate over `delivery_attempts` (twenty index
-- probes and twenty JSON aggregates a page, half the page's PostgreSQL time), and a
-- completion updated the delivery and inserted its attempt; now a page reads one table
-- and a completion writes one row. Kept as text, not jsonb: a page sends it as stored,
-- with no conversion per row, and only the completion's append writes it.
ALTER TABLE deliveries ADD COLUMN attempts TEXT NULL;

UPDATE deliveries d SET attempts = a.attempts
FROM (
    SELECT delivery_id, json_agg(json_build_array(CAST(EXTRACT(EPOCH FROM attempted_at) * 1000000 AS BIGINT),
        status_code, latency_ms, error, response_excerpt) ORDER BY n)::text AS attempts
    FROM delivery_attempts GROUP BY delivery_id
) a
WHERE d.id = a.delivery_id;

DROP TRIGGER deliveries_cascade_attempts ON deliveries;
DROP FUNCTION deliveries_delete_attempts();
DROP TABLE delivery_attempts;
