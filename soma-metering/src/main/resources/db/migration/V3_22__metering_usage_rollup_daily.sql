-- Daily rollups of the usage ledger beside the hourly ones: one row per tenant, UTC day, model,
-- key and capsule ('' for none). Pages over whole days (the console's Usage page, the Overview's
-- month) read a 24th of the rows they read from usage_rollup_hourly. Kept by its own trigger on
-- usage_ledger, in the ledger row's own transaction like the hourly one, so both always agree
-- with the ledger.
CREATE TABLE usage_rollup_daily (
    tenant_id     UUID NOT NULL,
    day           DATE NOT NULL,
    model         TEXT NOT NULL,
    key_id        UUID NOT NULL,
    capsule       TEXT NOT NULL,
    calls         BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost          NUMERIC(30, 15) NOT NULL,
    estimated     BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, day, model, key_id, capsule)
);

CREATE FUNCTION usage_rollup_daily_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_rollup_daily (tenant_id, day, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
    VALUES (NEW.tenant_id, (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.model, NEW.key_id, coalesce(NEW.capsule, ''), CASE WHEN NEW.meter = 'egress' THEN 0 ELSE 1 END,
            NEW.input_tokens, NEW.output_tokens, NEW.cost, NEW.estimated)
    ON CONFLICT (tenant_id, day, model, key_id, capsule) DO UPDATE SET
        calls = usage_rollup_daily.calls + EXCLUDED.calls,
        input_tokens = usage_rollup_daily.input_tokens + EXCLUDED.input_tokens,
        output_tokens = usage_rollup_daily.output_tokens + EXCLUDED.output_tokens,
        cost = usage_rollup_daily.cost + EXCLUDED.cost,
        estimated = usage_rollup_daily.estimated OR EXCLUDED.estimated;
    RETURN NULL;
END
$$;

CREATE TRIGGER usage_ledger_rollup_daily AFTER INSERT ON usage_ledger FOR EACH ROW EXECUTE FUNCTION usage_rollup_daily_add();

-- Rows written before this migration, from their hourly sums (the same NUMERIC additions).
INSERT INTO usage_rollup_daily (tenant_id, day, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
SELECT tenant_id, (hour AT TIME ZONE 'UTC')::date, model, key_id, capsule, sum(calls), sum(input_tokens), sum(output_tokens), sum(cost),
       bool_or(estimated)
FROM usage_rollup_hourly GROUP BY 1, 2, 3, 4, 5;
