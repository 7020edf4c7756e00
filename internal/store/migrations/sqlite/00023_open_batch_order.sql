-- An event for a batching webhook joins the oldest open batch with room:
-- the index holds the order too, so that finding it reads the webhook's
-- few open batches, never its whole delivery log (SQLite, which plans
-- without statistics, walked deliveries_webhook_log for the order).
-- +goose Up
DROP INDEX deliveries_open_batch;
CREATE INDEX deliveries_open_batch ON deliveries (webhook_id, created_at) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;

-- +goose Down
DROP INDEX deliveries_open_batch;
CREATE INDEX deliveries_open_batch ON deliveries (webhook_id) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;
