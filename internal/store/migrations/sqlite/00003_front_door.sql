-- The front door: ingest commits deliveries and a starter hands them to
-- Temporal afterwards (a transactional outbox); batched delivery; a version
-- per tenant that tells the matcher when webhooks changed.
-- +goose Up

-- When the starter handed the delivery to Temporal; NULL while waiting.
-- Rows from before this migration were started at ingest.
ALTER TABLE deliveries ADD COLUMN dispatched_at datetime;
UPDATE deliveries SET dispatched_at = created_at;
CREATE INDEX deliveries_undispatched ON deliveries (created_at, id) WHERE status = 'pending' AND dispatched_at IS NULL;
CREATE INDEX deliveries_starting ON deliveries (dispatched_at) WHERE status = 'pending' AND dispatched_at IS NOT NULL;
DROP INDEX deliveries_pending;

ALTER TABLE deliveries ADD COLUMN batch_size integer NOT NULL DEFAULT 0;
-- A batch also closes when its events' size passes a cap (one request body).
ALTER TABLE deliveries ADD COLUMN batch_bytes integer NOT NULL DEFAULT 0;
-- How many times the starter has claimed the delivery: after the first, a
-- run may exist (a delivery held by a pause and resumed), and the next
-- start must be allowed to follow it.
ALTER TABLE deliveries ADD COLUMN starts integer NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN batch_closes_at datetime;
CREATE INDEX deliveries_open_batch ON deliveries (webhook_id) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;
CREATE TABLE batch_events (
    delivery_id text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    tenant_id   text NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (delivery_id, position),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX batch_events_event ON batch_events (tenant_id, event_id);

ALTER TABLE webhooks ADD COLUMN batch_enabled boolean NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN batch_max_wait_ms integer NOT NULL DEFAULT 1000;

CREATE TABLE matcher_versions (
    tenant_id text PRIMARY KEY,
    version   integer NOT NULL
);
INSERT INTO matcher_versions (tenant_id, version) SELECT DISTINCT tenant_id, 1 FROM webhooks;
-- +goose StatementBegin
CREATE TRIGGER webhooks_matcher_insert AFTER INSERT ON webhooks FOR EACH ROW BEGIN
    INSERT INTO matcher_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER webhooks_matcher_delete AFTER DELETE ON webhooks FOR EACH ROW BEGIN
    INSERT INTO matcher_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks FOR EACH ROW
    WHEN OLD.enabled IS NOT NEW.enabled OR OLD.deleted IS NOT NEW.deleted OR OLD.event_filters IS NOT NEW.event_filters
        OR OLD.batch_enabled IS NOT NEW.batch_enabled OR OLD.batch_size IS NOT NEW.batch_size
        OR OLD.batch_max_wait_ms IS NOT NEW.batch_max_wait_ms
BEGIN
    INSERT INTO matcher_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER webhooks_matcher_update;
DROP TRIGGER webhooks_matcher_delete;
DROP TRIGGER webhooks_matcher_insert;
DROP TABLE matcher_versions;
ALTER TABLE webhooks DROP COLUMN batch_max_wait_ms;
ALTER TABLE webhooks DROP COLUMN batch_enabled;
DROP TABLE batch_events;
DROP INDEX deliveries_open_batch;
ALTER TABLE deliveries DROP COLUMN batch_closes_at;
ALTER TABLE deliveries DROP COLUMN starts;
ALTER TABLE deliveries DROP COLUMN batch_bytes;
ALTER TABLE deliveries DROP COLUMN batch_size;
CREATE INDEX deliveries_pending ON deliveries (updated_at) WHERE status = 'pending';
DROP INDEX deliveries_starting;
DROP INDEX deliveries_undispatched;
ALTER TABLE deliveries DROP COLUMN dispatched_at;
