-- Tenants: every webhook, event and delivery belongs to exactly one tenant.
-- Rows from before tenancy belong to `default`.
-- +goose Up
ALTER TABLE webhooks ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE events ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
ALTER TABLE deliveries ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';

-- An event id is the producer's idempotency key, so it is unique per tenant:
-- two tenants may both post "evt_1", and neither learns of the other's.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (tenant_id, id);
-- The database itself refuses a delivery whose event and webhook belong to
-- different tenants.
ALTER TABLE webhooks ADD CONSTRAINT webhooks_tenant_id_key UNIQUE (tenant_id, id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_event_fkey
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_webhook_fkey
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE;

-- Live names are unique per tenant.
DROP INDEX webhooks_live_name;
CREATE UNIQUE INDEX webhooks_live_name ON webhooks (tenant_id, name) WHERE NOT deleted;
-- A tenant's webhooks by name (lists and /webhooks/name/{name}).
CREATE INDEX webhooks_tenant_name ON webhooks (tenant_id, name, id);

-- An event's deliveries, within its tenant.
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries (tenant_id, event_id);
-- A tenant's dead-letter queue.
CREATE INDEX deliveries_tenant_dlq ON deliveries (tenant_id, created_at, id) WHERE status = 'failed';
-- Per-tenant counts by status (GET /tenants), answered from the index alone.
CREATE INDEX deliveries_tenant_status ON deliveries (tenant_id, status);
-- A tenant's events, newest first.
CREATE INDEX events_tenant_created ON events (tenant_id, created_at, id);

-- +goose Down
-- Going back is possible only while no two tenants share an event id or a
-- live webhook name (the first release's keys): refuse clearly otherwise.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM events GROUP BY id HAVING count(*) > 1)
       OR EXISTS (SELECT 1 FROM webhooks WHERE NOT deleted GROUP BY name HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'cannot undo tenants: tenants share event ids or live webhook names';
    END IF;
END
$$;
-- +goose StatementEnd
DROP INDEX events_tenant_created;
DROP INDEX deliveries_tenant_status;
DROP INDEX deliveries_tenant_dlq;
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries (event_id);
DROP INDEX webhooks_tenant_name;
DROP INDEX webhooks_live_name;
CREATE UNIQUE INDEX webhooks_live_name ON webhooks (name) WHERE NOT deleted;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_fkey;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_fkey;
ALTER TABLE webhooks DROP CONSTRAINT webhooks_tenant_id_key;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_event_id_fkey
    FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_webhook_id_fkey
    FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE;
ALTER TABLE deliveries DROP COLUMN tenant_id;
ALTER TABLE events DROP COLUMN tenant_id;
ALTER TABLE webhooks DROP COLUMN tenant_id;
