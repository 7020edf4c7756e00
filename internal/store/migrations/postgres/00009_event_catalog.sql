-- The event catalog: event types, each a tenant's or global (tenant_id '*',
-- defined by the admin, seen by every tenant), and a version per scope that
-- tells every replica when its cached catalog is stale. And what each
-- webhook's filters did with the events they were shown.
-- +goose Up
CREATE TABLE event_types (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- json, not jsonb: a schema and its examples read back as written, keys
    -- in their order (generated receiver types follow it).
    schema      json,
    examples    json,
    deprecated  boolean NOT NULL DEFAULT false,
    validate    boolean NOT NULL DEFAULT false,
    version     bigint NOT NULL DEFAULT 1,
    updated_by  text NOT NULL DEFAULT '',
    deleted     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- A live name is unique in its scope. That a tenant's name is not also a
-- global one (no shadowing, either way) is checked by the store under a
-- lock on the name.
CREATE UNIQUE INDEX event_types_live_name ON event_types (tenant_id, name) WHERE NOT deleted;
-- Lists by name: one scope (a tenant's types, and the global ones, are two
-- scans merged), and every tenant's for the admin.
CREATE INDEX event_types_scope_list ON event_types (tenant_id, name, id) WHERE NOT deleted;
CREATE INDEX event_types_list ON event_types (name, id) WHERE NOT deleted;

CREATE TABLE catalog_versions (
    tenant_id text PRIMARY KEY,
    version   bigint NOT NULL
);
-- +goose StatementBegin
CREATE FUNCTION bump_catalog_version() RETURNS trigger AS $$
BEGIN
    INSERT INTO catalog_versions AS c (tenant_id, version)
        VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = c.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER event_types_catalog_version AFTER INSERT OR UPDATE OR DELETE ON event_types
    FOR EACH ROW EXECUTE FUNCTION bump_catalog_version();

-- What each filter of a webhook did with the events of its types, in
-- five-minute buckets: seen (its event type and entities took the event)
-- and matched (its terms and content filter did too). The matcher counts in
-- memory and every api process adds its counts here every few seconds.
-- filter_key names the filter by what it says, so counts follow the filter
-- and an edited filter starts again from zero.
CREATE TABLE filter_stats (
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    bucket     timestamptz NOT NULL,
    filter_key text NOT NULL,
    seen       bigint NOT NULL DEFAULT 0,
    matched    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (webhook_id, bucket, filter_key)
);
CREATE INDEX filter_stats_bucket ON filter_stats USING brin (bucket);

-- +goose Down
DROP TABLE filter_stats;
DROP TRIGGER event_types_catalog_version ON event_types;
DROP FUNCTION bump_catalog_version();
DROP TABLE catalog_versions;
DROP TABLE event_types;
