-- soma-memory: every recall, with exactly which revisions came back and their scores.
CREATE TABLE recalls (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    key_id       UUID NOT NULL,
    actor        TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    query_sha256 TEXT NOT NULL,
    mode         TEXT NOT NULL,
    k            INT NOT NULL,
    scopes       JSONB NOT NULL,
    filters      JSONB NOT NULL,
    results      JSONB NOT NULL
);
CREATE INDEX recalls_tenant ON recalls (tenant_id, at);
