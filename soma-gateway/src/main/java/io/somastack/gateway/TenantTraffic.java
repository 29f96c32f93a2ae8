package io.somastack.gateway;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.TenantId;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each tenant's API traffic per hour (UTC): requests, client errors (4xx), server errors (5xx)
 * and a fixed latency histogram ({@link #BUCKET_MS}). {@link Edge#after} {@link #record}s every
 * request that authenticated as a tenant, in memory (atomic counters, no database write per
 * request); {@link #flush} adds what was counted to {@code gateway_traffic_hourly} (V2_10) in one
 * transaction, every {@code traffic.flush.interval} once {@link #start started}, and once more at
 * {@link #close}. Telemetry, not billing: a node that dies loses what it counted since its last
 * flush. A failed flush puts its counts back, to be written by the next one. Thread-safe.
 */
public final class TenantTraffic implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TenantTraffic.class);
    /** Upper bounds of the latency buckets in milliseconds; one more bucket counts slower requests. */
    public static final List<Long> BUCKET_MS = List.of(1L, 2L, 5L, 10L, 20L, 50L, 100L, 200L, 500L, 1_000L, 2_000L, 5_000L, 10_000L,
            30_000L, 60_000L);
    private static final int REQUESTS = 0;
    private static final int CLIENT_ERRORS = 1;
    private static final int SERVER_ERRORS = 2;
    private static final int FIRST_BUCKET = 3;
    private static final int SIZE = FIRST_BUCKET + BUCKET_MS.size() + 1;

    private final Jdbi jdbi;
    private final Clock clock;
    private final Duration interval;
    private final ConcurrentHashMap<Window, AtomicLongArray> pending = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService flusher;

    public TenantTraffic(Jdbi jdbi, Clock clock, Duration interval) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.interval = requireNonNull(interval, "interval is null");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("The traffic flush interval must be positive");
        }
    }

    /** One tenant's hour, the unit counted in memory and stored. */
    private record Window(TenantId tenant, Instant hour) {
    }

    /** Counts one request of {@code tenant} that answered {@code status} after {@code nanos}. */
    public void record(TenantId tenant, int status, long nanos) {
        AtomicLongArray counts = pending.computeIfAbsent(new Window(tenant, clock.now().truncatedTo(ChronoUnit.HOURS)),
                window -> new AtomicLongArray(SIZE));
        counts.incrementAndGet(REQUESTS);
        if (status >= 500) {
            counts.incrementAndGet(SERVER_ERRORS);
        } else if (status >= 400) {
            counts.incrementAndGet(CLIENT_ERRORS);
        }
        counts.incrementAndGet(FIRST_BUCKET + bucket(nanos));
    }

    /** The index of the bucket of a latency: the first whose bound it does not exceed, else the last. */
    static int bucket(long nanos) {
        for (int i = 0; i < BUCKET_MS.size(); i++) {
            if (nanos <= BUCKET_MS.get(i) * 1_000_000L) {
                return i;
            }
        }
        return BUCKET_MS.size();
    }

    /** Starts flushing every interval. */
    public TenantTraffic start() {
        if (flusher == null) {
            flusher = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("tenant-traffic").daemon().factory());
            flusher.scheduleWithFixedDelay(() -> {
                try {
                    flush();
                } catch (RuntimeException e) {
                    LOG.warn("Writing tenant traffic failed ({}); its counts wait for the next flush", e.getMessage());
                }
            }, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        }
        return this;
    }

    /**
     * Adds every count made since the last flush to the table, in one transaction; returns the
     * tenant-hours written. Each counter is taken with {@code getAndSet(0)}, so a request counted
     * meanwhile goes to the next flush, never lost nor twice. A past hour with nothing left is
     * dropped from memory.
     */
    public synchronized int flush() {
        Instant currentHour = clock.now().truncatedTo(ChronoUnit.HOURS);
        Map<Window, long[]> taken = new java.util.HashMap<>();
        for (Map.Entry<Window, AtomicLongArray> entry : pending.entrySet()) {
            long[] values = new long[SIZE];
            boolean any = false;
            for (int i = 0; i < SIZE; i++) {
                values[i] = entry.getValue().getAndSet(i, 0);
                any |= values[i] != 0;
            }
            if (any) {
                taken.put(entry.getKey(), values);
            } else if (entry.getKey().hour().isBefore(currentHour)) {
                pending.remove(entry.getKey(), entry.getValue());
            }
        }
        if (taken.isEmpty()) {
            return 0;
        }
        try {
            jdbi.useTransaction(handle -> {
                PreparedBatch batch = handle.prepareBatch("""
                        INSERT INTO gateway_traffic_hourly AS t (tenant_id, hour, requests, client_errors, server_errors, latency_buckets)
                        VALUES (:tenant, :hour, :requests, :client, :server, :buckets)
                        ON CONFLICT (tenant_id, hour) DO UPDATE SET
                            requests = t.requests + EXCLUDED.requests,
                            client_errors = t.client_errors + EXCLUDED.client_errors,
                            server_errors = t.server_errors + EXCLUDED.server_errors,
                            latency_buckets = ARRAY(SELECT a + b FROM unnest(t.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY
                                                    AS u(a, b, i) ORDER BY i)""");
                taken.forEach((window, values) -> batch.bind("tenant", window.tenant().value()).bind("hour", Timestamp.from(window.hour()))
                        .bind("requests", values[REQUESTS]).bind("client", values[CLIENT_ERRORS]).bind("server", values[SERVER_ERRORS])
                        .bindArray("buckets", Long.class, Arrays.stream(values, FIRST_BUCKET, SIZE).boxed().toList()).add());
                batch.execute();
            });
        } catch (RuntimeException e) {
            // Not written: the counts go back, for the next flush.
            taken.forEach((window, values) -> {
                AtomicLongArray counts = pending.computeIfAbsent(window, key -> new AtomicLongArray(SIZE));
                for (int i = 0; i < SIZE; i++) {
                    counts.addAndGet(i, values[i]);
                }
            });
            throw e;
        }
        return taken.size();
    }

    /** One hour of traffic (of one tenant, or of all), with its latency histogram (counts per {@link #BUCKET_MS} bucket). */
    public record Hour(Instant hour, long requests, long clientErrors, long serverErrors, List<Long> buckets) {
        public Hour {
            requireNonNull(hour, "hour is null");
            buckets = List.copyOf(buckets);
        }

        /**
         * The latency in milliseconds under which a fraction {@code quantile} of the hour's
         * requests answered, estimated from the histogram as Prometheus' {@code histogram_quantile}
         * does: linear within the bucket that holds it; in the last bucket, the highest bound.
         * Empty for an hour without requests.
         */
        public Optional<Double> percentileMs(double quantile) {
            long total = buckets.stream().mapToLong(Long::longValue).sum();
            if (total == 0) {
                return Optional.empty();
            }
            double rank = quantile * total;
            long below = 0;
            for (int i = 0; i < buckets.size(); i++) {
                long count = buckets.get(i);
                if (below + count >= rank && count > 0) {
                    if (i == BUCKET_MS.size()) {
                        return Optional.of((double) BUCKET_MS.getLast());
                    }
                    double lower = i == 0 ? 0 : BUCKET_MS.get(i - 1);
                    double upper = BUCKET_MS.get(i);
                    return Optional.of(lower + (upper - lower) * (rank - below) / count);
                }
                below += count;
            }
            return Optional.of((double) BUCKET_MS.getLast());
        }

        private Hour plus(Hour other) {
            List<Long> sum = new ArrayList<>(buckets);
            for (int i = 0; i < sum.size() && i < other.buckets.size(); i++) {
                sum.set(i, sum.get(i) + other.buckets.get(i));
            }
            return new Hour(hour, requests + other.requests, clientErrors + other.clientErrors, serverErrors + other.serverErrors, sum);
        }
    }

    /** The written hours in {@code [from, to)} of {@code tenant}, or of all tenants added up; by hour. */
    public List<Hour> hourly(Optional<TenantId> tenant, Instant from, Instant to) {
        List<Hour> rows = jdbi.withHandle(handle -> handle.createQuery("""
                SELECT hour, requests, client_errors, server_errors, latency_buckets FROM gateway_traffic_hourly
                WHERE hour >= :from AND hour < :to %s ORDER BY hour""".formatted(tenant.isPresent() ? "AND tenant_id = :tenant" : ""))
                .bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to))
                .bindMap(tenant.map(id -> Map.<String, Object>of("tenant", id.value())).orElse(Map.of()))
                .map((rs, ctx) -> new Hour(rs.getTimestamp("hour").toInstant(), rs.getLong("requests"), rs.getLong("client_errors"),
                        rs.getLong("server_errors"), Arrays.asList((Long[]) rs.getArray("latency_buckets").getArray())))
                .list());
        TreeMap<Instant, Hour> byHour = new TreeMap<>();
        rows.forEach(row -> byHour.merge(row.hour(), row, Hour::plus));
        return List.copyOf(byHour.values());
    }

    /** The tenants with traffic written in {@code [from, to)}. */
    public List<TenantId> tenants(Instant from, Instant to) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                SELECT DISTINCT tenant_id FROM gateway_traffic_hourly WHERE hour >= :from AND hour < :to""")
                .bind("from", Timestamp.from(from)).bind("to", Timestamp.from(to)).mapTo(UUID.class).list())
                .stream().map(TenantId::new).toList();
    }

    /** Stops the schedule and writes what is still counted (the database must still be open). */
    @Override
    public void close() {
        if (flusher != null) {
            flusher.shutdownNow();
            try {
                flusher.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            flusher = null;
        }
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warn("Writing tenant traffic at shutdown failed ({}); its counts are lost", e.getMessage());
        }
    }
}
