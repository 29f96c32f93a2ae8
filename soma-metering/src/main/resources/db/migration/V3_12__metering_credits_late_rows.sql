-- soma-metering: credits an operator grants a tenant, consumed by its next invoices.
CREATE TABLE credit_grants (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    amount          NUMERIC(30, 15) NOT NULL CHECK (amount > 0),
    remaining       NUMERIC(30, 15) NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    currency        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX credit_grants_open ON credit_grants (tenant_id, created_at) WHERE remaining > 0;

-- What each invoice took from each grant; the grant's remaining is its amount minus these.
CREATE TABLE credit_applications (
    credit_id  UUID NOT NULL REFERENCES credit_grants (id),
    tenant_id  UUID NOT NULL,
    period     DATE NOT NULL,
    invoice_id UUID NOT NULL,
    amount     NUMERIC(30, 15) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (credit_id, period)
);
CREATE INDEX credit_applications_tenant ON credit_applications (tenant_id, period);

-- Late rows: a ledger row whose period the tenant's invoice already closed moves to the first
-- later period the tenant has no invoice for, and keeps the period it was booked for in late_of.
-- A trigger, so every writer (model calls, tools, storage, job minutes, other modules' meters)
-- is covered without touching their write path. Each period looked at is locked with the close's
-- advisory lock, shared: a row waits for a close of its tenant and period under way, then sees
-- its invoice. The close itself holds that lock exclusively, so its own charges stay in place.
ALTER TABLE usage_ledger ADD COLUMN late_of DATE;
CREATE INDEX usage_ledger_late ON usage_ledger (late_of) WHERE late_of IS NOT NULL;

CREATE FUNCTION usage_ledger_late_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        PERFORM pg_advisory_xact_lock_shared(hashtext('invoice:' || NEW.tenant_id::text || ':' || to_char(NEW.period, 'YYYY-MM')));
        EXIT WHEN NOT EXISTS (SELECT 1 FROM invoices WHERE tenant_id = NEW.tenant_id AND period = NEW.period);
        NEW.late_of := coalesce(NEW.late_of, NEW.period);
        NEW.period := (NEW.period + INTERVAL '1 month')::date;
    END LOOP;
    RETURN NEW;
END $$;

CREATE TRIGGER usage_ledger_late_rows BEFORE INSERT ON usage_ledger FOR EACH ROW EXECUTE FUNCTION usage_ledger_late_rows();
