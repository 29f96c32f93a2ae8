-- Team workflows: a job (its team definition and input, exactly as accepted), the state of each
-- of its nodes (with the node's share of the job's budget reservation and, once complete, its
-- output), each agent run a node started (one row per item and attempt, so a restarted node finds
-- its run instead of starting another), and the job's events (the durable stream clients resume
-- from). Temporal's embedded service keeps its history in memory only: these rows are what a
-- restarted node resumes from. Every row has tenant_id and every read filters on it.

CREATE TABLE workflow_jobs (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    key_id          UUID NOT NULL,
    team            TEXT NOT NULL,
    input           TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    reason          TEXT,
    request_id      TEXT NOT NULL,
    reservation_id  UUID NOT NULL,
    reservation_scopes TEXT[] NOT NULL,
    reservation_period DATE NOT NULL,
    reservation_amount NUMERIC(30, 15) NOT NULL,
    last_seq        INT NOT NULL DEFAULT 0,
    provenance      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    ended_at        TIMESTAMPTZ
);
CREATE INDEX workflow_jobs_tenant ON workflow_jobs (tenant_id, created_at);
CREATE INDEX workflow_jobs_running ON workflow_jobs (status) WHERE status = 'running';

CREATE TABLE workflow_nodes (
    job_id          UUID NOT NULL REFERENCES workflow_jobs (id),
    node            TEXT NOT NULL,
    tenant_id       UUID NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'running', 'waiting', 'completed', 'failed', 'skipped', 'cancelled')),
    output          TEXT,
    reason          TEXT,
    approval        JSONB,
    reservation_id  UUID NOT NULL,
    reservation_amount NUMERIC(30, 15) NOT NULL,
    started_at      TIMESTAMPTZ,
    ended_at        TIMESTAMPTZ,
    PRIMARY KEY (job_id, node)
);

CREATE TABLE workflow_node_runs (
    job_id          UUID NOT NULL REFERENCES workflow_jobs (id),
    node            TEXT NOT NULL,
    item            INT NOT NULL,
    attempt         INT NOT NULL,
    tenant_id       UUID NOT NULL,
    run_id          UUID NOT NULL UNIQUE,
    forwarded_seq   INT NOT NULL DEFAULT 0,
    billed          BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_id, node, item, attempt)
);

CREATE TABLE workflow_job_events (
    job_id      UUID NOT NULL REFERENCES workflow_jobs (id),
    seq         INT NOT NULL,
    tenant_id   UUID NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_id, seq)
);
