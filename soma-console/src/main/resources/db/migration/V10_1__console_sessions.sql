-- soma-console: browser sessions. The cookie holds a random token; only its SHA-256 is stored.
-- A tenant session names the API key it signed in with (re-checked on every request, so revoking
-- the key ends the session); an operator session has no tenant and no key.
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY,
    tenant_id    UUID,
    key_id       UUID,
    operator     BOOLEAN NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    CHECK (operator OR (tenant_id IS NOT NULL AND key_id IS NOT NULL))
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
