-- soma-memory: memories, their revisions, the change sequence that drives the index, and
-- per-tenant usage for the quota. See soma-memory/README.md for why it looks like this.
CREATE TABLE memories (
    id                  UUID PRIMARY KEY,
    tenant_id           UUID NOT NULL,
    scope_kind          TEXT NOT NULL CHECK (scope_kind IN ('tenant', 'agent', 'user', 'conversation')),
    scope_id            TEXT NOT NULL,
    current_revision_id UUID,
    revisions           INT NOT NULL,
    tags                TEXT[] NOT NULL,
    expires_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    deleted_at          TIMESTAMPTZ,
    deleted_by          TEXT,
    deleted_reason      TEXT
);
CREATE INDEX memories_scope ON memories (tenant_id, scope_kind, scope_id) WHERE deleted_at IS NULL;

-- One row per version of a memory's text. text, content_sha256 and embedding become NULL
-- when the memory is deleted or forgotten; the row stays so recall records keep resolving.
CREATE TABLE memory_revisions (
    id                  UUID PRIMARY KEY,
    memory_id           UUID NOT NULL REFERENCES memories (id),
    tenant_id           UUID NOT NULL,
    number              INT NOT NULL,
    text                TEXT,
    content_sha256      TEXT,
    text_bytes          INT NOT NULL,
    embedding           BYTEA,
    embedding_model     TEXT NOT NULL,
    embedding_dimension INT NOT NULL,
    source_kind         TEXT NOT NULL CHECK (source_kind IN ('conversation', 'tool', 'document', 'user', 'agent')),
    source_reference    TEXT,
    author              TEXT,
    observed_at         TIMESTAMPTZ,
    tags                TEXT[] NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    created_by          TEXT NOT NULL,
    request_id          TEXT NOT NULL,
    erased_at           TIMESTAMPTZ,
    UNIQUE (memory_id, number)
);
CREATE INDEX memory_revisions_tenant ON memory_revisions (tenant_id, memory_id);

-- The change sequence. seq values come from memory_change_head, whose row every memory
-- write locks until it commits: seqs are gapless and commit in order, so an index that has
-- applied seq n has seen every change up to n.
CREATE TABLE memory_changes (
    seq       BIGINT PRIMARY KEY,
    tenant_id UUID NOT NULL,
    memory_id UUID NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('created', 'revised', 'deleted')),
    at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE memory_change_head (
    id  INT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO memory_change_head VALUES (1, 0);

-- What each tenant stores, for the quota: live memories and the text bytes of all their revisions.
CREATE TABLE memory_usage (
    tenant_id UUID PRIMARY KEY,
    memories  BIGINT NOT NULL,
    bytes     BIGINT NOT NULL
);
