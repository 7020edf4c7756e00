-- Hardening: every secret a rotation replaced signs until its own expiry;
-- console sign-outs end their sessions on every replica.
-- +goose Up
-- previous_secrets lists them newest first as [{"key", "expiresAt"}], each
-- key encrypted and bound as previous_secret_key was (see the store's
-- secrets.go), so the one previous secret moves over unchanged.
-- previous_secret_expires_at stays: the latest expiry among them.
ALTER TABLE webhooks ADD COLUMN previous_secrets jsonb;
UPDATE webhooks SET previous_secrets = jsonb_build_array(jsonb_build_object(
    'key', previous_secret_key,
    'expiresAt', to_char(previous_secret_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
  WHERE previous_secret_key <> '' AND previous_secret_expires_at IS NOT NULL;
-- The old column is emptied, not dropped: replicas of the previous release
-- still select and write it while a rolling upgrade runs.
UPDATE webhooks SET previous_secret_key = '' WHERE previous_secret_key <> '';

-- A console session signed out before it expired: its cookie is refused
-- until expires_at, when retention removes the row.
CREATE TABLE console_revocations (
    session_id text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_revocations_expires_at ON console_revocations (expires_at);

-- +goose Down
DROP TABLE console_revocations;
UPDATE webhooks SET previous_secret_key = previous_secrets->0->>'key',
    previous_secret_expires_at = (previous_secrets->0->>'expiresAt')::timestamptz
  WHERE jsonb_array_length(previous_secrets) > 0;
ALTER TABLE webhooks DROP COLUMN previous_secrets;
