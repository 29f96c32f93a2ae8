-- soma-store: the hash-chained audit log, its head, and the transactional outbox.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    tenant_id  UUID,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, seq);

-- One row: the last sequence number and hash. Appends lock it, so the chain stays linear
-- across threads and across nodes sharing this database.
CREATE TABLE audit_head (
    id   INT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE outbox (
    seq           BIGSERIAL PRIMARY KEY,
    id            UUID NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    source        TEXT NOT NULL,
    subject       TEXT,
    tenant_id     UUID,
    time          TIMESTAMPTZ NOT NULL,
    data          JSONB NOT NULL,
    dispatched_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE dispatched_at IS NULL;

-- Responses remembered for Idempotency-Key retries.
CREATE TABLE idempotency (
    tenant_id    UUID NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INT NOT NULL,
    body         BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
