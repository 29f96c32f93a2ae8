-- Hourly rollups of the usage ledger, for dashboards (the console's charts and usage page):
-- one row per tenant, hour (UTC), model and key. A trigger keeps them in the same transaction
-- as the ledger row, whichever path wrote it, so a committed ledger row is always counted and a
-- rolled-back one never is. Sums are NUMERIC like the ledger's, so a period of whole hours sums
-- exactly to the ledger rows.
CREATE TABLE usage_rollup_hourly (
    tenant_id     UUID NOT NULL,
    hour          TIMESTAMPTZ NOT NULL,
    model         TEXT NOT NULL,
    key_id        UUID NOT NULL,
    calls         BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost          NUMERIC(30, 15) NOT NULL,
    estimated     BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, hour, model, key_id)
);

CREATE FUNCTION usage_rollup_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, calls, input_tokens, output_tokens, cost, estimated)
    VALUES (NEW.tenant_id, date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', NEW.model, NEW.key_id, 1,
            NEW.input_tokens, NEW.output_tokens, NEW.cost, NEW.estimated)
    ON CONFLICT (tenant_id, hour, model, key_id) DO UPDATE SET
        calls = usage_rollup_hourly.calls + 1,
        input_tokens = usage_rollup_hourly.input_tokens + EXCLUDED.input_tokens,
        output_tokens = usage_rollup_hourly.output_tokens + EXCLUDED.output_tokens,
        cost = usage_rollup_hourly.cost + EXCLUDED.cost,
        estimated = usage_rollup_hourly.estimated OR EXCLUDED.estimated;
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_ledger_rollup AFTER INSERT ON usage_ledger FOR EACH ROW EXECUTE FUNCTION usage_rollup_hourly_add();

-- Rows written before this migration.
INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, calls, input_tokens, output_tokens, cost, estimated)
SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, key_id, count(*), sum(input_tokens),
       sum(output_tokens), sum(cost), bool_or(estimated)
FROM usage_ledger GROUP BY 1, 2, 3, 4;
