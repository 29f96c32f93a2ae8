-- soma-metering: invoices. A ledger row may name its SKU (charges written at a period's close:
-- platform fees, price adjustments); rows without one map to a SKU by meter and model.
ALTER TABLE usage_ledger ADD COLUMN sku TEXT;
CREATE INDEX usage_ledger_tenant_period ON usage_ledger (tenant_id, period);

-- One invoice per tenant and period; its lines never change once finalized.
CREATE TABLE invoices (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    period       DATE NOT NULL,
    number       TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'finalized', 'void')),
    currency     TEXT NOT NULL,
    lines        JSONB NOT NULL,
    ledger_total NUMERIC(30, 15) NOT NULL,
    subtotal     NUMERIC(30, 15) NOT NULL,
    tax_rate     NUMERIC(7, 6) NOT NULL,
    tax          NUMERIC(30, 15) NOT NULL,
    total        NUMERIC(30, 15) NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    finalized_at TIMESTAMPTZ,
    voided_at    TIMESTAMPTZ,
    UNIQUE (tenant_id, period)
);
CREATE INDEX invoices_period ON invoices (period);

-- Invoice numbers: one counter, taken in the transaction that finalizes, so numbers have no gaps.
CREATE TABLE invoice_numbers (
    id   INT PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO invoice_numbers VALUES (1, 0);
