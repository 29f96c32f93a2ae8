-- Per-tenant settings of agent runs, set by the operator. A tenant without a row follows the
-- server's configuration (agents.on-client-gone).
CREATE TABLE agent_tenant_settings (
    tenant_id       UUID PRIMARY KEY REFERENCES tenants (id),
    on_client_gone  TEXT NOT NULL CHECK (on_client_gone IN ('continue', 'cancel')),
    updated_at      TIMESTAMPTZ NOT NULL,
    updated_by      TEXT NOT NULL
);
