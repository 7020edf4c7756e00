-- Operating it: pause that keeps events, operational events, per-webhook
-- health statistics.
-- +goose Up
ALTER TABLE webhooks ADD COLUMN paused boolean NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN paused_at datetime;
CREATE INDEX deliveries_held ON deliveries (webhook_id, created_at, id) WHERE status = 'held';
DROP TRIGGER webhooks_matcher_update;
-- +goose StatementBegin
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks FOR EACH ROW
    WHEN OLD.enabled IS NOT NEW.enabled OR OLD.deleted IS NOT NEW.deleted OR OLD.event_filters IS NOT NEW.event_filters
        OR OLD.batch_enabled IS NOT NEW.batch_enabled OR OLD.batch_size IS NOT NEW.batch_size
        OR OLD.batch_max_wait_ms IS NOT NEW.batch_max_wait_ms OR OLD.paused IS NOT NEW.paused
BEGIN
    INSERT INTO matcher_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

ALTER TABLE events ADD COLUMN fanout_pending boolean NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN source_webhook_id text;
CREATE INDEX events_fanout_pending ON events (created_at) WHERE fanout_pending;

CREATE TABLE webhook_stats (
    webhook_id      text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    bucket          datetime NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    successes       integer NOT NULL DEFAULT 0,
    duration_ms_sum integer NOT NULL DEFAULT 0,
    h0 integer NOT NULL DEFAULT 0, h1 integer NOT NULL DEFAULT 0, h2 integer NOT NULL DEFAULT 0,
    h3 integer NOT NULL DEFAULT 0, h4 integer NOT NULL DEFAULT 0, h5 integer NOT NULL DEFAULT 0,
    h6 integer NOT NULL DEFAULT 0, h7 integer NOT NULL DEFAULT 0, h8 integer NOT NULL DEFAULT 0,
    h9 integer NOT NULL DEFAULT 0, h10 integer NOT NULL DEFAULT 0, h11 integer NOT NULL DEFAULT 0,
    last_success_at datetime,
    last_failure_at datetime,
    PRIMARY KEY (webhook_id, bucket)
);
CREATE INDEX webhook_stats_bucket ON webhook_stats (bucket);

-- +goose Down
DROP TABLE webhook_stats;
DROP INDEX events_fanout_pending;
ALTER TABLE events DROP COLUMN source_webhook_id;
ALTER TABLE events DROP COLUMN fanout_pending;
DROP TRIGGER webhooks_matcher_update;
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
DROP INDEX deliveries_held;
ALTER TABLE webhooks DROP COLUMN paused_at;
ALTER TABLE webhooks DROP COLUMN paused;
