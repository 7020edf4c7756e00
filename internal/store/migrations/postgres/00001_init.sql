-- +goose Up
CREATE TABLE webhooks (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL,
    display_name            text NOT NULL DEFAULT '',
    description             text NOT NULL DEFAULT '',
    webhook_type            text NOT NULL,
    enabled                 boolean NOT NULL DEFAULT true,
    status                  text NOT NULL DEFAULT 'active',
    batch_size              integer NOT NULL DEFAULT 10,
    event_filters           jsonb NOT NULL,
    endpoint                text NOT NULL,
    secret_key              text NOT NULL DEFAULT '',
    headers                 jsonb,
    timeout_seconds         integer NOT NULL DEFAULT 10,
    send_to_admins          boolean NOT NULL DEFAULT false,
    send_to_owners          boolean NOT NULL DEFAULT false,
    send_to_followers       boolean NOT NULL DEFAULT false,
    payload_template        text NOT NULL DEFAULT '',
    last_failed_at          timestamptz,
    last_failed_status_code integer,
    last_failed_reason      text NOT NULL DEFAULT '',
    next_attempt            timestamptz,
    owner                   jsonb,
    tags                    jsonb,
    domain                  jsonb,
    version                 double precision NOT NULL DEFAULT 0.1,
    updated_by              text NOT NULL DEFAULT '',
    deleted                 boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);
-- Names are unique among live webhooks; a soft-deleted name can be reused.
CREATE UNIQUE INDEX webhooks_live_name ON webhooks (name) WHERE NOT deleted;
-- Listing with ?include=all pages by name over every row.
CREATE INDEX webhooks_name ON webhooks (name, id);

CREATE TABLE events (
    id                 text PRIMARY KEY,
    type               text NOT NULL,
    entity_type        text NOT NULL DEFAULT '',
    entity             jsonb,
    change_description jsonb,
    data               jsonb,
    is_test            boolean NOT NULL DEFAULT false,
    timestamp          timestamptz NOT NULL,
    created_at         timestamptz NOT NULL
);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type       text NOT NULL,
    status           text NOT NULL,
    trigger          text NOT NULL DEFAULT 'scheduled',
    attempt_count    integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_duration_ms bigint,
    last_error       text NOT NULL DEFAULT '',
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- A webhook's delivery log, newest first, keyset-paged on (created_at, id).
CREATE INDEX deliveries_webhook_log ON deliveries (webhook_id, created_at, id);
-- The dead-letter queue.
CREATE INDEX deliveries_dlq ON deliveries (created_at, id) WHERE status = 'failed';
-- The reconciler's scans: deliveries whose workflow may never have started,
-- and deliveries whose workflow should have moved on long ago.
CREATE INDEX deliveries_pending ON deliveries (updated_at) WHERE status = 'pending';
CREATE INDEX deliveries_overdue ON deliveries (next_attempt_at) WHERE status = 'awaitingRetry';
CREATE INDEX deliveries_stuck ON deliveries (updated_at) WHERE status = 'delivering';
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               bigserial PRIMARY KEY,
    delivery_id      uuid NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    run_id           text NOT NULL DEFAULT '',
    number           integer NOT NULL,
    trigger          text NOT NULL,
    request_url      text NOT NULL,
    request_headers  jsonb,
    response_status  integer,
    response_headers jsonb,
    response_body    text NOT NULL DEFAULT '',
    duration_ms      bigint NOT NULL DEFAULT 0,
    error            text NOT NULL DEFAULT '',
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL
);
-- Recording an attempt twice (an activity retried after a crash) is a no-op.
CREATE UNIQUE INDEX attempts_delivery_number ON attempts (delivery_id, number);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
