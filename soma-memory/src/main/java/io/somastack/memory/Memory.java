package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.somastack.gateway.Guard;
import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.memory.internal.EmbeddingSpace;
import io.somastack.memory.internal.Expiring;
import io.somastack.memory.internal.Forgetting;
import io.somastack.memory.internal.IndexFeed;
import io.somastack.memory.internal.IndexedMemories;
import io.somastack.memory.internal.MemoryIndex;
import io.somastack.memory.internal.MemoryMetrics;
import io.somastack.memory.internal.MemoryReads;
import io.somastack.memory.internal.MemoryStore;
import io.somastack.memory.internal.QueryEmbeddings;
import io.somastack.memory.internal.RecallLog;
import io.somastack.memory.internal.Recalling;
import io.somastack.memory.internal.Reindexing;
import io.somastack.memory.internal.Remembering;
import io.somastack.models.Embedder;
import io.somastack.models.Embedders;
import io.somastack.store.Database;
import io.somastack.store.GroupCommit;
import io.somastack.store.Notifications;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory capability, assembled: {@link Memories}, its index and the routes. Lifecycle:
 * {@link #start()} opens the index and catches it up with PostgreSQL (rebuilding it from the
 * change sequence when the directory is empty or holds another model's vectors), then keeps it
 * caught up and committed, and erases memories past their TTL, on a timer; {@link #close()}
 * commits and closes it. When stored vectors are of another model than the embedder's, start
 * warns: vector recall leaves those memories out until {@link #reindex} (or
 * {@code somastack memory reindex}) has embedded them again.
 *
 * <pre>{@code
 * Memory memory = Memory.create(MemoryConfig.from(settings, dataDir), database, commit, clock, ids, meters,
 *         Embedders.from(config.embedder())).start();
 * web.routes.apiBuilder(memory.routes(guard));
 * }</pre>
 */
public final class Memory implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Memory.class);

    private final MemoryConfig config;
    private final MemoryIndex index;
    private final IndexFeed feed;
    private final Memories memories;
    private final Reindexing reindexing;
    private final Expiring expiring;
    private final MeterRegistry meters;
    private final Notifications notifications;
    private final QueryEmbeddings queryEmbeddings;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private ScheduledExecutorService timer;

    private Memory(MemoryConfig config, MemoryIndex index, IndexFeed feed, Memories memories, Reindexing reindexing, Expiring expiring,
            MeterRegistry meters, Notifications notifications, QueryEmbeddings queryEmbeddings) {
        this.notifications = notifications;
        this.queryEmbeddings = queryEmbeddings;
        this.config = config;
        this.index = index;
        this.feed = feed;
        this.memories = memories;
        this.reindexing = reindexing;
        this.expiring = expiring;
        this.meters = meters;
    }

    /** Memory with the embedder the config names. */
    public static Memory create(MemoryConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters) {
        return create(config, database, commit, clock, ids, meters, Embedders.from(config.embedder()));
    }

    /**
     * Memory with a given embedder (one loaded model can serve several instances). Asks the
     * embedder's dimension: a remote embedder without a configured dimension makes one request.
     */
    public static Memory create(MemoryConfig config, Database database, GroupCommit commit, Clock clock, Ids ids, MeterRegistry meters,
            Embedder embedder) {
        requireNonNull(config, "config is null");
        requireNonNull(database, "database is null");
        MemoryStore store = new MemoryStore(database.jdbi());
        MemoryReads reads = new MemoryReads(database.jdbi());
        RecallLog recallLog = new RecallLog(database.jdbi());
        MemoryMetrics metrics = MemoryMetrics.register(meters);
        MemoryIndex index = MemoryIndex.open(config.indexDirectory(), new EmbeddingSpace(embedder.model(), embedder.dimension()));
        IndexFeed feed = new IndexFeed(store, index);
        QueryEmbeddings queryEmbeddings = new QueryEmbeddings(embedder);
        Memories memories = new IndexedMemories(
                new Remembering(config, embedder, store, index, feed, commit, database.jdbi(), clock, ids, metrics),
                new Recalling(queryEmbeddings, index, reads, recallLog, commit, clock, ids, metrics),
                new Forgetting(store, reads, feed, commit, clock),
                reads, recallLog);
        return new Memory(config, index, feed, memories, new Reindexing(database.jdbi(), store, embedder, clock),
                new Expiring(store, feed, commit, clock, ids), meters, database.notifications(), queryEmbeddings);
    }

    /**
     * Re-embeds, without an index, every live revision whose vectors are of another model than
     * {@code embedder}'s: for {@code somastack memory reindex}, beside or instead of running
     * servers, whose indexes apply the changes on their catch-up timer.
     */
    public static ReindexProgress reindex(Database database, Embedder embedder, Clock clock, Consumer<ReindexProgress> progress) {
        return new Reindexing(database.jdbi(), new MemoryStore(database.jdbi()), embedder, clock).run(progress, seq -> {
        });
    }

    /** Catches the index up (a rebuild if it is empty or of another model) and starts the catch-up, commit and purge timer. */
    public Memory start() {
        long started = System.nanoTime();
        int applied = feed.catchUp();
        feed.commitIfDirty();
        LOG.info("Memory index in {} applied {} changes at start in {} ms (now at change {}); vectors of {}", config.indexDirectory(), applied,
                (System.nanoTime() - started) / 1_000_000, index.appliedSeq(), index.space().key());
        long stale = reindexing.stale();
        if (stale > 0) {
            LOG.warn("{} memory revisions hold vectors of another model than {}: vector recall leaves them out until "
                    + "`somastack memory reindex` has embedded them again", stale, index.space().key());
        }
        Gauge.builder("soma.memory.index.lag", feed, IndexFeed::lag).description("Changes committed but not yet in this node's index")
                .register(meters);
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("memory-index").daemon().factory());
        timer.scheduleWithFixedDelay(() -> run(feed::catchUp), config.indexPoll().toMillis(), config.indexPoll().toMillis(),
                TimeUnit.MILLISECONDS);
        // Other nodes' writes wake the feed at once (the poll above stays as the backstop).
        notifications.listen("soma_memory_changes", payload -> wake(), this::wake);
        timer.scheduleWithFixedDelay(() -> run(feed::commitIfDirty), config.indexCommit().toMillis(), config.indexCommit().toMillis(),
                TimeUnit.MILLISECONDS);
        timer.scheduleWithFixedDelay(() -> run(this::purgeExpired), config.purgeInterval().toMillis(), config.purgeInterval().toMillis(),
                TimeUnit.MILLISECONDS);
        return this;
    }

    /** Erases every memory past its TTL now, as a delete would (reason {@code expired}); returns how many. The timer calls it. */
    public int purgeExpired() {
        int purged = expiring.purge();
        if (purged > 0) {
            LOG.info("Erased {} memories past their TTL", purged);
        }
        return purged;
    }

    /** Live revisions whose vectors are of another model or dimension than this memory's embedder. */
    public long revisionsToReindex() {
        return reindexing.stale();
    }

    /**
     * Re-embeds every live revision whose vectors are of another model than this memory's
     * embedder, in batches, catching this node's index up after each; {@code progress} hears
     * after every batch. Returns the final progress.
     */
    public ReindexProgress reindex(Consumer<ReindexProgress> progress) {
        return reindexing.run(progress, feed::catchUpTo);
    }

    /** Schedules one catch-up on the timer thread; a burst of notifications makes one. */
    private void wake() {
        if (wakePending.compareAndSet(false, true)) {
            try {
                timer.execute(() -> {
                    wakePending.set(false);
                    run(feed::catchUp);
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                wakePending.set(false); // closing
            }
        }
    }

    private static void run(Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            LOG.warn("Memory maintenance failed: {}", e.getMessage());
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
            // No interrupt: an interrupted Lucene or JDBC read closes its NIO channel, and Lucene then closes its writer.
            timer.shutdown();
            try {
                timer.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        queryEmbeddings.close();
        feed.commitIfDirty();
        index.close();
    }
}
