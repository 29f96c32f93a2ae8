-- A tenant's settings of one capsule tool: headers sent to its host, each naming a tool secret
-- ({"headers": {"Authorization": {"secret": "api-token"}}}). Keyed by capsule and tool name, not
-- by install, so they can be set before the capsule is installed (its install check uses them).
CREATE TABLE tool_settings (
    tenant_id  UUID NOT NULL,
    capsule    TEXT NOT NULL,
    tool       TEXT NOT NULL,
    settings   JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, capsule, tool)
);
