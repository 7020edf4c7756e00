-- A release-2 api or worker may still run beside this schema during an
-- upgrade (README: Upgrading). It must not lose data nor send what it
-- should not. (The PostgreSQL migration says why each part is here.)
-- +goose Up
UPDATE webhooks SET endpoint = 'https://sealed.invalid/' || substr(endpoint, instr(endpoint, '://') + 3)
  WHERE endpoint_sealed <> '' AND endpoint NOT LIKE 'https://sealed.invalid/%';

-- +goose StatementBegin
CREATE TRIGGER webhooks_refuse_old_writes BEFORE UPDATE ON webhooks
    WHEN (NEW.endpoint_sealed <> '' AND NEW.endpoint_sealed = OLD.endpoint_sealed AND NEW.endpoint <> OLD.endpoint)
      OR NEW.previous_secret_key <> ''
      OR (EXISTS (SELECT 1 FROM json_each(OLD.event_filters) WHERE json_extract(value, '$.filter') <> '')
          AND json_array_length(NEW.event_filters) > 0
          AND NOT EXISTS (SELECT 1 FROM json_each(NEW.event_filters) WHERE json_type(value, '$.filter') IS NOT NULL))
BEGIN
    SELECT RAISE(ABORT, 'this write comes from a webhookd older than the database schema and would lose a sealed endpoint, rotated secrets or content filters; upgrade every api, worker and dev process (README: Upgrading)');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER webhooks_refuse_old_writes;
