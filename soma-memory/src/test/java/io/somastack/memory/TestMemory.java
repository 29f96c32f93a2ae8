package io.somastack.memory;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.kernel.TenantId;
import io.somastack.store.AuditLog;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Outbox;
import io.somastack.store.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Memory for tests: a fresh database in the test PostgreSQL, a real Lucene index in a
 * temporary directory, and the real MiniLM embedder (loaded once per test JVM).
 */
final class TestMemory implements AutoCloseable {
    private static MiniLmEmbedder embedder;

    final Database database;
    final Clock clock = Clock.system();
    final Ids ids = new Ids(clock);
    final GroupCommit commit;
    final Path indexDirectory;
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final MemoryConfig config;
    Memory memory;

    private TestMemory(MemoryConfig config) throws IOException {
        database = TestDatabase.create();
        commit = new GroupCommit(database.jdbi(), new AuditLog(clock), new Outbox(clock, ids), 64, 2);
        indexDirectory = Files.createTempDirectory("memory-index");
        this.config = config.withIndexDirectory(indexDirectory);
        memory = Memory.create(this.config, database, commit, clock, ids, meters, embedder()).start();
    }

    static TestMemory start() {
        return start(MemoryConfig.defaults(Path.of("target")));
    }

    static TestMemory start(MemoryConfig config) {
        try {
            return new TestMemory(config);
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

    Memories memories() {
        return memory.memories();
    }

    /** Closes this node's memory and starts it again; with {@code wipeIndex} the index is rebuilt from PostgreSQL. */
    void restart(boolean wipeIndex) {
        memory.close();
        if (wipeIndex) {
            deleteRecursively(indexDirectory);
        }
        memory = Memory.create(config, database, commit, clock, ids, meters, embedder()).start();
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

    @Override
    public void close() {
        memory.close();
        commit.close();
        database.close();
        deleteRecursively(indexDirectory);
    }
}
