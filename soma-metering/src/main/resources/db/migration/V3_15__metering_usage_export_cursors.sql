-- soma-metering: the continuous export to OpenMeter and Lago. Each ledger row carries the id of
-- the transaction that wrote it (export_txid). A row becomes exportable once every transaction
-- older than the oldest one still running has ended (txid below the snapshot's xmin): from then
-- on no row can appear before the cursor, whatever order transactions committed in and whatever
-- time a row is booked at (the close books its charges at the period's last microsecond, so a
-- created_at cursor would skip them). Rows written before this migration all get its txid.
ALTER TABLE usage_ledger ADD COLUMN export_txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX usage_ledger_export_order ON usage_ledger (export_txid, id);

-- Per exporter, the last row it has delivered, in (export_txid, id) order. Moved forward only
-- after the receiver acknowledged the batch that ends there.
CREATE TABLE usage_export_cursors (
    exporter     TEXT PRIMARY KEY,
    last_txid    BIGINT NOT NULL,
    last_id      UUID NOT NULL,
    exported     BIGINT NOT NULL DEFAULT 0,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
