-- Per-webhook limits (webhookConfig.maxConcurrency, webhookConfig.rateLimit)
-- held in the database, so that every api and worker process obeys them.
-- +goose Up
-- 10 requests in flight by default: one endpoint cannot hold all of a
-- worker's slots (WORKER_CONCURRENCY). rate_limit 0 means no rate limit.
ALTER TABLE webhooks ADD COLUMN max_concurrency integer NOT NULL DEFAULT 10;
ALTER TABLE webhooks ADD COLUMN rate_limit real NOT NULL DEFAULT 0;
-- What a delivery waits for: '' (nothing), rateLimit, concurrency or
-- retryAfter.
ALTER TABLE deliveries ADD COLUMN waiting_for text NOT NULL DEFAULT '';

-- One row per webhook that sent under the limiter. Times are microseconds
-- since the epoch. tat is the next free rate slot (slots are reserved in
-- webhook_reservations, in order); sent_tat spaces the requests actually
-- sent (GCRA), so that late waiters cannot bunch; rate is
-- the adaptive rate in force after a 429/502/503/504 (0: none), peak the
-- rate it returns to, decreased_at when it was last halved; interval_us
-- averages the time between requests (the rate to halve when no rateLimit
-- is set).
CREATE TABLE webhook_limiters (
    webhook_id text PRIMARY KEY,
    tat integer NOT NULL DEFAULT 0,
    sent_tat integer NOT NULL DEFAULT 0,
    rate real NOT NULL DEFAULT 0,
    peak real NOT NULL DEFAULT 0,
    interval_us integer NOT NULL DEFAULT 0,
    last_grant integer NOT NULL DEFAULT 0,
    throttled integer NOT NULL DEFAULT 0,
    decreased_at integer NOT NULL DEFAULT 0
);

-- Requests in flight: one lease per (delivery, attempt), expiring after the
-- webhook's timeout and a margin, so that a killed worker frees its slot.
CREATE TABLE webhook_leases (
    webhook_id text NOT NULL,
    holder text NOT NULL,
    expires_at integer NOT NULL,
    PRIMARY KEY (webhook_id, holder)
);

-- A rate slot reserved for a request (delivery and attempt) that waits
-- for it: asking again gets the same slot.
CREATE TABLE webhook_reservations (
    webhook_id text NOT NULL,
    holder text NOT NULL,
    start_at integer NOT NULL,
    PRIMARY KEY (webhook_id, holder)
);

-- +goose Down
DROP TABLE webhook_reservations;
DROP TABLE webhook_leases;
DROP TABLE webhook_limiters;
ALTER TABLE deliveries DROP COLUMN waiting_for;
ALTER TABLE webhooks DROP COLUMN rate_limit;
ALTER TABLE webhooks DROP COLUMN max_concurrency;
