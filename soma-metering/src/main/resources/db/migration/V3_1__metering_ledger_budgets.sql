-- soma-metering: the usage ledger and budgets (reserve, then settle).
CREATE TABLE usage_ledger (
    id                 UUID PRIMARY KEY,
    tenant_id          UUID NOT NULL,
    key_id             UUID NOT NULL,
    request_id         TEXT NOT NULL,
    idempotency_key    TEXT,
    model              TEXT NOT NULL,
    provider           TEXT NOT NULL,
    upstream_model     TEXT NOT NULL,
    input_tokens       BIGINT NOT NULL CHECK (input_tokens >= 0),
    output_tokens      BIGINT NOT NULL CHECK (output_tokens >= 0),
    estimated          BOOLEAN NOT NULL,
    input_per_million  NUMERIC(30, 15) NOT NULL,
    output_per_million NUMERIC(30, 15) NOT NULL,
    cost               NUMERIC(30, 15) NOT NULL,
    period             DATE NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_ledger_tenant_time ON usage_ledger (tenant_id, created_at);
CREATE UNIQUE INDEX usage_ledger_idempotency ON usage_ledger (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Spend and open reservations per budget scope ('tenant' or 'key:<id>') and calendar month (UTC).
CREATE TABLE budget_spend (
    tenant_id UUID NOT NULL,
    scope     TEXT NOT NULL,
    period    DATE NOT NULL,
    spent     NUMERIC(30, 15) NOT NULL DEFAULT 0,
    reserved  NUMERIC(30, 15) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (tenant_id, scope, period)
);

CREATE TABLE budget_reservations (
    id         UUID NOT NULL,
    tenant_id  UUID NOT NULL,
    scope      TEXT NOT NULL,
    period     DATE NOT NULL,
    amount     NUMERIC(30, 15) NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, scope)
);
CREATE INDEX budget_reservations_expiry ON budget_reservations (expires_at);
