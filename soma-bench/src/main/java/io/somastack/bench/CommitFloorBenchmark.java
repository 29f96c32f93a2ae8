package io.somastack.bench;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditEntry;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.OutboxEvent;
import io.somastack.store.StoreConfig;
import io.somastack.store.internal.EmbeddedDatabase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * The floor under every durable answer on this machine: what one fsync of the disk and one
 * durable PostgreSQL commit cost, one after the other, with no SomaStack code involved. A
 * gateway call is answered only after its ledger row is committed (fsync on, synchronous
 * commit on), so its latency overhead cannot be lower than one commit's, at any percentile.
 * In one run, on the data directory's filesystem, each {@code count} times after {@code count / 10}
 * unmeasured:
 * <ol>
 *   <li>{@code fdatasync}: an 8 KiB write into a preallocated 16 MiB file (as PostgreSQL writes
 *       its WAL segments), then {@code FileChannel.force(false)};
 *   <li>a durable commit: a one-row {@code INSERT} in autocommit on the embedded PostgreSQL with
 *       SomaStack's production settings ({@link EmbeddedDatabase}: fsync, synchronous_commit and
 *       full_page_writes on);
 *   <li>the same {@code INSERT} with {@code synchronous_commit = off}: the round trip and the
 *       statement without waiting for the WAL flush, so the difference is the flush;
 *   <li>the journal of one gateway call through SomaStack's {@link GroupCommit}: one audit entry
 *       and one outbox event, durable, one call at a time, on the same database migrated as
 *       SomaStack runs it: what the group commit adds to the floor (after at least 20,000
 *       unmeasured journals, so the JIT has compiled it);
 *   <li>a read round trip ({@code SELECT 1}, prepared) from a platform thread, and the same from a
 *       virtual thread (as SomaStack's request handlers make them: a blocked virtual thread waits
 *       for the JDK's poller to wake it);
 *   <li>a hand-off from a virtual thread to a waiting platform thread and back (a {@code
 *       CompletableFuture} run on a single-thread executor and joined), as a request hands a query to
 *       the embedding thread or a write to a committer.
 * </ol>
 * Usage: {@code CommitFloorBenchmark [count]} (default 5000).
 */
public final class CommitFloorBenchmark {
    private static final int BLOCK = 8192;
    private static final int FILE_BYTES = 16 << 20;
    private static final int JOURNAL_WARMUP = 20_000;

    private CommitFloorBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int count = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 5000;
        if (count < 100) {
            System.err.println("Usage: CommitFloorBenchmark [count of at least 100]");
            System.exit(2);
        }
        Path directory = Files.createTempDirectory("soma-commit-floor");
        System.out.printf("Run started %s; %s; data directory %s%n", Instant.now(), MemoryRecallBenchmark.describe(Machine.current()),
                directory);
        try {
            long[] fsync = fdatasync(directory.resolve("wal-like"), count);
            long[] durable;
            long[] asynchronous;
            long[] journal;
            long[] readPlatform;
            long[] readVirtual;
            long[] handOff;
            try (EmbeddedDatabase postgres = EmbeddedDatabase.start(directory.resolve("postgres"))) {
                try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), "postgres", "")) {
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("CREATE TABLE floor (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text)");
                    }
                    durable = inserts(connection, 0, count);
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("SET synchronous_commit = off");
                    }
                    asynchronous = inserts(connection, 10L * count, count);
                    try (PreparedStatement select = connection.prepareStatement("SELECT 1");
                            ExecutorService platform = Executors.newSingleThreadExecutor();
                            ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor()) {
                        Callable<long[]> reads = () -> timed(count, i -> {
                            try (ResultSet rs = select.executeQuery()) {
                                rs.next();
                            }
                        });
                        readPlatform = platform.submit(reads).get();
                        readVirtual = virtual.submit(reads).get();
                        handOff = virtual.submit(() -> timed(count, i -> CompletableFuture.supplyAsync(() -> 1, platform).join())).get();
                    }
                    try (Statement statement = connection.createStatement()) {
                        // SomaStack's migrations start from an empty schema.
                        statement.execute("DROP TABLE floor");
                    }
                }
                try (Database database = new Database(new StoreConfig(Optional.of(postgres.jdbcUrl()), Optional.of("postgres"), Optional.empty(),
                        directory, 4, 256, Duration.ofSeconds(10))).start();
                        GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(Clock.system()),
                                new Outbox(Clock.system(), new Ids(Clock.system())), 16, 1)) {
                    // Unmeasured journals first: a tenth of the count is far too few for the JIT to finish compiling this path
                    // (p50 1.0-1.2 ms after 3,300 of them, 0.61-0.69 after 20,000); the other rows have no Java code to compile.
                    journals(commit, Math.max(count, JOURNAL_WARMUP));
                    journal = journals(commit, count);
                }
            }
            System.out.println();
            System.out.printf("Sequential, one at a time, %,d measured each (ms):%n%n", count);
            System.out.println("| what | p50 | p90 | p99 | p99.9 | max |");
            System.out.println("|---|---:|---:|---:|---:|---:|");
            row("fdatasync of an 8 KiB write (`FileChannel.force(false)`)", fsync);
            row("PostgreSQL one-row INSERT, durable commit (synchronous_commit on)", durable);
            row("the same INSERT, synchronous_commit off (no wait for the WAL flush)", asynchronous);
            row("a gateway call's journal through `GroupCommit` (one audit entry, one outbox event), durable", journal);
            row("a read round trip (`SELECT 1`, prepared) from a platform thread", readPlatform);
            row("the same from a virtual thread", readVirtual);
            row("a hand-off from a virtual thread to a waiting platform thread and back", handOff);
        } finally {
            delete(directory);
        }
    }

    private static long[] fdatasync(Path file, int count) throws Exception {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 20);
            for (long position = 0; position < FILE_BYTES; position += zeros.capacity()) {
                channel.write(zeros.clear(), position);
            }
            channel.force(true);
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
            return timed(count, i -> {
                block.clear();
                block.putLong(0, i);
                channel.write(block, (long) i * BLOCK % FILE_BYTES);
                channel.force(false);
            });
        }
    }

    /** One blocking step of a measured loop; {@code i} counts from 0, warm-up included. */
    @FunctionalInterface
    private interface Step {
        void run(int i) throws Exception;
    }

    /** {@code step} timed {@code count} times after {@code count / 10} unmeasured runs, in nanoseconds. */
    private static long[] timed(int count, Step step) throws Exception {
        int warmup = count / 10;
        long[] nanos = new long[count];
        for (int i = 0; i < warmup + count; i++) {
            long started = System.nanoTime();
            step.run(i);
            long took = System.nanoTime() - started;
            if (i >= warmup) {
                nanos[i - warmup] = took;
            }
        }
        return nanos;
    }

    private static long[] inserts(Connection connection, long firstId, int count) throws Exception {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO floor (id, note) VALUES (?, ?)")) {
            return timed(count, i -> {
                insert.setLong(1, firstId + i);
                insert.setString(2, "call " + i);
                insert.executeUpdate();
            });
        }
    }

    private static long[] journals(GroupCommit commit, int count) throws Exception {
        TenantId tenant = new TenantId(UUID.randomUUID());
        return timed(count, i -> {
            AuditEntry entry = new AuditEntry(Optional.of(tenant), "key:bench", "POST /v1/chat/completions 200", "call-" + i, "req-" + i,
                    Map.of("model", "bench", "status", 200));
            OutboxEvent event = new OutboxEvent("io.somastack.usage.recorded", "call-" + i, Optional.of(tenant),
                    Map.of("model", "bench", "input_tokens", 12, "output_tokens", 34, "cost", "0.000046"));
            commit.execute(tx -> {
                tx.audit(entry);
                tx.publish(event);
                return null;
            });
        });
    }

    private static void row(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f |%n", what, millis(sorted, 0.50), millis(sorted, 0.90),
                millis(sorted, 0.99), millis(sorted, 0.999), sorted[sorted.length - 1] / 1e6);
    }

    /** The nearest-rank quantile of sorted nanoseconds, in milliseconds (as {@link MemoryRecallBenchmark} ranks). */
    static double millis(long[] sorted, double quantile) {
        return sorted[MemoryRecallBenchmark.index(sorted.length, quantile)] / 1e6;
    }

    static void delete(Path directory) throws IOException {
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        }
    }
}
