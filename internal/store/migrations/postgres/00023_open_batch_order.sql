-- An event for a batching webhook joins the oldest open batch with room:
-- the index holds the order too, so that finding it reads the webhook's
-- few open batches, never its whole delivery log (SQLite, which plans
-- without statistics, walked deliveries_webhook_log for the order). The new
-- index is built before the old one is dropped: a DROP first would hold
-- deliveries' exclusive lock through the build, stalling the processes of
-- the release still running while `migrate` runs.
-- +goose Up
CREATE INDEX deliveries_open_batch_order ON deliveries (webhook_id, created_at) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;
DROP INDEX deliveries_open_batch;
ALTER INDEX deliveries_open_batch_order RENAME TO deliveries_open_batch;

-- +goose Down
CREATE INDEX deliveries_open_batch_webhook ON deliveries (webhook_id) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;
DROP INDEX deliveries_open_batch;
ALTER INDEX deliveries_open_batch_webhook RENAME TO deliveries_open_batch;
