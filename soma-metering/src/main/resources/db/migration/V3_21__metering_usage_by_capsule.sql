-- Usage by capsule: the installed capsule a ledger row was made for (an agent run's model calls,
-- a capsule's tool calls, a capsule's run charge); NULL for usage of no capsule (a client's own
-- API calls, stored memory, job minutes, the close's rows). The hourly rollup gains it as a key
-- column ('' for none, since a primary key column cannot be NULL).
ALTER TABLE usage_ledger ADD COLUMN capsule TEXT;

-- Rows written before this migration, where the ledger itself names the capsule: tool calls
-- (model 'tool:<capsule>/<tool>') and capsule run charges (capsule_charges). Agent runs' model
-- calls of before stay without capsule: only soma-agents' tables know their run's capsule.
UPDATE usage_ledger SET capsule = split_part(substr(model, 6), '/', 1) WHERE meter = 'tool_call' AND model LIKE 'tool:%/%';
UPDATE usage_ledger SET capsule = charges.capsule FROM capsule_charges charges
WHERE charges.ledger_id = usage_ledger.id AND usage_ledger.capsule IS NULL;

ALTER TABLE usage_rollup_hourly ADD COLUMN capsule TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_rollup_hourly DROP CONSTRAINT usage_rollup_hourly_pkey;
ALTER TABLE usage_rollup_hourly ADD PRIMARY KEY (tenant_id, hour, model, key_id, capsule);

CREATE OR REPLACE FUNCTION usage_rollup_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
    VALUES (NEW.tenant_id, date_trunc('hour', NEW.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', NEW.model, NEW.key_id,
            coalesce(NEW.capsule, ''), CASE WHEN NEW.meter = 'egress' THEN 0 ELSE 1 END, NEW.input_tokens, NEW.output_tokens, NEW.cost, NEW.estimated)
    ON CONFLICT (tenant_id, hour, model, key_id, capsule) DO UPDATE SET
        calls = usage_rollup_hourly.calls + EXCLUDED.calls,
        input_tokens = usage_rollup_hourly.input_tokens + EXCLUDED.input_tokens,
        output_tokens = usage_rollup_hourly.output_tokens + EXCLUDED.output_tokens,
        cost = usage_rollup_hourly.cost + EXCLUDED.cost,
        estimated = usage_rollup_hourly.estimated OR EXCLUDED.estimated;
    RETURN NULL;
END
$$;

-- Rebuilt from the ledger, so the rows backfilled above are in their capsule's group.
TRUNCATE usage_rollup_hourly;
INSERT INTO usage_rollup_hourly (tenant_id, hour, model, key_id, capsule, calls, input_tokens, output_tokens, cost, estimated)
SELECT tenant_id, date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', model, key_id, coalesce(capsule, ''), count(*) FILTER (WHERE meter <> 'egress'),
       sum(input_tokens), sum(output_tokens), sum(cost), bool_or(estimated)
FROM usage_ledger GROUP BY 1, 2, 3, 4, 5;
