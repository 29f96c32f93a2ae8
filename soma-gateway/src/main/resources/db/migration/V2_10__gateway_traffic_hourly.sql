-- soma-gateway: each tenant's API traffic per hour (UTC), for the console's requests, errors and
-- latency charts. Telemetry, not billing: each node counts in memory and adds its counts here
-- every traffic.flush.interval and at shutdown (see TenantTraffic and the README for what a crash
-- loses). latency_buckets[i] counts requests whose latency was at most TenantTraffic.BUCKET_MS[i]
-- and above the bound before it; the last element counts slower ones. The bounds are part of the
-- data: changing them needs a new column.
CREATE TABLE gateway_traffic_hourly (
    tenant_id       UUID NOT NULL,
    hour            TIMESTAMPTZ NOT NULL,
    requests        BIGINT NOT NULL CHECK (requests >= 0),
    client_errors   BIGINT NOT NULL CHECK (client_errors >= 0),
    server_errors   BIGINT NOT NULL CHECK (server_errors >= 0),
    latency_buckets BIGINT[] NOT NULL,
    PRIMARY KEY (tenant_id, hour)
);
CREATE INDEX gateway_traffic_hourly_hour ON gateway_traffic_hourly (hour);
