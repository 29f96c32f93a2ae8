package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Ids;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The TTL purge: erases memories whose TTL has ended exactly as a delete does (text, hash and
 * embeddings gone, a {@code memory.delete} tombstone with reason {@code expired} in the audit
 * log, out of the index and its files), in transactions of at most {@value #BATCH} memories.
 * Recall already hides expired memories; the purge makes them gone. Safe on several nodes: each
 * batch holds the change-head lock, and a memory erased by one node is no longer live for the
 * next. Thread-safe.
 */
public final class Expiring {
    static final int BATCH = 500;
    static final String ACTOR = "system:memory-ttl";

    private final MemoryStore store;
    private final Erasure erasure;
    private final IndexFeed feed;
    private final GroupCommit commit;
    private final Clock clock;
    private final Ids ids;

    public Expiring(MemoryStore store, IndexFeed feed, GroupCommit commit, Clock clock, Ids ids) {
        this.store = requireNonNull(store, "store is null");
        this.erasure = new Erasure(store);
        this.feed = requireNonNull(feed, "feed is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
    }

    /** Erases every memory expired by now; returns how many. One purge at a time per node: a second caller waits for the first. */
    public synchronized int purge() {
        String requestId = "purge-" + ids.next();
        int total = 0;
        long lastSeq = 0;
        while (true) {
            Purged purged = commit.execute(tx -> purgeBatch(tx, requestId));
            total += purged.count();
            lastSeq = Math.max(lastSeq, purged.lastSeq());
            if (purged.count() < BATCH) {
                break;
            }
        }
        if (lastSeq > 0) {
            feed.catchUpTo(lastSeq);
            feed.expungeDeletes();
        }
        return total;
    }

    private Purged purgeBatch(Tx tx, String requestId) {
        store.lockChanges(tx.handle());
        Instant now = clock.now();
        List<MemoryStore.Expired> expired = store.expired(tx.handle(), now, BATCH);
        long lastSeq = 0;
        for (MemoryStore.Expired memory : expired) {
            lastSeq = erasure.erase(tx, memory.tenantId(), memory.memoryId(), memory.scope(), ACTOR, "expired", now);
            tx.audit(new AuditEntry(Optional.of(memory.tenantId()), ACTOR, "memory.delete", memory.memoryId().toString(), requestId,
                    Map.of("scope", memory.scope().key(), "reason", "expired", "expired_at", memory.expiresAt().toString())));
        }
        return new Purged(expired.size(), lastSeq);
    }

    private record Purged(int count, long lastSeq) {
    }
}
