-- A delivery remembers the trace its event was ingested in (W3C
-- traceparent, empty with tracing off), so that its start and its attempts,
-- in whichever process, join the producer's trace.
-- +goose Up
ALTER TABLE deliveries ADD COLUMN trace_parent text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN trace_parent;
