-- soma-metering: egress, the bytes SomaStack sends out on a tenant's behalf for one call, kept on
-- the call's own ledger row (see the README for what counts). The close prices the period's sum
-- as the egress SKU (GB = 10^9 bytes).
ALTER TABLE usage_ledger ADD COLUMN egress_bytes BIGINT CHECK (egress_bytes >= 0);
