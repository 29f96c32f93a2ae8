package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.Scope;
import io.somastack.memory.StoredMemory;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Delete and forget: erase the text, hash and embedding of every revision, mark the memory
 * deleted, write the tombstone (who, when, why) to the audit log, then remove the memory from
 * the index and rewrite the index segments that held it, so its words leave the disk.
 * Thread-safe.
 */
public final class Forgetting {
    private final MemoryStore store;
    private final Erasure erasure;
    private final MemoryReads reads;
    private final IndexFeed feed;
    private final GroupCommit commit;
    private final Clock clock;

    public Forgetting(MemoryStore store, MemoryReads reads, IndexFeed feed, GroupCommit commit, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.erasure = new Erasure(store);
        this.reads = requireNonNull(reads, "reads is null");
        this.feed = requireNonNull(feed, "feed is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public StoredMemory delete(Caller caller, UUID memoryId, String reason) {
        long seq = commit.execute(tx -> {
            store.lockChanges(tx.handle());
            StoredMemory memory = reads.find(tx.handle(), caller.tenantId(), memoryId).filter(found -> caller.mayRead(found.scope()))
                    .orElseThrow(() -> notFound(memoryId));
            caller.requireWrite(memory.scope());
            if (memory.deletedAt().isPresent()) {
                return 0L;
            }
            long last = erase(tx, caller, memoryId, memory.scope(), reason, clock.now());
            tx.audit(new AuditEntry(Optional.of(caller.tenantId()), caller.actor(), "memory.delete", memoryId.toString(),
                    caller.requestId(), Map.of("scope", memory.scope().key(), "reason", reason, "revisions", memory.revisions().size())));
            return last;
        });
        if (seq > 0) {
            feed.catchUpTo(seq);
            feed.expungeDeletes();
        }
        return reads.find(caller.tenantId(), memoryId).orElseThrow(() -> notFound(memoryId));
    }

    public int forget(Caller caller, Scope scope, String reason) {
        caller.requireWrite(scope);
        ForgetResult result = commit.execute(tx -> {
            store.lockChanges(tx.handle());
            List<UUID> memories = store.liveInScope(tx.handle(), caller.tenantId(), scope);
            Instant now = clock.now();
            long last = 0;
            for (UUID memoryId : memories) {
                last = erase(tx, caller, memoryId, scope, reason, now);
            }
            tx.audit(new AuditEntry(Optional.of(caller.tenantId()), caller.actor(), "memory.forget", scope.key(), caller.requestId(),
                    Map.of("reason", reason, "memories", memories.size(), "memory_ids", memories.stream().map(UUID::toString).toList())));
            return new ForgetResult(memories.size(), last);
        });
        if (result.lastSeq() > 0) {
            feed.catchUpTo(result.lastSeq());
            feed.expungeDeletes();
        }
        return result.count();
    }

    private long erase(Tx tx, Caller caller, UUID memoryId, Scope scope, String reason, Instant now) {
        return erasure.erase(tx, caller.tenantId(), memoryId, scope, caller.actor(), reason, now);
    }

    static SomaException notFound(UUID memoryId) {
        return new SomaException(ErrorCode.NOT_FOUND, "Memory %s does not exist".formatted(memoryId));
    }

    private record ForgetResult(int count, long lastSeq) {
    }
}
