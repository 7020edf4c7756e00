-- Concurrency waiters are served in order, across every process: a waiter
-- row per request refused for want of a concurrency slot, and a free slot
-- goes to the oldest waiters first. Times are microseconds since the
-- epoch; a waiter that stops asking (its delivery was cancelled) is dropped
-- once expires_at (its next poll and a margin) has passed.
-- +goose Up
CREATE TABLE webhook_waiters (
    webhook_id text NOT NULL,
    holder text NOT NULL,
    queued_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (webhook_id, holder)
);
CREATE INDEX webhook_waiters_queue ON webhook_waiters (webhook_id, queued_at);
-- Throttling answers (429/502/503/504) waited out without a step of the
-- retry schedule, over every run of the delivery: a new run (a resume, the
-- reconciler) continues the bound instead of starting a new one.
ALTER TABLE deliveries ADD COLUMN throttle_waits integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN throttle_waits;
DROP TABLE webhook_waiters;
