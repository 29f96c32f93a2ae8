package io.somastack.memory;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.models.Embedder;
import io.somastack.models.MiniLmEmbedder;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.StoreConfig;
import io.somastack.store.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Memory for tests: a fresh database in the test PostgreSQL, a real Lucene index in a
 * temporary directory, and the real MiniLM embedder (loaded once per test JVM) unless a test
 * gives another embedder or a clock it controls.
 */
final class TestMemory implements AutoCloseable {
    private static MiniLmEmbedder embedder;

    final StoreConfig store;
    final Database database;
    final Clock clock;
    final Ids ids;
    final GroupCommit commit;
    final Path indexDirectory;
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final MemoryConfig config;
    Embedder currentEmbedder;
    Memory memory;

    private TestMemory(MemoryConfig config, Embedder embedder, Clock clock) throws IOException {
        this(new StoreConfig(Optional.of(TestDatabase.newDatabaseUrl()), Optional.of("postgres"), Optional.empty(), Path.of("target"), 24,
                256, Duration.ofSeconds(10)), config, embedder, clock);
    }

    private TestMemory(StoreConfig store, MemoryConfig config, Embedder embedder, Clock clock) throws IOException {
        this.clock = clock;
        this.ids = new Ids(clock);
        this.store = store;
        database = new Database(store).start();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
        indexDirectory = Files.createTempDirectory("memory-index");
        this.config = config.withIndexDirectory(indexDirectory);
        this.currentEmbedder = embedder;
        memory = Memory.create(this.config, database, commit, clock, ids, meters, embedder).start();
    }

    static TestMemory start() {
        return start(MemoryConfig.defaults(Path.of("target")));
    }

    static TestMemory start(MemoryConfig config) {
        return start(config, embedder(), Clock.system());
    }

    static TestMemory start(MemoryConfig config, Embedder embedder, Clock clock) {
        try {
            return new TestMemory(config, embedder, clock);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static synchronized MiniLmEmbedder embedder() {
        if (embedder == null) {
            embedder = new MiniLmEmbedder();
        }
        return embedder;
    }

    /**
     * A second node on this node's database: its own pool, LISTEN connection, group commit and
     * index directory, with {@code config} (its index directory is replaced).
     */
    TestMemory otherNode(MemoryConfig config) {
        try {
            return new TestMemory(store, config, currentEmbedder, clock);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Memories memories() {
        return memory.memories();
    }

    /** Closes this node's memory and starts it again; with {@code wipeIndex} the index is rebuilt from PostgreSQL. */
    void restart(boolean wipeIndex) {
        memory.close();
        if (wipeIndex) {
            deleteRecursively(indexDirectory);
        }
        memory = Memory.create(config, database, commit, clock, ids, meters, currentEmbedder).start();
    }

    /** Closes this node's memory and starts it again with another embedder, keeping the index directory. */
    void restart(Embedder embedder) {
        currentEmbedder = embedder;
        restart(false);
    }

    static Caller caller(TenantId tenant, String... agents) {
        UUID key = UUID.randomUUID();
        return new Caller(tenant, key, "key:" + key, Set.of(agents), "req-" + UUID.randomUUID());
    }

    static TenantId tenant() {
        return new TenantId(UUID.randomUUID());
    }

    static NewMemory fact(String text, Scope scope, String... tags) {
        return new NewMemory(text, scope, List.of(tags), new Provenance(SourceKind.CONVERSATION, Optional.of("turn-1"),
                Optional.of("tester"), Optional.empty()), Optional.empty());
    }

    Remembered remember(Caller caller, NewMemory memory) {
        return memories().remember(caller, List.of(memory), Optional.empty()).results().getFirst();
    }

    List<Fact> recall(Caller caller, String query, RecallMode mode, Scope... scopes) {
        return memories().recall(caller, RecallQuery.of(query, List.of(scopes), 10, mode)).facts();
    }

    long count(String sql) {
        return database.jdbi().withHandle(handle -> handle.createQuery(sql).mapTo(Long.class).one());
    }

    static void deleteRecursively(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether any file of the index directory holds {@code marker}'s bytes (erased text must leave the disk). */
    boolean indexContains(String marker) {
        byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
        try (Stream<Path> files = Files.walk(indexDirectory)) {
            return files.filter(Files::isRegularFile).anyMatch(file -> contains(read(file), needle));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Override
    public void close() {
        memory.close();
        commit.close();
        database.close();
        deleteRecursively(indexDirectory);
    }
}
