-- The deliveries waiting for a webhook's limits (waiting_for set: a
-- request refused, a throttling answer waited out), by webhook: what
-- GET /webhooks/{id}/stats and the console count, and what an edit of a
-- webhook's limits wakes (store.RateWaiters, PickConcurrencyWaiters).
-- Without it those read every open delivery of the webhook, or of every
-- webhook (a backlog of 200,000: about 50 ms for each look, under 1 ms
-- with it). Few rows qualify at any time: the column is cleared when a
-- request is granted or recorded, or the delivery cancelled. Built
-- without blocking writes to deliveries (CONCURRENTLY, so outside a
-- transaction); an index left invalid by an interrupted build is dropped
-- first. The queries repeat the predicate (waiting_for <> '') as a
-- constant, so that a generic plan can use the index too.
-- +goose NO TRANSACTION
-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS deliveries_waiting;
CREATE INDEX CONCURRENTLY deliveries_waiting ON deliveries (webhook_id, waiting_for) WHERE waiting_for <> '';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS deliveries_waiting;
