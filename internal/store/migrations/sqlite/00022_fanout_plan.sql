-- A large fan-out is planned at ingest and expanded by the outbox starter
-- (docs/architecture.md, "A large fan-out is planned"): the event row holds its
-- one-event deliveries, decided and named when it was accepted, as JSON;
-- the starter inserts them as planned and clears the column in one
-- transaction. NULL: no plan. The column alone marks a plan, not
-- fanout_pending, so that an earlier release's starter never sees one
-- (the PostgreSQL migration says why).
-- +goose Up
ALTER TABLE events ADD COLUMN fanout_plan text;
-- Both kinds of waiting event are read a page at a time in (created_at,
-- tenant_id, id) order: with created_at alone, SQLite preferred the
-- whole-table events_created_at.
CREATE INDEX events_fanout_plan ON events (created_at, tenant_id, id) WHERE fanout_plan IS NOT NULL;
DROP INDEX events_fanout_pending;
CREATE INDEX events_fanout_pending ON events (created_at, tenant_id, id) WHERE fanout_pending;

-- +goose Down
-- Refused while any plan waits: the earlier release does not know plans,
-- and dropping one would lose the deliveries its event was answered with.
-- RAISE works only in a trigger, hence the temporary table.
CREATE TEMP TABLE fanout_plan_guard (waiting integer);
-- +goose StatementBegin
CREATE TEMP TRIGGER fanout_plan_guard_refuse BEFORE INSERT ON fanout_plan_guard WHEN NEW.waiting > 0
BEGIN
    SELECT RAISE(ABORT, 'events hold fan-out plans not yet expanded: run an api of this release (its starter expands them) until none is left, then migrate down');
END;
-- +goose StatementEnd
INSERT INTO fanout_plan_guard SELECT count(*) FROM events WHERE fanout_plan IS NOT NULL;
DROP TABLE fanout_plan_guard;
DROP INDEX events_fanout_plan;
DROP INDEX events_fanout_pending;
CREATE INDEX events_fanout_pending ON events (created_at) WHERE fanout_pending;
ALTER TABLE events DROP COLUMN fanout_plan;
