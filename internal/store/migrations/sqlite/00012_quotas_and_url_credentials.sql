-- Credentials in endpoint URLs are encrypted at rest; per-tenant event
-- quotas hold across every api replica.
-- +goose Up
-- An endpoint whose URL carries credentials (query values, user info) is
-- kept here encrypted and bound to its webhook (see the store's
-- secrets.go); endpoint then holds it masked. `webhookd migrate` seals the
-- endpoints of earlier releases (it needs the keyring, SQL cannot).
ALTER TABLE webhooks ADD COLUMN endpoint_sealed text NOT NULL DEFAULT '';

-- Events per second per tenant (GCRA): tat is the theoretical arrival time
-- of the tenant's next event, in microseconds since the epoch. One row per
-- tenant that ever posted under a quota; nothing to clean up.
CREATE TABLE tenant_event_rates (
    tenant_id text PRIMARY KEY,
    tat integer NOT NULL
);

-- +goose Down
DROP TABLE tenant_event_rates;
-- Endpoints sealed by this release keep only their masked form: set their
-- credentials again after going back.
ALTER TABLE webhooks DROP COLUMN endpoint_sealed;
