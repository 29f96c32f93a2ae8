package io.somastack.bench;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.metering.Ledger;
import io.somastack.metering.Price;
import io.somastack.metering.UsageRecord;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Durable usage ingestion: {@code writers} concurrent callers each write usage events, one ledger row
 * with its billing event per event ({@link Ledger#record}, with an idempotency key, as a metered call
 * writes it), through the ledger's group commit (2 committer threads as SomaServer runs it), for each
 * database and group-commit batch size in turn, each on a fresh database. Databases: {@code durable} is
 * the embedded PostgreSQL as {@code somastack run} starts it (fsync, synchronous_commit and
 * full_page_writes on, in a temporary data directory); {@code test} is the tests' shared embedded
 * server (zonky's defaults: fsync and synchronous_commit off), which is what this benchmark measured
 * before 2026-12-01, kept to compare with those figures. After each run the ledger's row count, the
 * billing events in the outbox and the hourly and daily rollups are checked against the events written.
 * Events per second against the 20,000/s target (Stripe publishes 10,000 meter events/s), and the
 * latency from submit to committed. Usage: {@code UsageIngestionBenchmark [events=100000] [writers=256]
 * [batch sizes=64,256] [databases=durable,test]}.
 */
public final class UsageIngestionBenchmark {
    private static final double TARGET = 20_000;

    public static void main(String[] arguments) throws Exception {
        int events = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 100_000;
        int writers = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 256;
        List<Integer> batchSizes = Arrays.stream((arguments.length > 2 ? arguments[2] : "64,256").split(",")).map(Integer::parseInt).toList();
        List<String> databases = List.of((arguments.length > 3 ? arguments[3] : "durable,test").split(","));
        List<String> rows = new ArrayList<>();
        for (String database : databases) {
            for (int batchSize : batchSizes) {
                rows.add(run(database, Math.max(1, events / 10), writers, batchSize, true));
                rows.add(run(database, events, writers, batchSize, false));
            }
        }
        System.out.printf("%n| database | group-commit batch | writers | events | events/s | target 20,000/s | submit→committed p50 | p99 |%n"
                + "|---|---:|---:|---:|---:|---|---:|---:|%n");
        rows.stream().filter(row -> !row.isEmpty()).forEach(System.out::println);
        System.exit(0);
    }

    private static String run(String kind, int events, int writers, int batchSize, boolean warmUp) throws Exception {
        Path dataDirectory = Files.createTempDirectory("soma-ingest-");
        try {
            return run(switch (kind) {
                case "test" -> TestDatabase.create();
                case "durable" -> new Database(new StoreConfig(Optional.empty(), Optional.empty(), Optional.empty(), dataDirectory, 24, batchSize,
                        Duration.ofSeconds(60))).start();
                default -> throw new IllegalArgumentException("database must be durable or test, not " + kind);
            }, kind, events, writers, batchSize, warmUp);
        } finally {
            try (Stream<Path> files = Files.walk(dataDirectory)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    private static String run(Database opened, String kind, int events, int writers, int batchSize, boolean warmUp) throws Exception {
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        try (Database database = opened;
                GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), batchSize, 2)) {
            Ledger ledger = new Ledger(database.jdbi(), clock, ids);
            if (warmUp) {
                System.out.println(kind + " database: " + database.jdbi().withHandle(handle -> handle.createQuery("""
                        SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
                        WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')""").mapTo(String.class).one()));
            }
            List<TenantId> tenants = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                tenants.add(new TenantId(UUID.randomUUID()));
            }
            Price price = new Price("bench-model", Money.of("0.15"), Money.of("0.60"), Instant.EPOCH);
            Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
            AtomicInteger next = new AtomicInteger();
            long start = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    int n;
                    while ((n = next.getAndIncrement()) < events) {
                        TenantId tenant = tenants.get(n % tenants.size());
                        UsageRecord usage = new UsageRecord(tenant, UUID.randomUUID(), "req_" + n, Optional.of("ingest-" + n), "bench-model",
                                "openai", "bench-model", 1000 + n % 97, 500 + n % 89, false, price);
                        long submitted = System.nanoTime();
                        commit.execute(tx -> ledger.record(tx, usage, null));
                        long durable = System.nanoTime();
                        synchronized (latency) {
                            latency.recordValue((durable - submitted) / 1000);
                        }
                    }
                }));
            }
            for (Thread thread : threads) {
                thread.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            check(database, events);
            double perSecond = events / seconds;
            System.out.printf("%s %s batch %d: %,d events in %.2f s = %,.0f/s%n", warmUp ? "warm-up" : "measured", kind, batchSize, events,
                    seconds, perSecond);
            if (warmUp) {
                return "";
            }
            return "| %s | %d | %d | %,d | %,.0f | %s | %.1f ms | %.1f ms |".formatted(kind, batchSize, writers, events, perSecond,
                    perSecond >= TARGET ? "met" : "not met", latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(99) / 1e3);
        }
    }

    /** Every event is one ledger row and one billing event, and both rollups add up to the ledger exactly (NUMERIC sums compared in SQL). */
    private static void check(Database database, int events) {
        boolean agree = database.jdbi().withHandle(handle -> handle.createQuery("""
                SELECT ledger.calls = :events AND events.count = :events
                       AND (hourly.calls, hourly.input, hourly.output, hourly.cost) = (ledger.calls, ledger.input, ledger.output, ledger.cost)
                       AND (daily.calls, daily.input, daily.output, daily.cost) = (ledger.calls, ledger.input, ledger.output, ledger.cost)
                FROM (SELECT count(*) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost FROM usage_ledger) ledger,
                     (SELECT count(*) FROM outbox WHERE type = 'io.somastack.usage.recorded') events,
                     (SELECT sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost
                      FROM usage_rollup_hourly) hourly,
                     (SELECT sum(calls) AS calls, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost) AS cost
                      FROM usage_rollup_daily) daily""").bind("events", (long) events).mapTo(Boolean.class).one());
        if (!agree) {
            throw new IllegalStateException("ledger rows, billing events and rollups disagree after %d events".formatted(events));
        }
    }
}
