-- Hardening: every secret a rotation replaced signs until its own expiry;
-- console sign-outs end their sessions on every replica.
-- +goose Up
-- previous_secrets lists them newest first as [{"key", "expiresAt"}], each
-- key encrypted and bound as previous_secret_key was; the one previous
-- secret moves over unchanged. previous_secret_expires_at stays: the
-- latest expiry among them. The store keeps times as integer microseconds.
ALTER TABLE webhooks ADD COLUMN previous_secrets text;
UPDATE webhooks SET previous_secrets = json_array(json_object(
    'key', previous_secret_key,
    'expiresAt', strftime('%Y-%m-%dT%H:%M:%fZ', previous_secret_expires_at / 1000000.0, 'unixepoch')))
  WHERE previous_secret_key <> '' AND previous_secret_expires_at IS NOT NULL;
-- The old column is emptied, not dropped: replicas of the previous release
-- still select and write it while a rolling upgrade runs.
UPDATE webhooks SET previous_secret_key = '' WHERE previous_secret_key <> '';

-- A console session signed out before it expired: its cookie is refused
-- until expires_at, when retention removes the row.
CREATE TABLE console_revocations (
    session_id text PRIMARY KEY,
    expires_at datetime NOT NULL
);
CREATE INDEX console_revocations_expires_at ON console_revocations (expires_at);

-- +goose Down
DROP TABLE console_revocations;
UPDATE webhooks SET previous_secret_key = previous_secrets ->> '$[0].key',
    previous_secret_expires_at = CAST(strftime('%s', previous_secrets ->> '$[0].expiresAt') AS INTEGER) * 1000000
        + CAST(substr(strftime('%f', previous_secrets ->> '$[0].expiresAt'), 4) AS INTEGER) * 1000
  WHERE json_array_length(previous_secrets) > 0;
ALTER TABLE webhooks DROP COLUMN previous_secrets;
