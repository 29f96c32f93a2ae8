-- soma-metering: the SKU catalog. Versions of one SKU's price never overlap in time: the catalog
-- checks that under an advisory lock per SKU before inserting (see SkuCatalog).
CREATE TABLE sku_prices (
    id             UUID PRIMARY KEY,
    sku            TEXT NOT NULL,
    currency       TEXT NOT NULL,
    pricing        TEXT NOT NULL CHECK (pricing IN ('flat', 'tiered', 'volume')),
    unit           TEXT NOT NULL,
    tiers          JSONB NOT NULL,
    revenue_share  NUMERIC(7, 6),
    effective_from DATE NOT NULL,
    effective_to   DATE,
    created_at     TIMESTAMPTZ NOT NULL,
    CHECK (effective_to IS NULL OR effective_to > effective_from)
);
CREATE INDEX sku_prices_sku ON sku_prices (sku, effective_from);
