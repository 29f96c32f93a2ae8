package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Keeps the {@link MemoryIndex} caught up with PostgreSQL's change sequence. Each change
 * only names a memory; the feed reads that memory's current state and writes it (or deletes
 * it), so replaying changes is harmless and a fresh index rebuilds by replaying from seq 0.
 * Writers call {@link #catchUpTo} before answering, which gives read-your-writes on this node;
 * a timer catches up with other nodes' writes. One thread applies at a time. Thread-safe.
 */
public final class IndexFeed {
    private static final int PAGE = 1000;

    private final MemoryStore store;
    private final MemoryIndex index;
    private final ReentrantLock applying = new ReentrantLock();
    private volatile long head;

    public IndexFeed(MemoryStore store, MemoryIndex index) {
        this.store = requireNonNull(store, "store is null");
        this.index = requireNonNull(index, "index is null");
    }

    /** Applies changes until the index has seen {@code seq} (or everything, whichever comes first). */
    public void catchUpTo(long seq) {
        if (index.appliedSeq() >= seq) {
            return;
        }
        catchUp();
    }

    /** Applies every committed change the index has not seen; returns how many. */
    public int catchUp() {
        applying.lock();
        try {
            int applied = 0;
            while (true) {
                List<Change> changes = store.changesAfter(index.appliedSeq(), PAGE);
                if (changes.isEmpty()) {
                    head = index.appliedSeq();
                    return applied;
                }
                Set<UUID> ids = new LinkedHashSet<>();
                changes.forEach(change -> ids.add(change.memoryId()));
                Map<UUID, IndexedMemory> live = store.indexState(ids).stream()
                        .collect(Collectors.toMap(IndexedMemory::memoryId, Function.identity()));
                List<UUID> deleted = new ArrayList<>();
                for (UUID id : ids) {
                    if (!live.containsKey(id)) {
                        deleted.add(id);
                    }
                }
                index.apply(live.values(), deleted, changes.getLast().seq());
                applied += changes.size();
            }
        } finally {
            applying.unlock();
        }
    }

    /** Commits the index if anything changed since the last commit. */
    public void commitIfDirty() {
        applying.lock();
        try {
            if (index.isDirty()) {
                index.commit();
            }
        } finally {
            applying.unlock();
        }
    }

    /** Removes erased memories from the index files (after a delete or forget). */
    public void expungeDeletes() {
        applying.lock();
        try {
            index.expungeDeletes();
        } finally {
            applying.unlock();
        }
    }

    /** Changes committed in PostgreSQL that the index has not applied, as of the last look. */
    public long lag() {
        head = Math.max(head, store.head());
        return Math.max(0, head - index.appliedSeq());
    }
}
