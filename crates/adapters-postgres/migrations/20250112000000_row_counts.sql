-- List totals in O(1): one counter per list owner, kept by triggers in the same
-- transaction as the rows it counts, so a total is never off by a committed change.
--
-- A counter is spread over up to 16 slots, chosen by the writing backend's pid: writers on
-- different connections update different rows and do not queue on one row lock until
-- commit. A total is the sum of at most 16 rows. INSERT and DELETE triggers are
-- per statement (transition tables), so a bulk insert or a retention purge updates each
-- counter once, not once per row; groups are written in scope order so two statements
-- never take the same rows' locks in opposite orders.
CREATE TABLE row_counts (
    scope TEXT COLLATE "C" NOT NULL,
    slot SMALLINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (scope, slot)
);

CREATE FUNCTION row_counts_add(scopes TEXT[], deltas BIGINT[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO row_counts (scope, slot, n)
    SELECT s, pg_backend_pid() % 16, d
    FROM UNNEST(scopes, deltas) AS u (s, d)
    WHERE d <> 0
    ORDER BY s
    ON CONFLICT (scope, slot) DO UPDATE SET n = row_counts.n + EXCLUDED.n
$$;

-- Live projects of an account.
CREATE FUNCTION row_counts_projects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (
            SELECT 'projects:' || account_id AS s, COUNT(*) AS d FROM new_rows
            WHERE deleted_at IS NULL GROUP BY account_id
        ) g;
    ELSE
        PERFORM row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (
            SELECT 'projects:' || account_id AS s, -COUNT(*) AS d FROM old_rows
            WHERE deleted_at IS NULL GROUP BY account_id
        ) g;
    END IF;
    RETURN NULL;
END $$;

-- A soft delete (or its undoing): row level, and only when `deleted_at` changes.
CREATE FUNCTION row_counts_projects_soft() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM row_counts_add(
        ARRAY['projects:' || NEW.account_id],
        ARRAY[CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END]::BIGINT[]
    );
    RETURN NULL;
END $$;

-- Rows that belong to a project (keys, webhooks) or a webhook (deliveries).
CREATE FUNCTION row_counts_owned() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner TEXT := TG_ARGV[0];
    sign BIGINT := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE format(
            'SELECT row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (SELECT %L || %I AS s, $1 * COUNT(*) AS d '
            'FROM new_rows WHERE %I IS NOT NULL GROUP BY %I) g',
            TG_TABLE_NAME || ':', owner, owner, owner) USING sign;
    ELSE
        EXECUTE format(
            'SELECT row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (SELECT %L || %I AS s, $1 * COUNT(*) AS d '
            'FROM old_rows WHERE %I IS NOT NULL GROUP BY %I) g',
            TG_TABLE_NAME || ':', owner, owner, owner) USING sign;
    END IF;
    RETURN NULL;
END $$;

-- Events of a project, in all and by type (the list's `type` filter).
CREATE FUNCTION row_counts_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (
            SELECT s, COUNT(*) AS d FROM new_rows,
                LATERAL (VALUES ('events:' || project_id), ('events:' || project_id || ':' || type)) v (s)
            WHERE project_id IS NOT NULL GROUP BY s
        ) g;
    ELSE
        PERFORM row_counts_add(ARRAY_AGG(s), ARRAY_AGG(d)) FROM (
            SELECT s, -COUNT(*) AS d FROM old_rows,
                LATERAL (VALUES ('events:' || project_id), ('events:' || project_id || ':' || type)) v (s)
            WHERE project_id IS NOT NULL GROUP BY s
        ) g;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER projects_counted_in AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_projects();
CREATE TRIGGER projects_counted_out AFTER DELETE ON projects
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_projects();
CREATE TRIGGER projects_counted_soft AFTER UPDATE OF deleted_at ON projects
    FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION row_counts_projects_soft();

CREATE TRIGGER api_keys_counted_in AFTER INSERT ON api_keys
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('project_id');
CREATE TRIGGER api_keys_counted_out AFTER DELETE ON api_keys
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('project_id');
CREATE TRIGGER webhooks_counted_in AFTER INSERT ON webhooks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('project_id');
CREATE TRIGGER webhooks_counted_out AFTER DELETE ON webhooks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('project_id');
CREATE TRIGGER deliveries_counted_in AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('webhook_id');
CREATE TRIGGER deliveries_counted_out AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_owned('webhook_id');
CREATE TRIGGER events_counted_in AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_events();
CREATE TRIGGER events_counted_out AFTER DELETE ON events
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION row_counts_events();

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
SELECT s, 0, COUNT(*) FROM events,
    LATERAL (VALUES ('events:' || project_id), ('events:' || project_id || ':' || type)) v (s)
WHERE project_id IS NOT NULL GROUP BY s;

-- The events list filtered by type reads its page from an index in list order.
CREATE INDEX events_project_type_idx ON events (project_id, type, created_at DESC, id DESC);
