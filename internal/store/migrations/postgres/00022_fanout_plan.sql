-- A large fan-out is planned at ingest and expanded by the outbox starter
-- (docs/architecture.md, "A large fan-out is planned"): the event row holds its
-- one-event deliveries, decided and named when it was accepted, as JSON,
-- with fanout_pending set; the starter inserts them as planned and clears
-- both in one transaction. NULL: no plan (every other event, and
-- operational events, which the starter matches when it fans them out).
-- +goose Up
ALTER TABLE events ADD COLUMN fanout_plan text;
-- A plan lives only while its fan-out is pending. A starter of an earlier
-- release running beside this schema (README: Upgrading) does not know
-- plans: it would match the event again and store deliveries under other
-- ids than the answer gave, then clear fanout_pending only. That write is
-- refused, and a starter of this release expands the plan.
ALTER TABLE events ADD CONSTRAINT events_plan_pending CHECK (fanout_pending OR fanout_plan IS NULL);

-- +goose Down
-- Plans not yet expanded are expanded by the earlier release as operational
-- events are: matched again, under new delivery ids.
ALTER TABLE events DROP CONSTRAINT events_plan_pending;
ALTER TABLE events DROP COLUMN fanout_plan;
