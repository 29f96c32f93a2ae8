-- The keys that sign answers' provenance. Unlike session keys they never leave the JWKS: a
-- record signed years ago must still verify. One key is active (the oldest not retired, so
-- every node agrees); a rotation retires it and adds the next, and both stay published.
CREATE TABLE agent_provenance_keys (
    kid         TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);
