-- Events, deliveries and projects are counted by the statements that insert them (a
-- data-modifying WITH item, `count_inserted!` in the adapter) instead of by insert
-- triggers. A trigger cost each insert a plpgsql call, an SPI statement and, for
-- deliveries, a transition table: about a sixth of PostgreSQL's time on a project
-- update with one webhook. Those statements are the only inserts into these tables.
-- Deletes are still counted by the statement triggers `*_counted_out`, and a project's
-- soft delete by `projects_counted_soft`.
DROP TRIGGER events_counted_in ON events;
DROP TRIGGER deliveries_counted_in ON deliveries;
DROP FUNCTION row_counts_deliveries_in();
DROP TRIGGER projects_counted_in ON projects;
DROP FUNCTION row_counts_in_account();
