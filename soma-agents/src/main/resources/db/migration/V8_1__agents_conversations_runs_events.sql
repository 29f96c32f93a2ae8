-- Agents: conversations with their messages, runs, each run's events (the durable stream
-- clients resume from), and the signed provenance of each answer. Every row has tenant_id and
-- every read filters on it.

CREATE TABLE agent_conversations (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    agent       TEXT NOT NULL,
    metadata    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX agent_conversations_tenant ON agent_conversations (tenant_id, created_at);

CREATE TABLE agent_messages (
    conversation_id UUID NOT NULL REFERENCES agent_conversations (id),
    seq             INT NOT NULL,
    tenant_id       UUID NOT NULL,
    run_id          UUID NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE agent_runs (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL,
    conversation_id     UUID REFERENCES agent_conversations (id),
    agent               TEXT NOT NULL,
    version             TEXT NOT NULL,
    digest              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled', 'interrupted')),
    input               TEXT NOT NULL,
    answer              TEXT,
    reason              TEXT,
    message             TEXT,
    model_calls         INT NOT NULL DEFAULT 0,
    tool_calls          INT NOT NULL DEFAULT 0,
    input_tokens        BIGINT NOT NULL DEFAULT 0,
    output_tokens       BIGINT NOT NULL DEFAULT 0,
    cost                NUMERIC(30, 15) NOT NULL DEFAULT 0,
    budget              NUMERIC(30, 15) NOT NULL,
    -- The run's budget reservation, so that a sweeper on any node can settle it after a crash.
    reservation_id      UUID NOT NULL,
    reservation_scopes  TEXT[] NOT NULL,
    reservation_period  DATE NOT NULL,
    reservation_amount  NUMERIC(30, 15) NOT NULL,
    key_id              UUID NOT NULL,
    actor               TEXT NOT NULL,
    request_id          TEXT NOT NULL,
    node                TEXT NOT NULL,
    heartbeat_at        TIMESTAMPTZ NOT NULL,
    provenance_id       UUID,
    created_at          TIMESTAMPTZ NOT NULL,
    finished_at         TIMESTAMPTZ
);
CREATE INDEX agent_runs_tenant ON agent_runs (tenant_id, created_at);
CREATE INDEX agent_runs_running ON agent_runs (heartbeat_at) WHERE status = 'running';

CREATE TABLE agent_run_events (
    run_id      UUID NOT NULL REFERENCES agent_runs (id),
    seq         INT NOT NULL,
    tenant_id   UUID NOT NULL,
    type        TEXT NOT NULL,
    -- The JSON text exactly as first sent, so a replay is byte for byte what live clients saw.
    data        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE agent_provenance (
    id          UUID PRIMARY KEY,
    run_id      UUID NOT NULL UNIQUE REFERENCES agent_runs (id),
    tenant_id   UUID NOT NULL,
    envelope    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
