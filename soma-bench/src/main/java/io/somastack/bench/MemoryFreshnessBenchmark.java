package io.somastack.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.memory.Caller;
import io.somastack.memory.Memory;
import io.somastack.memory.MemoryConfig;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Provenance;
import io.somastack.memory.RecallMode;
import io.somastack.memory.RecallQuery;
import io.somastack.memory.Scope;
import io.somastack.memory.SourceKind;
import io.somastack.models.Embedder;
import io.somastack.models.MiniLmEmbedder;
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
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;

/**
 * Cross-node freshness of memory: two nodes on one PostgreSQL, each with its own pool, LISTEN
 * connection, group commit and Lucene index, as {@code TwoNodeRecallTest} starts them (node B's
 * poll is one minute, so only the NOTIFY wake-up can make it fresh). For each fact: remember it
 * on node A (each in a scope of its own), then recall it on node B (keyword mode, no embedding)
 * every millisecond until it is found. The delay runs from A's answer to the start of B's first
 * recall that found it, so it is an upper bound by at most one poll (1 ms plus one recall).
 * Usage: {@code MemoryFreshnessBenchmark [facts]}, e.g. {@code 300}.
 */
public final class MemoryFreshnessBenchmark {
    private static final Duration GIVE_UP = Duration.ofSeconds(10);

    private MemoryFreshnessBenchmark() {
    }

    public static void main(String[] arguments) throws Exception {
        int facts = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 300;
        List<String> texts = AptDescriptions.load();
        Clock clock = Clock.system();
        Ids ids = new Ids(clock);
        StoreConfig store = new StoreConfig(Optional.of(TestDatabase.newDatabaseUrl()), Optional.of("postgres"), Optional.empty(),
                Path.of("target"), 24, 256, Duration.ofSeconds(10));
        Embedder embedder = new MiniLmEmbedder();
        System.out.printf("Run started %s; %s%n", Instant.now(), MemoryRecallBenchmark.describe(Machine.current()));
        try (Node nodeA = Node.start(store, MemoryConfig.defaults(Path.of("target")), embedder, clock, ids);
                Node nodeB = Node.start(store, MemoryConfig.defaults(Path.of("target")).withIndexPoll(Duration.ofMinutes(1)), embedder, clock,
                        ids)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!nodeB.database.notifications().isLive() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            if (!nodeB.database.notifications().isLive()) {
                throw new IllegalStateException("node B does not listen for changes");
            }
            TenantId tenant = new TenantId(UUID.randomUUID());
            UUID key = UUID.randomUUID();
            Caller caller = new Caller(tenant, key, "key:" + key, Set.of(), "freshness");
            double[] delays = new double[facts];
            int[] polls = new int[facts];
            int warmup = 20;
            for (int i = -warmup; i < facts; i++) {
                String text = texts.get(i + warmup);
                Scope scope = Scope.of("user", "fact-" + (i + warmup));
                nodeA.memory.memories().remember(caller, List.of(new NewMemory(text, scope, List.of(),
                        new Provenance(SourceKind.DOCUMENT, Optional.of("apt"), Optional.empty(), Optional.empty()), Optional.empty())),
                        Optional.empty());
                long remembered = System.nanoTime();
                RecallQuery query = RecallQuery.of(text, List.of(scope), 1, RecallMode.KEYWORD);
                int poll = 0;
                while (true) {
                    long started = System.nanoTime();
                    poll++;
                    if (!nodeB.memory.memories().recall(caller, query).facts().isEmpty()) {
                        if (i >= 0) {
                            delays[i] = (started - remembered) / 1e6;
                            polls[i] = poll;
                        }
                        break;
                    }
                    if (started - remembered > GIVE_UP.toNanos()) {
                        throw new IllegalStateException("fact %d not found on node B within %s".formatted(i, GIVE_UP));
                    }
                    LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
                }
            }
            double[] sorted = delays.clone();
            Arrays.sort(sorted);
            System.out.println();
            System.out.println("| facts | delay p50 ms | p90 ms | p99 ms | max ms | found at first recall |");
            System.out.println("|---:|---:|---:|---:|---:|---:|");
            System.out.printf("| %d | %.2f | %.2f | %.2f | %.2f | %d |%n", facts, sorted[index(facts, 0.5)], sorted[index(facts, 0.9)],
                    sorted[index(facts, 0.99)], sorted[facts - 1], Arrays.stream(polls).filter(poll -> poll == 1).count());
        }
        System.exit(0);
    }

    private static int index(int count, double quantile) {
        return Math.min(count - 1, (int) Math.ceil(quantile * count) - 1);
    }

    /** One memory node: its own pool and LISTEN connection, group commit and index directory. */
    private record Node(Database database, GroupCommit commit, Memory memory) implements AutoCloseable {
        static Node start(StoreConfig store, MemoryConfig config, Embedder embedder, Clock clock, Ids ids) throws Exception {
            Database database = new Database(store).start();
            GroupCommit commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
            Path index = Files.createTempDirectory("memory-index");
            Memory memory = Memory.create(config.withIndexDirectory(index), database, commit, clock, ids, new SimpleMeterRegistry(), embedder)
                    .start();
            return new Node(database, commit, memory);
        }

        @Override
        public void close() {
            memory.close();
            commit.close();
            database.close();
        }
    }
}
