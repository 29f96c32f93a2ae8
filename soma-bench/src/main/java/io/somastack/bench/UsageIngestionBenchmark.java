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
import io.somastack.store.TestDatabase;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;

/**
 * Durable usage ingestion: {@code writers} concurrent callers each write usage events, one ledger row
 * with its billing event per event ({@link Ledger#record}, with an idempotency key, as a metered call
 * writes it), through the ledger's group commit (fsync and synchronous_commit on, 2 committer threads
 * as SomaServer runs it), for each group-commit batch size in turn, on a fresh embedded PostgreSQL.
 * Events per second against the 20,000/s target (Stripe publishes 10,000 meter events/s), and the
 * latency from submit to durable. Usage: {@code UsageIngestionBenchmark [events=100000] [writers=256]
 * [batch sizes=64,256]}.
 */
public final class UsageIngestionBenchmark {
    private static final double TARGET = 20_000;

    public static void main(String[] arguments) throws Exception {
        int events = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 100_000;
        int writers = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 256;
        List<Integer> batchSizes = Arrays.stream((arguments.length > 2 ? arguments[2] : "64,256").split(",")).map(Integer::parseInt).toList();
        List<String> rows = new ArrayList<>();
        for (int batchSize : batchSizes) {
            rows.add(run(Math.max(1, events / 10), writers, batchSize, true));
            rows.add(run(events, writers, batchSize, false));
        }
        System.out.printf("%n| group-commit batch | writers | events | events/s | target 20,000/s | submit→durable p50 | p99 |%n"
                + "|---:|---:|---:|---:|---|---:|---:|%n");
        rows.stream().filter(row -> !row.isEmpty()).forEach(System.out::println);
        System.exit(0);
    }

    private static String run(int events, int writers, int batchSize, boolean warmUp) throws InterruptedException {
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        try (Database database = TestDatabase.create();
                GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), batchSize, 2)) {
            Ledger ledger = new Ledger(database.jdbi(), clock, ids);
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
            long written = database.jdbi().withHandle(handle -> handle.createQuery("SELECT count(*) FROM usage_ledger").mapTo(Long.class).one());
            if (written != events) {
                throw new IllegalStateException("wrote %d rows for %d events".formatted(written, events));
            }
            double perSecond = events / seconds;
            System.out.printf("%s batch %d: %,d events in %.2f s = %,.0f/s%n", warmUp ? "warm-up" : "measured", batchSize, events, seconds, perSecond);
            if (warmUp) {
                return "";
            }
            return "| %d | %d | %,d | %,.0f | %s | %.1f ms | %.1f ms |".formatted(batchSize, writers, events, perSecond,
                    perSecond >= TARGET ? "met" : "not met", latency.getValueAtPercentile(50) / 1e3, latency.getValueAtPercentile(99) / 1e3);
        }
    }
}
