-- A release-2 api or worker may still run beside this schema during an
-- upgrade (README: Upgrading). It must not lose data nor send what it
-- should not.
-- +goose Up
-- A sealed endpoint's column holds its masked URL under the host
-- sealed.invalid (a name that never resolves): a release-2 worker, which
-- reads the column as the URL, fails the attempt and retries it, instead
-- of posting without the credentials to the receiver; a worker of this
-- release opens endpoint_sealed and sends to the real URL.
UPDATE webhooks SET endpoint = 'https://sealed.invalid/' || substr(endpoint, position('://' in endpoint) + 3)
  WHERE endpoint_sealed <> '' AND endpoint NOT LIKE 'https://sealed.invalid/%';

-- Writes a release-2 binary would make that lose data are refused, with
-- a message its log shows:
--   * a new endpoint without endpoint_sealed (which would go on holding,
--     and sending to, the old one);
--   * a rotation into previous_secret_key (this release keeps every
--     previous secret in previous_secrets, and would drop that one);
--   * event filters that lost their content filters (release 2 does not
--     know the filter field, and writes the filters back without it; this
--     release always writes the field, "" when there is none).
-- +goose StatementBegin
CREATE FUNCTION refuse_old_webhook_writes() RETURNS trigger AS $$
BEGIN
    IF (NEW.endpoint_sealed <> '' AND NEW.endpoint_sealed = OLD.endpoint_sealed AND NEW.endpoint <> OLD.endpoint)
       OR NEW.previous_secret_key <> ''
       OR (jsonb_path_exists(OLD.event_filters, '$[*] ? (@.filter != "")')
           AND jsonb_array_length(NEW.event_filters) > 0
           AND NOT jsonb_path_exists(NEW.event_filters, '$[*].filter')) THEN
        RAISE EXCEPTION 'webhook %: this write comes from a webhookd older than the database schema and would lose its sealed endpoint, rotated secrets or content filters; upgrade every api, worker and dev process (README: Upgrading)', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER webhooks_refuse_old_writes BEFORE UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION refuse_old_webhook_writes();

-- +goose Down
DROP TRIGGER webhooks_refuse_old_writes ON webhooks;
DROP FUNCTION refuse_old_webhook_writes();
-- Sealed endpoints keep the sealed.invalid form: the releases before
-- this one read endpoint_sealed, never that column, to send.
