package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.Memories.IdempotencyKey;
import io.somastack.memory.Memories.RememberResult;
import io.somastack.memory.MemoryConfig;
import io.somastack.memory.NewMemory;
import io.somastack.memory.Remembered;
import io.somastack.models.Embedder;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.lucene.search.IndexSearcher;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * The write path of remember. Texts are embedded before the transaction; inside it, the
 * change-sequence head is locked, which serializes memory writes, so the near-duplicate check
 * sees every earlier write: the index as of its applied seq, plus every memory changed since
 * (read from PostgreSQL, this transaction's own writes included). Thread-safe.
 */
public final class Remembering {
    private final MemoryConfig config;
    private final Embedder embedder;
    private final MemoryStore store;
    private final MemoryIndex index;
    private final IndexFeed feed;
    private final GroupCommit commit;
    private final Jdbi jdbi;
    private final Clock clock;
    private final Ids ids;
    private final MemoryMetrics metrics;

    public Remembering(MemoryConfig config, Embedder embedder, MemoryStore store, MemoryIndex index, IndexFeed feed, GroupCommit commit,
            Jdbi jdbi, Clock clock, Ids ids, MemoryMetrics metrics) {
        this.config = requireNonNull(config, "config is null");
        this.embedder = requireNonNull(embedder, "embedder is null");
        this.store = requireNonNull(store, "store is null");
        this.index = requireNonNull(index, "index is null");
        this.feed = requireNonNull(feed, "feed is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.metrics = requireNonNull(metrics, "metrics is null");
    }

    public RememberResult remember(Caller caller, List<NewMemory> memories, Optional<IdempotencyKey> key) {
        if (memories.isEmpty() || memories.size() > config.maxBatch()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "A remember takes 1 to %d memories (got %d)"
                    .formatted(config.maxBatch(), memories.size()));
        }
        BatchProblems problems = new BatchProblems();
        problems.check(memories, caller, config);
        problems.throwIfAny();
        if (key.isPresent()) {
            Optional<List<Remembered>> earlier = jdbi.withHandle(handle -> Idempotency.replay(handle, caller.tenantId(), key.get()));
            if (earlier.isPresent()) {
                return new RememberResult(earlier.get(), true);
            }
        }
        List<float[]> embeddings = MemoryMetrics.time(metrics.rememberEmbed(),
                () -> embedder.embedAll(memories.stream().map(NewMemory::text).toList()));
        feed.catchUp();
        Written written = MemoryMetrics.time(metrics.rememberWrite(),
                () -> commit.execute(tx -> write(tx, caller, memories, embeddings, key)));
        MemoryMetrics.time(metrics.rememberIndex(), () -> {
            feed.catchUpTo(written.lastSeq());
            return null;
        });
        return new RememberResult(written.results(), written.replayed());
    }

    private Written write(Tx tx, Caller caller, List<NewMemory> memories, List<float[]> embeddings, Optional<IdempotencyKey> key) {
        Handle handle = tx.handle();
        store.lockChanges(handle);
        if (key.isPresent()) {
            Optional<List<Remembered>> earlier = Idempotency.replay(handle, caller.tenantId(), key.get());
            if (earlier.isPresent()) {
                return new Written(earlier.get(), 0, true);
            }
        }
        long indexedSeq = index.appliedSeq();
        IndexSearcher searcher = index.acquire();
        try {
            Map<UUID, Candidate> recent = new HashMap<>();
            store.changedSince(handle, caller.tenantId(), indexedSeq).forEach(candidate -> recent.put(candidate.memoryId(), candidate));
            NearDuplicates duplicates = new NearDuplicates(new IndexSearch(index), searcher, caller.tenantId(), recent, index.space());
            Instant now = clock.now();
            List<Remembered> results = new ArrayList<>();
            List<MemoryStore.Write> writes = new ArrayList<>();
            // Revision numbers given in this remember (a batch may revise a memory it created or revised itself).
            Map<UUID, Integer> numbers = new HashMap<>();
            long addedMemories = 0;
            long addedBytes = 0;
            long checking = 0;
            for (int i = 0; i < memories.size(); i++) {
                NewMemory memory = memories.get(i);
                float[] embedding = embeddings.get(i);
                String sha = Vectors.sha256(memory.text());
                Optional<Instant> expiresAt = memory.ttl().map(now::plus);
                long started = clock.nanoTime();
                Optional<NearDuplicates.Match> match = duplicates.nearest(memory.scope(), embedding)
                        .filter(found -> found.similarity() >= config.duplicateThreshold());
                checking += clock.nanoTime() - started;
                if (match.isPresent() && match.get().contentSha256().equals(sha)) {
                    results.add(new Remembered(i, match.get().memoryId(), match.get().revisionId(), Remembered.Outcome.UNCHANGED));
                    continue;
                }
                UUID revisionId = ids.next();
                boolean created = match.isEmpty();
                UUID memoryId = created ? ids.next() : match.get().memoryId();
                int number = created ? 1 : numbers.containsKey(memoryId) ? numbers.get(memoryId) + 1
                        : store.nextRevisionNumber(handle, caller.tenantId(), memoryId);
                numbers.put(memoryId, number);
                Remembered.Outcome outcome = created ? Remembered.Outcome.CREATED : Remembered.Outcome.REVISED;
                writes.add(new MemoryStore.Write(memoryId, revisionId, created, number, memory, sha, embedding, expiresAt));
                addedMemories += created ? 1 : 0;
                addedBytes += Texts.bytes(memory.text());
                recent.put(memoryId, new Candidate(memoryId, memory.scope(), revisionId, sha, embedding, embedder.model(), false));
                results.add(new Remembered(i, memoryId, revisionId, outcome));
                tx.publish(new OutboxEvent("io.somastack.memory.remembered", memoryId.toString(), Optional.of(caller.tenantId()),
                        Map.of("memory_id", memoryId.toString(), "revision_id", revisionId.toString(),
                                "outcome", outcome.name().toLowerCase(Locale.ROOT), "scope", memory.scope().key())));
            }
            metrics.rememberDuplicates().record(Duration.ofNanos(checking));
            long lastSeq = MemoryMetrics.time(metrics.rememberStore(),
                    () -> store.writeAll(handle, caller.tenantId(), writes, embedder.model(), now, caller.actor(), caller.requestId()));
            enforceQuota(handle, caller, addedMemories, addedBytes);
            store.addUsage(handle, caller.tenantId(), addedMemories, addedBytes, now);
            tx.audit(new AuditEntry(Optional.of(caller.tenantId()), caller.actor(), "memory.remember",
                    results.getFirst().memoryId().toString(), caller.requestId(), Map.of("entries", results.size(),
                            "memory_ids", results.stream().map(result -> result.memoryId().toString()).toList())));
            key.ifPresent(value -> Idempotency.save(handle, caller.tenantId(), value, status(results), results, now));
            return new Written(results, lastSeq, false);
        } finally {
            index.release(searcher);
        }
    }

    private void enforceQuota(Handle handle, Caller caller, long addedMemories, long addedBytes) {
        MemoryStore.Usage usage = store.usage(handle, caller.tenantId());
        if (usage.memories() + addedMemories > config.quotaMemories()) {
            throw new SomaException(ErrorCode.MEMORY_QUOTA_EXCEEDED, "The memory quota of %d memories is exhausted: %d stored, %d more asked; nothing was stored"
                    .formatted(config.quotaMemories(), usage.memories(), addedMemories),
                    Map.of("quota", "memories", "limit", config.quotaMemories(), "used", usage.memories(), "requested", addedMemories));
        }
        if (usage.bytes() + addedBytes > config.quotaBytes()) {
            throw new SomaException(ErrorCode.MEMORY_QUOTA_EXCEEDED, "The memory quota of %d bytes is exhausted: %d stored, %d more asked; nothing was stored"
                    .formatted(config.quotaBytes(), usage.bytes(), addedBytes),
                    Map.of("quota", "bytes", "limit", config.quotaBytes(), "used", usage.bytes(), "requested", addedBytes));
        }
    }

    /** 201 when a memory was created, else 200; what a retry with the same idempotency key answers too. */
    public static int status(List<Remembered> results) {
        return results.stream().anyMatch(result -> result.outcome() == Remembered.Outcome.CREATED) ? 201 : 200;
    }

    private record Written(List<Remembered> results, long lastSeq, boolean replayed) {
    }
}
