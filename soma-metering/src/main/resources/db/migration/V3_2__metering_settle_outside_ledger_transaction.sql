-- Settling moved out of the ledger's durable transaction (see soma-metering/README.md):
-- each ledger row names the reservation it settles, so the sweeper can settle a
-- reservation whose node died between the ledger commit and the settle.
ALTER TABLE usage_ledger ADD COLUMN reservation_id UUID;
CREATE INDEX usage_ledger_reservation ON usage_ledger (reservation_id) WHERE reservation_id IS NOT NULL;
