-- Ordered delivery per key, and the circuit breaker that keeps events
-- (README "Ordered delivery" and "Circuit breaker").
-- +goose Up

-- webhookConfig.ordering: the key's path into the envelope ('' = unordered,
-- 'webhook' = one sequence) and what an exhausted delivery does to its key.
ALTER TABLE webhooks ADD COLUMN ordering_key text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN ordering_on_exhausted text NOT NULL DEFAULT '';
-- A delivery's sequence is fixed when it is stored: its key (NULL for an
-- unordered webhook), the event's timestamp, and whether it was skipped.
ALTER TABLE deliveries ADD COLUMN sequence_key text;
ALTER TABLE deliveries ADD COLUMN sequence_at timestamptz;
ALTER TABLE deliveries ADD COLUMN sequence_skipped boolean NOT NULL DEFAULT false;
-- The unsettled deliveries of every sequence, in sequence order: the
-- starter claims only a sequence's head.
CREATE INDEX deliveries_sequence ON deliveries (webhook_id, sequence_key, sequence_at, created_at, id)
    WHERE sequence_key IS NOT NULL AND status NOT IN ('succeeded', 'cancelled') AND NOT sequence_skipped;

-- The breaker's settings: breaker_failures consecutive failed attempts
-- spanning at least breaker_span_ms pause the webhook (0 = the defaults);
-- breaker_off turns it off for this webhook.
ALTER TABLE webhooks ADD COLUMN breaker_off boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN breaker_failures integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN breaker_span_ms bigint NOT NULL DEFAULT 0;
-- Its state: the current run of failed attempts and when it began; why it
-- opened; the delivery it probes with, when the next probe is due and the
-- wait after that one.
ALTER TABLE webhooks ADD COLUMN failure_streak integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failure_streak_since timestamptz;
ALTER TABLE webhooks ADD COLUMN auto_paused_reason text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN probe_delivery_id uuid;
ALTER TABLE webhooks ADD COLUMN next_probe_at timestamptz;
ALTER TABLE webhooks ADD COLUMN probe_wait_ms bigint NOT NULL DEFAULT 0;
-- Hysteresis of the failing/recovered operational events: when `failing`
-- was last raised, and whether a `recovered` is owed for it.
ALTER TABLE webhooks ADD COLUMN failing_raised_at timestamptz;
ALTER TABLE webhooks ADD COLUMN failing_open boolean NOT NULL DEFAULT false;
CREATE INDEX webhooks_probe_due ON webhooks (next_probe_at) WHERE auto_paused_reason <> '';

-- Ordering changes what ingest creates: it moves the matcher version too.
DROP TRIGGER webhooks_matcher_update ON webhooks;
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.deleted IS DISTINCT FROM NEW.deleted
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.batch_enabled IS DISTINCT FROM NEW.batch_enabled
        OR OLD.batch_size IS DISTINCT FROM NEW.batch_size OR OLD.batch_max_wait_ms IS DISTINCT FROM NEW.batch_max_wait_ms
        OR OLD.paused IS DISTINCT FROM NEW.paused OR OLD.ordering_key IS DISTINCT FROM NEW.ordering_key
        OR OLD.ordering_on_exhausted IS DISTINCT FROM NEW.ordering_on_exhausted)
    EXECUTE FUNCTION bump_matcher_version();

-- +goose Down
DROP TRIGGER webhooks_matcher_update ON webhooks;
CREATE TRIGGER webhooks_matcher_update AFTER UPDATE ON webhooks
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled OR OLD.deleted IS DISTINCT FROM NEW.deleted
        OR OLD.event_filters IS DISTINCT FROM NEW.event_filters OR OLD.batch_enabled IS DISTINCT FROM NEW.batch_enabled
        OR OLD.batch_size IS DISTINCT FROM NEW.batch_size OR OLD.batch_max_wait_ms IS DISTINCT FROM NEW.batch_max_wait_ms
        OR OLD.paused IS DISTINCT FROM NEW.paused)
    EXECUTE FUNCTION bump_matcher_version();
DROP INDEX webhooks_probe_due;
ALTER TABLE webhooks DROP COLUMN failing_open;
ALTER TABLE webhooks DROP COLUMN failing_raised_at;
ALTER TABLE webhooks DROP COLUMN probe_wait_ms;
ALTER TABLE webhooks DROP COLUMN next_probe_at;
ALTER TABLE webhooks DROP COLUMN probe_delivery_id;
ALTER TABLE webhooks DROP COLUMN auto_paused_reason;
ALTER TABLE webhooks DROP COLUMN failure_streak_since;
ALTER TABLE webhooks DROP COLUMN failure_streak;
ALTER TABLE webhooks DROP COLUMN breaker_span_ms;
ALTER TABLE webhooks DROP COLUMN breaker_failures;
ALTER TABLE webhooks DROP COLUMN breaker_off;
DROP INDEX deliveries_sequence;
ALTER TABLE deliveries DROP COLUMN sequence_skipped;
ALTER TABLE deliveries DROP COLUMN sequence_at;
ALTER TABLE deliveries DROP COLUMN sequence_key;
ALTER TABLE webhooks DROP COLUMN ordering_on_exhausted;
ALTER TABLE webhooks DROP COLUMN ordering_key;
