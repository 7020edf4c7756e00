-- Receiver authentication: OAuth2 client credentials and a TLS client
-- certificate per webhook. auth.clientSecret and client_key are encrypted
-- by the store (see its secrets.go) before they are written.
-- +goose Up
ALTER TABLE webhooks ADD COLUMN auth text;
ALTER TABLE webhooks ADD COLUMN client_certificate text NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN client_key text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhooks DROP COLUMN client_key;
ALTER TABLE webhooks DROP COLUMN client_certificate;
ALTER TABLE webhooks DROP COLUMN auth;
