-- soma-store: signed checkpoints of the audit log's head (issue 8, defect 13).
-- The installation's ES256 (ECDSA P-256) checkpoint key. One row, shared by every node; made by
-- the first node that starts. origin names this audit log in every checkpoint it signs.
CREATE TABLE audit_checkpoint_key (
    id              INT PRIMARY KEY CHECK (id = 1),
    origin          TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);

-- Every checkpoint signed, newest last. Only a convenience (GET .../checkpoints/latest): a
-- checkpoint proves something only in the operator's copy, outside this database.
CREATE TABLE audit_checkpoints (
    id         BIGSERIAL PRIMARY KEY,
    size       BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    timestamp  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    signature  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
