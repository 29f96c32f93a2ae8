-- soma-metering: the ledger's triggers run once per INSERT statement instead of once per row
-- (issue 12, durable ingestion). A group commit writes its units' model calls in one statement
-- (Ledger.record, LedgerRows), so the late-row check and both rollups cost a few statements per
-- group instead of three PL/pgSQL calls, an advisory lock, an invoice lookup and two upserts per
-- row. They read the statement's rows from its transition table ("inserted"). Behaviour is
-- unchanged: every writer, in any module, is still covered, in the row's own transaction.
DROP TRIGGER usage_ledger_late_rows ON usage_ledger;
DROP TRIGGER usage_ledger_rollup ON usage_ledger;
DROP TRIGGER usage_ledger_rollup_daily ON usage_ledger;
DROP FUNCTION usage_ledger_late_rows();
DROP FUNCTION usage_rollup_hourly_add();
DROP FUNCTION usage_rollup_daily_add();

-- Late rows (V3_12): a row booked in a period whose invoice its tenant already has moves to the
-- first later period without one, keeping its own period in late_of. Each (tenant, period) of the
-- statement is locked with the close's advisory lock, shared, in one order, then looked up: a close
-- under way holds the lock exclusively, so the statement waits for it and then sees its invoice.
-- Checking after the insert instead of before loses nothing: the close never sees a row that is
-- not committed, and the row's transaction cannot commit before this check has moved it. A late
-- row (rare) is moved by an UPDATE; nothing reads a row's period before its transaction commits.
CREATE FUNCTION usage_ledger_late_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    late RECORD;
    target DATE;
BEGIN
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
    RETURN NULL;
END $$;

CREATE TRIGGER usage_ledger_late_rows AFTER INSERT ON usage_ledger REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION usage_ledger_late_rows();

-- Rollups (V3_20, V3_21, V3_22): one trigger keeps both. The statement's rows are summed once per
-- hourly key (exact NUMERIC; egress rows add usage but no call), upserted into the hourly rollup,
-- and those sums added up per day are upserted into the daily one; each upsert in key order, so two
-- groups committing at once lock shared rollup rows in the same order (no deadlock).
CREATE FUNCTION usage_rollups_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

CREATE TRIGGER usage_ledger_rollups AFTER INSERT ON usage_ledger REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION usage_rollups_add();
