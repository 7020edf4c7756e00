-- The deliveries waiting for a webhook's limits, by webhook (see the
-- PostgreSQL migration of the same number).
-- +goose Up
CREATE INDEX deliveries_waiting ON deliveries (webhook_id, waiting_for) WHERE waiting_for <> '';

-- +goose Down
DROP INDEX deliveries_waiting;
