-- A claim writes `claimed_by` on a pending delivery, and every delivery is claimed at
-- least once; its index (read only by a worker's release on shutdown) cost every claim
-- and every completion an index write. A release finds its rows among the pending ones
-- instead. (On PostgreSQL this also lets a claim be a heap-only update.)
DROP INDEX deliveries_claimed_idx;
