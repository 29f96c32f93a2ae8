-- soma-gateway: tenants, API keys (hashes only), JWT signing keys, the operator key.
CREATE TABLE tenants (
    id             UUID PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    tier           TEXT NOT NULL,
    home_region    TEXT NOT NULL,
    monthly_budget NUMERIC(30, 15),
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_keys (
    id             UUID PRIMARY KEY,
    tenant_id      UUID NOT NULL REFERENCES tenants (id),
    name           TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    prefix         TEXT NOT NULL,
    scopes         TEXT[] NOT NULL,
    monthly_budget NUMERIC(30, 15),
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

CREATE TABLE operator_keys (
    hash       TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
