-- The front door: ingest commits deliveries and a starter hands them to
-- Temporal afterwards (a transactional outbox); batched delivery; a version
-- per tenant that tells every replica's matcher when webhooks changed.
-- +goose Up

-- When the starter handed the delivery to Temporal; NULL while waiting.
-- Rows from before this migration were started at ingest: the constant
-- default marks them started without rewriting the table, then is dropped.
ALTER TABLE deliveries ADD COLUMN dispatched_at timestamptz DEFAULT '1970-01-01 00:00:00+00';
ALTER TABLE deliveries ALTER COLUMN dispatched_at DROP DEFAULT;
-- The starter's queue, oldest first.
CREATE INDEX deliveries_undispatched ON deliveries (created_at, id) WHERE status = 'pending' AND dispatched_at IS NULL;
-- Started but no attempt yet: the starter's admission window, and the
-- reconciler's scan for starts that were lost.
CREATE INDEX deliveries_starting ON deliveries (dispatched_at) WHERE status = 'pending' AND dispatched_at IS NOT NULL;
DROP INDEX deliveries_pending;

-- Batched delivery: a batch is one delivery of several events to one
-- webhook. batch_size counts its events (0: an ordinary one-event delivery);
-- an open batch takes events until batch_closes_at.
ALTER TABLE deliveries ADD COLUMN batch_size integer NOT NULL DEFAULT 0;
-- A batch also closes when its events' size passes a cap (one request body).
ALTER TABLE deliveries ADD COLUMN batch_bytes bigint NOT NULL DEFAULT 0;
-- How many times the starter has claimed the delivery: after the first, a
-- run may exist (a delivery held by a pause and resumed), and the next
-- start must be allowed to follow it.
ALTER TABLE deliveries ADD COLUMN starts integer NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN batch_closes_at timestamptz;
CREATE INDEX deliveries_open_batch ON deliveries (webhook_id) WHERE batch_closes_at IS NOT NULL AND dispatched_at IS NULL;
CREATE TABLE batch_events (
    delivery_id uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    tenant_id   text NOT NULL,
    event_id    text NOT NULL,
    PRIMARY KEY (delivery_id, position),
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX batch_events_event ON batch_events (tenant_id, event_id);

ALTER TABLE webhooks ADD COLUMN batch_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN batch_max_wait_ms integer NOT NULL DEFAULT 1000;

-- The matcher caches each tenant's active webhooks; this version moves
-- whenever anything that decides matching changes, whoever changed it (the
-- API, a 410 recorded by a worker, a migration), so other replicas notice.
CREATE TABLE matcher_versions (
    tenant_id text PRIMARY KEY,
    version   bigint NOT NULL
);
INSERT INTO matcher_versions (tenant_id, version) SELECT DISTINCT tenant_id, 1 FROM webhooks;
-- +goose StatementBegin
CREATE FUNCTION bump_matcher_version() RETURNS trigger AS $$
BEGIN
    INSERT INTO matcher_versions AS m (tenant_id, version)
        VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = m.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER webhooks_matcher_insert_delete AFTER INSERT OR DELETE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION bump_matcher_version();
-- Health updates (status, failure details) do not move the version.
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.deleted IS DISTINCT FROM NEW.deleted
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.batch_enabled IS DISTINCT FROM NEW.batch_enabled
        OR OLD.batch_size IS DISTINCT FROM NEW.batch_size OR OLD.batch_max_wait_ms IS DISTINCT FROM NEW.batch_max_wait_ms)
    EXECUTE FUNCTION bump_matcher_version();

-- +goose Down
DROP TRIGGER webhooks_matcher_update ON webhooks;
DROP TRIGGER webhooks_matcher_insert_delete ON webhooks;
DROP FUNCTION bump_matcher_version();
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
