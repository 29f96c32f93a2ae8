-- Idempotency-Key on the run routes: a retry with the same key finds the first run instead of
-- starting a second. The fingerprint (route and SHA-256 of the body) tells a retry from another
-- request that reuses the key (409). The unique index makes two concurrent twins start one run.
ALTER TABLE agent_runs ADD COLUMN idempotency_key TEXT, ADD COLUMN request_fingerprint TEXT;
CREATE UNIQUE INDEX agent_runs_idempotency ON agent_runs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The run a run continues, when a client named it (the Responses API's previous_response_id),
-- so that GET /v1/responses/{id} answers the response as it was created.
ALTER TABLE agent_runs ADD COLUMN continues_run UUID REFERENCES agent_runs (id);
