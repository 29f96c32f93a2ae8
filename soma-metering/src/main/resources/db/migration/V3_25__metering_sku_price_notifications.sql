-- soma-metering: every change to the SKU catalog tells every node (LISTEN soma_sku_prices) to drop
-- the prices it cached for pricing ledger rows (SkuMeter). A trigger, not application code, so a
-- price added in SQL by an operator is heard too; a NOTIFY is delivered at commit, never for a
-- rolled-back change. One notification per statement: the catalog is small and any change
-- empties the whole cache.
CREATE FUNCTION soma_notify_sku_prices() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('soma_sku_prices', 'changed');
    RETURN NULL;
END $$;

CREATE TRIGGER sku_prices_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sku_prices
    FOR EACH STATEMENT EXECUTE FUNCTION soma_notify_sku_prices();
