-- List totals in O(1): one counter per list owner, kept by triggers in the same
-- transaction as the rows it counts. SQLite has one writer at a time, so one slot (0)
-- per counter is enough; the table has the same shape as PostgreSQL's.
CREATE TABLE row_counts (
    scope TEXT NOT NULL,
    slot INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (scope, slot)
) WITHOUT ROWID;

CREATE TRIGGER projects_counted_in AFTER INSERT ON projects WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO row_counts (scope, slot, n) VALUES ('projects:' || NEW.account_id, 0, 1)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER projects_counted_out AFTER DELETE ON projects WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE row_counts SET n = n - 1 WHERE scope = 'projects:' || OLD.account_id AND slot = 0;
END;
CREATE TRIGGER projects_counted_soft AFTER UPDATE OF deleted_at ON projects
    WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) BEGIN
    INSERT INTO row_counts (scope, slot, n)
    VALUES ('projects:' || NEW.account_id, 0, CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER api_keys_counted_in AFTER INSERT ON api_keys WHEN NEW.project_id IS NOT NULL BEGIN
    INSERT INTO row_counts (scope, slot, n) VALUES ('api_keys:' || NEW.project_id, 0, 1)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER api_keys_counted_out AFTER DELETE ON api_keys WHEN OLD.project_id IS NOT NULL BEGIN
    UPDATE row_counts SET n = n - 1 WHERE scope = 'api_keys:' || OLD.project_id AND slot = 0;
END;

CREATE TRIGGER webhooks_counted_in AFTER INSERT ON webhooks BEGIN
    INSERT INTO row_counts (scope, slot, n) VALUES ('webhooks:' || NEW.project_id, 0, 1)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER webhooks_counted_out AFTER DELETE ON webhooks BEGIN
    UPDATE row_counts SET n = n - 1 WHERE scope = 'webhooks:' || OLD.project_id AND slot = 0;
END;

CREATE TRIGGER deliveries_counted_in AFTER INSERT ON deliveries BEGIN
    INSERT INTO row_counts (scope, slot, n) VALUES ('deliveries:' || NEW.webhook_id, 0, 1)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER deliveries_counted_out AFTER DELETE ON deliveries BEGIN
    UPDATE row_counts SET n = n - 1 WHERE scope = 'deliveries:' || OLD.webhook_id AND slot = 0;
END;

CREATE TRIGGER events_counted_in AFTER INSERT ON events WHEN NEW.project_id IS NOT NULL BEGIN
    INSERT INTO row_counts (scope, slot, n) VALUES ('events:' || NEW.project_id, 0, 1)
    ON CONFLICT (scope, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER events_counted_out AFTER DELETE ON events WHEN OLD.project_id IS NOT NULL BEGIN
    UPDATE row_counts SET n = n - 1 WHERE scope = 'events:' || OLD.project_id AND slot = 0;
END;

-- Events are counted per project, not per type (as in PostgreSQL): the `type` filter's
-- total is counted on its index.

-- What exists already.
INSERT INTO row_counts (scope, slot, n)
SELECT 'projects:' || account_id, 0, COUNT(*) FROM projects WHERE deleted_at IS NULL GROUP BY account_id;
INSERT INTO row_counts (scope, slot, n)
SELECT 'api_keys:' || project_id, 0, COUNT(*) FROM api_keys WHERE project_id IS NOT NULL GROUP BY project_id;
INSERT INTO row_counts (scope, slot, n)
SELECT 'webhooks:' || project_id, 0, COUNT(*) FROM webhooks GROUP BY project_id;
INSERT INTO row_counts (scope, slot, n)
SELECT 'deliveries:' || webhook_id, 0, COUNT(*) FROM deliveries GROUP BY webhook_id;
INSERT INTO row_counts (scope, slot, n)
SELECT 'events:' || project_id, 0, COUNT(*) FROM events WHERE project_id IS NOT NULL GROUP BY project_id;

CREATE INDEX events_project_type_idx ON events (project_id, type, created_at DESC, id DESC);
