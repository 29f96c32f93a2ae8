package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.TenantId;
import io.somastack.memory.ReindexProgress;
import io.somastack.models.Embedder;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * Embeds again, with the configured embedder, every live revision whose stored vector is of
 * another model or dimension, so that recall never compares vectors of two models. Works in
 * batches of {@value #BATCH} revisions: texts are embedded outside any transaction, then one
 * transaction (holding the change-head lock, like every memory write) stores the new vectors,
 * model and dimension and appends a {@code reembedded} change per memory, which makes every
 * index re-apply it. A revision erased meanwhile is skipped. Resumable: a stopped reindex
 * leaves only stale revisions behind, and the next run finds them. Thread-safe; run one at a time.
 */
public final class Reindexing {
    static final int BATCH = 256;
    private static final String STALE = """
            text IS NOT NULL AND (embedding_model <> :model OR embedding_dimension <> :dimension)""";

    private final Jdbi jdbi;
    private final MemoryStore store;
    private final Embedder embedder;
    private final Clock clock;

    public Reindexing(Jdbi jdbi, MemoryStore store, Embedder embedder, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.store = requireNonNull(store, "store is null");
        this.embedder = requireNonNull(embedder, "embedder is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Live revisions whose vectors are of another model or dimension than the embedder's. */
    public long stale() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT count(*) FROM memory_revisions WHERE " + STALE)
                .bind("model", embedder.model()).bind("dimension", embedder.dimension()).mapTo(Long.class).one());
    }

    /**
     * Re-embeds every stale revision; calls {@code progress} after each batch and
     * {@code committed} with the last change seq of each batch.
     */
    public ReindexProgress run(Consumer<ReindexProgress> progress, LongConsumer committed) {
        long started = clock.nanoTime();
        long total = stale();
        long done = 0;
        UUID after = new UUID(0, 0);
        while (true) {
            List<Stale> batch = next(after);
            if (batch.isEmpty()) {
                break;
            }
            List<float[]> vectors = embedder.embedAll(batch.stream().map(Stale::text).toList());
            long lastSeq = jdbi.inTransaction(handle -> {
                store.lockChanges(handle);
                PreparedBatch update = handle.prepareBatch("""
                        UPDATE memory_revisions SET embedding = :embedding, embedding_model = :model, embedding_dimension = :dimension
                         WHERE id = :id AND text IS NOT NULL""");
                for (int i = 0; i < batch.size(); i++) {
                    update.bind("embedding", Vectors.toBytes(vectors.get(i))).bind("model", embedder.model())
                            .bind("dimension", vectors.get(i).length).bind("id", batch.get(i).revisionId()).add();
                }
                int[] updated = update.execute();
                Map<UUID, TenantId> memories = new LinkedHashMap<>();
                for (int i = 0; i < batch.size(); i++) {
                    if (updated[i] > 0) {
                        memories.put(batch.get(i).memoryId(), batch.get(i).tenantId());
                    }
                }
                long seq = 0;
                for (Map.Entry<UUID, TenantId> memory : memories.entrySet()) {
                    seq = store.appendChange(handle, memory.getValue(), memory.getKey(), "reembedded", clock.now());
                }
                return seq;
            });
            if (lastSeq > 0) {
                committed.accept(lastSeq);
            }
            done += batch.size();
            after = batch.getLast().revisionId();
            progress.accept(new ReindexProgress(done, Math.max(total, done), Duration.ofNanos(clock.nanoTime() - started)));
        }
        return new ReindexProgress(done, Math.max(total, done), Duration.ofNanos(clock.nanoTime() - started));
    }

    private List<Stale> next(UUID after) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT id, memory_id, tenant_id, text FROM memory_revisions WHERE " + STALE
                        + " AND id > :after ORDER BY id LIMIT :limit")
                .bind("model", embedder.model()).bind("dimension", embedder.dimension()).bind("after", after).bind("limit", BATCH)
                .map((rs, ctx) -> new Stale(rs.getObject("id", UUID.class), rs.getObject("memory_id", UUID.class),
                        new TenantId(rs.getObject("tenant_id", UUID.class)), rs.getString("text")))
                .list());
    }

    private record Stale(UUID revisionId, UUID memoryId, TenantId tenantId, String text) {
    }
}
