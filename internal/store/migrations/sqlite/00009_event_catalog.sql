-- The event catalog: event types, each a tenant's or global (tenant_id '*',
-- defined by the admin, seen by every tenant), and a version per scope that
-- tells every replica when its cached catalog is stale. And what each
-- webhook's filters did with the events they were shown.
-- +goose Up
CREATE TABLE event_types (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    schema      text,
    examples    text,
    deprecated  boolean NOT NULL DEFAULT 0,
    validate    boolean NOT NULL DEFAULT 0,
    version     integer NOT NULL DEFAULT 1,
    updated_by  text NOT NULL DEFAULT '',
    deleted     boolean NOT NULL DEFAULT 0,
    created_at  datetime NOT NULL,
    updated_at  datetime NOT NULL
);
CREATE UNIQUE INDEX event_types_live_name ON event_types (tenant_id, name) WHERE NOT deleted;
CREATE INDEX event_types_scope_list ON event_types (tenant_id, name, id) WHERE NOT deleted;
CREATE INDEX event_types_list ON event_types (name, id) WHERE NOT deleted;

CREATE TABLE catalog_versions (
    tenant_id text PRIMARY KEY,
    version   integer NOT NULL
);
-- +goose StatementBegin
CREATE TRIGGER event_types_catalog_insert AFTER INSERT ON event_types FOR EACH ROW BEGIN
    INSERT INTO catalog_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_types_catalog_update AFTER UPDATE ON event_types FOR EACH ROW BEGIN
    INSERT INTO catalog_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER event_types_catalog_delete AFTER DELETE ON event_types FOR EACH ROW BEGIN
    INSERT INTO catalog_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- What each filter of a webhook did with the events of its types, in
-- five-minute buckets: seen (its event type and entities took the event)
-- and matched (its terms and content filter did too). The matcher counts in
-- memory and every api process adds its counts here every few seconds.
-- filter_key names the filter by what it says, so counts follow the filter
-- and an edited filter starts again from zero.
CREATE TABLE filter_stats (
    webhook_id text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    bucket     datetime NOT NULL,
    filter_key text NOT NULL,
    seen       integer NOT NULL DEFAULT 0,
    matched    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, bucket, filter_key)
);
CREATE INDEX filter_stats_bucket ON filter_stats (bucket);

-- +goose Down
DROP TABLE filter_stats;
DROP TRIGGER event_types_catalog_delete;
DROP TRIGGER event_types_catalog_update;
DROP TRIGGER event_types_catalog_insert;
DROP TABLE catalog_versions;
DROP TABLE event_types;
