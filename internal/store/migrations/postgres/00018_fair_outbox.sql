-- The starter claims the outbox round-robin across tenants and webhooks
-- (see the store's outbox.go): it finds the webhooks with waiting
-- deliveries by a loose scan of this index, and each one's oldest.
-- +goose Up
CREATE INDEX deliveries_outbox ON deliveries (webhook_id, created_at, id) WHERE status = 'pending' AND dispatched_at IS NULL;
-- Served by deliveries_outbox now (same rows): one index less to write at ingest.
DROP INDEX deliveries_undispatched;

-- +goose Down
CREATE INDEX deliveries_undispatched ON deliveries (created_at, id) WHERE status = 'pending' AND dispatched_at IS NULL;
DROP INDEX deliveries_outbox;
