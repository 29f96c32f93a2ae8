package io.somastack.gateway;

import static io.javalin.apibuilder.ApiBuilder.get;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each tenant's requests, errors and latency, counted by the edge of a real server in memory
 * and written per hour by a flush: the stored counts are the requests the clients made.
 */
class TenantTrafficTest {
    /** A fixed time in the middle of an hour, so the test never straddles two. */
    private final Clock clock = () -> Instant.parse("2026-11-30T10:17:00Z");
    private final Ids ids = new Ids(clock);
    private Database database;
    private GroupCommit commit;
    private TestGateway gateway;

    @BeforeEach
    void start() {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 16, 1);
        gateway = new TestGateway(database, commit, clock, ids, new SimpleMeterRegistry(), guard -> () -> {
            get("/t/ok", ctx -> {
                guard.tenant(ctx, "t:read");
                ctx.result("ok");
            });
            get("/t/slow", ctx -> {
                guard.tenant(ctx, "t:read");
                Thread.sleep(120);
                ctx.result("slow");
            });
            get("/t/bad", ctx -> {
                guard.tenant(ctx, "t:read");
                throw new SomaException(ErrorCode.INVALID_REQUEST, "bad on purpose");
            });
            get("/t/boom", ctx -> {
                guard.tenant(ctx, "t:read");
                throw new IllegalStateException("a bug on purpose");
            });
        });
    }

    @AfterEach
    void stop() {
        gateway.close();
        commit.close();
        database.close();
    }

    @Test
    void requestsErrorsAndLatencyOfEachTenantAreWrittenPerHourByTheFlushNotPerRequest() {
        String acme = gateway.tenantKey("acme", "t:read");
        String globex = gateway.tenantKey("globex", "t:read");
        String narrow = gateway.tenantKey("narrow", "other:read");
        for (int i = 0; i < 10; i++) {
            assertThat(gateway.send("GET", "/t/ok", acme, null).status()).isEqualTo(200);
        }
        assertThat(gateway.send("GET", "/t/slow", acme, null).status()).isEqualTo(200);
        assertThat(gateway.send("GET", "/t/bad", acme, null).status()).isEqualTo(400);
        assertThat(gateway.send("GET", "/t/boom", acme, null).status()).isEqualTo(500);
        assertThat(gateway.send("GET", "/t/ok", globex, null).status()).isEqualTo(200);
        // A key without the scope is a tenant's refused request (403); no key at all is nobody's.
        assertThat(gateway.send("GET", "/t/ok", narrow, null).status()).isEqualTo(403);
        assertThat(gateway.send("GET", "/t/ok", null, null).status()).isEqualTo(401);

        Instant hour = clock.now().truncatedTo(ChronoUnit.HOURS);
        TenantTraffic traffic = gateway.traffic();
        assertThat(traffic.hourly(Optional.empty(), hour, hour.plus(Duration.ofHours(1)))).as("nothing written before a flush").isEmpty();
        assertThat(traffic.flush()).as("tenant-hours written").isEqualTo(3);

        TenantTraffic.Hour acmeHour = only(traffic.hourly(Optional.of(tenant("acme")), hour, hour.plus(Duration.ofHours(1))));
        assertThat(acmeHour.hour()).isEqualTo(hour);
        assertThat(acmeHour.requests()).isEqualTo(13);
        assertThat(acmeHour.clientErrors()).isEqualTo(1);
        assertThat(acmeHour.serverErrors()).isEqualTo(1);
        assertThat(acmeHour.buckets()).hasSize(TenantTraffic.BUCKET_MS.size() + 1);
        assertThat(acmeHour.buckets().stream().mapToLong(Long::longValue).sum()).isEqualTo(13);
        // The slow request (over 100 ms) is the slowest: p99 of 13 falls in its bucket, the median well below it.
        assertThat(acmeHour.percentileMs(0.99)).get().satisfies(p99 -> assertThat(p99).isGreaterThan(100));
        assertThat(acmeHour.percentileMs(0.50)).get().satisfies(p50 -> assertThat(p50).isLessThan(100));
        assertThat(only(traffic.hourly(Optional.of(tenant("narrow")), hour, hour.plus(Duration.ofHours(1)))).clientErrors()).isEqualTo(1);

        // A second flush adds to the same hour; all tenants together are the sum of each.
        assertThat(gateway.send("GET", "/t/ok", acme, null).status()).isEqualTo(200);
        assertThat(traffic.flush()).isEqualTo(1);
        assertThat(traffic.flush()).as("nothing new").isZero();
        assertThat(only(traffic.hourly(Optional.of(tenant("acme")), hour, hour.plus(Duration.ofHours(1)))).requests()).isEqualTo(14);
        TenantTraffic.Hour all = only(traffic.hourly(Optional.empty(), hour, hour.plus(Duration.ofHours(1))));
        assertThat(all.requests()).isEqualTo(16);
        assertThat(all.buckets().stream().mapToLong(Long::longValue).sum()).isEqualTo(16);
        assertThat(traffic.tenants(hour, hour.plus(Duration.ofHours(1)))).hasSize(3);

        // Close writes what is still counted (a node shutting down loses nothing).
        assertThat(gateway.send("GET", "/t/bad", globex, null).status()).isEqualTo(400);
        traffic.close();
        TenantTraffic.Hour globexHour = only(traffic.hourly(Optional.of(tenant("globex")), hour, hour.plus(Duration.ofHours(1))));
        assertThat(globexHour.requests()).isEqualTo(2);
        assertThat(globexHour.clientErrors()).isEqualTo(1);
    }

    @Test
    void percentilesAreInterpolatedWithinTheirBucketAsPrometheusDoes() {
        // 100 requests: 50 in (0, 1] ms, 40 in (10, 20] ms, 10 slower than the last bound.
        List<Long> buckets = new java.util.ArrayList<>(java.util.Collections.nCopies(TenantTraffic.BUCKET_MS.size() + 1, 0L));
        buckets.set(0, 50L);
        buckets.set(TenantTraffic.BUCKET_MS.indexOf(20L), 40L);
        buckets.set(TenantTraffic.BUCKET_MS.size(), 10L);
        TenantTraffic.Hour hour = new TenantTraffic.Hour(Instant.EPOCH, 100, 0, 0, buckets);
        assertThat(hour.percentileMs(0.50)).contains(1.0);
        assertThat(hour.percentileMs(0.70)).contains(15.0);
        assertThat(hour.percentileMs(0.95)).contains(60_000.0);
        assertThat(new TenantTraffic.Hour(Instant.EPOCH, 0, 0, 0, java.util.Collections.nCopies(16, 0L)).percentileMs(0.5)).isEmpty();
        assertThat(TenantTraffic.bucket(1_000_000)).isZero();
        assertThat(TenantTraffic.bucket(1_000_001)).isEqualTo(1);
        assertThat(TenantTraffic.bucket(Long.MAX_VALUE)).isEqualTo(TenantTraffic.BUCKET_MS.size());
    }

    private TenantId tenant(String name) {
        return gateway.tenants().list().stream().filter(tenant -> tenant.name().equals(name)).findFirst().orElseThrow().id();
    }

    private static TenantTraffic.Hour only(List<TenantTraffic.Hour> hours) {
        assertThat(hours).hasSize(1);
        return hours.getFirst();
    }
}
