-- Operating it: pause that keeps events, operational events, per-webhook
-- health statistics.
-- +goose Up

-- A paused webhook keeps its events as `held` deliveries, sending nothing.
ALTER TABLE webhooks ADD COLUMN paused boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN paused_at timestamptz;
CREATE INDEX deliveries_held ON deliveries (webhook_id, created_at, id) WHERE status = 'held';
-- Pausing changes what ingest creates: it moves the matcher version too.
DROP TRIGGER webhooks_matcher_update ON webhooks;
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.deleted IS DISTINCT FROM NEW.deleted
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.batch_enabled IS DISTINCT FROM NEW.batch_enabled
        OR OLD.batch_size IS DISTINCT FROM NEW.batch_size OR OLD.batch_max_wait_ms IS DISTINCT FROM NEW.batch_max_wait_ms
        OR OLD.paused IS DISTINCT FROM NEW.paused)
    EXECUTE FUNCTION bump_matcher_version();

-- Operational events (webhookd.webhook.failing, ...) are written in the same
-- transaction as the health change they report, waiting for the starter to
-- fan them out; source_webhook_id is the webhook they are about, which never
-- receives them.
ALTER TABLE events ADD COLUMN fanout_pending boolean NOT NULL DEFAULT false;
ALTER TABLE events ADD COLUMN source_webhook_id uuid;
CREATE INDEX events_fanout_pending ON events (created_at) WHERE fanout_pending;

-- Attempts per webhook in five-minute buckets, with a histogram of response
-- times: GET /webhooks/{id}/stats reads a few hundred rows at most, however
-- many deliveries the webhook has.
CREATE TABLE webhook_stats (
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    bucket          timestamptz NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    successes       bigint NOT NULL DEFAULT 0,
    duration_ms_sum bigint NOT NULL DEFAULT 0,
    -- Response times: h0 <= 10 ms, h1 <= 25, h2 <= 50, h3 <= 100, h4 <= 250,
    -- h5 <= 500, h6 <= 1000, h7 <= 2500, h8 <= 5000, h9 <= 10000,
    -- h10 <= 30000, h11 longer.
    h0 bigint NOT NULL DEFAULT 0, h1 bigint NOT NULL DEFAULT 0, h2 bigint NOT NULL DEFAULT 0,
    h3 bigint NOT NULL DEFAULT 0, h4 bigint NOT NULL DEFAULT 0, h5 bigint NOT NULL DEFAULT 0,
    h6 bigint NOT NULL DEFAULT 0, h7 bigint NOT NULL DEFAULT 0, h8 bigint NOT NULL DEFAULT 0,
    h9 bigint NOT NULL DEFAULT 0, h10 bigint NOT NULL DEFAULT 0, h11 bigint NOT NULL DEFAULT 0,
    last_success_at timestamptz,
    last_failure_at timestamptz,
    PRIMARY KEY (webhook_id, bucket)
);
-- Retention deletes old buckets by time. BRIN: tiny, and buckets arrive in
-- time order; a B-tree here would tempt the planner away from the primary
-- key for the stats query, reading every webhook's buckets in the window.
CREATE INDEX webhook_stats_bucket ON webhook_stats USING brin (bucket);

-- +goose Down
DROP TABLE webhook_stats;
DROP INDEX events_fanout_pending;
ALTER TABLE events DROP COLUMN source_webhook_id;
ALTER TABLE events DROP COLUMN fanout_pending;
DROP TRIGGER webhooks_matcher_update ON webhooks;
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.deleted IS DISTINCT FROM NEW.deleted
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.batch_enabled IS DISTINCT FROM NEW.batch_enabled
        OR OLD.batch_size IS DISTINCT FROM NEW.batch_size OR OLD.batch_max_wait_ms IS DISTINCT FROM NEW.batch_max_wait_ms)
    EXECUTE FUNCTION bump_matcher_version();
DROP INDEX deliveries_held;
ALTER TABLE webhooks DROP COLUMN paused_at;
ALTER TABLE webhooks DROP COLUMN paused;
