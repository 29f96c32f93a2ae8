-- Ledger rows for usage that is not model tokens (stored memory in MB-hours first): the meter,
-- its quantity and unit. Token rows keep meter 'model.tokens' and no quantity.
ALTER TABLE usage_ledger ADD COLUMN meter TEXT NOT NULL DEFAULT 'model.tokens';
ALTER TABLE usage_ledger ADD COLUMN quantity NUMERIC(30, 15);
ALTER TABLE usage_ledger ADD COLUMN unit TEXT;
