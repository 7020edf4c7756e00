-- Secrets and compatibility: rotation with a grace period, the body format,
-- a per-webhook retry schedule, and an events list.
-- +goose Up
-- During a rotation requests are signed with both secrets until this time.
-- Both secrets are encrypted (see the store's secrets.go), never plain.
ALTER TABLE webhooks ADD COLUMN previous_secret_key text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at timestamptz;
ALTER TABLE webhooks ADD COLUMN payload_format text NOT NULL DEFAULT 'webhookd';
-- Waits before each retry, in milliseconds; NULL is the default schedule.
ALTER TABLE webhooks ADD COLUMN retry_schedule jsonb;

-- GET /events, newest first: all tenants (the admin), one tenant, one type.
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
