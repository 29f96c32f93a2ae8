package io.somastack.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.gateway.Principal;
import io.somastack.gateway.Tenant;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Money;
import io.somastack.kernel.TenantId;
import io.somastack.metering.LeaseConfig;
import io.somastack.metering.Metering;
import io.somastack.metering.MeteringConfig;
import io.somastack.metering.Price;
import io.somastack.models.UsageMeter;
import io.somastack.store.AuditEntry;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.internal.EmbeddedDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The durable write of a lease-served model call, as {@code MeteredModels} makes it once the model
 * answered, through the production {@link GroupCommit} (2 committer threads, groups of up to 256)
 * on the embedded PostgreSQL: reserve from this node's budget lease (in memory), then one unit
 * that writes the ledger row and its outbox event, the audit entry, and settles the hold against
 * its lease. No HTTP and no upstream: what the committer and PostgreSQL cost per call, and how
 * that scales with concurrent callers (more callers, larger groups). For each concurrency
 * {@code c}, {@code c} virtual threads write calls back to back for {@code seconds} after a
 * warm-up of a fifth of that (and the whole run after one unmeasured pass at the highest
 * concurrency, for the JIT); it reports calls per second, latency percentiles, PostgreSQL
 * write transactions per call (by {@code txid_current()}: the groups, plus the leases' own
 * renewals and returns) and CPU per call of this JVM and of PostgreSQL's processes. The tenants'
 * spend is checked against the ledger at the end (the run exits with 1 if they differ).
 * Usage: {@code CallWriteBenchmark [seconds per concurrency] [concurrencies, comma-separated]}
 * (default 10 and 1,8,32).
 */
public final class CallWriteBenchmark {
    private static final int TENANTS = 4;

    private CallWriteBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int seconds = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 10;
        int[] concurrencies = Arrays.stream((arguments.length > 1 ? arguments[1] : "1,8,32").split(",")).mapToInt(Integer::parseInt).toArray();
        if (seconds < 1 || Arrays.stream(concurrencies).anyMatch(c -> c < 1)) {
            System.err.println("Usage: CallWriteBenchmark [seconds per concurrency, at least 1] [concurrencies, comma-separated, each at least 1]");
            System.exit(2);
        }
        Path directory = Files.createTempDirectory("soma-call-write");
        System.out.printf("Run started %s, load average %s; %s; data directory %s%n", Instant.now(), Machine.loadAverage(),
                MemoryRecallBenchmark.describe(Machine.current()), directory);
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        List<String> rows = new ArrayList<>();
        boolean exact;
        Path postgresDirectory = directory.resolve("postgres");
        try (EmbeddedDatabase postgres = EmbeddedDatabase.start(postgresDirectory);
                Database database = new Database(new StoreConfig(Optional.of(postgres.jdbcUrl()), Optional.of("postgres"), Optional.empty(),
                        directory, 8, 256, Duration.ofSeconds(10))).start();
                GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 256, 2)) {
            MeteringConfig config = new MeteringConfig(List.of(new Price("bench", Money.of("1"), Money.of("2"), Instant.EPOCH)),
                    Duration.ofMinutes(10), Money.ZERO, LeaseConfig.DEFAULTS);
            try (Metering metering = Metering.create(config, database, clock, ids, new SimpleMeterRegistry())) {
                metering.start();
                UsageMeter meter = metering.usageMeter();
                List<Principal> callers = new ArrayList<>();
                for (int i = 0; i < TENANTS; i++) {
                    callers.add(new Principal(new Tenant(new TenantId(ids.next()), "bench-" + i, "default", "local",
                            Optional.of(Money.of("1000000")), Instant.now()), ids.next(), Set.of("*"), Optional.empty(), Principal.Via.API_KEY));
                }
                // The JIT compiles the path first, at the highest concurrency (most calls per second).
                run(meter, commit, callers, Arrays.stream(concurrencies).max().orElseThrow(), seconds, postgres, postgresDirectory);
                for (int concurrency : concurrencies) {
                    run(meter, commit, callers, concurrency, Math.max(1, seconds / 5), postgres, postgresDirectory);
                    rows.add(run(meter, commit, callers, concurrency, seconds, postgres, postgresDirectory).row(concurrency));
                }
            }
            // Every lease was returned at close: spent must equal the ledger, to the last digit.
            try (Connection connection = database.dataSource().getConnection(); Statement statement = connection.createStatement();
                    ResultSet rs = statement.executeQuery("""
                            SELECT (SELECT coalesce(sum(spent), 0) FROM budget_spend) - (SELECT coalesce(sum(cost), 0) FROM usage_ledger),
                                   (SELECT coalesce(sum(reserved), 0) FROM budget_spend), (SELECT count(*) FROM usage_ledger)""")) {
                rs.next();
                System.out.printf("%nAfter the run: %,d ledger rows; spent minus the ledger's sum %s; still reserved %s%n", rs.getLong(3),
                        rs.getBigDecimal(1).toPlainString(), rs.getBigDecimal(2).toPlainString());
                exact = rs.getBigDecimal(1).signum() == 0 && rs.getBigDecimal(2).signum() == 0;
            }
        } finally {
            CommitFloorBenchmark.delete(directory);
        }
        System.out.println();
        System.out.println("| concurrent callers | calls/s | p50 ms | p90 ms | p99 ms | write transactions per call | JVM CPU ms/call | PostgreSQL CPU ms/call |");
        System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|");
        rows.forEach(System.out::println);
        if (!exact) {
            System.err.println("The budgets do not match the ledger after the run: these figures measure a broken write.");
            System.exit(1);
        }
    }

    private static Result run(UsageMeter meter, GroupCommit commit, List<Principal> callers, int concurrency, int seconds,
            EmbeddedDatabase postgres, Path postgresDirectory) throws Exception {
        ResourceMeter resources = new ResourceMeter(Optional.of(postgresDirectory));
        long commitsBefore = commits(postgres);
        ResourceMeter.Snapshot before = resources.snapshot();
        long started = System.nanoTime();
        long deadline = started + seconds * 1_000_000_000L;
        List<Future<long[]>> workers = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < concurrency; w++) {
                Principal caller = callers.get(w % callers.size());
                int worker = w;
                workers.add(threads.submit(() -> calls(meter, commit, caller, worker, deadline)));
            }
        }
        long elapsed = System.nanoTime() - started;
        ResourceMeter.Snapshot after = resources.snapshot();
        long jvmCpu = after.processCpuNanos() - before.processCpuNanos();
        long postgresCpu = after.postgresCpuNanos() - before.postgresCpuNanos();
        long commitsDone = commits(postgres) - commitsBefore - 1;
        long[] all = workers.stream().flatMapToLong(worker -> {
            try {
                return Arrays.stream(worker.get());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).sorted().toArray();
        return new Result(all, elapsed, commitsDone, jvmCpu, postgresCpu);
    }

    /** One caller's calls until {@code deadline}: each call's latency in nanoseconds. */
    private static long[] calls(UsageMeter meter, GroupCommit commit, Principal caller, int worker, long deadline) {
        long[] took = new long[1 << 16];
        int n = 0;
        UsageMeter.WorstCase worstCase = new UsageMeter.WorstCase("bench", List.of(new UsageMeter.Candidate("local", "bench")), 500, 500);
        while (System.nanoTime() < deadline) {
            long started = System.nanoTime();
            String request = "req-" + worker + "-" + n;
            UsageMeter.Hold hold = meter.reserve(caller, worstCase);
            UsageMeter.Usage usage = new UsageMeter.Usage(caller.tenant().id(), caller.keyId(), request, Optional.empty(), "bench", "local",
                    "bench", 120, 340, false, Optional.empty());
            AuditEntry audit = new AuditEntry(Optional.of(caller.tenant().id()), "key:" + caller.keyId(), "POST /v1/chat/completions 200",
                    "bench", request, Map.of("model", "bench", "status", 200));
            boolean settled = commit.execute(tx -> {
                UsageMeter.Entry entry = meter.record(tx, hold, usage);
                tx.audit(audit);
                return meter.settle(tx, hold, entry);
            });
            if (!settled) {
                throw new IllegalStateException("A lease-served call was not settled in its transaction");
            }
            if (n == took.length) {
                took = Arrays.copyOf(took, n * 2);
            }
            took[n++] = System.nanoTime() - started;
        }
        return Arrays.copyOf(took, n);
    }

    /** The next transaction id: write transactions since the last call, plus one for this one's own. */
    private static long commits(EmbeddedDatabase postgres) throws Exception {
        try (Connection connection = DriverManager.getConnection(postgres.jdbcUrl(), "postgres", "");
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT txid_current()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private record Result(long[] sorted, long elapsedNanos, long commits, long jvmCpuNanos, long postgresCpuNanos) {
        String row(int concurrency) {
            int calls = sorted.length;
            return "| %d | %,.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |".formatted(concurrency, calls * 1e9 / elapsedNanos,
                    CommitFloorBenchmark.millis(sorted, 0.50), CommitFloorBenchmark.millis(sorted, 0.90),
                    CommitFloorBenchmark.millis(sorted, 0.99), (double) commits / calls, jvmCpuNanos / 1e6 / calls,
                    postgresCpuNanos / 1e6 / calls);
        }
    }
}
