-- A claim writes `claimed_by` and `lease_until` on a pending delivery, and every delivery
-- is claimed at least once. With `claimed_by` indexed (for a worker's release on shutdown,
-- the only reader), no claim could be a heap-only (HOT) update: each wrote a new entry
-- into all six of the table's indexes that held the row, and left six dead ones for the
-- next claim's index walk to step over. Without it a claim touches no indexed column;
-- a release finds its rows among the pending ones instead (it runs on shutdown and after
-- a failed round). Pages keep a tenth free so a claim's new version fits beside the old.
DROP INDEX deliveries_claimed_idx;
ALTER TABLE deliveries SET (fillfactor = 90);
