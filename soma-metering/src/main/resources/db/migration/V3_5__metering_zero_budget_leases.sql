-- soma-metering: a budget lease may be of 0 (issue 13). A call of an unpriced model has a worst
-- case of 0; it used to fall back to a per-call hold (one round trip and one commit per call)
-- because a lease had to be positive. A lease of 0 is taken with the same check a per-call hold
-- of 0 makes (spent + reserved + 0 <= limit), so such calls are served from memory and refused
-- exactly when a per-call hold would be (BudgetLeases.take).
ALTER TABLE budget_leases DROP CONSTRAINT budget_leases_amount_check;
ALTER TABLE budget_leases ADD CONSTRAINT budget_leases_amount_check CHECK (amount >= 0);
