package io.somastack.memory.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.TenantId;
import io.somastack.memory.Scope;
import io.somastack.store.OutboxEvent;
import io.somastack.store.Tx;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Erases one memory inside a write transaction (the change head locked): text, hash and
 * embedding of every revision become NULL, the memory is marked deleted, the tenant's usage
 * shrinks, a {@code deleted} event goes to the outbox and a change to the sequence. Shared by
 * delete, forget and the TTL purge, so all three erase the same way. The caller writes the audit
 * tombstone. Thread-safe.
 */
final class Erasure {
    private final MemoryStore store;

    Erasure(MemoryStore store) {
        this.store = requireNonNull(store, "store is null");
    }

    /** Returns the seq of the {@code deleted} change. */
    long erase(Tx tx, TenantId tenant, UUID memoryId, Scope scope, String actor, String reason, Instant now) {
        long bytes = store.erase(tx.handle(), tenant, memoryId, now, actor, reason);
        store.addUsage(tx.handle(), tenant, -1, -bytes, now);
        tx.publish(new OutboxEvent("io.somastack.memory.deleted", memoryId.toString(), Optional.of(tenant),
                Map.of("memory_id", memoryId.toString(), "scope", scope.key())));
        return store.appendChange(tx.handle(), tenant, memoryId, "deleted", now);
    }
}
