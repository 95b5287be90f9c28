-- An event's payload is written once by Tengine (compact JSON from serde_json) and read
-- back only as a whole: into the event log's pages and webhook bodies. JSONB parsed it on
-- every insert and re-rendered it (escape_json) on every read; on a page of 20 events
-- that output was the largest part of PostgreSQL's time (pgbench, prepared: 21k pages/s
-- as JSONB, 29k as JSON, 34k without the column). JSON keeps the text as written, still
-- checked to be JSON on insert. Nothing queries inside it. The rewrite takes the table's
-- lock for as long as it copies the rows (about a second per million events).
ALTER TABLE events ALTER COLUMN data TYPE json USING data::json;
