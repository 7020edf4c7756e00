-- The event catalog: event types, each a tenant's or global (tenant_id '*',
-- defined by the admin, seen by every tenant), and a version per scope that
-- tells every replica when its cached catalog is stale.
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

-- +goose Down
DROP TRIGGER event_types_catalog_delete;
DROP TRIGGER event_types_catalog_update;
DROP TRIGGER event_types_catalog_insert;
DROP TABLE catalog_versions;
DROP TABLE event_types;
