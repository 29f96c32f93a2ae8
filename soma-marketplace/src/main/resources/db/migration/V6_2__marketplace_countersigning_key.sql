-- The marketplace's own ECDSA P-256 key: it countersigns every published bundle (role
-- 'marketplace'), so a tenant can demand "listed by this marketplace" in a policy. One row,
-- shared by every node; made by the first node that starts.
CREATE TABLE marketplace_signing_key (
    id              INT PRIMARY KEY CHECK (id = 1),
    key_id          TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
