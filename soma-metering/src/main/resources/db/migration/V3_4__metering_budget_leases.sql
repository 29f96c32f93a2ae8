-- Budget leases per node (issue 13, soma-metering/README.md): a slice of one budget scope's month held by one
-- node, counted in budget_spend.reserved like a reservation, against which the node reserves its calls in memory.
-- A ledger row written against a lease names it in usage_ledger.reservation_id (the hold the row settles), so a
-- returned or expired lease is charged the sum of its rows (index usage_ledger_reservation) and frees the rest.
CREATE TABLE budget_leases (
    id         UUID PRIMARY KEY,
    tenant_id  UUID NOT NULL,
    scope      TEXT NOT NULL,
    period     DATE NOT NULL,
    node_id    UUID NOT NULL,
    amount     NUMERIC(30, 15) NOT NULL CHECK (amount > 0),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX budget_leases_expiry ON budget_leases (expires_at);
CREATE INDEX budget_leases_scope ON budget_leases (tenant_id, scope, period);
