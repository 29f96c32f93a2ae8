-- soma-policy: trusted publisher keys, versioned CEL policies, and the decisions they made.

-- A tenant's trusted signing keys (ECDSA P-256, SPKI PEM). Revocation is permanent: a
-- revoked key id can never be trusted again by that tenant.
CREATE TABLE policy_trusted_keys (
    tenant_id      UUID NOT NULL,
    key_id         TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     TEXT NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_by     TEXT,
    PRIMARY KEY (tenant_id, key_id)
);

-- Every version of every policy; the highest version of a name is the active one unless
-- the name was deleted (deleted_at set on all its versions).
CREATE TABLE policy_policies (
    tenant_id  UUID NOT NULL,
    name       TEXT NOT NULL,
    version    INT NOT NULL,
    kind       TEXT NOT NULL,
    definition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    deleted_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE policy_decisions (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    kind            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    capsule_name    TEXT,
    capsule_version TEXT,
    capsule_digest  TEXT,
    policy_name     TEXT,
    policy_version  INT,
    expression      TEXT,
    message         TEXT,
    input_digest    TEXT NOT NULL,
    evaluated       JSONB NOT NULL,
    actor           TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    decided_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX policy_decisions_tenant_time ON policy_decisions (tenant_id, decided_at DESC, id DESC);
CREATE INDEX policy_decisions_tenant_capsule ON policy_decisions (tenant_id, capsule_name, decided_at DESC);
