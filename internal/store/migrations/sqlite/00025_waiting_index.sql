-- The deliveries waiting for a webhook's limits, by webhook (see the
-- PostgreSQL migration of the same number). SQLite uses a partial index
-- only for a query that repeats its WHERE term, as the queries do.
-- +goose Up
CREATE INDEX deliveries_waiting ON deliveries (webhook_id, waiting_for) WHERE waiting_for <> '';

-- +goose Down
DROP INDEX IF EXISTS deliveries_waiting;
