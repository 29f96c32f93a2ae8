-- soma-marketplace: the capsule catalog (see soma-marketplace/README.md for the why).

-- Packed bundles, content-addressed by the SHA-256 of the packed bytes (which signatures cover).
CREATE TABLE capsule_blobs (
    sha256     TEXT PRIMARY KEY,
    bytes      BYTEA NOT NULL,
    size       BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- One row per capsule name: who owns the name, the newest installable version's catalog
-- fields (denormalized for search), and the ranking computed from run records.
CREATE TABLE capsules (
    name                TEXT PRIMARY KEY,
    publisher_tenant    UUID NOT NULL,
    publisher           TEXT NOT NULL,
    latest_version      TEXT,
    description         TEXT NOT NULL DEFAULT '',
    tags                TEXT[] NOT NULL DEFAULT '{}',
    license             TEXT,
    price_sku           TEXT,
    search              TSVECTOR NOT NULL DEFAULT ''::tsvector,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    runs                BIGINT NOT NULL DEFAULT 0,
    successes           BIGINT NOT NULL DEFAULT 0,
    success_lower_bound DOUBLE PRECISION,
    p50_ms              DOUBLE PRECISION,
    p95_ms              DOUBLE PRECISION,
    cost_per_run        NUMERIC(30, 15),
    stats_at            TIMESTAMPTZ
);
CREATE INDEX capsules_search ON capsules USING GIN (search);
CREATE INDEX capsules_tags ON capsules USING GIN (tags);
CREATE INDEX capsules_publisher ON capsules (publisher);

CREATE TABLE capsule_versions (
    name           TEXT NOT NULL REFERENCES capsules (name),
    version        TEXT NOT NULL,
    major          BIGINT NOT NULL,
    minor          BIGINT NOT NULL,
    patch          BIGINT NOT NULL,
    prerelease     TEXT,
    digest         TEXT NOT NULL,
    packed_sha256  TEXT NOT NULL REFERENCES capsule_blobs (sha256),
    size           BIGINT NOT NULL,
    manifest       JSONB NOT NULL,
    licenses       TEXT[] NOT NULL,
    signatures     JSONB NOT NULL,
    published_at   TIMESTAMPTZ NOT NULL,
    published_by   TEXT NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_by     TEXT,
    revoked_reason TEXT,
    PRIMARY KEY (name, version)
);

-- What each tenant has installed: one version per capsule name.
CREATE TABLE capsule_installs (
    tenant_id    UUID NOT NULL,
    name         TEXT NOT NULL REFERENCES capsules (name),
    version      TEXT NOT NULL,
    digest       TEXT NOT NULL,
    decision_id  UUID NOT NULL,
    installed_at TIMESTAMPTZ NOT NULL,
    installed_by TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, name),
    FOREIGN KEY (name, version) REFERENCES capsule_versions (name, version)
);
CREATE INDEX capsule_installs_version ON capsule_installs (name, version);

-- One row per run of an installed capsule (written by the turn loop); the ranking's input.
CREATE TABLE capsule_runs (
    id          UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    latency_ms  DOUBLE PRECISION NOT NULL CHECK (latency_ms >= 0),
    cost        NUMERIC(30, 15) NOT NULL CHECK (cost >= 0),
    success     BOOLEAN NOT NULL,
    FOREIGN KEY (name, version) REFERENCES capsule_versions (name, version)
);
CREATE INDEX capsule_runs_name_time ON capsule_runs (name, finished_at);
