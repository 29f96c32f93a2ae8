-- soma-memory: reindexing to another embedding model, the TTL purge, and storage metering.

-- 'reembedded': a memory's vectors were embedded again by the configured model; the index re-applies it.
ALTER TABLE memory_changes DROP CONSTRAINT memory_changes_kind_check;
ALTER TABLE memory_changes ADD CONSTRAINT memory_changes_kind_check CHECK (kind IN ('created', 'revised', 'deleted', 'reembedded'));

-- The purge finds memories past their TTL without reading the live ones.
CREATE INDEX memories_expiry ON memories (expires_at) WHERE deleted_at IS NULL AND expires_at IS NOT NULL;

-- Up to when each tenant's stored bytes have been metered (MB-hours). A tenant's row is made by
-- its first memory write; metering advances it in the transaction that records the sample, so
-- no interval is metered twice. Tenants that stored memory before metering existed start now.
CREATE TABLE memory_storage_meter (
    tenant_id     UUID PRIMARY KEY,
    metered_until TIMESTAMPTZ NOT NULL
);
INSERT INTO memory_storage_meter (tenant_id, metered_until) SELECT tenant_id, now() FROM memory_usage;
