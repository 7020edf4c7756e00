-- Event type names sort byte by byte, whatever the database's collation:
-- the API pages through the catalog by name and merges webhookd's built-in
-- types in, in the order Go compares strings. Under a language collation
-- (en_US, the default of many installations) 'B' sorted after 'a' in the
-- database and before it in the merge, and a page's cursor then skipped or
-- repeated types. The indexes on the column are rebuilt with it.
-- +goose Up
ALTER TABLE event_types ALTER COLUMN name TYPE text COLLATE "C";

-- +goose Down
ALTER TABLE event_types ALTER COLUMN name TYPE text COLLATE "default";
