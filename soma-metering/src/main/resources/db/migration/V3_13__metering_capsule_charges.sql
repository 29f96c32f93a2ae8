-- soma-metering: every run of a priced marketplace capsule, with the ledger row that charges it
-- (a per-run price: its own row; a per-month price: the month's one row, shared by its runs).
-- It names the capsule's publisher, so a publisher's statement is the other side of those rows.
CREATE TABLE capsule_charges (
    id         UUID PRIMARY KEY,
    tenant_id  UUID NOT NULL,
    run_id     TEXT NOT NULL,
    capsule    TEXT NOT NULL,
    publisher  TEXT NOT NULL,
    sku        TEXT NOT NULL,
    ledger_id  UUID NOT NULL,
    charged    BOOLEAN NOT NULL,
    period     DATE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (tenant_id, run_id)
);
CREATE INDEX capsule_charges_publisher ON capsule_charges (publisher, period);
