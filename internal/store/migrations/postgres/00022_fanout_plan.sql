-- A large fan-out is planned at ingest and expanded by the outbox starter
-- (docs/architecture.md, "A large fan-out is planned"): the event row holds its
-- one-event deliveries, decided and named when it was accepted, as JSON;
-- the starter inserts them as planned and clears the column in one
-- transaction. NULL: no plan (every other event, and operational events,
-- which fanout_pending marks and the starter matches when it fans them out).
-- The column alone marks a plan, not fanout_pending: a starter of an
-- earlier release running beside this schema (docs/operations.md,
-- Upgrading) looks for fanout_pending only, so it never sees a plan (it
-- would match the event again under other ids than the answer gave); a
-- starter of this release expands it.
-- +goose Up
ALTER TABLE events ADD COLUMN fanout_plan text;
-- The starter's looks for events waiting for their fan-out, a page at a
-- time in (created_at, tenant_id, id) order: plans, and operational events
-- (whose index had created_at only, so a page's order took a sort and, on
-- SQLite, the whole-table events_created_at won).
CREATE INDEX events_fanout_plan ON events (created_at, tenant_id, id) WHERE fanout_plan IS NOT NULL;
DROP INDEX events_fanout_pending;
CREATE INDEX events_fanout_pending ON events (created_at, tenant_id, id) WHERE fanout_pending;

-- +goose Down
-- The earlier release does not know plans: dropping one would lose the
-- deliveries its event was answered with. Refused while any waits.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM events WHERE fanout_plan IS NOT NULL) THEN
        RAISE EXCEPTION 'events hold fan-out plans not yet expanded: run an api of this release (its starter expands them) until none is left, then migrate down';
    END IF;
END
$$;
-- +goose StatementEnd
DROP INDEX events_fanout_plan;
DROP INDEX events_fanout_pending;
CREATE INDEX events_fanout_pending ON events (created_at) WHERE fanout_pending;
ALTER TABLE events DROP COLUMN fanout_plan;
