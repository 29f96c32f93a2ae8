-- soma-metering: one statement trigger on usage_ledger instead of two (issue 13). V3_23's late-row
-- check and rollups ran as two AFTER INSERT ... FOR EACH STATEMENT triggers; each costs a PL/pgSQL
-- call, an SPI connection and the transition table's registration per INSERT, whatever it does.
-- Measured on PostgreSQL 17 with one-row statements in one session (no lock waits), the pair cost
-- 0.12-0.17 ms more per statement than one function doing both (docs/BENCHMARKS.md, branch
-- s20-gateway). The statements inside are V3_23's, in the same order (late rows, then rollups):
-- behaviour is unchanged, rollups stay equal to the ledger, and every writer is still covered.
DROP TRIGGER usage_ledger_late_rows ON usage_ledger;
DROP TRIGGER usage_ledger_rollups ON usage_ledger;
DROP FUNCTION usage_ledger_late_rows();
DROP FUNCTION usage_rollups_add();

CREATE FUNCTION usage_ledger_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    late RECORD;
    target DATE;
BEGIN
    -- Late rows (V3_12, V3_23): each (tenant, period) of the statement locked with the close's advisory lock, shared, in one
    -- order; a row booked in a period its tenant already has an invoice for moves to the first later period without one.
    PERFORM pg_advisory_xact_lock_shared(hashtext('invoice:' || periods.tenant_id::text || ':' || to_char(periods.period, 'YYYY-MM')))
    FROM (SELECT DISTINCT tenant_id, period FROM inserted ORDER BY tenant_id, period) periods;
    FOR late IN
        SELECT written.id, written.tenant_id, written.period FROM inserted written
        WHERE EXISTS (SELECT 1 FROM invoices WHERE invoices.tenant_id = written.tenant_id AND invoices.period = written.period)
        ORDER BY written.tenant_id, written.period
    LOOP
        target := late.period;
        LOOP
            target := (target + INTERVAL '1 month')::date;
            PERFORM pg_advisory_xact_lock_shared(hashtext('invoice:' || late.tenant_id::text || ':' || to_char(target, 'YYYY-MM')));
            EXIT WHEN NOT EXISTS (SELECT 1 FROM invoices WHERE tenant_id = late.tenant_id AND period = target);
        END LOOP;
        UPDATE usage_ledger SET late_of = coalesce(late_of, period), period = target WHERE id = late.id;
    END LOOP;
    -- Rollups (V3_20-V3_23): the statement's rows summed per hourly key (egress rows add usage but no call), upserted into
    -- the hourly rollup and, added up per day, into the daily one, each in key order (no deadlock between two groups).
    WITH sums AS (
        SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour, model, key_id,
               coalesce(capsule, '') AS capsule, count(*) FILTER (WHERE meter <> 'egress') AS calls, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(cost) AS cost, bool_or(estimated) AS estimated
        FROM inserted GROUP BY 1, 2, 3, 4, 5
    ), hourly AS (
        INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
        SELECT * FROM sums ORDER BY tenant_id, hour, model, key_id, capsule
        ON CONFLICT (tenant_id, hour, model, key_id, capsule) DO UPDATE SET
            calls = usage_rollup_hourly.calls + EXCLUDED.calls,
            input_tokens = usage_rollup_hourly.input_tokens + EXCLUDED.input_tokens,
            output_tokens = usage_rollup_hourly.output_tokens + EXCLUDED.output_tokens,
            cost = usage_rollup_hourly.cost + EXCLUDED.cost,
            estimated = usage_rollup_hourly.estimated OR EXCLUDED.estimated
    )
    INSERT INTO usage_rollup_daily (tenant_id, day, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
    SELECT tenant_id, (hour AT TIME ZONE 'UTC')::date, model, key_id, capsule, sum(calls), sum(input_tokens), sum(output_tokens), sum(cost),
           bool_or(estimated)
    FROM sums GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (tenant_id, day, model, key_id, capsule) DO UPDATE SET
        calls = usage_rollup_daily.calls + EXCLUDED.calls,
        input_tokens = usage_rollup_daily.input_tokens + EXCLUDED.input_tokens,
        output_tokens = usage_rollup_daily.output_tokens + EXCLUDED.output_tokens,
        cost = usage_rollup_daily.cost + EXCLUDED.cost,
        estimated = usage_rollup_daily.estimated OR EXCLUDED.estimated;
    RETURN NULL;
END $$;
CREATE TRIGGER usage_ledger_after_insert AFTER INSERT ON usage_ledger REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION usage_ledger_after_insert();
