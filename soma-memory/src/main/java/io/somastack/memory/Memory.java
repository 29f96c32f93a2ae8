package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.memory.internal.Forgetting;
import io.somastack.memory.internal.IndexFeed;
import io.somastack.memory.internal.IndexedMemories;
import io.somastack.memory.internal.MemoryIndex;
import io.somastack.memory.internal.MemoryMetrics;
import io.somastack.memory.internal.MemoryReads;
import io.somastack.memory.internal.MemoryStore;
import io.somastack.memory.internal.RecallLog;
import io.somastack.memory.internal.Recalling;
import io.somastack.memory.internal.Remembering;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory capability, assembled: {@link Memories}, its index and the routes. Lifecycle:
 * {@link #start()} opens the index and catches it up with PostgreSQL (rebuilding it from the
 * change sequence when the directory is empty), then keeps it caught up and committed on a
 * timer; {@link #close()} commits and closes it.
 *
 * <pre>{@code
 * Memory memory = Memory.create(MemoryConfig.from(settings, dataDir), database, commit, clock, ids, meters).start();
 * web.routes.apiBuilder(memory.routes(guard));
 * }</pre>
 */
public final class Memory implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Memory.class);

    private final MemoryConfig config;
    private final MemoryIndex index;
    private final IndexFeed feed;
    private final Memories memories;
    private final MeterRegistry meters;
    private ScheduledExecutorService timer;

    private Memory(MemoryConfig config, MemoryIndex index, IndexFeed feed, Memories memories, MeterRegistry meters) {
        this.config = config;
        this.index = index;
        this.feed = feed;
        this.memories = memories;
        this.meters = meters;
    }

    /** Memory with the embedder the config names. */
    public static Memory create(MemoryConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters) {
        return create(config, database, commit, clock, ids, meters, new MiniLmEmbedder());
    }

    /** Memory with a given embedder (one loaded model can serve several instances). */
    public static Memory create(MemoryConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters,
            Embedder embedder) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        MemoryStore store = new MemoryStore(database.jdbi());
        MemoryReads reads = new MemoryReads(database.jdbi());
        RecallLog recallLog = new RecallLog(database.jdbi());
        MemoryMetrics metrics = MemoryMetrics.register(meters);
        MemoryIndex index = MemoryIndex.open(config.indexDirectory());
        IndexFeed feed = new IndexFeed(store, index);
        Memories memories = new IndexedMemories(
                new Remembering(config, embedder, store, index, feed, commit, database.jdbi(), clock, ids, metrics),
                new Recalling(embedder, index, reads, recallLog, commit, clock, ids, metrics),
                new Forgetting(store, reads, feed, commit, clock),
                reads, recallLog);
        return new Memory(config, index, feed, memories, meters);
    }

    /** Catches the index up (a rebuild if it is empty) and starts the catch-up and commit timer. */
    public Memory start() {
        long started = System.nanoTime();
        int applied = feed.catchUp();
        feed.commitIfDirty();
        LOG.info("Memory index in {} applied {} changes at start in {} ms (now at change {})", config.indexDirectory(), applied,
                (System.nanoTime() - started) / 1_000_000, index.appliedSeq());
        Gauge.builder("soma.memory.index.lag", feed, IndexFeed::lag).description("Changes committed but not yet in this node's index")
                .register(meters);
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("memory-index").daemon().factory());
        timer.scheduleWithFixedDelay(() -> run(feed::catchUp), config.indexPoll().toMillis(), config.indexPoll().toMillis(),
                TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(() -> run(feed::commitIfDirty), config.indexCommit().toMillis(), config.indexCommit().toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    private static void run(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("Memory index maintenance failed: {}", e.getMessage());
        }
    }

    public Memories memories() {
        return memories;
    }

    /** The HTTP routes, authorized by {@code guard}. */
    public MemoryRoutes routes(Guard guard) {
        return new MemoryRoutes(guard, memories, config);
    }

    /** The last change seq this node's index has applied (for tests and the lag metric). */
    public long indexedSeq() {
        return index.appliedSeq();
    }

    @Override
    public void close() {
        if (timer != null) {
            timer.shutdownNow();
            try {
                timer.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        feed.commitIfDirty();
        index.close();
    }
}
