package io.somastack.gateway;

import io.somastack.kernel.Settings;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The HTTP edge.
 *
 * @param region this node's region; tenants homed elsewhere get 421 naming their region's endpoint
 * @param regionEndpoints public base URL of each region ({@code regions.<name>=https://...})
 * @param maxBodyBytes largest JSON request body accepted (default 4 MB)
 * @param maxUploadBytes largest {@code application/zip} upload on the routes that take one, e.g. a capsule bundle (default 64 MB)
 * @param sessionLifetime how long a session token lives
 * @param audience the {@code aud} of session tokens
 * @param adminKey the operator key ({@code SOMA_ADMIN_KEY}); without it the first start makes one
 * @param rateLimitRedisUrl Redis for rate-limit buckets shared by a cluster ({@code SOMA_RATELIMIT_REDIS_URL},
 *     e.g. {@code redis://127.0.0.1:6379}); without it buckets are in-process
 * @param metricsToken a bearer token that may read {@code /metrics} ({@code SOMA_METRICS_TOKEN}), so Prometheus
 *     need not hold the operator key; the operator key always may
 * @param trafficFlushInterval how often each node adds the tenant traffic it counted to the database
 *     ({@code traffic.flush.interval}, default 10s, 100ms to 1h): what a crash of the node can lose
 */
public record GatewayConfig(
        String region,
        Map<String, String> regionEndpoints,
        long maxBodyBytes,
        long maxUploadBytes,
        Duration sessionLifetime,
        String audience,
        Optional<String> adminKey,
        RateLimits rateLimits,
        Optional<String> rateLimitRedisUrl,
        Optional<String> metricsToken,
        Duration trafficFlushInterval) {

    public GatewayConfig {
        regionEndpoints = Map.copyOf(regionEndpoints);
        if (rateLimitRedisUrl.isPresent() && !rateLimitRedisUrl.get().matches("^rediss?://.+")) {
            throw new IllegalArgumentException("ratelimit.redis.url must be a redis:// or rediss:// URL");
        }
    }

    /** The regions this node knows: its own and every {@code regions.<name>}. */
    public java.util.Set<String> knownRegions() {
        java.util.Set<String> known = new java.util.TreeSet<>(regionEndpoints.keySet());
        known.add(region);
        return known;
    }

    /** The bucket store this configuration asks for. */
    public BucketStore bucketStore() {
        return rateLimitRedisUrl.<BucketStore>map(RedisBucketStore::new).orElseGet(LocalBucketStore::new);
    }

    public static GatewayConfig from(Settings settings) {
        Optional<String> adminKey = settings.string("admin.key");
        if (adminKey.isPresent() && adminKey.get().length() < 16) {
            settings.problem("admin.key (SOMA_ADMIN_KEY) must be at least 16 characters");
        }
        Optional<String> metricsToken = settings.string("metrics.token");
        if (metricsToken.isPresent() && metricsToken.get().length() < 16) {
            settings.problem("metrics.token (SOMA_METRICS_TOKEN) must be at least 16 characters");
        }
        Duration trafficFlushInterval = settings.duration("traffic.flush.interval", Duration.ofSeconds(10));
        if (trafficFlushInterval.compareTo(Duration.ofMillis(100)) < 0 || trafficFlushInterval.compareTo(Duration.ofHours(1)) > 0) {
            settings.problem("traffic.flush.interval must be from 100ms to 1h, not " + trafficFlushInterval);
            trafficFlushInterval = Duration.ofSeconds(10);
        }
        return new GatewayConfig(
                settings.string("region", "local"),
                settings.withPrefix("regions"),
                settings.longValue("max.body.bytes", 4L * 1024 * 1024, 1024, 1024L * 1024 * 1024),
                settings.longValue("max.upload.bytes", 64L * 1024 * 1024, 1024, 1024L * 1024 * 1024),
                settings.duration("session.lifetime", Duration.ofMinutes(15)),
                settings.string("session.audience", "somastack-api"),
                adminKey,
                RateLimits.from(settings),
                settings.string("ratelimit.redis.url"),
                metricsToken,
                trafficFlushInterval);
    }
}
