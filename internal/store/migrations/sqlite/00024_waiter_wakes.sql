-- A request that ends wakes the oldest concurrency waiter of its webhook
-- (store.ReleaseSlot), instead of leaving the free slot to the waiters'
-- next polls. woken_at (microseconds since the epoch) is when the waiter
-- was woken, or, for a waiter refused for its rate slot, when it was
-- refused: either way it is not to be woken now. 0: a waiter for a
-- concurrency slot not woken since it last asked. It keeps two requests
-- that end together from waking the same waiter while others sleep.
-- +goose Up
ALTER TABLE webhook_waiters ADD COLUMN woken_at bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhook_waiters DROP COLUMN woken_at;
