-- Secrets and compatibility: rotation with a grace period, the body format,
-- a per-webhook retry schedule, and an events list.
-- +goose Up
ALTER TABLE webhooks ADD COLUMN previous_secret_key text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at datetime;
ALTER TABLE webhooks ADD COLUMN payload_format text NOT NULL DEFAULT 'webhookd';
ALTER TABLE webhooks ADD COLUMN retry_schedule text;
DROP INDEX events_created_at;
CREATE INDEX events_created_at ON events (created_at, tenant_id, id);
CREATE INDEX events_tenant_type ON events (tenant_id, type, created_at, id);

-- +goose Down
DROP INDEX events_tenant_type;
DROP INDEX events_created_at;
CREATE INDEX events_created_at ON events (created_at);
ALTER TABLE webhooks DROP COLUMN retry_schedule;
ALTER TABLE webhooks DROP COLUMN payload_format;
ALTER TABLE webhooks DROP COLUMN previous_secret_expires_at;
ALTER TABLE webhooks DROP COLUMN previous_secret_key;
