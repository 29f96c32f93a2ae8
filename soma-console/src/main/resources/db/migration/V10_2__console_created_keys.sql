-- soma-console: a new API key waiting to be shown once (POST, redirect, GET). The secret is sealed
-- (AES-256-GCM, kernel Aead) under a key derived from the creating session's cookie token, which
-- only that browser holds (console_sessions keeps its hash), so this table alone opens nothing.
-- The first GET erases the sealed value; a reload finds the row shown and says so.
CREATE TABLE console_created_keys (
    nonce_hash   TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    tenant_id    UUID NOT NULL,
    key_name     TEXT NOT NULL,
    sealed       BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    shown_at     TIMESTAMPTZ
);
CREATE INDEX console_created_keys_expiry ON console_created_keys (expires_at);
