-- Event type names sort byte by byte (see the PostgreSQL migration of the
-- same number). SQLite's default collation, BINARY, already does.
-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
