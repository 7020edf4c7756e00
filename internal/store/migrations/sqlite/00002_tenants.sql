-- Tenants: every webhook, event and delivery belongs to exactly one tenant.
-- Rows from before tenancy belong to `default`. SQLite cannot change a
-- primary key or a foreign key in place, so events and deliveries are
-- rebuilt (https://sqlite.org/lang_altertable.html, "other kinds of table
-- schema changes"). Foreign keys must be off while tables are dropped (a
-- DROP would otherwise cascade), which SQLite allows only outside a
-- transaction: hence NO TRANSACTION and an explicit BEGIN/COMMIT. The store
-- runs migrations over a single connection, so the PRAGMA applies to them.
-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN;

ALTER TABLE webhooks ADD COLUMN tenant_id text NOT NULL DEFAULT 'default';
-- The parent key of deliveries (tenant_id, webhook_id).
CREATE UNIQUE INDEX webhooks_tenant_id_key ON webhooks (tenant_id, id);
DROP INDEX webhooks_live_name;
CREATE UNIQUE INDEX webhooks_live_name ON webhooks (tenant_id, name) WHERE NOT deleted;
CREATE INDEX webhooks_tenant_name ON webhooks (tenant_id, name, id);

-- An event id is the producer's idempotency key, so it is unique per tenant.
CREATE TABLE events_new (
    tenant_id          text NOT NULL DEFAULT 'default',
    id                 text NOT NULL,
    type               text NOT NULL,
    entity_type        text NOT NULL DEFAULT '',
    entity             text,
    change_description text,
    data               text,
    is_test            boolean NOT NULL DEFAULT 0,
    timestamp          datetime NOT NULL,
    created_at         datetime NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO events_new (tenant_id, id, type, entity_type, entity, change_description, data, is_test, timestamp, created_at)
    SELECT 'default', id, type, entity_type, entity, change_description, data, is_test, timestamp, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_created_at ON events (created_at);
CREATE INDEX events_tenant_created ON events (tenant_id, created_at, id);

-- The database itself refuses a delivery whose event and webhook belong to
-- different tenants.
CREATE TABLE deliveries_new (
    id               text PRIMARY KEY,
    tenant_id        text NOT NULL DEFAULT 'default',
    event_id         text NOT NULL,
    webhook_id       text NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL,
    trigger          text NOT NULL DEFAULT 'scheduled',
    attempt_count    integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_duration_ms bigint,
    last_error       text NOT NULL DEFAULT '',
    next_attempt_at  datetime,
    created_at       datetime NOT NULL,
    updated_at       datetime NOT NULL,
    FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id) ON DELETE CASCADE
);
INSERT INTO deliveries_new (id, tenant_id, event_id, webhook_id, event_type, status, trigger, attempt_count,
        last_status_code, last_duration_ms, last_error, next_attempt_at, created_at, updated_at)
    SELECT id, 'default', event_id, webhook_id, event_type, status, trigger, attempt_count,
        last_status_code, last_duration_ms, last_error, next_attempt_at, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_webhook_log ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_dlq ON deliveries (created_at, id) WHERE status = 'failed';
CREATE INDEX deliveries_pending ON deliveries (updated_at) WHERE status = 'pending';
CREATE INDEX deliveries_overdue ON deliveries (next_attempt_at) WHERE status = 'awaitingRetry';
CREATE INDEX deliveries_stuck ON deliveries (updated_at) WHERE status = 'delivering';
CREATE INDEX deliveries_event ON deliveries (tenant_id, event_id);
CREATE INDEX deliveries_tenant_dlq ON deliveries (tenant_id, created_at, id) WHERE status = 'failed';
CREATE INDEX deliveries_tenant_status ON deliveries (tenant_id, status);

COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
-- Going back fails (on the primary key or the name index) while tenants
-- share event ids or live webhook names.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE deliveries_old (
    id               text PRIMARY KEY,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    status           text NOT NULL,
    trigger          text NOT NULL DEFAULT 'scheduled',
    attempt_count    integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_duration_ms bigint,
    last_error       text NOT NULL DEFAULT '',
    next_attempt_at  datetime,
    created_at       datetime NOT NULL,
    updated_at       datetime NOT NULL
);
INSERT INTO deliveries_old SELECT id, event_id, webhook_id, event_type, status, trigger, attempt_count,
    last_status_code, last_duration_ms, last_error, next_attempt_at, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_old RENAME TO deliveries;
CREATE INDEX deliveries_webhook_log ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_dlq ON deliveries (created_at, id) WHERE status = 'failed';
CREATE INDEX deliveries_pending ON deliveries (updated_at) WHERE status = 'pending';
CREATE INDEX deliveries_overdue ON deliveries (next_attempt_at) WHERE status = 'awaitingRetry';
CREATE INDEX deliveries_stuck ON deliveries (updated_at) WHERE status = 'delivering';
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE TABLE events_old (
    id                 text PRIMARY KEY,
    type               text NOT NULL,
    entity_type        text NOT NULL DEFAULT '',
    entity             text,
    change_description text,
    data               text,
    is_test            boolean NOT NULL DEFAULT 0,
    timestamp          datetime NOT NULL,
    created_at         datetime NOT NULL
);
INSERT INTO events_old SELECT id, type, entity_type, entity, change_description, data, is_test, timestamp, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_created_at ON events (created_at);
DROP INDEX webhooks_tenant_name;
DROP INDEX webhooks_live_name;
DROP INDEX webhooks_tenant_id_key;
CREATE UNIQUE INDEX webhooks_live_name ON webhooks (name) WHERE NOT deleted;
ALTER TABLE webhooks DROP COLUMN tenant_id;
COMMIT;
PRAGMA foreign_keys = ON;
