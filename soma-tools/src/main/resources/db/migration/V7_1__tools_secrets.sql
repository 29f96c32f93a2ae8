-- Per-tenant tool credentials, sealed with AES-256-GCM (kernel Aead) under the node's tools secrets key.
-- The associated data is "<tenant id>/<name>", so a sealed value copied to another row does not open.
-- The plaintext is never stored, logged or returned; only names and times are listed.
CREATE TABLE tool_secrets (
    tenant_id  UUID NOT NULL,
    name       TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
